//! The facts per appointment the figures need, and how they are read from the store: the
//! appointments starting in the range (by the `start_time` index), the history rows that date
//! their cancellations and reschedules (by the `(appointment_id, at)` index), and the bookings
//! outside the range that may be rebookings.

use std::fmt;
use std::sync::Arc;

use deskbridge_zocdoc::api::AppointmentStatus;
use foldhash::{HashMap, HashSet};
use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::Offset;
use rusqlite::params;
use serde::Serialize;

use super::{AnalyticsError, Query, REBOOK_WITHIN};
use crate::appointments::ChangeKind;
use crate::store::{Store, format_timestamp, parse_timestamp};

/// Where an appointment stands, for the figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// `confirmed`, `rescheduled` or `reschedule_failed`, and not marked a no-show: it went ahead
    /// as far as anyone recorded.
    Booked,
    /// `no_show`, or marked a no-show at the desk.
    NoShow,
    /// `cancelled`.
    Cancelled,
    /// `pending_reschedule`: the patient is moving away from this time.
    AwaitingNewTime,
    /// `pending_booking`: the practice never confirmed it.
    AwaitingConfirmation,
    /// `booking_failed`.
    BookingFailed,
    /// A status this build does not know.
    Unrecognised,
}

impl Outcome {
    /// The outcome of an appointment in `status`, `no_show_flag` being the desk's own mark.
    pub fn of(status: &AppointmentStatus, no_show_flag: bool) -> Outcome {
        match status {
            AppointmentStatus::Cancelled => Outcome::Cancelled,
            AppointmentStatus::NoShow => Outcome::NoShow,
            _ if no_show_flag => Outcome::NoShow,
            AppointmentStatus::Confirmed
            | AppointmentStatus::Rescheduled
            | AppointmentStatus::RescheduleFailed => Outcome::Booked,
            AppointmentStatus::PendingReschedule => Outcome::AwaitingNewTime,
            AppointmentStatus::PendingBooking => Outcome::AwaitingConfirmation,
            AppointmentStatus::BookingFailed => Outcome::BookingFailed,
            AppointmentStatus::Other(_) => Outcome::Unrecognised,
        }
    }

    /// Whether the appointment is one of those counted ([`super::APPOINTMENTS`]).
    pub fn is_counted(self) -> bool {
        matches!(
            self,
            Outcome::Booked | Outcome::NoShow | Outcome::Cancelled | Outcome::AwaitingNewTime
        )
    }
}

/// New or existing patient (Zocdoc's `patient_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PatientKind {
    /// `new`.
    New,
    /// `existing`.
    Existing,
}

impl PatientKind {
    /// Reads `patient_type`; an unknown value is `None`.
    pub fn parse(text: &str) -> Option<PatientKind> {
        match text {
            "new" => Some(PatientKind::New),
            "existing" => Some(PatientKind::Existing),
            _ => None,
        }
    }
}

/// The developer patient id: matches a patient's bookings. It identifies a patient, so its
/// `Debug` hides it and it never leaves the analytics module.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PatientKey(String);

impl PatientKey {
    /// Wraps a developer patient id.
    pub fn new(id: impl Into<String>) -> PatientKey {
        PatientKey(id.into())
    }
}

impl fmt::Debug for PatientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PatientKey(..)")
    }
}

/// The first time an appointment gave up its booked time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reschedule {
    /// When: the first start move, or else the first change into `rescheduled` or
    /// `pending_reschedule`; `None` when first seen already rescheduled.
    pub at: Option<Timestamp>,
    /// The start time given up.
    pub from_start: Timestamp,
}

/// What the figures need to know of one appointment (nothing else: no names, no notes).
#[derive(Debug, Clone, PartialEq)]
pub struct AppointmentFacts {
    /// Zocdoc's appointment id.
    pub id: String,
    /// Where it stands.
    pub outcome: Outcome,
    /// Its current start.
    pub start: Timestamp,
    /// When it was booked (`created_time_utc`), when Zocdoc said.
    pub created: Option<Timestamp>,
    /// Zocdoc's `provider_location_id` (shared by the appointments that have the same one: a
    /// practice has a handful).
    pub provider_location_id: Arc<str>,
    /// Zocdoc's `visit_reason_id` (shared like `provider_location_id`).
    pub visit_reason_id: Arc<str>,
    /// New or existing patient, when Zocdoc said.
    pub patient_type: Option<PatientKind>,
    /// The developer patient id, when the booking carried one.
    pub patient: Option<PatientKey>,
    /// When it was cancelled (the last change into `cancelled`), for a cancelled one.
    pub cancelled_at: Option<Timestamp>,
    /// Its first reschedule, if it was ever rescheduled.
    pub rescheduled: Option<Reschedule>,
}

