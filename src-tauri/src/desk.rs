//! The desk context the commands share: which environment runs and where its data lives.

use std::path::PathBuf;

use anyhow::Context as _;
use deskbridge_core::environment::Environment;
use tauri::Manager as _;

/// Environment variable that picks the Zocdoc environment (`sandbox` or `production`).
const ENVIRONMENT_VAR: &str = "DESKBRIDGE_ENVIRONMENT";

/// What every command may read about the running desk.
#[derive(Debug)]
pub(crate) struct Desk {
    pub(crate) environment: Environment,
    /// This environment's own data directory (created on open).
    pub(crate) data_dir: PathBuf,
}

impl Desk {
    /// Resolves the environment and creates its data directory below the app's data directory.
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
        Ok(Self {
            environment,
            data_dir,
        })
    }
}
