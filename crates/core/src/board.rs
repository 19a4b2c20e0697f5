//! What the front-desk board shows: a day's appointments sorted into lanes (upcoming, arrived,
//! rescheduled, cancelled, no-show), and one appointment's drawer: its facts, its history in plain
//! words, and which staff actions Zocdoc allows now.

use jiff::tz::TimeZone;
use jiff::{Timestamp, ZonedDateTime};
use rusqlite::{OptionalExtension, params};

use deskbridge_zocdoc::api::AppointmentStatus;

use crate::appointments::{self, Change, ChangeKind};
use crate::staff_actions::{ActionFacts, StaffAction, availability};
use crate::store::{Store, StoreError, format_timestamp, parse_timestamp};

/// A lane of the board.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Lane {
    /// Booked and still to come (waiting for confirmation or confirmed).
    Upcoming,
    /// The desk marked the patient arrived.
    Arrived,
    /// Moved to another time (or waiting for a new time to be settled).
    Rescheduled,
    /// Cancelled, or a booking that failed.
    Cancelled,
    /// Marked as a no-show.
    NoShow,
}

impl Lane {
    /// Every lane, in the board's order.
    pub const ALL: [Lane; 5] = [
        Lane::Upcoming,
        Lane::Arrived,
        Lane::Rescheduled,
        Lane::Cancelled,
        Lane::NoShow,
    ];

    /// The lane of an appointment: Zocdoc's status first (cancelled and no-show are final), then
    /// the desk's arrival, then whether its start ever moved.
    pub fn of(status: &AppointmentStatus, arrived: bool, start_moved: bool) -> Lane {
        match status {
            AppointmentStatus::Cancelled | AppointmentStatus::BookingFailed => Lane::Cancelled,
            AppointmentStatus::NoShow => Lane::NoShow,
            _ if arrived => Lane::Arrived,
            AppointmentStatus::Rescheduled
            | AppointmentStatus::PendingReschedule
            | AppointmentStatus::RescheduleFailed => Lane::Rescheduled,
            _ if start_moved => Lane::Rescheduled,
            _ => Lane::Upcoming,
        }
    }
}

/// One card on the board. No patient data but the name, and that only once a person loaded the
/// patient's details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardCard {
    /// Zocdoc's appointment id.
    pub id: String,
    /// The start.
    pub start: Timestamp,
    /// The start before its last move, when it moved.
    pub previous_start: Option<Timestamp>,
    /// Zocdoc's status.
    pub status: AppointmentStatus,
    /// The lane.
    pub lane: Lane,
    /// `provider_location_id`.
    pub provider_location_id: String,
    /// `visit_reason_id`.
    pub visit_reason_id: String,
    /// The provider's name, once the directory knows it.
    pub provider_name: Option<String>,
    /// The location's name, once the directory knows it (none for a video-only provider).
    pub location_name: Option<String>,
    /// The visit reason's name, once the directory knows it.
    pub visit_reason_name: Option<String>,
    /// For a cancellation or no-show: whether the same patient (by developer patient id) has
    /// booked again since; `None` when Zocdoc gave no patient id to tell (or not cancelled).
    pub rebooked: Option<bool>,
    /// `visit_type`.
    pub visit_type: Option<String>,
    /// `patient_type` (`new` or `existing`).
    pub patient_type: Option<String>,
    /// When the desk marked the patient arrived.
    pub arrived_at: Option<Timestamp>,
    /// The patient's name, when staff loaded the details.
    pub patient_name: Option<String>,
    /// When the appointment last changed at Zocdoc.
    pub last_modified: Option<Timestamp>,
}

/// One history entry, in front-desk words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryLine {
    /// When it happened.
    pub at: Timestamp,
    /// What kind of change (stable name, for icons).
    pub kind: ChangeKind,
    /// What happened, e.g. "Start moved 2:00 PM → 3:30 PM".
    pub text: String,
}

/// One staff action with whether it is allowed now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionChoice {
    /// The action.
    pub action: StaffAction,
    /// `Ok` when allowed; otherwise why not, in plain words.
    pub allowed: Result<(), String>,
}