impl AppointmentFacts {
    /// When the appointment was lost, for a rebooking to follow: the cancellation (its start
    /// when that time is unknown), or the missed start of a no-show.
    pub fn loss_at(&self) -> Timestamp {
        match self.outcome {
            Outcome::Cancelled => self.cancelled_at.unwrap_or(self.start),
            _ => self.start,
        }
    }
}

/// A booking that may be a rebooking: who, when, which appointment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booking {
    /// Zocdoc's appointment id.
    pub appointment_id: String,
    /// The developer patient id.
    pub patient: PatientKey,
    /// `created_time_utc`.
    pub created: Timestamp,
}

/// Everything the figures of one query are computed from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Facts {
    /// The appointments starting within the range.
    pub appointments: Vec<AppointmentFacts>,
    /// Bookings starting outside the range that were made within [`REBOOK_WITHIN`] after a
    /// cancellation or no-show of the range (failed bookings left out).
    pub other_bookings: Vec<Booking>,
}

/// The appointments starting in `?1..?2`.
const APPOINTMENTS_SQL: &str = "
SELECT id, status, no_show, start_time, created_time_utc, provider_location_id, visit_reason_id,
       patient_type, raw_json ->> '$.developer_patient_id'
FROM appointments
WHERE start_time >= ?1 AND start_time < ?2";

/// Every history row that dates a cancellation or a reschedule, in no particular order (those of
/// other appointments than the range's are skipped while reading). The kinds are
/// [`ChangeKind::as_str`] of `StartMoved`, `Created` and `StatusChanged`, written out so that the
/// condition is the one of the partial index `appointment_changes_dating` (migration 4): the query
/// reads that small index from end to end, in page order. Joining the range's appointments to it
/// instead costs one random (decrypted) index page per appointment, several times slower for a
/// year; this way the cost follows the number of cancellations and reschedules ever recorded.
const CHANGES_SQL: &str = "
SELECT appointment_id, at, kind, old_value, new_value
FROM appointment_changes
WHERE kind = 'start_moved'
   OR (kind IN ('created', 'status_changed')
       AND new_value IN ('cancelled', 'rescheduled', 'pending_reschedule'))";

/// Bookings made in `?1..=?4` that start before the range (`?1..?2`) or after it (`?3..`).
/// A booking starts after it is made, so `start_time >= ?1` loses none.
const OTHER_BOOKINGS_SQL: &str = "
SELECT id, raw_json ->> '$.developer_patient_id' AS patient, created_time_utc
FROM appointments
WHERE start_time >= ?1 AND start_time < ?2 AND created_time_utc BETWEEN ?1 AND ?4
  AND status <> 'booking_failed' AND patient IS NOT NULL
UNION ALL
SELECT id, raw_json ->> '$.developer_patient_id' AS patient, created_time_utc
FROM appointments
WHERE start_time >= ?3 AND created_time_utc BETWEEN ?1 AND ?4
  AND status <> 'booking_failed' AND patient IS NOT NULL";

/// What one appointment's history says of its reschedules.
#[derive(Debug, Clone, Copy, Default)]
struct Dating {
    /// The first start move: when, and the start it left.
    first_move: Option<(Timestamp, Timestamp)>,
    /// The first change into `rescheduled` or `pending_reschedule`.
    first_status: Option<Timestamp>,
    /// First seen already `rescheduled` or `pending_reschedule`.
    first_seen_rescheduled: bool,
}

