//! What front-desk staff may do to an appointment (mark arrived, mark no-show, confirm), when
//! Zocdoc allows it, and doing it: the write goes to Zocdoc first and local state follows Zocdoc's
//! answer, because Zocdoc does not echo a partner's own actions by webhook.

use jiff::{SignedDuration, Timestamp};
use rusqlite::{OptionalExtension, TransactionBehavior, params};

use deskbridge_zocdoc::api::{
    AppointmentId, AppointmentStatus, Client, Error as ApiError, StatusChange, StatusUpdate,
    Written,
};

use crate::appointments::{self, Change, ChangeKind};
use crate::store::{Store, StoreError, format_timestamp, parse_timestamp};

/// How long after its start an appointment may still be marked a no-show (Zocdoc's rule).
pub const NO_SHOW_WINDOW: SignedDuration = SignedDuration::from_hours(48);

/// An action on one appointment, from the drawer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StaffAction {
    /// The patient is here (`update-status` `arrived`; Deskbridge keeps arrival as its own fact).
    MarkArrived,
    /// The patient did not come (`update-status` `no_show`).
    MarkNoShow,
    /// The practice confirms a booking waiting for confirmation (`confirm`).
    Confirm,
}

impl StaffAction {
    /// Every action, in the drawer's order.
    pub const ALL: [StaffAction; 3] = [
        StaffAction::MarkArrived,
        StaffAction::MarkNoShow,
        StaffAction::Confirm,
    ];

    /// A stable name for logs and the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            StaffAction::MarkArrived => "mark_arrived",
            StaffAction::MarkNoShow => "mark_no_show",
            StaffAction::Confirm => "confirm",
        }
    }
}

/// The local facts an action's availability depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionFacts {
    /// Zocdoc's status.
    pub status: AppointmentStatus,
    /// The appointment's start.
    pub start: Timestamp,
    /// When the desk marked the patient arrived, if it did.
    pub arrived_at: Option<Timestamp>,
}

/// Whether Zocdoc allows `action` on an appointment with these facts at `now`, and if not, why,
/// in front-desk words.
pub fn availability(
    action: StaffAction,
    facts: &ActionFacts,
    now: Timestamp,
) -> Result<(), String> {
    let attendable = matches!(
        facts.status,
        AppointmentStatus::Confirmed | AppointmentStatus::Rescheduled
    );
    match action {
        StaffAction::Confirm => match facts.status {
            AppointmentStatus::PendingBooking => Ok(()),
            _ => Err(format!(
                "Only a booking waiting for confirmation can be confirmed; this one is {}.",
                facts.status.in_plain_words()
            )),
        },
        StaffAction::MarkArrived if facts.arrived_at.is_some() => {
            Err("The patient is already marked as arrived.".to_owned())
        }
        StaffAction::MarkNoShow if facts.arrived_at.is_some() => {
            Err("The patient is marked as arrived, so not a no-show.".to_owned())
        }
        StaffAction::MarkArrived | StaffAction::MarkNoShow if !attendable => Err(format!(
            "Only a confirmed or rescheduled appointment can be marked; this one is {}.",
            facts.status.in_plain_words()
        )),
        StaffAction::MarkArrived => Ok(()),
        StaffAction::MarkNoShow if facts.start >= now => {
            Err("A no-show can only be marked once the start time has passed.".to_owned())
        }
        StaffAction::MarkNoShow if now.duration_since(facts.start) > NO_SHOW_WINDOW => {
            Err("Zocdoc takes no-shows only within 2 days of the start time.".to_owned())
        }
        StaffAction::MarkNoShow => Ok(()),
    }
}

/// What an action did, once Zocdoc accepted it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionDone {
    /// The action.
    pub action: StaffAction,
    /// The appointment.
    pub appointment_id: String,
    /// The history entries recorded.
    pub changes: Vec<Change>,
    /// Whether Zocdoc's answer was lost and the result was settled by reading the appointment back.
    pub read_back: bool,
}

/// Why an action was not done.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// The appointment is not stored here.
    #[error("This appointment is not on this desk yet; press Resync and try again.")]
    UnknownAppointment,
    /// Zocdoc does not allow it now (checked before calling Zocdoc).
    #[error("{0}")]
    NotAllowed(String),
    /// Zocdoc refused or could not be reached; nothing changed locally.
    #[error("{}", .0.staff_message())]
    Zocdoc(#[from] ApiError),
    /// The database failed after Zocdoc accepted the action; the next resync repairs local state.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for ActionError {
    fn from(error: rusqlite::Error) -> Self {
        ActionError::Store(StoreError::Database(error))
    }
}

