//! Caspio commands: the panel (outbox counts and rows), a dry run, Push (selected or all changed),
//! Retry failed and Cancel. Staff push by hand, never silently; progress comes as events.

use std::sync::Arc;

use deskbridge_core::caspio_push::{
    CaspioPush, DryRun, Mapping, OutboxRow, OutboxState, PushError, PushReport, Selection, Written,
};
use deskbridge_core::clock::Clock;
use deskbridge_core::resync::CancelToken;
use deskbridge_core::secrets::{KeyringSecrets, SecretName, SecretPurpose, SecretStore as _};
use deskbridge_core::settings::DeskSettings;
use deskbridge_core::store::Store;
use serde::Serialize;
use specta::Type;
use tauri::State;
use tauri_specta::Event as _;

use crate::desk::Desk;
use crate::ipc::{ErrorCode, UiError};
use crate::views::saturating_u32;

/// How many outbox rows the panel lists.
const PANEL_ROWS: u32 = 100;

/// The push, for the commands: one session at a time (the async mutex), and its cancel token.
pub(crate) struct CaspioDesk {
    push: tokio::sync::Mutex<CaspioPush>,
    cancel: std::sync::Mutex<Option<CancelToken>>,
    /// Where the rows go, for the panel.
    table: String,
}

impl std::fmt::Debug for CaspioDesk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaspioDesk")
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

impl CaspioDesk {
    /// A push to `client`'s account with `mapping`.
    pub(crate) fn new(
        store: Store,
        client: deskbridge_caspio::Client,
        mapping: Mapping,
        clock: Arc<dyn Clock>,
    ) -> CaspioDesk {
        let table = mapping.table.clone();
        CaspioDesk {
            push: tokio::sync::Mutex::new(CaspioPush::new(store, client, mapping, clock)),
            cancel: std::sync::Mutex::new(None),
            table,
        }
    }

    /// The practice's own Caspio account from settings and the keyring, when it is set up.
    pub(crate) fn client_from_settings(
        settings: &DeskSettings,
        secrets: &KeyringSecrets,
        environment: deskbridge_core::environment::Environment,
    ) -> Option<deskbridge_caspio::Client> {
        let host =
            deskbridge_caspio::IntegrationHost::parse(settings.caspio_host.as_deref()?).ok()?;
        let client_id = settings.caspio_client_id.clone()?;
        let secret = secrets
            .get(&SecretName::new(
                environment,
                SecretPurpose::CaspioClientSecret,
            ))
            .ok()
            .flatten()?
            .expose_text()?
            .to_owned();
        deskbridge_caspio::Client::builder(deskbridge_caspio::Account {
            host,
            client_id: deskbridge_caspio::ClientId::new(client_id),
            client_secret: deskbridge_caspio::ClientSecret::new(secret),
        })
        .build()
        .map_err(|error| tracing::error!(%error, "the Caspio client could not be set up"))
        .ok()
    }
}

/// The Caspio panel.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CaspioPanel {
    /// Whether a Caspio account is set up.
    pub(crate) configured: bool,
    /// The target table.
    pub(crate) table: Option<String>,
    pub(crate) pending: u32,
    pub(crate) pushed: u32,
    pub(crate) failed: u32,
    /// Failed rows first, then pending, then the latest pushed.
    pub(crate) rows: Vec<OutboxRowView>,
}

/// One outbox row.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OutboxRowView {
    pub(crate) appointment_id: String,
    /// `pending`, `pushed` or `failed`.
    pub(crate) state: String,
    /// What was written: `insert`, `update` or `unchanged`.
    pub(crate) written: Option<String>,
    pub(crate) attempts: u32,
    /// Why it failed, in words.
    pub(crate) error: Option<String>,
}

/// A dry run: what a push would write, row by row.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DryRunView {
    pub(crate) rows: Vec<PlannedRowView>,
    /// Requested appointments Deskbridge does not hold.
    pub(crate) not_stored: Vec<String>,
}

/// One planned row.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PlannedRowView {
    pub(crate) appointment_id: String,
    /// `insert`, `update` or `unchanged`.
    pub(crate) action: String,
    /// The columns an update changes.
    pub(crate) changed_columns: Vec<String>,
    /// Each column and the value it would hold, as text.
    pub(crate) values: Vec<ColumnValue>,
}

/// A column and its value.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ColumnValue {
    pub(crate) column: String,
    pub(crate) value: String,
}

/// What a push did (also the progress event's payload).
#[derive(Debug, Clone, Serialize, Type, tauri_specta::Event)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CaspioProgress {
    pub(crate) total: u32,
    pub(crate) done: u32,
    pub(crate) inserted: u32,
    pub(crate) updated: u32,
    pub(crate) unchanged: u32,
    pub(crate) failed: u32,
    /// Whether the session has ended.
    pub(crate) finished: bool,
    /// The result in words, once finished.
    pub(crate) message: Option<String>,
}

/// The outbox: counts and rows.
#[tauri::command]
#[specta::specta]
pub(crate) async fn caspio_panel(desk: State<'_, Desk>) -> Result<CaspioPanel, UiError> {
    let Some(caspio) = &desk.caspio else {
        return Ok(CaspioPanel {
            configured: false,
            table: None,
            pending: 0,
            pushed: 0,
            failed: 0,
            rows: Vec::new(),
        });
    };
    let outbox = caspio
        .push
        .lock()
        .await
        .outbox(PANEL_ROWS)
        .map_err(push_error)?;
    Ok(CaspioPanel {
        configured: true,
        table: Some(caspio.table.clone()),
        pending: saturating_u32(outbox.counts.pending),
        pushed: saturating_u32(outbox.counts.pushed),
        failed: saturating_u32(outbox.counts.failed),
        rows: outbox.rows.iter().map(row_view).collect(),
    })
}

