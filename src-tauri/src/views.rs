//! Core values turned into the wire types the UI shows: times in the practice's time zone and in
//! words, lanes and statuses as the UI names them.

use deskbridge_core::board::{AppointmentDrawer, BoardCard, Lane};
use deskbridge_core::ingest::{Notice, Outcome};
use deskbridge_core::resync::GapRecovered;
use deskbridge_core::staff_actions::StaffAction;
use deskbridge_core::store::{ReceivedSummary, RejectedSummary};
use deskbridge_relay::client::TunnelState;
use deskbridge_service::{ApiHealth, ResyncState, ServiceStatus};
use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::ipc::{
    ActionView, CardView, DrawerView, HistoryView, LaneId, LightState, LinkLight, LinkStatus,
    ResyncView, StaffActionId, WebhookRow,
};

/// A clock skew (seconds) beyond which staff are warned.
const SKEW_WARNING_SECONDS: i64 = 300;

/// `2:00 PM`.
pub(crate) fn time_of_day(at: Timestamp, time_zone: &TimeZone) -> String {
    at.to_zoned_datetime(time_zone.clone())
        .strftime("%-I:%M %p")
        .to_string()
}

/// `Nov 25, 2:00 PM`.
pub(crate) fn date_and_time(at: Timestamp, time_zone: &TimeZone) -> String {
    at.to_zoned_datetime(time_zone.clone())
        .strftime("%b %-d, %-I:%M %p")
        .to_string()
}

/// `Wednesday, November 25, 2:00 PM`.
fn long_date_and_time(at: Timestamp, time_zone: &TimeZone) -> String {
    at.to_zoned_datetime(time_zone.clone())
        .strftime("%A, %B %-d, %-I:%M %p")
        .to_string()
}

pub(crate) fn lane(lane: Lane) -> LaneId {
    match lane {
        Lane::Upcoming => LaneId::Upcoming,
        Lane::Arrived => LaneId::Arrived,
        Lane::Rescheduled => LaneId::Rescheduled,
        Lane::Cancelled => LaneId::Cancelled,
        Lane::NoShow => LaneId::NoShow,
    }
}

pub(crate) fn card(card: &BoardCard, time_zone: &TimeZone) -> CardView {
    let status_text = match (&card.status, card.arrived_at) {
        (_, Some(at)) if card.lane == Lane::Arrived => {
            format!("Arrived {}", time_of_day(at, time_zone))
        }
        (status, _) => capitalised(&status.in_plain_words()),
    };
    CardView {
        id: card.id.clone(),
        lane: lane(card.lane),
        time: time_of_day(card.start, time_zone),
        previous_time: card.previous_start.map(|at| date_and_time(at, time_zone)),
        status: card.status.as_str().to_owned(),
        status_text,
        provider: match (&card.provider_name, &card.location_name) {
            (Some(provider), Some(location)) => format!("{provider} · {location}"),
            (Some(provider), None) => provider.clone(),
            (None, _) => card.provider_location_id.clone(),
        },
        visit_reason: card
            .visit_reason_name
            .clone()
            .unwrap_or_else(|| card.visit_reason_id.clone()),
        patient_type: card.patient_type.as_deref().map(|kind| match kind {
            "new" => "New patient".to_owned(),
            "existing" => "Existing patient".to_owned(),
            other => capitalised(other),
        }),
        visit_type: card
            .visit_type
            .as_deref()
            .filter(|kind| *kind != "in_person")
            .map(|_| "Video visit".to_owned()),
        patient_name: card.patient_name.clone(),
        rebooked: card.rebooked,
    }
}

pub(crate) fn drawer(
    drawer: &AppointmentDrawer,
    patient_loaded: bool,
    time_zone: &TimeZone,
) -> DrawerView {
    DrawerView {
        card: card(&drawer.card, time_zone),
        start_text: long_date_and_time(drawer.card.start, time_zone),
        booked_text: drawer
            .created
            .map(|at| format!("Booked {}", date_and_time(at, time_zone))),
        notes: drawer.notes.clone(),
        cancellation_reason: drawer.cancellation_reason.clone(),
        history: drawer
            .history
            .iter()
            .map(|line| HistoryView {
                at: date_and_time(line.at, time_zone),
                text: line.text.clone(),
            })
            .collect(),
        actions: drawer
            .actions
            .iter()
            .map(|choice| {
                let (label, confirm) = action_words(choice.action);
                ActionView {
                    action: action_id(choice.action),
                    label: label.to_owned(),
                    confirm: confirm.to_owned(),
                    allowed: choice.allowed.is_ok(),
                    reason: choice.allowed.clone().err(),
                }
            })
            .collect(),
        patient_loaded,
    }
}

