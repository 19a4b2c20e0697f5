//! The Deskbridge desktop app: wires the library crates to Tauri (window, commands, events) and
//! nothing else. Domain logic lives in `crates/`; this crate stays thin.

mod caspio;
mod commands;
mod desk;
pub mod ipc;
mod patterns;
mod settings;
mod tray;
mod views;

use anyhow::Context as _;
use deskbridge_service::ServiceEvent;
use tauri::Manager as _;
use tauri_specta::Event as _;
use tokio::sync::broadcast;

use crate::ipc::{BoardChanged, WebhookReceived};

/// Starts the app: logging, the typed IPC layer, the desk (receiving starts here), the live
/// events, then the main window. On exit, receiving stops and every database connection closes.
pub fn run() -> anyhow::Result<()> {
    init_logging();
    let ipc = ipc::builder();
    let app = tauri::Builder::default()
        // First, so that a second launch exits before it opens anything.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            tray::show_window(app);
        }))
        .invoke_handler(ipc.invoke_handler())
        .on_window_event(tray::keep_receiving_on_close)
        .setup(move |app| {
            ipc.mount_events(app);
            tray::install(app.handle())?;
            let handle = app.handle().clone();
            let desk = tauri::async_runtime::block_on(desk::Desk::start(&handle))?;
            tracing::info!(environment = %desk.environment, mode = ?desk.mode, "desk started");
            let events = desk.with_service(|service| service.subscribe());
            app.manage(desk);
            if let Some(events) = events {
                tauri::async_runtime::spawn(forward_events(handle, events));
            }
            Ok(())
        })
        .build(tauri::generate_context!())
        .context("the Deskbridge window could not start")?;
    app.run(|handle, event| {
        if let tauri::RunEvent::Exit = event
            && let Some(desk) = handle.try_state::<desk::Desk>()
        {
            tauri::async_runtime::block_on(desk.stop());
        }
    });
    Ok(())
}

/// Pushes the service's live changes to the window as typed events (no polling).
async fn forward_events(handle: tauri::AppHandle, mut events: broadcast::Receiver<ServiceEvent>) {
    loop {
        let event = match events.recv().await {
            Ok(event) => event,
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::warn!(missed, "live events skipped; the board reloads");
                ServiceEvent::AppointmentsChanged(Vec::new())
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        let Some(desk) = handle.try_state::<desk::Desk>() else {
            continue;
        };
        let sent = match event {
            ServiceEvent::AppointmentsChanged(ids) => BoardChanged { ids }.emit(&handle),
            ServiceEvent::Webhook(notice) => WebhookReceived {
                row: views::notice_row(&notice, &desk.time_zone),
            }
            .emit(&handle),
            ServiceEvent::Status(status) => {
                tray::show_status(&handle, &status);
                views::link_status(&status, desk.caspio.is_some(), &desk.time_zone).emit(&handle)
            }
        };
        if let Err(error) = sent {
            tracing::warn!(%error, "a live event could not reach the window");
        }
    }
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
