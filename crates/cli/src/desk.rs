//! What every command needs: the environment, its data folder and the keyring, and the ways to
//! open the encrypted store and read the webhook key from them.

use std::path::PathBuf;

use anyhow::Context as _;
use deskbridge_core::environment::{APP_IDENTIFIER, Environment};
use deskbridge_core::random::OsRandom;
use deskbridge_core::secrets::{
    KeyringSecrets, SecretName, SecretPurpose, SecretStore as _, SecretValue,
};
use deskbridge_core::store::Store;
use deskbridge_service::credentials;
use deskbridge_zocdoc::api::Client;
use deskbridge_zocdoc::webhook::WebhookKey;

use crate::secret_command::Secret;

/// The environment variable that may carry the webhook key instead of the keyring (for scripts).
pub(crate) const WEBHOOK_KEY_VAR: &str = "DESKBRIDGE_WEBHOOK_KEY";
/// The environment variable that may carry the relay token instead of the keyring.
pub(crate) const RELAY_TOKEN_VAR: &str = "DESKBRIDGE_RELAY_TOKEN";

/// The Zocdoc webhook key: base64 text, as Zocdoc hands it out.
pub(crate) const WEBHOOK_KEY: Secret = secret(SecretPurpose::WebhookKey);
/// The relay endpoint's token, as `deskbridge-relay endpoint add` printed it.
pub(crate) const RELAY_TOKEN: Secret = secret(SecretPurpose::RelayToken);
/// The client id of the practice's Zocdoc API credentials.
pub(crate) const ZOCDOC_CLIENT_ID: Secret = secret(SecretPurpose::ZocdocClientId);
/// The client secret of the practice's Zocdoc API credentials.
pub(crate) const ZOCDOC_CLIENT_SECRET: Secret = secret(SecretPurpose::ZocdocClientSecret);

/// A secret checked by the rules the desktop app's Settings use too.
const fn secret(purpose: SecretPurpose) -> Secret {
    Secret { purpose }
}

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
        let text = self.secret_text(WEBHOOK_KEY, WEBHOOK_KEY_VAR, "webhook-key")?;
        WebhookKey::from_base64(text.expose_text().unwrap_or_default())
            .context("the webhook key is not valid: store it again")
    }

    /// The relay token: from `DESKBRIDGE_RELAY_TOKEN` when set, else from the keyring.
    pub(crate) fn relay_token(&self) -> anyhow::Result<SecretValue> {
        self.secret_text(RELAY_TOKEN, RELAY_TOKEN_VAR, "relay-token")
    }

    /// The Zocdoc API client, when both credentials are in the keyring; `None` when neither is.
    pub(crate) fn zocdoc_client(&self) -> anyhow::Result<Option<Client>> {
        credentials::zocdoc_client(&self.secrets, self.environment)
            .with_context(|| format!("the {} Zocdoc API credentials", self.environment))
    }

    /// A secret's text from its environment variable or the keyring, checked.
    fn secret_text(
        &self,
        secret: Secret,
        variable: &str,
        command: &str,
    ) -> anyhow::Result<SecretValue> {
        let environment = self.environment;
        let label = secret.label();
        let value = match std::env::var(variable) {
            Ok(text) => SecretValue::from_text(text),
            Err(_) => {
                let name = SecretName::new(environment, secret.purpose);
                self.secrets
                    .get(&name)
                    .context("the keyring could not be read")?
                    .with_context(|| {
                        format!(
                            "no {environment} {label} is stored: run \
                             `deskbridge-cli --environment {environment} {command} set` and \
                             paste it"
                        )
                    })?
            }
        };
        let text = value
            .expose_text()
            .with_context(|| format!("the {label} is not text: store it again"))?;
        let text = secret
            .check(text)
            .with_context(|| format!("the {label} is not valid"))?;
        Ok(SecretValue::from_text(text))
    }
}