pub(crate) fn action_id(action: StaffAction) -> StaffActionId {
    match action {
        StaffAction::MarkArrived => StaffActionId::MarkArrived,
        StaffAction::MarkNoShow => StaffActionId::MarkNoShow,
        StaffAction::Confirm => StaffActionId::Confirm,
    }
}

pub(crate) fn staff_action(action: StaffActionId) -> StaffAction {
    match action {
        StaffActionId::MarkArrived => StaffAction::MarkArrived,
        StaffActionId::MarkNoShow => StaffAction::MarkNoShow,
        StaffActionId::Confirm => StaffAction::Confirm,
    }
}

/// The button's label, the confirmation's question.
fn action_words(action: StaffAction) -> (&'static str, &'static str) {
    match action {
        StaffAction::MarkArrived => ("Mark arrived", "Tell Zocdoc that the patient has arrived?"),
        StaffAction::MarkNoShow => (
            "Mark no-show",
            "Tell Zocdoc that the patient did not come? This cannot be undone here.",
        ),
        StaffAction::Confirm => ("Confirm", "Confirm this booking with Zocdoc?"),
    }
}

/// What an action did, in words.
pub(crate) fn action_done(action: StaffAction) -> &'static str {
    match action {
        StaffAction::MarkArrived => "Marked as arrived at Zocdoc.",
        StaffAction::MarkNoShow => "Marked as a no-show at Zocdoc.",
        StaffAction::Confirm => "Confirmed with Zocdoc.",
    }
}

pub(crate) fn link_status(
    status: &ServiceStatus,
    caspio_configured: bool,
    time_zone: &TimeZone,
) -> LinkStatus {
    let tunnel = match (&status.tunnel, status.direct) {
        (Some(TunnelState::Connected { since }), _) => LinkLight {
            state: LightState::Ok,
            detail: format!("Connected since {}", time_of_day(*since, time_zone)),
        },
        (Some(TunnelState::Connecting { .. }), _) => LinkLight {
            state: LightState::Warn,
            detail: "Connecting…".to_owned(),
        },
        (Some(TunnelState::Reconnecting { since, .. }), _) => LinkLight {
            state: LightState::Down,
            detail: format!("Reconnecting since {}", time_of_day(*since, time_zone)),
        },
        (Some(TunnelState::Refused { reason, .. }), _) => LinkLight {
            state: LightState::Down,
            detail: format!("Refused: {reason}"),
        },
        (Some(TunnelState::Stopped), _) => LinkLight {
            state: LightState::Off,
            detail: "Stopped".to_owned(),
        },
        (None, Some(address)) => LinkLight {
            state: LightState::Ok,
            detail: format!("Listening on {address}"),
        },
        (None, None) => LinkLight {
            state: LightState::Off,
            detail: "Not set up".to_owned(),
        },
    };
    let zocdoc = match &status.zocdoc {
        ApiHealth::NotSetUp => LinkLight {
            state: LightState::Off,
            detail: "Not set up".to_owned(),
        },
        ApiHealth::Ok => LinkLight {
            state: LightState::Ok,
            detail: "OK".to_owned(),
        },
        ApiHealth::Failing(why) => LinkLight {
            state: LightState::Down,
            detail: format!("Failing: {why}"),
        },
    };
    let clock_warning = status
        .last_stale_skew
        .filter(|skew| skew.abs() > SKEW_WARNING_SECONDS)
        .map(|skew| {
            format!(
                "Webhooks arrive with a clock {} minutes {}: check this computer's date and time.",
                skew.abs() / 60,
                if skew > 0 { "ahead" } else { "behind" }
            )
        });
    LinkStatus {
        tunnel,
        zocdoc,
        caspio: if caspio_configured {
            LinkLight {
                state: LightState::Ok,
                detail: "Set up; push by hand".to_owned(),
            }
        } else {
            LinkLight {
                state: LightState::Off,
                detail: "Not set up".to_owned(),
            }
        },
        clock_warning,
        resync: resync(
            &status.resync,
            status.zocdoc != ApiHealth::NotSetUp,
            time_zone,
        ),
    }
}

