//! The emulator's appointments in memory: the list query (filters, sort, pages, the 1,000 cap)
//! and the one table of status transitions that the partner's API calls and the provider-side
//! changes of the scenario engine both go through.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use jiff::{SignedDuration, Timestamp};

use super::model::{
    Appointment, AppointmentStatus, Attachment, CancellationReasonType, ConfirmationType,
};

/// At most this many appointments are reachable through the pages of one list query.
pub const MAX_RESULTS_PER_QUERY: usize = 1_000;

/// A no-show may be recorded at most this long after the start.
pub const NO_SHOW_WINDOW: SignedDuration = SignedDuration::from_hours(48);

/// `sort_by` of the list endpoint (`AppointmentSortByType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum SortBy {
    #[default]
    Start,
    Created,
    LastModified,
}

impl SortBy {
    pub(crate) fn parse(text: &str) -> Option<SortBy> {
        match text {
            "start_time_utc" => Some(SortBy::Start),
            "created_time_utc" => Some(SortBy::Created),
            "last_modified_time_utc" => Some(SortBy::LastModified),
            _ => None,
        }
    }

    fn key(self, appointment: &Appointment) -> Timestamp {
        match self {
            SortBy::Start => appointment.start_time,
            SortBy::Created => appointment.created,
            SortBy::LastModified => appointment.last_modified,
        }
    }
}

/// An inclusive time range; either end may be open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct TimeRange {
    pub(crate) min: Option<Timestamp>,
    pub(crate) max: Option<Timestamp>,
}

impl TimeRange {
    fn contains(&self, time: Timestamp) -> bool {
        self.min.is_none_or(|min| time >= min) && self.max.is_none_or(|max| time <= max)
    }
}

/// The filters, order and page of one `GET /v1/appointments`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListQuery {
    pub(crate) statuses: Option<Vec<AppointmentStatus>>,
    pub(crate) provider_ids: Option<Vec<String>>,
    pub(crate) location_ids: Option<Vec<String>>,
    pub(crate) practice_ids: Option<Vec<String>>,
    pub(crate) developer_patient_id: Option<String>,
    pub(crate) start_time: TimeRange,
    pub(crate) created_time: TimeRange,
    pub(crate) last_modified_time: TimeRange,
    pub(crate) sort_by: SortBy,
    pub(crate) ascending: bool,
    pub(crate) page: usize,
    pub(crate) page_size: usize,
}

impl ListQuery {
    fn matches(&self, appointment: &Appointment) -> bool {
        let listed = |list: &Option<Vec<String>>, value: &str| {
            list.as_ref()
                .is_none_or(|list| list.iter().any(|item| item == value))
        };
        self.statuses
            .as_ref()
            .is_none_or(|statuses| statuses.contains(&appointment.status))
            && listed(&self.provider_ids, &appointment.provider_id)
            && listed(&self.location_ids, &appointment.location_id)
            && self.practice_ids.as_ref().is_none_or(|ids| {
                appointment
                    .practice_id
                    .as_ref()
                    .is_some_and(|practice_id| ids.contains(practice_id))
            })
            && self.developer_patient_id.as_ref().is_none_or(|wanted| {
                appointment.patient.developer_patient_id.as_ref() == Some(wanted)
            })
            && self.start_time.contains(appointment.start_time)
            && self.created_time.contains(appointment.created)
            && self.last_modified_time.contains(appointment.last_modified)
    }
}

/// One page of a list query.
#[derive(Debug, Clone)]
pub(crate) struct ListPage {
    /// How many appointments the query reaches: the matches, capped at
    /// [`MAX_RESULTS_PER_QUERY`].
    pub(crate) reachable: usize,
    pub(crate) items: Vec<Appointment>,
}