/// Everything the appointment drawer shows, but patient details (loaded on demand).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppointmentDrawer {
    /// The card.
    pub card: BoardCard,
    /// When it was booked.
    pub created: Option<Timestamp>,
    /// The patient's note to the practice (patient data: shown, never logged).
    pub notes: Option<String>,
    /// Why it was cancelled, as Zocdoc gave it (free text: shown, never logged).
    pub cancellation_reason: Option<String>,
    /// The history, oldest first.
    pub history: Vec<HistoryLine>,
    /// The actions, each with whether it is allowed now.
    pub actions: Vec<ActionChoice>,
}

impl Store {
    /// The cards of appointments starting in `from..to`, by start time.
    pub fn board(&self, from: Timestamp, to: Timestamp) -> Result<Vec<BoardCard>, StoreError> {
        let mut statement = self.conn().prepare_cached(
            "SELECT a.id, a.status, a.start_time, a.provider_location_id, a.visit_reason_id,
                    a.visit_type, a.patient_type, a.arrived_at, a.last_modified_time_utc,
                    (SELECT c.old_value FROM appointment_changes c
                     WHERE c.appointment_id = a.id AND c.kind = 'start_moved'
                     ORDER BY c.id DESC LIMIT 1),
                    (SELECT trim(json_extract(p.details_json, '$.patient.first_name') || ' ' ||
                                 json_extract(p.details_json, '$.patient.last_name'))
                     FROM participants p WHERE p.appointment_id = a.id),
                    d.provider_name, d.location_name, v.name,
                    CASE WHEN a.status IN ('cancelled', 'no_show')
                              AND a.raw_json ->> '$.developer_patient_id' IS NOT NULL
                         THEN EXISTS (
                             SELECT 1 FROM appointments b
                             WHERE b.raw_json ->> '$.developer_patient_id'
                                   = a.raw_json ->> '$.developer_patient_id'
                               AND b.id <> a.id
                               AND b.created_time_utc >= a.last_modified_time_utc
                               AND b.status NOT IN ('cancelled', 'booking_failed', 'no_show'))
                    END
             FROM appointments a
             LEFT JOIN directory_provider_locations d
                    ON d.provider_location_id = a.provider_location_id
             LEFT JOIN directory_visit_reasons v ON v.visit_reason_id = a.visit_reason_id
             WHERE a.start_time >= ?1 AND a.start_time < ?2
             ORDER BY a.start_time, a.id",
        )?;
        let rows = statement.query_map(
            params![format_timestamp(from), format_timestamp(to)],
            card_from_row,
        )?;
        let mut cards = Vec::new();
        for row in rows {
            if let Some(card) = row? {
                cards.push(card);
            }
        }
        Ok(cards)
    }

    /// The drawer of appointment `id`, if it is stored. `now` decides which actions are allowed;
    /// `time_zone` is the practice's, for times in the history's words.
    pub fn drawer(
        &self,
        id: &str,
        now: Timestamp,
        time_zone: &TimeZone,
    ) -> Result<Option<AppointmentDrawer>, StoreError> {
        let row = self
            .conn()
            .query_row(
                "SELECT a.id, a.status, a.start_time, a.provider_location_id, a.visit_reason_id,
                        a.visit_type, a.patient_type, a.arrived_at, a.last_modified_time_utc,
                        (SELECT c.old_value FROM appointment_changes c
                         WHERE c.appointment_id = a.id AND c.kind = 'start_moved'
                         ORDER BY c.id DESC LIMIT 1),
                        (SELECT trim(json_extract(p.details_json, '$.patient.first_name') || ' ' ||
                                     json_extract(p.details_json, '$.patient.last_name'))
                         FROM participants p WHERE p.appointment_id = a.id),
                        d.provider_name, d.location_name, v.name,
                        CASE WHEN a.status IN ('cancelled', 'no_show')
                                  AND a.raw_json ->> '$.developer_patient_id' IS NOT NULL
                             THEN EXISTS (
                                 SELECT 1 FROM appointments b
                                 WHERE b.raw_json ->> '$.developer_patient_id'
                                       = a.raw_json ->> '$.developer_patient_id'
                                   AND b.id <> a.id
                                   AND b.created_time_utc >= a.last_modified_time_utc
                                   AND b.status NOT IN ('cancelled', 'booking_failed', 'no_show'))
                        END,
                        a.created_time_utc, json_extract(a.raw_json, '$.notes'),
                        a.cancellation_reason
                 FROM appointments a
                 LEFT JOIN directory_provider_locations d
                        ON d.provider_location_id = a.provider_location_id
                 LEFT JOIN directory_visit_reasons v ON v.visit_reason_id = a.visit_reason_id
                 WHERE a.id = ?1",
                [id],
                |row| {
                    Ok((
                        card_from_row(row)?,
                        row.get::<_, Option<String>>(15)?,
                        row.get::<_, Option<String>>(16)?,
                        row.get::<_, Option<String>>(17)?,
                    ))
                },
            )
            .optional()?;
        let Some((Some(card), created, notes, cancellation_reason)) = row else {
            return Ok(None);
        };
        let history = appointments::history(self.conn(), id)?
            .into_iter()
            .filter_map(|(at, change)| {
                Some(HistoryLine {
                    at: parse_timestamp(&at)?,
                    kind: change.kind,
                    text: describe(&change, time_zone),
                })
            })
            .collect();
        let facts = ActionFacts {
            status: card.status.clone(),
            start: card.start,
            arrived_at: card.arrived_at,
        };
        let actions = StaffAction::ALL
            .into_iter()
            .map(|action| ActionChoice {
                action,
                allowed: availability(action, &facts, now),
            })
            .collect();
        Ok(Some(AppointmentDrawer {
            card,
            created: created.as_deref().and_then(parse_timestamp),
            notes,
            cancellation_reason,
            history,
            actions,
        }))
    }
}