impl Dating {
    /// The first time `appointment` gave up its booked time: the earlier of its first move and
    /// its first change into a reschedule status, and the start it had then (before its first
    /// move). Without either, an appointment first seen rescheduled (or rescheduled now) was
    /// rescheduled at an unknown time.
    fn reschedule(self, appointment: &AppointmentFacts) -> Option<Reschedule> {
        match (self.first_move, self.first_status) {
            (Some((moved_at, from_start)), status_at) => Some(Reschedule {
                at: Some(status_at.map_or(moved_at, |s| s.min(moved_at))),
                from_start,
            }),
            (None, Some(at)) => Some(Reschedule {
                at: Some(at),
                from_start: appointment.start,
            }),
            (None, None) if self.first_seen_rescheduled => Some(Reschedule {
                at: None,
                from_start: appointment.start,
            }),
            (None, None) => appointment.rescheduled,
        }
    }
}

/// A stored time, or which column of which appointment could not be read.
fn time(
    text: &[u8],
    appointment_id: &str,
    column: &'static str,
) -> Result<Timestamp, AnalyticsError> {
    fixed_width_timestamp(text)
        .or_else(|| parse_timestamp(std::str::from_utf8(text).ok()?))
        .ok_or_else(|| AnalyticsError::UnreadableTime {
            appointment_id: appointment_id.to_owned(),
            column,
        })
}

/// Reads a time in the one form [`crate::store::format_timestamp`] writes,
/// `2026-03-10T14:00:00.000000Z`, by position: a year holds 200,000 of them, and the general
/// RFC 3339 parser was a good part of loading it. `None` for any other form (and for an invalid
/// date), which then goes to the general parser.
pub(super) fn fixed_width_timestamp(bytes: &[u8]) -> Option<Timestamp> {
    if bytes.len() != 27
        || [
            (4, b'-'),
            (7, b'-'),
            (10, b'T'),
            (13, b':'),
            (16, b':'),
            (19, b'.'),
            (26, b'Z'),
        ]
        .iter()
        .any(|&(at, separator)| bytes[at] != separator)
    {
        return None;
    }
    let number = |from: usize, to: usize| {
        bytes[from..to].iter().try_fold(0i32, |value, &digit| {
            digit
                .is_ascii_digit()
                .then(|| value * 10 + i32::from(digit - b'0'))
        })
    };
    let small = |from, to| number(from, to).and_then(|value| i8::try_from(value).ok());
    let datetime = DateTime::new(
        i16::try_from(number(0, 4)?).ok()?,
        small(5, 7)?,
        small(8, 10)?,
        small(11, 13)?,
        small(14, 16)?,
        small(17, 19)?,
        number(20, 26)? * 1_000,
    )
    .ok()?;
    Offset::UTC.to_timestamp(datetime).ok()
}

/// One shared copy of each distinct id (provider-location, visit reason): a year has a handful
/// of each, so the appointments share them instead of holding a string each.
#[derive(Default)]
struct Interned(HashSet<Arc<str>>);

impl Interned {
    fn get(&mut self, text: &str) -> Arc<str> {
        if let Some(shared) = self.0.get(text) {
            return Arc::clone(shared);
        }
        let shared: Arc<str> = Arc::from(text);
        self.0.insert(Arc::clone(&shared));
        shared
    }
}

