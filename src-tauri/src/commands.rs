//! Tauri commands: thin adapters from the typed IPC boundary to the library crates.

use tauri::State;

use crate::desk::Desk;
use crate::ipc::{AppStatus, ErrorCode, UiError};

/// Version and data-directory facts for the status bar and the IT person.
#[tauri::command]
#[specta::specta]
pub(crate) fn app_status(desk: State<'_, Desk>) -> Result<AppStatus, UiError> {
    let data_dir_exists = desk.data_dir.is_dir();
    if !data_dir_exists {
        return Err(UiError::new(
            ErrorCode::DataDirMissing,
            format!(
                "Deskbridge's data folder {} has disappeared. Restart Deskbridge; if this \
                 message comes back, call your IT person.",
                desk.data_dir.display()
            ),
        ));
    }
    Ok(AppStatus {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        environment: desk.environment.as_str().to_owned(),
        data_dir: desk.data_dir.display().to_string(),
    })
}