fn resync(state: &ResyncState, available: bool, time_zone: &TimeZone) -> ResyncView {
    match state {
        ResyncState::Idle => ResyncView {
            running: false,
            done: 0,
            total: 0,
            message: None,
            available,
        },
        ResyncState::Running { progress, .. } => ResyncView {
            running: true,
            done: saturating_u32(progress.done),
            total: saturating_u32(progress.total_estimate),
            message: Some(format!("{} appointments checked", progress.done)),
            available,
        },
        ResyncState::Done { summary, at, .. } => ResyncView {
            running: false,
            done: saturating_u32(summary.fetched),
            total: saturating_u32(summary.fetched),
            message: Some(format!(
                "{} at {}",
                GapRecovered { summary: *summary },
                time_of_day(*at, time_zone)
            )),
            available,
        },
        ResyncState::Failed {
            message,
            cancelled,
            at,
            ..
        } => ResyncView {
            running: false,
            done: 0,
            total: 0,
            message: Some(if *cancelled {
                format!("Resync cancelled at {}", time_of_day(*at, time_zone))
            } else {
                format!("Resync stopped: {message}")
            }),
            available,
        },
    }
}

pub(crate) fn notice_row(notice: &Notice, time_zone: &TimeZone) -> WebhookRow {
    let (key, detail) = match notice.outcome {
        Outcome::Stored { id } => (format!("stored-{id}"), None),
        Outcome::Duplicate { id } => (
            format!("duplicate-{id}-{}", notice.received_at.as_microsecond()),
            Some("Already received; counted once".to_owned()),
        ),
        Outcome::Stale { id, skew_seconds } => {
            (format!("stored-{id}"), Some(skew_words(skew_seconds)))
        }
        Outcome::Rejected(reason) => (
            format!("rejected-{}", notice.received_at.as_microsecond()),
            Some(rejection_words(reason)),
        ),
        Outcome::Failed(reason) => (
            format!("failed-{}", notice.received_at.as_microsecond()),
            Some(format!("Not stored ({reason}); Zocdoc will send it again")),
        ),
    };
    let stored_id = match notice.outcome {
        Outcome::Stored { id } | Outcome::Stale { id, .. } => u32::try_from(id).ok(),
        Outcome::Duplicate { .. } | Outcome::Rejected(_) | Outcome::Failed(_) => None,
    };
    WebhookRow {
        key,
        received: received_time(notice.received_at, time_zone),
        verdict: notice.outcome.kind().to_owned(),
        appointment_id: notice.appointment_id.clone(),
        update_type: notice.update_type.clone(),
        detail,
        stored_id,
    }
}

pub(crate) fn received_row(row: &ReceivedSummary, time_zone: &TimeZone) -> WebhookRow {
    let mut detail = row.skew_seconds.map(skew_words);
    if row.duplicates > 0 {
        detail = Some(format!(
            "Delivered {} more time{}; stored once",
            row.duplicates,
            if row.duplicates == 1 { "" } else { "s" }
        ));
    }
    WebhookRow {
        key: format!("stored-{}", row.id),
        received: received_time(row.received_at, time_zone),
        verdict: match row.skew_seconds {
            Some(_) => "stale".to_owned(),
            None => "stored".to_owned(),
        },
        appointment_id: row.appointment_id.clone(),
        update_type: row.update_type.clone(),
        detail,
        stored_id: u32::try_from(row.id).ok(),
    }
}

pub(crate) fn rejected_row(row: &RejectedSummary, time_zone: &TimeZone) -> WebhookRow {
    WebhookRow {
        key: format!("rejected-{}", row.id),
        received: received_time(row.received_at, time_zone),
        verdict: "rejected".to_owned(),
        appointment_id: None,
        update_type: None,
        detail: Some(rejection_words(&row.reason)),
        stored_id: None,
    }
}

/// `Nov 25, 2:14:05 PM`.
fn received_time(at: Timestamp, time_zone: &TimeZone) -> String {
    at.to_zoned_datetime(time_zone.clone())
        .strftime("%b %-d, %-I:%M:%S %p")
        .to_string()
}

fn skew_words(skew_seconds: i64) -> String {
    format!(
        "Sender's clock {} min {}; stored and flagged",
        skew_seconds.abs() / 60,
        if skew_seconds > 0 { "ahead" } else { "behind" }
    )
}

fn rejection_words(reason: &str) -> String {
    format!("Refused: not signed with this practice's webhook key ({reason})")
}

/// `text` with its first letter upper-case.
pub(crate) fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A count for the UI (JavaScript numbers carry no 64-bit integers); a count beyond `u32` shows
/// as its maximum.
pub(crate) fn saturating_u32(value: u64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}