/// A card from the board query's first fifteen columns; `None` for a row whose start cannot be
/// read (never written so, but a card without a time would mislead).
fn card_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Option<BoardCard>> {
    let status = AppointmentStatus::from_wire(&row.get::<_, String>(1)?);
    let Some(start) = parse_timestamp(&row.get::<_, String>(2)?) else {
        return Ok(None);
    };
    let arrived_at = row
        .get::<_, Option<String>>(7)?
        .as_deref()
        .and_then(parse_timestamp);
    let previous_start = row
        .get::<_, Option<String>>(9)?
        .as_deref()
        .and_then(parse_timestamp);
    let lane = Lane::of(&status, arrived_at.is_some(), previous_start.is_some());
    Ok(Some(BoardCard {
        id: row.get(0)?,
        start,
        previous_start,
        status,
        lane,
        provider_location_id: row.get(3)?,
        visit_reason_id: row.get(4)?,
        provider_name: row.get(11)?,
        location_name: row.get(12)?,
        visit_reason_name: row.get(13)?,
        rebooked: row.get(14)?,
        visit_type: row.get(5)?,
        patient_type: row.get(6)?,
        arrived_at,
        patient_name: row
            .get::<_, Option<String>>(10)?
            .filter(|name| !name.is_empty()),
        last_modified: row
            .get::<_, Option<String>>(8)?
            .as_deref()
            .and_then(parse_timestamp),
    }))
}

/// A history entry in front-desk words, times in `time_zone`.
pub fn describe(change: &Change, time_zone: &TimeZone) -> String {
    let old = change.old_value.as_deref();
    let new = change.new_value.as_deref();
    let status = |value: Option<&str>| {
        value
            .map(|text| AppointmentStatus::from_wire(text).in_plain_words())
            .unwrap_or_else(|| "unknown".to_owned())
    };
    match change.kind {
        ChangeKind::Created => format!("Booked ({})", status(new)),
        ChangeKind::StatusChanged => match new {
            Some("cancelled") => "Cancelled".to_owned(),
            Some("no_show") => "Marked as a no-show".to_owned(),
            Some("confirmed") if old == Some("pending_booking") => "Confirmed".to_owned(),
            _ => format!("Status changed from {} to {}", status(old), status(new)),
        },
        ChangeKind::StartMoved => {
            let time = |value: Option<&str>| {
                value
                    .and_then(parse_timestamp)
                    .map(|at| local_time(at, time_zone))
                    .unwrap_or_else(|| "an unknown time".to_owned())
            };
            format!("Start moved {} \u{2192} {}", time(old), time(new))
        }
        ChangeKind::ProviderLocationChanged => "Provider or location changed".to_owned(),
        ChangeKind::VisitReasonChanged => "Visit reason changed".to_owned(),
        ChangeKind::VisitTypeChanged => match new {
            Some("in_person") => "Changed to an in-person visit".to_owned(),
            Some(_) => "Changed to a video visit".to_owned(),
            None => "Visit type changed".to_owned(),
        },
        ChangeKind::CancellationReasonChanged => "Cancellation reason updated".to_owned(),
        ChangeKind::NotesChanged => "Patient's note updated".to_owned(),
        ChangeKind::AttachmentUploaded => match new {
            Some(kind) if kind.starts_with("id_card") => "ID card uploaded".to_owned(),
            Some(kind) if kind.starts_with("insurance_card") => {
                "Insurance card uploaded".to_owned()
            }
            _ => "Document uploaded".to_owned(),
        },
        ChangeKind::AttributeChanged => "Details updated at Zocdoc".to_owned(),
        ChangeKind::Arrived => "Marked as arrived".to_owned(),
    }
}

