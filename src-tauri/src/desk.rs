//! The desk context the commands share: which environment runs, where its data lives, and whether
//! its encrypted database could be opened (and if not, why, in plain words).

use std::path::PathBuf;
use std::sync::Mutex;

use anyhow::Context as _;
use deskbridge_core::environment::Environment;
use deskbridge_core::random::OsRandom;
use deskbridge_core::secrets::{KeyringSecrets, SecretError};
use deskbridge_core::store::{OpenError, Store};
use tauri::Manager as _;

use crate::ipc::ErrorCode;

/// Environment variable that picks the Zocdoc environment (`sandbox` or `production`).
const ENVIRONMENT_VAR: &str = "DESKBRIDGE_ENVIRONMENT";
/// Environment variable naming the keyring service for Deskbridge's secrets (default
/// `Deskbridge`), so several desks (or tests) on one machine keep their keys apart.
const KEYRING_SERVICE_VAR: &str = "DESKBRIDGE_KEYRING_SERVICE";

/// What every command may read about the running desk.
#[derive(Debug)]
pub(crate) struct Desk {
    pub(crate) environment: Environment,
    /// This environment's own data directory (created on open).
    pub(crate) data_dir: PathBuf,
    /// The encrypted database, or why it is closed. While it is closed nothing is acknowledged.
    pub(crate) database: Result<Mutex<Store>, DatabaseProblem>,
}

/// Why the database is closed: a code for the UI and the store's own plain-words message.
#[derive(Debug, Clone)]
pub(crate) struct DatabaseProblem {
    pub(crate) code: ErrorCode,
    pub(crate) message: String,
}

impl Desk {
    /// Resolves the environment, creates its data directory and opens its encrypted database
    /// with the key from the OS keyring (made on first run, never over existing data).
    pub(crate) fn open(app: &tauri::AppHandle) -> anyhow::Result<Self> {
        let environment = match std::env::var(ENVIRONMENT_VAR) {
            Ok(name) => name
                .parse()
                .with_context(|| format!("{ENVIRONMENT_VAR} is invalid"))?,
            Err(_) => Environment::Sandbox,
        };
        let app_data_dir = app
            .path()
            .app_data_dir()
            .context("this system has no folder for application data")?;
        let data_dir = environment.data_dir(&app_data_dir);
        std::fs::create_dir_all(&data_dir)
            .with_context(|| format!("could not create the data folder {}", data_dir.display()))?;
        let secrets = match std::env::var(KEYRING_SERVICE_VAR) {
            Ok(service) => KeyringSecrets::with_service(service),
            Err(_) => KeyringSecrets::new(),
        };
        let database = Store::open(&app_data_dir, environment, &secrets, &OsRandom)
            .map(Mutex::new)
            .map_err(|error| {
                tracing::error!(%environment, code = ?problem_code(&error), "database not opened");
                DatabaseProblem {
                    code: problem_code(&error),
                    message: error.to_string(),
                }
            });
        Ok(Self {
            environment,
            data_dir,
            database,
        })
    }
}

fn problem_code(error: &OpenError) -> ErrorCode {
    match error {
        OpenError::Keyring {
            error: SecretError::Locked { .. },
            ..
        } => ErrorCode::KeyringLocked,
        OpenError::Keyring {
            error: SecretError::Unavailable { .. },
            ..
        } => ErrorCode::KeyringUnavailable,
        OpenError::KeyMissing { .. } => ErrorCode::DatabaseKeyMissing,
        OpenError::WrongKey { .. } | OpenError::KeyMalformed { .. } => ErrorCode::DatabaseWrongKey,
        _ => ErrorCode::DatabaseUnavailable,
    }
}
