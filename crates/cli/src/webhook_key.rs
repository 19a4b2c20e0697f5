//! `webhook-key set|check|delete`: the Zocdoc webhook key in the keyring. The key is read from
//! standard input, never from the command line (which other users can see), and never printed.

use std::io::Read as _;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Subcommand;
use deskbridge_core::secrets::{SecretName, SecretPurpose, SecretStore as _, SecretValue};
use deskbridge_zocdoc::webhook::WebhookKey;

use crate::desk::Desk;

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Read the key Zocdoc gave you from standard input and store it in the keyring.
    Set,
    /// Say whether a valid key is stored (the key itself is never shown).
    Check,
    /// Remove the stored key: webhooks then stay unanswered (Zocdoc retries) until a key is set.
    Delete,
}

pub(crate) fn run(desk: &Desk, command: Command) -> anyhow::Result<ExitCode> {
    let name = SecretName::new(desk.environment, SecretPurpose::WebhookKey);
    match command {
        Command::Set => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("could not read the key from standard input")?;
            let text = text.trim();
            WebhookKey::from_base64(text)
                .context("that is not a valid webhook key (base64 text)")?;
            desk.secrets
                .set(&name, &SecretValue::from_text(text.to_owned()))
                .context("the keyring refused the key")?;
            println!(
                "The {} webhook key is stored in the keyring.",
                desk.environment
            );
        }
        Command::Check => {
            desk.webhook_key()?;
            println!("A valid {} webhook key is stored.", desk.environment);
        }
        Command::Delete => {
            let deleted = desk
                .secrets
                .delete(&name)
                .context("the keyring refused to delete the key")?;
            if deleted {
                println!("The {} webhook key is deleted.", desk.environment);
            } else {
                println!("No {} webhook key was stored.", desk.environment);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
