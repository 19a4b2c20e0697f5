//! The typed IPC boundary: wire types and the command list, exported to TypeScript as
//! `ui/src/lib/bindings.ts`. Wire types live here, never on the core types.

use serde::Serialize;
use specta::Type;

use crate::commands;

/// Where the generated TypeScript bindings live, relative to this crate.
pub const BINDINGS_PATH: &str = "../ui/src/lib/bindings.ts";

/// What the status bar shows about the running app.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct AppStatus {
    /// The app's version, as built.
    pub version: String,
    /// `sandbox` or `production`.
    pub environment: String,
    /// This environment's data folder (holds the encrypted database).
    pub data_dir: String,
    /// Whether the encrypted database is open; while it is not, no webhook is acknowledged.
    pub database: DatabaseStatus,
}

/// The encrypted database's state, in words for the status bar.
#[derive(Debug, Clone, Serialize, Type)]
pub struct DatabaseStatus {
    /// True when webhooks can be stored.
    pub ready: bool,
    /// Why it is not ready.
    pub problem: Option<ErrorCode>,
    /// What staff read: the state, or what happened and what to do.
    pub message: String,
}

/// Stable error codes the UI may branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The environment's data folder is gone.
    DataDirMissing,
    /// The OS keyring is locked: the database key cannot be read.
    KeyringLocked,
    /// No keyring service answers (no Secret Service, no D-Bus session).
    KeyringUnavailable,
    /// The database exists but the keyring has no key for it.
    DatabaseKeyMissing,
    /// The keyring's key does not open the database.
    DatabaseWrongKey,
    /// The database could not be opened or used for another reason.
    DatabaseUnavailable,
}

/// Every command's error: a code for the UI's logic and a message in front-desk words.
#[derive(Debug, Clone, Serialize, Type, thiserror::Error)]
#[error("{message}")]
pub struct UiError {
    pub code: ErrorCode,
    pub message: String,
}

impl UiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// The command and event list, shared by the app and by the bindings export.
pub fn builder() -> tauri_specta::Builder<tauri::Wry> {
    tauri_specta::Builder::<tauri::Wry>::new()
        .commands(tauri_specta::collect_commands![commands::app_status])
}

/// Renders the TypeScript bindings for the current Rust types.
pub fn render_bindings() -> anyhow::Result<String> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("bindings.ts");
    builder()
        .export(typescript_exporter(), &path)
        .map_err(|e| anyhow::anyhow!("could not export the TypeScript bindings: {e}"))?;
    Ok(std::fs::read_to_string(path)?)
}

fn typescript_exporter() -> specta_typescript::Typescript {
    specta_typescript::Typescript::default()
        .header("// Generated from the Rust types in src-tauri/src/ipc.rs by `cargo xtask bindings`. Do not edit.\n")
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// The committed bindings match the Rust types. `UPDATE_BINDINGS=1` rewrites them
    /// (`cargo xtask bindings` does exactly that).
    #[test]
    fn bindings_are_current() {
        let rendered = render_bindings().unwrap();
        let committed_path = Path::new(env!("CARGO_MANIFEST_DIR")).join(BINDINGS_PATH);
        if std::env::var_os("UPDATE_BINDINGS").is_some() {
            std::fs::write(&committed_path, &rendered).unwrap();
            return;
        }
        let committed = std::fs::read_to_string(&committed_path).unwrap_or_default();
        assert!(
            committed == rendered,
            "ui/src/lib/bindings.ts is out of date with the Rust types: run `cargo xtask bindings` \
             and commit the result"
        );
    }
}