/// A change to one appointment, from the partner (API) or the provider's side (scenario).
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// `pending_booking` → `confirmed` (the partner's confirm, or the provider's).
    Confirm,
    /// The provider could not honour a booking: `pending_booking` → `booking_failed`.
    FailBooking,
    /// Cancel an appointment that is not cancelled or a no-show.
    Cancel {
        /// The standardised reason.
        reason_type: Option<CancellationReasonType>,
        /// Free text.
        reason: Option<String>,
    },
    /// Move the start. The partner's reschedule becomes `rescheduled` (auto-confirming
    /// providers) or `pending_reschedule` (manual ones); the provider moving an appointment
    /// keeps its status.
    Reschedule {
        /// The new start.
        start_time: Timestamp,
        /// Whether the partner asked for it through the API.
        by_partner: bool,
    },
    /// The patient arrived (`update-status` `arrived`; the status itself does not change).
    Arrive,
    /// The patient did not come: only after the start and at most two days later.
    NoShow,
    /// The patient uploaded a document.
    UploadAttachment(Attachment),
}

/// Why a change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeError {
    /// No appointment with that id.
    #[error("appointment not found")]
    NotFound,
    /// The appointment's status (or time) does not allow the change: a 409.
    #[error("{0}")]
    Conflict(String),
}

/// The appointments.
#[derive(Debug, Default)]
pub(crate) struct Store {
    appointments: HashMap<String, Appointment>,
    /// Sandbox fixtures: they always answer with their own status, whatever is asked of them.
    fixed: HashSet<String>,
}

impl Store {
    pub(crate) fn insert(&mut self, appointment: Appointment) {
        self.fixed.remove(&appointment.appointment_id);
        self.appointments
            .insert(appointment.appointment_id.clone(), appointment);
    }

    pub(crate) fn insert_fixed(&mut self, appointment: Appointment) {
        self.fixed.insert(appointment.appointment_id.clone());
        self.appointments
            .insert(appointment.appointment_id.clone(), appointment);
    }

    pub(crate) fn get(&self, appointment_id: &str) -> Option<&Appointment> {
        self.appointments.get(appointment_id)
    }

    pub(crate) fn len(&self) -> usize {
        self.appointments.len()
    }

    pub(crate) fn all(&self) -> impl Iterator<Item = &Appointment> {
        self.appointments.values()
    }

    pub(crate) fn list(&self, query: &ListQuery) -> ListPage {
        let mut matches: Vec<&Appointment> = self
            .appointments
            .values()
            .filter(|appointment| query.matches(appointment))
            .collect();
        matches.sort_by(|a, b| {
            let order = query.sort_by.key(a).cmp(&query.sort_by.key(b));
            let order = if query.ascending {
                order
            } else {
                order.reverse()
            };
            order.then_with(|| a.appointment_id.cmp(&b.appointment_id))
        });
        let reachable = matches.len().min(MAX_RESULTS_PER_QUERY);
        let start = query.page.saturating_mul(query.page_size).min(reachable);
        let end = start.saturating_add(query.page_size).min(reachable);
        ListPage {
            reachable,
            items: matches[start..end].iter().map(|a| (*a).clone()).collect(),
        }
    }

    /// Applies `change` at `now` and returns the appointment as it now is. A sandbox fixture is
    /// checked like any other appointment, but it is left as it was: the answer shows the
    /// outcome, a later read shows the fixed status again.
    pub(crate) fn apply(
        &mut self,
        appointment_id: &str,
        change: Change,
        now: Timestamp,
    ) -> Result<Appointment, ChangeError> {
        let fixed = self.fixed.contains(appointment_id);
        let stored = self
            .appointments
            .get_mut(appointment_id)
            .ok_or(ChangeError::NotFound)?;
        let mut changed = stored.clone();
        transition(&mut changed, change, now)?;
        changed.last_modified = now;
        if !fixed {
            *stored = changed.clone();
        }
        Ok(changed)
    }
}

/// The statuses a cancel is allowed from (the spec's "non-cancelled statuses").
const CANCELLABLE: [AppointmentStatus; 6] = [
    AppointmentStatus::PendingBooking,
    AppointmentStatus::BookingFailed,
    AppointmentStatus::Confirmed,
    AppointmentStatus::PendingReschedule,
    AppointmentStatus::RescheduleFailed,
    AppointmentStatus::Rescheduled,
];

