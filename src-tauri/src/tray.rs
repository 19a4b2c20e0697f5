//! The tray: closing the window hides it and Deskbridge keeps receiving; the tray menu opens the
//! window again, shows whether webhooks arrive, and quits (which stops receiving in order).

use deskbridge_relay::client::TunnelState;
use deskbridge_service::ServiceStatus;
use tauri::menu::{Menu, MenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager as _, Window, WindowEvent, Wry};

/// The tray menu's status line, kept to update it.
struct TrayStatus(MenuItem<Wry>);

/// Puts Deskbridge in the tray.
pub(crate) fn install(app: &AppHandle) -> tauri::Result<()> {
    let open = MenuItem::with_id(app, "open", "Open Deskbridge", true, None::<&str>)?;
    let status = MenuItem::with_id(app, "status", "Starting…", false, None::<&str>)?;
    let quit = MenuItem::with_id(
        app,
        "quit",
        "Quit Deskbridge (stops receiving)",
        true,
        None::<&str>,
    )?;
    let menu = Menu::with_items(app, &[&open, &status, &quit])?;
    let mut tray = TrayIconBuilder::with_id("deskbridge")
        .tooltip("Deskbridge")
        .menu(&menu)
        .on_menu_event(|app, event| match event.id.as_ref() {
            "open" => show_window(app),
            "quit" => app.exit(0),
            _ => {}
        });
    if let Some(icon) = app.default_window_icon() {
        tray = tray.icon(icon.clone());
    }
    tray.build(app)?;
    app.manage(TrayStatus(status));
    Ok(())
}

/// Closing the main window hides it: receiving goes on until Quit in the tray.
pub(crate) fn keep_receiving_on_close(window: &Window, event: &WindowEvent) {
    if let WindowEvent::CloseRequested { api, .. } = event {
        api.prevent_close();
        if let Err(error) = window.hide() {
            tracing::warn!(%error, "the window could not be hidden");
        }
    }
}

/// The tray's status line follows the link.
pub(crate) fn show_status(app: &AppHandle, status: &ServiceStatus) {
    let Some(tray) = app.try_state::<TrayStatus>() else {
        return;
    };
    let text = match (&status.tunnel, status.direct) {
        (Some(TunnelState::Connected { .. }), _) => "Receiving webhooks".to_owned(),
        (Some(TunnelState::Reconnecting { .. } | TunnelState::Connecting { .. }), _) => {
            "Not receiving: reconnecting to the relay".to_owned()
        }
        (Some(TunnelState::Refused { reason, .. }), _) => {
            format!("Not receiving: the relay refused ({reason})")
        }
        (Some(TunnelState::Stopped), _) => "Not receiving".to_owned(),
        (None, Some(address)) => format!("Receiving on {address}"),
        (None, None) => "Not receiving: no relay or listener set up".to_owned(),
    };
    if let Err(error) = tray.0.set_text(text) {
        tracing::warn!(%error, "the tray status could not be updated");
    }
}

/// Shows, restores and focuses the main window.
pub(crate) fn show_window(app: &AppHandle) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.show();
        let _ = window.unminimize();
        let _ = window.set_focus();
    }
}
