//! What every command needs: the environment, its data folder and the keyring, and the ways to
//! open the encrypted store and read the webhook key from them.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use deskbridge_core::environment::{APP_IDENTIFIER, Environment};
use deskbridge_core::random::OsRandom;
use deskbridge_core::secrets::{KeyringSecrets, SecretName, SecretPurpose, SecretStore as _};
use deskbridge_core::store::Store;
use deskbridge_zocdoc::webhook::WebhookKey;

/// The environment variable that may carry the webhook key instead of the keyring (for scripts).
pub(crate) const WEBHOOK_KEY_VAR: &str = "DESKBRIDGE_WEBHOOK_KEY";

#[derive(Debug)]
pub(crate) struct Desk {
    pub(crate) environment: Environment,
    data_dir: Option<PathBuf>,
    pub(crate) secrets: KeyringSecrets,
}

impl Desk {
    pub(crate) fn new(
        environment: Environment,
        data_dir: Option<PathBuf>,
        keyring_service: String,
    ) -> Desk {
        Desk {
            environment,
            data_dir,
            secrets: KeyringSecrets::with_service(keyring_service),
        }
    }

    /// The application data folder: `--data-dir`, or the desktop app's own.
    pub(crate) fn app_data_dir(&self) -> anyhow::Result<PathBuf> {
        match &self.data_dir {
            Some(dir) => Ok(dir.clone()),
            None => Ok(dirs::data_dir()
                .context("this system has no folder for application data: pass --data-dir")?
                .join(APP_IDENTIFIER)),
        }
    }

    /// Opens this environment's encrypted store, with its key from the keyring.
    pub(crate) fn open_store(&self) -> anyhow::Result<Store> {
        let dir = self.app_data_dir()?;
        Store::open(&dir, self.environment, &self.secrets, &OsRandom)
            .with_context(|| format!("the {} database could not be opened", self.environment))
    }

    /// The webhook key: from `DESKBRIDGE_WEBHOOK_KEY` when set, else from the keyring.
    pub(crate) fn webhook_key(&self) -> anyhow::Result<WebhookKey> {
        if let Ok(text) = std::env::var(WEBHOOK_KEY_VAR) {
            return WebhookKey::from_base64(&text)
                .with_context(|| format!("{WEBHOOK_KEY_VAR} is not a valid webhook key"));
        }
        let name = SecretName::new(self.environment, SecretPurpose::WebhookKey);
        let Some(stored) = self
            .secrets
            .get(&name)
            .context("the keyring could not be read")?
        else {
            bail!(
                "no {} webhook key is stored: run `deskbridge-cli --environment {} webhook-key set` \
                 and paste the key Zocdoc gave you",
                self.environment,
                self.environment
            );
        };
        let text = stored
            .expose_text()
            .context("the stored webhook key is not text: store it again")?;
        WebhookKey::from_base64(text).context("the stored webhook key is not valid: store it again")
    }
}
