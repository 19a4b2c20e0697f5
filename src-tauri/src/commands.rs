//! Tauri commands: thin adapters from the typed IPC boundary to the library crates.

use std::sync::PoisonError;

use tauri::State;

use crate::desk::Desk;
use crate::ipc::{AppStatus, DatabaseStatus, ErrorCode, UiError};

/// Version, data folder and database facts for the status bar and the IT person.
#[tauri::command]
#[specta::specta]
pub(crate) fn app_status(desk: State<'_, Desk>) -> Result<AppStatus, UiError> {
    if !desk.data_dir.is_dir() {
        return Err(UiError::new(
            ErrorCode::DataDirMissing,
            format!(
                "Deskbridge's data folder {} has disappeared. Restart Deskbridge; if this \
                 message comes back, call your IT person.",
                desk.data_dir.display()
            ),
        ));
    }
    let database = match &desk.database {
        Ok(store) => {
            let store = store.lock().unwrap_or_else(PoisonError::into_inner);
            match store.schema_version() {
                Ok(version) => DatabaseStatus {
                    ready: true,
                    problem: None,
                    message: format!("Encrypted database ready (schema {version})"),
                },
                Err(error) => DatabaseStatus {
                    ready: false,
                    problem: Some(ErrorCode::DatabaseUnavailable),
                    message: format!(
                        "The encrypted database stopped answering ({error}). Restart Deskbridge."
                    ),
                },
            }
        }
        Err(problem) => DatabaseStatus {
            ready: false,
            problem: Some(problem.code),
            message: problem.message.clone(),
        },
    };
    Ok(AppStatus {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        environment: desk.environment.as_str().to_owned(),
        data_dir: desk.data_dir.display().to_string(),
        database,
    })
}