impl Store {
    /// The facts [`availability`] needs for appointment `id`, if it is stored.
    pub fn action_facts(&self, id: &str) -> Result<Option<ActionFacts>, StoreError> {
        let row: Option<(String, String, Option<String>)> = self
            .conn()
            .query_row(
                "SELECT status, start_time, arrived_at FROM appointments WHERE id = ?1",
                [id],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .optional()?;
        Ok(row.and_then(|(status, start, arrived_at)| {
            Some(ActionFacts {
                status: AppointmentStatus::from_wire(&status),
                start: parse_timestamp(&start)?,
                arrived_at: arrived_at.as_deref().and_then(parse_timestamp),
            })
        }))
    }
}

/// Does `action` on appointment `id`: checks it is allowed, writes it to Zocdoc through
/// `client`, then records Zocdoc's answer locally (status, arrival, history) in one transaction.
pub async fn perform(
    store: &mut Store,
    client: &Client,
    id: &str,
    action: StaffAction,
    now: Timestamp,
) -> Result<ActionDone, ActionError> {
    let facts = store
        .action_facts(id)?
        .ok_or(ActionError::UnknownAppointment)?;
    availability(action, &facts, now).map_err(ActionError::NotAllowed)?;
    let appointment_id = AppointmentId::new(id.to_owned());
    let written = match action {
        StaffAction::MarkArrived => {
            client
                .update_status(&appointment_id, StatusUpdate::Arrived)
                .await?
        }
        StaffAction::MarkNoShow => {
            client
                .update_status(&appointment_id, StatusUpdate::NoShow)
                .await?
        }
        StaffAction::Confirm => client.confirm(&appointment_id).await?,
    };
    let read_back = written.is_read_back();
    let changes = record(store, id, action, written, now)?;
    tracing::info!(
        appointment_id = id,
        action = action.as_str(),
        read_back,
        "staff action done"
    );
    Ok(ActionDone {
        action,
        appointment_id: id.to_owned(),
        changes,
        read_back,
    })
}

/// Records what Zocdoc answered to an accepted action.
fn record(
    store: &mut Store,
    id: &str,
    action: StaffAction,
    written: Written<StatusChange>,
    now: Timestamp,
) -> Result<Vec<Change>, ActionError> {
    let tx = store
        .conn_mut()
        .transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut changes = match written {
        Written::Answered(answer) => {
            appointments::apply_status(&tx, id, answer.appointment_status.as_str(), now)?
                .into_iter()
                .collect()
        }
        Written::ReadBack(appointment) => {
            appointments::upsert(&tx, &appointment, &[], now)?.changes
        }
    };
    let at = format_timestamp(now);
    match action {
        StaffAction::MarkArrived => {
            tx.execute(
                "UPDATE appointments SET arrived_at = ?2 WHERE id = ?1 AND arrived_at IS NULL",
                params![id, at],
            )?;
            let change = Change {
                kind: ChangeKind::Arrived,
                old_value: None,
                new_value: Some(at.clone()),
            };
            appointments::insert_change(&tx, id, &at, &change)?;
            changes.push(change);
        }
        StaffAction::MarkNoShow => {
            tx.execute(
                "UPDATE appointments SET no_show = 1 WHERE id = ?1",
                params![id],
            )?;
        }
        StaffAction::Confirm => {}
    }
    tx.commit()?;
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(hours: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + hours * 3600).unwrap()
    }

    fn facts(status: AppointmentStatus, start_hours: i64, arrived: bool) -> ActionFacts {
        ActionFacts {
            status,
            start: at(start_hours),
            arrived_at: arrived.then(|| at(start_hours)),
        }
    }

    /// Each row: action, status, start relative to now (hours), arrived, allowed.
    #[test]
    fn availability_follows_zocdoc_rules() {
        use AppointmentStatus as S;
        use StaffAction as A;
        let cases = [
            (A::Confirm, S::PendingBooking, 5, false, true),
            (A::Confirm, S::Confirmed, 5, false, false),
            (A::Confirm, S::Cancelled, 5, false, false),
            (A::MarkArrived, S::Confirmed, 1, false, true),
            (A::MarkArrived, S::Rescheduled, -1, false, true),
            (A::MarkArrived, S::Confirmed, 1, true, false),
            (A::MarkArrived, S::PendingBooking, 1, false, false),
            (A::MarkArrived, S::Cancelled, 1, false, false),
            (A::MarkNoShow, S::Confirmed, -1, false, true),
            (A::MarkNoShow, S::Confirmed, -48, false, true),
            (A::MarkNoShow, S::Confirmed, -49, false, false),
            (A::MarkNoShow, S::Confirmed, 0, false, false),
            (A::MarkNoShow, S::Confirmed, 2, false, false),
            (A::MarkNoShow, S::Confirmed, -1, true, false),
            (A::MarkNoShow, S::NoShow, -1, false, false),
            (
                A::MarkNoShow,
                S::Other("future_status".into()),
                -1,
                false,
                false,
            ),
        ];
        for (action, status, start, arrived, allowed) in cases {
            let verdict = availability(action, &facts(status.clone(), start, arrived), at(0));
            assert_eq!(
                verdict.is_ok(),
                allowed,
                "{action:?} on {status:?} starting at {start:+}h, arrived {arrived}: {verdict:?}"
            );
            if let Err(why) = verdict {
                assert!(why.ends_with('.'), "a sentence for staff: {why}");
            }
        }
    }
}
