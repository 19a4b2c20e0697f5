//! The typed IPC boundary: wire types, events and the command list, exported to TypeScript as
//! `ui/src/lib/bindings.ts`. Wire types live here, never on the core types; times are already in
//! the practice's time zone and words, so the UI only lays them out.

use serde::{Deserialize, Serialize};
use specta::Type;

use crate::{caspio, commands, patterns, settings};

/// Where the generated TypeScript bindings live, relative to this crate.
pub const BINDINGS_PATH: &str = "../ui/src/lib/bindings.ts";

/// What the status bar and header show about the running app.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct AppStatus {
    /// The app's version, as built.
    pub version: String,
    /// `sandbox` or `production`.
    pub environment: String,
    /// Whether this is the demo (sandbox data played in process) or the practice's own desk.
    pub mode: DeskMode,
    /// The practice's name, when set.
    pub practice_name: Option<String>,
    /// The practice's time zone, e.g. `America/New_York`.
    pub time_zone: String,
    /// This environment's data folder (holds the encrypted database).
    pub data_dir: String,
    /// Whether the encrypted database is open; while it is not, no webhook is acknowledged.
    pub database: DatabaseStatus,
}

/// Demo or the practice's own desk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum DeskMode {
    /// A practice day played by the built-in Zocdoc emulator: sandbox data, no real patients.
    Demo,
    /// The practice's own Zocdoc account.
    Live,
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
    /// Deskbridge is not receiving (still starting, or it could not start).
    NotRunning,
    /// The appointment is not on this desk.
    UnknownAppointment,
    /// Zocdoc does not allow this now.
    NotAllowed,
    /// Zocdoc refused or could not be reached.
    Zocdoc,
    /// No Zocdoc API credentials are set.
    NotSetUp,
    /// The request itself is not valid (a malformed date, an unknown action).
    InvalidRequest,
    /// Caspio refused, could not be reached, or the mapping does not fit the table.
    Caspio,
    /// A file could not be written where asked (an export).
    FileNotSaved,
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

/// A lane of the board.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum LaneId {
    Upcoming,
    Arrived,
    Rescheduled,
    Cancelled,
    NoShow,
}

/// One day of the board.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct BoardDay {
    /// The day, `YYYY-MM-DD`, in the practice's time zone.
    pub day: String,
    /// The day before and after, for navigation.
    pub previous_day: String,
    pub next_day: String,
    /// "Today", "Tomorrow", "Yesterday" or the weekday.
    pub title: String,
    /// e.g. "Wednesday, November 25, 2026".
    pub date_text: String,
    /// Whether it is the practice's today.
    pub is_today: bool,
    /// The cards, by start time.
    pub cards: Vec<CardView>,
}

/// One appointment card.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct CardView {
    /// Zocdoc's appointment id.
    pub id: String,
    /// The lane.
    pub lane: LaneId,
    /// The start, e.g. "2:00 PM".
    pub time: String,
    /// The start before its last move, e.g. "Nov 24, 1:30 PM".
    pub previous_time: Option<String>,
    /// Zocdoc's status, as sent (for styling).
    pub status: String,
    /// The status in words.
    pub status_text: String,
    /// The provider, by name when known.
    pub provider: String,
    /// The visit reason, by name when known.
    pub visit_reason: String,
    /// "New patient" or "Existing patient", when Zocdoc says.
    pub patient_type: Option<String>,
    /// "Video visit" for video visits.
    pub visit_type: Option<String>,
    /// The patient's name, only once a person loaded the details.
    pub patient_name: Option<String>,
    /// For a cancellation or no-show: whether the patient booked again (`None`: cannot tell).
    pub rebooked: Option<bool>,
}

/// The appointment drawer.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct DrawerView {
    pub card: CardView,
    /// e.g. "Wednesday, November 25, 2:00 PM".
    pub start_text: String,
    /// When it was booked, in words.
    pub booked_text: Option<String>,
    /// The patient's note to the practice.
    pub notes: Option<String>,
    /// Why it was cancelled, as Zocdoc gave it.
    pub cancellation_reason: Option<String>,
    /// The history, oldest first.
    pub history: Vec<HistoryView>,
    /// The actions, each with whether it is allowed now.
    pub actions: Vec<ActionView>,
    /// Whether patient details were loaded before (they are shown only on request).
    pub patient_loaded: bool,
}

/// One history line.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct HistoryView {
    /// e.g. "Nov 25, 9:14 AM".
    pub at: String,
    /// What happened.
    pub text: String,
}

