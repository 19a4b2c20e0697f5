//! Tauri commands: thin adapters from the typed IPC boundary to the library crates.

use deskbridge_core::staff_actions::{ActionError, perform};
use deskbridge_core::store::Store;
use deskbridge_service::ResyncRequestError;
use deskbridge_zocdoc::api::AppointmentId;
use jiff::ToSpan as _;
use jiff::civil::Date;
use tauri::State;
use tauri_specta::Event as _;

use crate::desk::Desk;
use crate::ipc::{
    ActionOutcome, AppStatus, BoardChanged, BoardDay, DatabaseStatus, DrawerView, ErrorCode,
    LinkStatus, PatientView, StaffActionId, UiError, WebhookRow,
};
use crate::views;

/// How many rows the webhook inspector lists.
const INSPECTOR_ROWS: u32 = 200;

/// Version, mode, practice, data folder and database facts for the header and status bar.
#[tauri::command]
#[specta::specta]
pub(crate) async fn app_status(desk: State<'_, Desk>) -> Result<AppStatus, UiError> {
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
        Ok(store) => match store.lock().await.schema_version() {
            Ok(version) => match &desk.service_problem {
                None => DatabaseStatus {
                    ready: true,
                    problem: None,
                    message: format!("Encrypted database ready (schema {version})"),
                },
                Some(problem) => DatabaseStatus {
                    ready: false,
                    problem: Some(ErrorCode::NotRunning),
                    message: format!("Deskbridge is not receiving webhooks: {problem}"),
                },
            },
            Err(error) => DatabaseStatus {
                ready: false,
                problem: Some(ErrorCode::DatabaseUnavailable),
                message: format!(
                    "The encrypted database stopped answering ({error}). Restart Deskbridge."
                ),
            },
        },
        Err(problem) => DatabaseStatus {
            ready: false,
            problem: Some(problem.code),
            message: problem.message.clone(),
        },
    };
    Ok(AppStatus {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        environment: desk.environment.as_str().to_owned(),
        mode: desk.mode,
        practice_name: desk.practice_name.clone(),
        time_zone: desk
            .time_zone
            .iana_name()
            .unwrap_or("the computer's time zone")
            .to_owned(),
        data_dir: desk.data_dir.display().to_string(),
        database,
    })
}

/// The header's lights, the clock warning and the Resync panel, as of now.
#[tauri::command]
#[specta::specta]
pub(crate) fn link_status(desk: State<'_, Desk>) -> Result<LinkStatus, UiError> {
    desk.with_service(|service| {
        views::link_status(&service.status(), desk.caspio.is_some(), &desk.time_zone)
    })
    .ok_or_else(not_running)
}

/// One day of the board: `day` as `YYYY-MM-DD` in the practice's time zone, today when absent.
#[tauri::command]
#[specta::specta]
pub(crate) async fn board(desk: State<'_, Desk>, day: Option<String>) -> Result<BoardDay, UiError> {
    let time_zone = &desk.time_zone;
    let today = desk.clock.now().to_zoned_datetime(time_zone.clone()).date();
    let day: Date = match day {
        Some(text) => text.parse().map_err(|_| {
            UiError::new(
                ErrorCode::InvalidRequest,
                format!("\u{201c}{text}\u{201d} is not a date."),
            )
        })?,
        None => today,
    };
    let invalid = |_| UiError::new(ErrorCode::InvalidRequest, "That day cannot be shown.");
    let from = day.to_zoned_datetime(time_zone.clone()).map_err(invalid)?;
    let to = day
        .checked_add(1.day())
        .map_err(invalid)?
        .to_zoned_datetime(time_zone.clone())
        .map_err(invalid)?;
    let cards = store(&desk)?
        .lock()
        .await
        .board(from.timestamp(), to.timestamp())
        .map_err(database)?;
    let offset = (day - today).get_days();
    let title = match offset {
        0 => "Today".to_owned(),
        1 => "Tomorrow".to_owned(),
        -1 => "Yesterday".to_owned(),
        _ => from.strftime("%A").to_string(),
    };
    let neighbour = |days: i32| {
        day.checked_add(days.days())
            .map(|date| date.to_string())
            .unwrap_or_else(|_| day.to_string())
    };
    Ok(BoardDay {
        day: day.to_string(),
        previous_day: neighbour(-1),
        next_day: neighbour(1),
        title,
        date_text: from.strftime("%A, %B %-d, %Y").to_string(),
        is_today: offset == 0,
        cards: cards
            .iter()
            .map(|card| views::card(card, time_zone))
            .collect(),
    })
}