/// `Nov 25, 2:00 PM` in `time_zone`; the date is left out only by callers that know the day.
fn local_time(at: Timestamp, time_zone: &TimeZone) -> String {
    let local: ZonedDateTime = at.to_zoned_datetime(time_zone.clone());
    local.strftime("%b %-d, %-I:%M %p").to_string()
}

#[cfg(test)]
mod tests {
    use jiff::civil::date;

    use super::*;
    use crate::testing::{appointment, at, store};

    #[test]
    fn a_day_is_sorted_into_lanes_with_moves_arrivals_and_names() {
        let (_dir, mut store) = store();
        let hour = 3600;
        store
            .record_appointment(&appointment("upcoming", 10 * hour, 1), at(1))
            .unwrap();
        store
            .record_appointment(&appointment("moved", 9 * hour, 1), at(1))
            .unwrap();
        store
            .record_appointment(&appointment("moved", 11 * hour, 2), at(2))
            .unwrap();
        let mut cancelled = appointment("cancelled", 12 * hour, 3);
        cancelled.appointment_status = AppointmentStatus::Cancelled;
        store.record_appointment(&cancelled, at(3)).unwrap();
        store
            .record_appointment(&appointment("arrived", 8 * hour, 1), at(1))
            .unwrap();
        store
            .conn()
            .execute(
                "UPDATE appointments SET arrived_at = ?1 WHERE id = 'arrived'",
                [format_timestamp(at(8 * hour))],
            )
            .unwrap();
        store
            .conn()
            .execute(
                "INSERT INTO participants (appointment_id, details_json, fetched_at)
                 VALUES ('arrived', '{\"patient\":{\"first_name\":\"Ada\",\"last_name\":\"Example\"}}', 't')",
                [],
            )
            .unwrap();
        store
            .record_appointment(&appointment("tomorrow", 30 * hour, 1), at(1))
            .unwrap();

        let cards = store.board(at(0), at(24 * hour)).unwrap();
        let summary: Vec<(&str, Lane)> = cards.iter().map(|c| (c.id.as_str(), c.lane)).collect();
        assert_eq!(
            summary,
            [
                ("arrived", Lane::Arrived),
                ("upcoming", Lane::Upcoming),
                ("moved", Lane::Rescheduled),
                ("cancelled", Lane::Cancelled),
            ]
        );
        let moved = &cards[2];
        assert_eq!(moved.previous_start, Some(at(9 * hour)));
        assert_eq!(moved.start, at(11 * hour));
        assert_eq!(cards[0].patient_name.as_deref(), Some("Ada Example"));
        assert_eq!(
            cards[1].patient_name, None,
            "no name until a person loads the details"
        );

        let tz = TimeZone::UTC;
        let drawer = store.drawer("moved", at(10 * hour), &tz).unwrap().unwrap();
        assert_eq!(drawer.notes.as_deref(), Some("knee pain"));
        let words: Vec<&str> = drawer
            .history
            .iter()
            .map(|line| line.text.as_str())
            .collect();
        assert_eq!(
            words,
            [
                "Booked (confirmed)",
                "Start moved Jan 1, 9:00 AM \u{2192} Jan 1, 11:00 AM"
            ]
        );
        let allowed: Vec<(StaffAction, bool)> = drawer
            .actions
            .iter()
            .map(|choice| (choice.action, choice.allowed.is_ok()))
            .collect();
        assert_eq!(
            allowed,
            [
                (StaffAction::MarkArrived, true),
                (StaffAction::MarkNoShow, false),
                (StaffAction::Confirm, false),
            ]
        );
        assert_eq!(store.drawer("nobody", at(0), &tz).unwrap(), None);
    }

