//! `webhook-key`, `relay-token`, `zocdoc-client-id` and `zocdoc-client-secret` (`set|check|delete`):
//! the desk's secrets in the keyring. A
//! secret is read from standard input, never from the command line (which other users can see),
//! and never printed.

use std::io::Read as _;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Subcommand;
use deskbridge_core::secrets::{SecretName, SecretPurpose, SecretStore as _, SecretValue};

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

/// A secret these commands manage: which entry, what it is called, how it is checked.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Secret {
    pub(crate) purpose: SecretPurpose,
    /// What staff call it, e.g. "webhook key".
    pub(crate) label: &'static str,
    /// Checks the text before it is stored: an error says what is wrong with it.
    pub(crate) validate: fn(&str) -> anyhow::Result<()>,
}

pub(crate) fn run(desk: &Desk, secret: Secret, command: Command) -> anyhow::Result<ExitCode> {
    let Secret {
        purpose,
        label,
        validate,
    } = secret;
    let environment = desk.environment;
    let name = SecretName::new(environment, purpose);
    match command {
        Command::Set => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .with_context(|| format!("could not read the {label} from standard input"))?;
            let text = text.trim();
            validate(text)?;
            desk.secrets
                .set(&name, &SecretValue::from_text(text.to_owned()))
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
            validate(text).with_context(|| format!("the stored {label} is not valid"))?;
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