/// The drawer of one appointment.
#[tauri::command]
#[specta::specta]
pub(crate) async fn appointment(desk: State<'_, Desk>, id: String) -> Result<DrawerView, UiError> {
    let store = store(&desk)?.lock().await;
    drawer(&desk, &store, &id)
}

/// Does a staff action through Zocdoc, after the UI's confirmation; answers the new drawer.
#[tauri::command]
#[specta::specta]
pub(crate) async fn staff_action(
    handle: tauri::AppHandle,
    desk: State<'_, Desk>,
    id: String,
    action: StaffActionId,
) -> Result<ActionOutcome, UiError> {
    let client = desk.zocdoc.clone().ok_or_else(not_set_up)?;
    // Its own connection: the call to Zocdoc must not hold the board's.
    let mut connection = store(&desk)?
        .lock()
        .await
        .try_clone()
        .map_err(|error| UiError::new(ErrorCode::DatabaseUnavailable, error.to_string()))?;
    let action = views::staff_action(action);
    perform(&mut connection, &client, &id, action, desk.clock.now())
        .await
        .map_err(|error| match error {
            ActionError::UnknownAppointment => {
                UiError::new(ErrorCode::UnknownAppointment, error.to_string())
            }
            ActionError::NotAllowed(why) => UiError::new(ErrorCode::NotAllowed, why),
            ActionError::Zocdoc(_) => UiError::new(ErrorCode::Zocdoc, error.to_string()),
            ActionError::Store(_) => UiError::new(
                ErrorCode::DatabaseUnavailable,
                "Zocdoc took the change, but Deskbridge could not record it; press Resync.",
            ),
        })?;
    let drawer = drawer(&desk, &connection, &id)?;
    // Zocdoc sends no webhook for a partner's own action: the board hears it from here.
    if let Err(error) = (BoardChanged {
        ids: vec![id.clone()],
    })
    .emit(&handle)
    {
        tracing::warn!(%error, "the board was not told of the change");
    }
    Ok(ActionOutcome {
        message: views::action_done(action).to_owned(),
        drawer,
    })
}

/// Fetches the patient's details from Zocdoc (on request only; patient data, never logged).
#[tauri::command]
#[specta::specta]
pub(crate) async fn patient_details(
    desk: State<'_, Desk>,
    id: String,
) -> Result<PatientView, UiError> {
    let client = desk.zocdoc.clone().ok_or_else(not_set_up)?;
    let connection = store(&desk)?
        .lock()
        .await
        .try_clone()
        .map_err(|error| UiError::new(ErrorCode::DatabaseUnavailable, error.to_string()))?;
    let now = desk.clock.now();
    let id = AppointmentId::new(id);
    let participants = client
        .participants(&id)
        .await
        .map_err(|error| UiError::new(ErrorCode::Zocdoc, error.staff_message()))?;
    connection
        .store_participants(&id, &participants, now)
        .map_err(database)?;
    let patient = &participants.patient;
    Ok(PatientView {
        name: format!("{} {}", patient.first_name, patient.last_name),
        date_of_birth: patient.date_of_birth.strftime("%B %-d, %Y").to_string(),
        phone: phone(&patient.phone_number),
        email: patient.email_address.clone(),
        insurance: patient.insurance.as_ref().map(|insurance| {
            if insurance.is_self_pay == Some(true) {
                "Self-pay".to_owned()
            } else {
                match &insurance.insurance_member_id {
                    Some(member) => format!("Member id {member}"),
                    None => "Insured (no member id given)".to_owned(),
                }
            }
        }),
        fetched_text: format!("Fetched {}", views::date_and_time(now, &desk.time_zone)),
    })
}