    #[test]
    fn a_cancellation_counts_as_rebooked_once_the_same_patient_books_again() {
        let (_dir, mut store) = store();
        let hour = 3600;
        let with_patient = |id: &str, start, modified, status| {
            let mut appointment = appointment(id, start, modified);
            appointment.appointment_status = status;
            appointment.developer_patient_id = Some("patient-7".into());
            appointment.created_time_utc = Some(at(modified));
            appointment
        };
        let cancelled = with_patient("gone", 10 * hour, 100, AppointmentStatus::Cancelled);
        store.record_appointment(&cancelled, at(100)).unwrap();
        let rebooked = |store: &Store| {
            store
                .board(at(0), at(24 * hour))
                .unwrap()
                .into_iter()
                .find(|card| card.id == "gone")
                .unwrap()
                .rebooked
        };
        assert_eq!(rebooked(&store), Some(false));
        let earlier = with_patient("before", 30 * hour, 50, AppointmentStatus::Confirmed);
        store.record_appointment(&earlier, at(50)).unwrap();
        assert_eq!(
            rebooked(&store),
            Some(false),
            "booked before the cancellation"
        );
        let again = with_patient("again", 40 * hour, 200, AppointmentStatus::Confirmed);
        store.record_appointment(&again, at(200)).unwrap();
        assert_eq!(rebooked(&store), Some(true));
    }

    #[test]
    fn lanes_follow_status_then_arrival_then_moves() {
        use AppointmentStatus as S;
        let cases = [
            (S::Confirmed, false, false, Lane::Upcoming),
            (S::PendingBooking, false, false, Lane::Upcoming),
            (S::Confirmed, true, false, Lane::Arrived),
            (S::Confirmed, false, true, Lane::Rescheduled),
            (S::Rescheduled, false, false, Lane::Rescheduled),
            (S::PendingReschedule, false, true, Lane::Rescheduled),
            (S::Rescheduled, true, true, Lane::Arrived),
            (S::Cancelled, true, true, Lane::Cancelled),
            (S::BookingFailed, false, false, Lane::Cancelled),
            (S::NoShow, false, true, Lane::NoShow),
            (S::Other("on_hold".into()), false, false, Lane::Upcoming),
        ];
        for (status, arrived, moved, lane) in cases {
            assert_eq!(
                Lane::of(&status, arrived, moved),
                lane,
                "{status:?} {arrived} {moved}"
            );
        }
    }

    #[test]
    fn history_reads_in_front_desk_words() {
        let tz = TimeZone::get("America/New_York").unwrap();
        let change = |kind, old: Option<&str>, new: Option<&str>| Change {
            kind,
            old_value: old.map(str::to_owned),
            new_value: new.map(str::to_owned),
        };
        let utc = |hour, minute| {
            date(2026, 11, 25)
                .at(hour, minute, 0, 0)
                .to_zoned_datetime(TimeZone::UTC)
                .unwrap()
                .timestamp()
                .to_string()
        };
        let cases = [
            (
                change(
                    ChangeKind::StartMoved,
                    Some(&utc(19, 0)),
                    Some(&utc(20, 30)),
                ),
                "Start moved Nov 25, 2:00 PM \u{2192} Nov 25, 3:30 PM",
            ),
            (
                change(ChangeKind::AttachmentUploaded, None, Some("id_card_front")),
                "ID card uploaded",
            ),
            (
                change(
                    ChangeKind::StatusChanged,
                    Some("confirmed"),
                    Some("cancelled"),
                ),
                "Cancelled",
            ),
            (
                change(
                    ChangeKind::StatusChanged,
                    Some("pending_booking"),
                    Some("confirmed"),
                ),
                "Confirmed",
            ),
            (
                change(
                    ChangeKind::StatusChanged,
                    Some("confirmed"),
                    Some("pending_reschedule"),
                ),
                "Status changed from confirmed to waiting for a new time to be confirmed",
            ),
            (
                change(ChangeKind::Created, None, Some("confirmed")),
                "Booked (confirmed)",
            ),
            (
                change(ChangeKind::Arrived, None, Some(&utc(19, 5))),
                "Marked as arrived",
            ),
        ];
        for (change, words) in cases {
            assert_eq!(describe(&change, &tz), words);
        }
    }
}
