//! The Deskbridge desktop app: wires the library crates to Tauri (window, commands, events) and
//! nothing else. Domain logic lives in `crates/`; this crate stays thin.

mod commands;
mod desk;
pub mod ipc;

use anyhow::Context as _;
use tauri::Manager as _;

/// Starts the app: logging, the typed IPC layer, the desk context, then the main window.
pub fn run() -> anyhow::Result<()> {
    init_logging();
    let ipc = ipc::builder();
    tauri::Builder::default()
        .invoke_handler(ipc.invoke_handler())
        .setup(move |app| {
            ipc.mount_events(app);
            let desk = desk::Desk::open(app.handle())?;
            tracing::info!(environment = %desk.environment, "desk opened");
            app.manage(desk);
            Ok(())
        })
        .run(tauri::generate_context!())
        .context("the Deskbridge window could not start")
}

/// Logs go to stderr, filtered by `DESKBRIDGE_LOG` (default `info`). Logs carry ids and event types,
/// never patient data or secrets.
fn init_logging() {
    // A second initialisation (tests) keeps the first subscriber.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(deskbridge_core::logging::filter("DESKBRIDGE_LOG", "info"))
        .with_writer(std::io::stderr)
        .try_init();
}