/// Asks for a resync (the Resync button); progress comes as `LinkStatus` events.
#[tauri::command]
#[specta::specta]
pub(crate) fn start_resync(desk: State<'_, Desk>) -> Result<(), UiError> {
    desk.with_service(|service| service.request_resync())
        .ok_or_else(not_running)?
        .map_err(|error| match error {
            ResyncRequestError::NotSetUp => UiError::new(ErrorCode::NotSetUp, error.to_string()),
            ResyncRequestError::Stopping => UiError::new(ErrorCode::NotRunning, error.to_string()),
        })
}

/// Cancels the resync under way; false when none was.
#[tauri::command]
#[specta::specta]
pub(crate) fn cancel_resync(desk: State<'_, Desk>) -> Result<bool, UiError> {
    desk.with_service(|service| service.cancel_resync())
        .ok_or_else(not_running)
}

/// The webhook inspector: the latest received and rejected requests, newest first.
#[tauri::command]
#[specta::specta]
pub(crate) async fn webhooks(desk: State<'_, Desk>) -> Result<Vec<WebhookRow>, UiError> {
    let store = store(&desk)?.lock().await;
    let received = store.list_received(INSPECTOR_ROWS).map_err(database)?;
    let rejected = store.list_rejected(INSPECTOR_ROWS).map_err(database)?;
    let mut rows: Vec<(jiff::Timestamp, WebhookRow)> = received
        .iter()
        .map(|row| (row.received_at, views::received_row(row, &desk.time_zone)))
        .chain(
            rejected
                .iter()
                .map(|row| (row.received_at, views::rejected_row(row, &desk.time_zone))),
        )
        .collect();
    rows.sort_by_key(|row| std::cmp::Reverse(row.0));
    Ok(rows
        .into_iter()
        .take(INSPECTOR_ROWS as usize)
        .map(|(_, row)| row)
        .collect())
}

/// Re-process: fetches a stored webhook's appointment again now (after a fix at Zocdoc, or for a
/// row given up on).
#[tauri::command]
#[specta::specta]
pub(crate) async fn reprocess_webhook(
    desk: State<'_, Desk>,
    stored_id: u32,
) -> Result<(), UiError> {
    let found = store(&desk)?
        .lock()
        .await
        .reprocess_webhook(i64::from(stored_id))
        .map_err(database)?;
    if !found {
        return Err(UiError::new(
            ErrorCode::InvalidRequest,
            "That webhook is not on this desk.",
        ));
    }
    desk.with_service(|service| service.process_now())
        .ok_or_else(not_running)
}

fn drawer(desk: &Desk, store: &Store, id: &str) -> Result<DrawerView, UiError> {
    let drawer = store
        .drawer(id, desk.clock.now(), &desk.time_zone)
        .map_err(database)?
        .ok_or_else(|| {
            UiError::new(
                ErrorCode::UnknownAppointment,
                "This appointment is not on this desk; press Resync to fetch it.",
            )
        })?;
    let patient_loaded = store.stored_participants(id).map_err(database)?.is_some();
    Ok(views::drawer(&drawer, patient_loaded, &desk.time_zone))
}

fn store(desk: &Desk) -> Result<&tokio::sync::Mutex<Store>, UiError> {
    desk.database
        .as_ref()
        .map_err(|problem| UiError::new(problem.code, problem.message.clone()))
}

fn database(error: impl std::fmt::Display) -> UiError {
    UiError::new(
        ErrorCode::DatabaseUnavailable,
        format!("The encrypted database could not be read ({error}). Restart Deskbridge."),
    )
}

fn not_running() -> UiError {
    UiError::new(
        ErrorCode::NotRunning,
        "Deskbridge is not receiving right now; see the message at the bottom of the window.",
    )
}

fn not_set_up() -> UiError {
    UiError::new(
        ErrorCode::NotSetUp,
        "This needs the practice's Zocdoc API credentials: add them in Settings.",
    )
}

/// `(212) 555-0100` from ten digits; anything else as given.
fn phone(digits: &str) -> String {
    if digits.len() == 10 && digits.bytes().all(|b| b.is_ascii_digit()) {
        format!("({}) {}-{}", &digits[..3], &digits[3..6], &digits[6..])
    } else {
        digits.to_owned()
    }
}