/// The statuses a reschedule is allowed from (the spec's list).
const RESCHEDULABLE: [AppointmentStatus; 4] = [
    AppointmentStatus::PendingBooking,
    AppointmentStatus::Confirmed,
    AppointmentStatus::PendingReschedule,
    AppointmentStatus::Rescheduled,
];

/// The statuses of a booked appointment the patient can come to (or miss).
const ATTENDABLE: [AppointmentStatus; 2] =
    [AppointmentStatus::Confirmed, AppointmentStatus::Rescheduled];

fn conflict(appointment: &Appointment, action: &str) -> ChangeError {
    ChangeError::Conflict(format!(
        "Cannot {action} an appointment in status {}",
        appointment.status
    ))
}

fn transition(
    appointment: &mut Appointment,
    change: Change,
    now: Timestamp,
) -> Result<(), ChangeError> {
    let status = appointment.status;
    match change {
        Change::Confirm => {
            if status != AppointmentStatus::PendingBooking {
                return Err(conflict(appointment, "confirm"));
            }
            appointment.status = AppointmentStatus::Confirmed;
        }
        Change::FailBooking => {
            if status != AppointmentStatus::PendingBooking {
                return Err(conflict(appointment, "fail the booking of"));
            }
            appointment.status = AppointmentStatus::BookingFailed;
        }
        Change::Cancel {
            reason_type,
            reason,
        } => {
            if !CANCELLABLE.contains(&status) {
                return Err(conflict(appointment, "cancel"));
            }
            appointment.status = AppointmentStatus::Cancelled;
            appointment.cancellation_reason_type = reason_type;
            appointment.cancellation_reason = reason;
        }
        Change::Reschedule {
            start_time,
            by_partner,
        } => {
            if !RESCHEDULABLE.contains(&status) {
                return Err(conflict(appointment, "reschedule"));
            }
            appointment.start_time = start_time;
            appointment.arrived = false;
            if by_partner {
                appointment.status = match appointment.confirmation_type {
                    ConfirmationType::Auto => AppointmentStatus::Rescheduled,
                    ConfirmationType::Manual | ConfirmationType::PendingEvaluation => {
                        AppointmentStatus::PendingReschedule
                    }
                };
            }
        }
        Change::Arrive => {
            if !ATTENDABLE.contains(&status) {
                return Err(conflict(appointment, "mark as arrived"));
            }
            if appointment.arrived {
                return Err(ChangeError::Conflict(
                    "The patient is already marked as arrived".to_owned(),
                ));
            }
            appointment.arrived = true;
        }
        Change::NoShow => {
            if !ATTENDABLE.contains(&status) {
                return Err(conflict(appointment, "mark as no_show"));
            }
            if appointment.arrived {
                return Err(ChangeError::Conflict(
                    "Cannot mark as no_show a patient who arrived".to_owned(),
                ));
            }
            match appointment.start_time.cmp(&now) {
                Ordering::Greater | Ordering::Equal => {
                    return Err(ChangeError::Conflict(
                        "Appointment start time should be in the past to be marked as no_show"
                            .to_owned(),
                    ));
                }
                Ordering::Less if now - appointment.start_time > NO_SHOW_WINDOW => {
                    return Err(ChangeError::Conflict(
                        "Appointment start time should be no older than 2 days to be marked as no_show"
                            .to_owned(),
                    ));
                }
                Ordering::Less => {}
            }
            appointment.status = AppointmentStatus::NoShow;
        }
        Change::UploadAttachment(attachment) => {
            if matches!(
                status,
                AppointmentStatus::BookingFailed | AppointmentStatus::RescheduleFailed
            ) {
                return Err(conflict(appointment, "attach a document to"));
            }
            appointment.attachments.push(attachment);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use jiff::tz::TimeZone;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;
    use crate::zocdoc::model::{PatientType, VisitType};
    use crate::zocdoc::practice::fake_patient;

    fn at(hours: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000).unwrap() + SignedDuration::from_hours(hours)
    }

    fn appointment(id: &str, status: AppointmentStatus, start_hours: i64) -> Appointment {
        Appointment {
            appointment_id: id.to_owned(),
            status,
            arrived: false,
            start_time: at(start_hours),
            time_zone: TimeZone::UTC,
            created: at(-100),
            last_modified: at(-100),
            provider_id: "pr_a".into(),
            location_id: "lo_a".into(),
            practice_id: Some("pt_a".into()),
            visit_reason_id: "pc_a".into(),
            visit_type: VisitType::InPerson,
            patient_type: PatientType::New,
            confirmation_type: ConfirmationType::Auto,
            is_provider_resource: false,
            location_phone_number: None,
            waiting_room_path: None,
            notes: None,
            cancellation_reason: None,
            cancellation_reason_type: None,
            source: None,
            patient: fake_patient(&mut ChaCha8Rng::seed_from_u64(1)),
            booked_by_another_patient: false,
            attachments: Vec::new(),
        }
    }

    fn query() -> ListQuery {
        ListQuery {
            statuses: None,
            provider_ids: None,
            location_ids: None,
            practice_ids: None,
            developer_patient_id: None,
            start_time: TimeRange::default(),
            created_time: TimeRange::default(),
            last_modified_time: TimeRange::default(),
            sort_by: SortBy::Start,
            ascending: false,
            page: 0,
            page_size: 100,
        }
    }

    #[test]
    fn no_show_only_after_the_start_and_within_two_days() {
        let mut store = Store::default();
        store.insert(appointment("future", AppointmentStatus::Confirmed, 1));
        store.insert(appointment("recent", AppointmentStatus::Confirmed, -47));
        store.insert(appointment("old", AppointmentStatus::Confirmed, -49));
        for id in ["future", "old"] {
            assert!(matches!(
                store.apply(id, Change::NoShow, at(0)),
                Err(ChangeError::Conflict(_))
            ));
        }
        let changed = store.apply("recent", Change::NoShow, at(0)).unwrap();
        assert_eq!(changed.status, AppointmentStatus::NoShow);
        assert_eq!(changed.last_modified, at(0));
    }

    #[test]
    fn a_fixture_answers_the_outcome_but_keeps_its_status() {
        let mut store = Store::default();
        store.insert_fixed(appointment("fixed", AppointmentStatus::Confirmed, 5));
        let cancel = Change::Cancel {
            reason_type: None,
            reason: None,
        };
        let answered = store.apply("fixed", cancel, at(0)).unwrap();
        assert_eq!(answered.status, AppointmentStatus::Cancelled);
        assert_eq!(
            store.get("fixed").unwrap().status,
            AppointmentStatus::Confirmed
        );
    }

    #[test]
    fn cancelled_and_no_show_cannot_be_cancelled() {
        let mut store = Store::default();
        store.insert(appointment("c", AppointmentStatus::Cancelled, 5));
        store.insert(appointment("n", AppointmentStatus::NoShow, -5));
        for id in ["c", "n"] {
            let cancel = Change::Cancel {
                reason_type: None,
                reason: None,
            };
            assert!(matches!(
                store.apply(id, cancel, at(0)),
                Err(ChangeError::Conflict(_))
            ));
        }
        assert_eq!(
            store.apply("missing", Change::Confirm, at(0)),
            Err(ChangeError::NotFound)
        );
    }

    #[test]
    fn a_query_reaches_at_most_a_thousand() {
        let mut store = Store::default();
        for index in 0..1_050 {
            store.insert(appointment(
                &format!("a{index:05}"),
                AppointmentStatus::Confirmed,
                index,
            ));
        }
        let mut last_page = query();
        last_page.page = 9;
        let page = store.list(&last_page);
        assert_eq!(page.reachable, 1_000);
        assert_eq!(page.items.len(), 100);
        last_page.page = 10;
        assert!(store.list(&last_page).items.is_empty());
        let first = store.list(&query());
        assert_eq!(
            first.items[0].start_time,
            at(1_049),
            "descending by default"
        );
    }
}