impl Facts {
    /// Reads the facts of the appointments starting on the days of `query` (providers and
    /// locations are filtered later, by [`super::Patterns::compute`]).
    pub fn load(store: &Store, query: &Query) -> Result<Facts, AnalyticsError> {
        let (from, to) = query.utc_bounds()?;
        let (from, to) = (format_timestamp(from), format_timestamp(to));
        let conn = store.conn();

        let mut appointments = Vec::new();
        let (mut provider_locations, mut visit_reasons) =
            (Interned::default(), Interned::default());
        let mut statement = conn.prepare_cached(APPOINTMENTS_SQL)?;
        let mut rows = statement.query(params![from, to])?;
        while let Some(row) = rows.next()? {
            let id: String = row.get(0)?;
            let status = AppointmentStatus::from_wire(row.get_ref(1)?.as_str()?);
            let start = time(row.get_ref(3)?.as_bytes()?, &id, "start_time")?;
            let created = match row.get_ref(4)?.as_bytes_or_null()? {
                Some(text) => Some(time(text, &id, "created_time_utc")?),
                None => None,
            };
            let patient_type = row.get_ref(7)?.as_str_or_null()?;
            appointments.push(AppointmentFacts {
                outcome: Outcome::of(&status, row.get(2)?),
                start,
                created,
                provider_location_id: provider_locations.get(row.get_ref(5)?.as_str()?),
                visit_reason_id: visit_reasons.get(row.get_ref(6)?.as_str()?),
                patient_type: patient_type.and_then(PatientKind::parse),
                patient: row.get::<_, Option<String>>(8)?.map(PatientKey),
                cancelled_at: None,
                rescheduled: matches!(
                    status,
                    AppointmentStatus::Rescheduled | AppointmentStatus::PendingReschedule
                )
                .then_some(Reschedule {
                    at: None,
                    from_start: start,
                }),
                id,
            });
        }

        // What the history says, kept apart while `index` borrows the appointments' ids.
        let mut dating = vec![Dating::default(); appointments.len()];
        let mut cancelled_at: Vec<Option<Timestamp>> = vec![None; appointments.len()];
        let mut index = HashMap::with_capacity_and_hasher(appointments.len(), Default::default());
        for (i, appointment) in appointments.iter().enumerate() {
            index.insert(appointment.id.as_str(), i);
        }
        let mut statement = conn.prepare_cached(CHANGES_SQL)?;
        let mut rows = statement.query([])?;
        while let Some(row) = rows.next()? {
            let id = row.get_ref(0)?.as_str()?;
            let Some(&i) = index.get(id) else { continue };
            let at = time(row.get_ref(1)?.as_bytes()?, id, "appointment_changes.at")?;
            let kind = ChangeKind::parse(row.get_ref(2)?.as_str()?);
            let old_value = row.get_ref(3)?.as_bytes_or_null()?;
            let new_value = row.get_ref(4)?.as_str_or_null()?;
            let dating = &mut dating[i];
            match (kind, new_value) {
                (Some(ChangeKind::StartMoved), _)
                    if dating.first_move.is_none_or(|(first, _)| at < first) =>
                {
                    let from_start = match old_value {
                        Some(text) => time(text, id, "appointment_changes.old_value")?,
                        None => appointments[i].start,
                    };
                    dating.first_move = Some((at, from_start));
                }
                (Some(ChangeKind::StartMoved), _) => {}
                (_, Some("cancelled")) => {
                    let cancelled_at = &mut cancelled_at[i];
                    *cancelled_at = Some(cancelled_at.map_or(at, |last| last.max(at)));
                }
                (Some(ChangeKind::StatusChanged), Some(_)) => {
                    dating.first_status =
                        Some(dating.first_status.map_or(at, |first| first.min(at)));
                }
                (Some(ChangeKind::Created), Some(_)) => dating.first_seen_rescheduled = true,
                _ => {}
            }
        }
        drop(index);
        for ((appointment, dating), cancelled_at) in
            appointments.iter_mut().zip(dating).zip(cancelled_at)
        {
            appointment.cancelled_at = cancelled_at;
            if let Some(reschedule) = dating.reschedule(appointment) {
                appointment.rescheduled = Some(reschedule);
            }
        }

        let losses = appointments
            .iter()
            .filter(|a| {
                a.patient.is_some() && matches!(a.outcome, Outcome::Cancelled | Outcome::NoShow)
            })
            .map(AppointmentFacts::loss_at);
        let (first, last) = losses.fold(
            (None, None),
            |(first, last): (Option<Timestamp>, Option<Timestamp>), at| {
                (
                    Some(first.map_or(at, |f| f.min(at))),
                    Some(last.map_or(at, |l| l.max(at))),
                )
            },
        );
        let mut other_bookings = Vec::new();
        if let (Some(first), Some(last)) = (first, last) {
            let until = last.checked_add(REBOOK_WITHIN).unwrap_or(last);
            let mut statement = conn.prepare_cached(OTHER_BOOKINGS_SQL)?;
            let mut rows = statement.query(params![
                format_timestamp(first),
                from,
                to,
                format_timestamp(until)
            ])?;
            while let Some(row) = rows.next()? {
                let appointment_id: String = row.get(0)?;
                let created = time(
                    row.get_ref(2)?.as_bytes()?,
                    &appointment_id,
                    "created_time_utc",
                )?;
                other_bookings.push(Booking {
                    patient: PatientKey(row.get(1)?),
                    created,
                    appointment_id,
                });
            }
        }
        Ok(Facts {
            appointments,
            other_bookings,
        })
    }
}
