//! `webhook-key`, `relay-token`, `zocdoc-client-id` and `zocdoc-client-secret` (`set|check|delete`):
//! the desk's secrets in the keyring. A
//! secret is read from standard input, never from the command line (which other users can see),
//! and never printed.

use std::io::Read as _;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Subcommand;
use deskbridge_core::secrets::{SecretName, SecretPurpose, SecretStore as _, SecretValue};
use deskbridge_service::credentials;

use crate::desk::Desk;

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Read the secret from standard input and store it in the keyring.
    Set,
    /// Say whether a valid one is stored (it is never shown).
    Check,
    /// Remove it from the keyring.
    Delete,
}

/// A secret these commands manage.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Secret {
    pub(crate) purpose: SecretPurpose,
}

impl Secret {
    /// What staff call it, e.g. "webhook key".
    pub(crate) fn label(self) -> &'static str {
        credentials::label(self.purpose)
    }

    /// The text to store, or what is wrong with it (never repeating it).
    pub(crate) fn check(self, text: &str) -> anyhow::Result<String> {
        credentials::check(self.purpose, text).map_err(anyhow::Error::msg)
    }
}

pub(crate) fn run(desk: &Desk, secret: Secret, command: Command) -> anyhow::Result<ExitCode> {
    let purpose = secret.purpose;
    let label = secret.label();
    let environment = desk.environment;
    let name = SecretName::new(environment, purpose);
    match command {
        Command::Set => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .with_context(|| format!("could not read the {label} from standard input"))?;
            let text = secret.check(&text)?;
            desk.secrets
                .set(&name, &SecretValue::from_text(text))
                .with_context(|| format!("the keyring refused the {label}"))?;
            println!("The {environment} {label} is stored in the keyring.");
        }
        Command::Check => {
            let stored = desk
                .secrets
                .get(&name)
                .context("the keyring could not be read")?
                .with_context(|| format!("no {environment} {label} is stored"))?;
            let text = stored
                .expose_text()
                .with_context(|| format!("the stored {label} is not text: store it again"))?;
            secret
                .check(text)
                .with_context(|| format!("the stored {label} is not valid"))?;
            println!("A valid {environment} {label} is stored.");
        }
        Command::Delete => {
            let deleted = desk
                .secrets
                .delete(&name)
                .with_context(|| format!("the keyring refused to delete the {label}"))?;
            if deleted {
                println!("The {environment} {label} is deleted.");
            } else {
                println!("No {environment} {label} was stored.");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