/// What a push of `ids` (all changed since the last push when absent) would write; writes nothing.
#[tauri::command]
#[specta::specta]
pub(crate) async fn caspio_dry_run(
    desk: State<'_, Desk>,
    ids: Option<Vec<String>>,
) -> Result<DryRunView, UiError> {
    let caspio = configured(&desk)?;
    let selection = match ids {
        Some(ids) => Selection::Ids(ids),
        None => Selection::ChangedSinceLastPush,
    };
    let dry_run = caspio
        .push
        .lock()
        .await
        .dry_run(&selection)
        .await
        .map_err(push_error)?;
    Ok(dry_run_view(dry_run))
}

/// Pushes `ids` (all changed since the last push when absent); progress comes as events.
#[tauri::command]
#[specta::specta]
pub(crate) async fn caspio_push(
    handle: tauri::AppHandle,
    desk: State<'_, Desk>,
    ids: Option<Vec<String>>,
) -> Result<CaspioProgress, UiError> {
    let caspio = configured(&desk)?;
    session(&handle, caspio, |push, progress, cancel| {
        Box::pin(async move {
            match ids {
                Some(ids) => push.push_selected(&ids, progress, cancel).await,
                None => push.push_changed_since_last(progress, cancel).await,
            }
        })
    })
    .await
}

/// Pushes the failed rows again.
#[tauri::command]
#[specta::specta]
pub(crate) async fn caspio_retry_failed(
    handle: tauri::AppHandle,
    desk: State<'_, Desk>,
) -> Result<CaspioProgress, UiError> {
    let caspio = configured(&desk)?;
    session(&handle, caspio, |push, progress, cancel| {
        Box::pin(push.retry_failed(progress, cancel))
    })
    .await
}

/// Cancels the push under way (it stops before its next row); false when none was.
#[tauri::command]
#[specta::specta]
pub(crate) fn caspio_cancel(desk: State<'_, Desk>) -> bool {
    let Some(caspio) = &desk.caspio else {
        return false;
    };
    match &*caspio
        .cancel
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
    {
        Some(token) => {
            token.cancel();
            true
        }
        None => false,
    }
}

type Session<'a> =
    std::pin::Pin<Box<dyn Future<Output = Result<PushReport, PushError>> + Send + 'a>>;

/// Runs one push session with progress events and a cancel token.
async fn session(
    handle: &tauri::AppHandle,
    caspio: &CaspioDesk,
    work: impl for<'a> FnOnce(
        &'a mut CaspioPush,
        &'a mut (dyn FnMut(&PushReport) + Send),
        &'a CancelToken,
    ) -> Session<'a>,
) -> Result<CaspioProgress, UiError> {
    let mut push = caspio.push.lock().await;
    let cancel = CancelToken::new();
    *caspio
        .cancel
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(cancel.clone());
    let events = handle.clone();
    let mut progress = move |report: &PushReport| {
        let _ = progress_view(report, false, None).emit(&events);
    };
    let result = work(&mut push, &mut progress, &cancel).await;
    *caspio
        .cancel
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    let report = result.map_err(push_error)?;
    let message = format!(
        "{} inserted, {} updated, {} unchanged, {} failed.",
        report.inserted, report.updated, report.unchanged, report.failed
    );
    let done = progress_view(&report, true, Some(message));
    let _ = done.clone().emit(handle);
    Ok(done)
}

fn configured(desk: &Desk) -> Result<&CaspioDesk, UiError> {
    desk.caspio.as_ref().ok_or_else(|| {
        UiError::new(
            ErrorCode::NotSetUp,
            "Caspio is not set up: add the integration host, client id and secret in Settings.",
        )
    })
}

fn push_error(error: PushError) -> UiError {
    UiError::new(ErrorCode::Caspio, error.staff_message())
}

fn progress_view(report: &PushReport, finished: bool, message: Option<String>) -> CaspioProgress {
    CaspioProgress {
        total: saturating_u32(report.total),
        done: saturating_u32(report.done),
        inserted: saturating_u32(report.inserted),
        updated: saturating_u32(report.updated),
        unchanged: saturating_u32(report.unchanged),
        failed: saturating_u32(report.failed),
        finished,
        message,
    }
}

fn written(written: Written) -> String {
    match written {
        Written::Insert => "insert",
        Written::Update => "update",
        Written::Unchanged => "unchanged",
    }
    .to_owned()
}

fn row_view(row: &OutboxRow) -> OutboxRowView {
    OutboxRowView {
        appointment_id: row.appointment_id.clone(),
        state: match row.state {
            OutboxState::Pending => "pending",
            OutboxState::Pushed => "pushed",
            OutboxState::Failed => "failed",
        }
        .to_owned(),
        written: row.written.map(written),
        attempts: row.attempts,
        error: row.last_error.clone(),
    }
}

fn dry_run_view(dry_run: DryRun) -> DryRunView {
    DryRunView {
        rows: dry_run
            .rows
            .into_iter()
            .map(|row| PlannedRowView {
                appointment_id: row.appointment_id,
                action: written(row.action),
                changed_columns: row.changed_columns,
                values: row
                    .values
                    .into_iter()
                    .map(|(column, value)| ColumnValue {
                        column,
                        value: match value {
                            serde_json::Value::String(text) => text,
                            serde_json::Value::Null => String::new(),
                            other => other.to_string(),
                        },
                    })
                    .collect(),
            })
            .collect(),
        not_stored: dry_run.not_stored,
    }
}