/// A staff action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum StaffActionId {
    MarkArrived,
    MarkNoShow,
    Confirm,
}

/// One action button.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct ActionView {
    pub action: StaffActionId,
    /// e.g. "Mark arrived".
    pub label: String,
    /// What the confirmation asks, e.g. "Tell Zocdoc the patient has arrived?".
    pub confirm: String,
    /// Whether it can be done now.
    pub allowed: bool,
    /// Why not, when not.
    pub reason: Option<String>,
}

/// What an action did.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct ActionOutcome {
    /// What happened, in words.
    pub message: String,
    /// The drawer as it is now.
    pub drawer: DrawerView,
}

/// Patient details (patient data: shown on request, never logged).
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct PatientView {
    pub name: String,
    pub date_of_birth: String,
    pub phone: String,
    pub email: String,
    pub insurance: Option<String>,
    /// When they were fetched from Zocdoc.
    pub fetched_text: String,
}

/// One connection's light.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct LinkLight {
    pub state: LightState,
    /// e.g. "Connected", "Reconnecting since 2:14 PM", "Not set up".
    pub detail: String,
}

/// A light's colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum LightState {
    Ok,
    Warn,
    Down,
    Off,
}

/// The header's lights, the clock-skew warning and the Resync panel.
#[derive(Debug, Clone, Serialize, Type, tauri_specta::Event)]
#[serde(rename_all = "camelCase")]
pub struct LinkStatus {
    pub tunnel: LinkLight,
    pub zocdoc: LinkLight,
    pub caspio: LinkLight,
    /// A warning when webhooks arrive with a clock far off.
    pub clock_warning: Option<String>,
    pub resync: ResyncView,
}

/// The Resync button's state.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct ResyncView {
    /// Whether a run is under way (the button shows progress and Cancel).
    pub running: bool,
    /// Appointments read so far.
    pub done: u32,
    /// Zocdoc's estimate of the total (0 before the first page).
    pub total: u32,
    /// The last result or the run's state, in words, e.g. "12 changes recovered".
    pub message: Option<String>,
    /// Whether a resync can be asked for (API credentials set).
    pub available: bool,
}

/// One row of the webhook inspector.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct WebhookRow {
    /// `stored-12` or `rejected-3`: unique across both kinds.
    pub key: String,
    /// e.g. "2:14:05 PM".
    pub received: String,
    /// `stored`, `duplicate`, `stale` or `rejected`.
    pub verdict: String,
    /// The appointment it names.
    pub appointment_id: Option<String>,
    /// `created`, `updated`, `cancelled`, …
    pub update_type: Option<String>,
    /// More, in words: the rejection's reason, duplicates, clock skew.
    pub detail: Option<String>,
    /// The stored row's id, when it can be processed again (Re-process).
    pub stored_id: Option<u32>,
}

/// Appointments changed: the board reloads the day if it shows any of them.
#[derive(Debug, Clone, Serialize, Type, tauri_specta::Event)]
#[serde(rename_all = "camelCase")]
pub struct BoardChanged {
    pub ids: Vec<String>,
}

/// A webhook was handled (the inspector's new row).
#[derive(Debug, Clone, Serialize, Type, tauri_specta::Event)]
#[serde(rename_all = "camelCase")]
pub struct WebhookReceived {
    pub row: WebhookRow,
}

/// The command and event list, shared by the app and by the bindings export.
pub fn builder() -> tauri_specta::Builder<tauri::Wry> {
    tauri_specta::Builder::<tauri::Wry>::new()
        .commands(tauri_specta::collect_commands![
            commands::app_status,
            commands::link_status,
            commands::board,
            commands::appointment,
            commands::staff_action,
            commands::patient_details,
            commands::start_resync,
            commands::cancel_resync,
            commands::webhooks,
            commands::reprocess_webhook,
            settings::settings,
            settings::save_settings,
            settings::store_secret,
            settings::test_zocdoc,
            settings::reset_demo,
            caspio::caspio_panel,
            caspio::caspio_dry_run,
            caspio::caspio_push,
            caspio::caspio_retry_failed,
            caspio::caspio_cancel,
            patterns::practice_patterns,
            patterns::export_patterns_csv,
        ])
        .events(tauri_specta::collect_events![
            BoardChanged,
            WebhookReceived,
            LinkStatus,
            caspio::CaspioProgress
        ])
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
