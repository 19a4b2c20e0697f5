//! Appointment types of the Zocdoc API (`AppointmentStatusResponseData` and the write answers),
//! their enums, and what the client sends with a write.
//!
//! Free text that may describe a patient (`notes`, `cancellation_reason`, a cancellation note)
//! and the patient-facing video link are left out of `Debug`, so an appointment can be logged by
//! mistake without leaking patient data.

use std::fmt;

use jiff::Timestamp;
use jiff::tz::{Offset, TimeZone};

use super::ids::{
    AppointmentId, DeveloperPatientId, PracticeId, ProviderLocationId, RequestId, VisitReasonId,
};

open_enum! {
    /// `AppointmentStatus`. `arrived` is not part of it (see [`StatusUpdate::Arrived`]).
    AppointmentStatus {
        /// `pending_booking`: booked, waiting for the practice to confirm.
        PendingBooking = "pending_booking",
        /// `confirmed`.
        Confirmed = "confirmed",
        /// `booking_failed`.
        BookingFailed = "booking_failed",
        /// `cancelled`.
        Cancelled = "cancelled",
        /// `no_show`.
        NoShow = "no_show",
        /// `pending_reschedule`: a new time was requested, not yet settled.
        PendingReschedule = "pending_reschedule",
        /// `rescheduled`.
        Rescheduled = "rescheduled",
        /// `reschedule_failed`.
        RescheduleFailed = "reschedule_failed",
    }
}

impl AppointmentStatus {
    /// The status as a front desk says it, e.g. "waiting for confirmation".
    pub fn in_plain_words(&self) -> String {
        match self {
            AppointmentStatus::PendingBooking => "waiting for confirmation".to_owned(),
            AppointmentStatus::Confirmed => "confirmed".to_owned(),
            AppointmentStatus::BookingFailed => "a failed booking".to_owned(),
            AppointmentStatus::Cancelled => "cancelled".to_owned(),
            AppointmentStatus::NoShow => "marked as a no-show".to_owned(),
            AppointmentStatus::PendingReschedule => {
                "waiting for a new time to be confirmed".to_owned()
            }
            AppointmentStatus::Rescheduled => "rescheduled".to_owned(),
            AppointmentStatus::RescheduleFailed => "a failed reschedule".to_owned(),
            AppointmentStatus::Other(text) => format!("in the status \u{201c}{text}\u{201d}"),
        }
    }
}

open_enum! {
    /// `AppointmentVisitType`.
    VisitType {
        /// `in_person`.
        InPerson = "in_person",
        /// `zocdoc_video_service`.
        ZocdocVideoService = "zocdoc_video_service",
        /// `third_party_video_service`.
        ThirdPartyVideoService = "third_party_video_service",
    }
}

open_enum! {
    /// `PatientType`: whether the patient has been to the practice before.
    PatientType {
        /// `existing`.
        Existing = "existing",
        /// `new`.
        New = "new",
    }
}

open_enum! {
    /// `AppointmentConfirmationType`.
    ConfirmationType {
        /// `auto`: Zocdoc confirms by itself.
        Auto = "auto",
        /// `manual`: the practice confirms.
        Manual = "manual",
        /// `pending_evaluation`.
        PendingEvaluation = "pending_evaluation",
    }
}

request_enum! {
    /// `AppointmentStatusToSet`: what update-status can set.
    StatusUpdate {
        /// `arrived`: the patient is at the office. Zocdoc does not report it back in
        /// [`AppointmentStatus`], so it cannot be read back.
        Arrived = "arrived",
        /// `no_show`: only after the start time and no more than 2 days after it.
        NoShow = "no_show",
    }
}

request_enum! {
    /// `CancellationReasonType`.
    CancellationReasonType {
        /// `patient_no_longer_needs_appointment`.
        PatientNoLongerNeedsAppointment = "patient_no_longer_needs_appointment",
        /// `patient_no_longer_available`.
        PatientNoLongerAvailable = "patient_no_longer_available",
        /// `other_patient_reason` (a note may explain it).
        OtherPatientReason = "other_patient_reason",
        /// `missing_needed_patient_information`.
        MissingNeededPatientInformation = "missing_needed_patient_information",
        /// `payment_or_insurance_issue`.
        PaymentOrInsuranceIssue = "payment_or_insurance_issue",
        /// `patient_or_visit_type_not_accepted`.
        PatientOrVisitTypeNotAccepted = "patient_or_visit_type_not_accepted",
        /// `provider_not_available`.
        ProviderNotAvailable = "provider_not_available",
        /// `rescheduling_patient`.
        ReschedulingPatient = "rescheduling_patient",
        /// `other_provider_reason` (a note may explain it).
        OtherProviderReason = "other_provider_reason",
    }
}

impl CancellationReasonType {
    /// Whether a free-text note may go with this reason (the spec allows one only for the two
    /// `other_*` reasons).
    pub fn allows_note(self) -> bool {
        matches!(
            self,
            CancellationReasonType::OtherPatientReason
                | CancellationReasonType::OtherProviderReason
        )
    }
}

/// Why an appointment is cancelled: the reason type and, for the `other_*` types, an optional
/// note (`cancellation_reason`). The note may describe the patient: `Debug` leaves it out.
#[derive(Clone, PartialEq, Eq)]
pub struct CancelReason {
    /// `cancellation_reason_type`.
    pub reason_type: CancellationReasonType,
    /// `cancellation_reason`: free text, only with an `other_*` reason type.
    pub note: Option<String>,
}

impl CancelReason {
    /// A reason without a note.
    pub fn new(reason_type: CancellationReasonType) -> Self {
        Self {
            reason_type,
            note: None,
        }
    }

    /// The same reason with a free-text note (checked when the cancel is sent).
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }
}

impl fmt::Debug for CancelReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelReason")
            .field("reason_type", &self.reason_type)
            .field("note", &self.note.as_ref().map(|_| Redacted))
            .finish()
    }
}

/// A date and time with the offset Zocdoc wrote it with (the provider's local offset for
/// `start_time`), e.g. `2022-04-27T09:00:00-04:00`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OffsetTime {
    timestamp: Timestamp,
    offset: Offset,
}

/// Why a text is not an ISO-8601 date and time with an offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not an ISO-8601 date and time with a UTC offset")]
pub struct OffsetTimeError;

impl OffsetTime {
    /// The instant `timestamp`, written with `offset`.
    pub fn new(timestamp: Timestamp, offset: Offset) -> Self {
        Self { timestamp, offset }
    }

    /// Parses `2022-04-27T09:00:00-04:00` (or `…Z`); the offset is required.
    pub fn parse(text: &str) -> Result<Self, OffsetTimeError> {
        let pieces = jiff::fmt::temporal::Pieces::parse(text).map_err(|_| OffsetTimeError)?;
        let offset = pieces.to_numeric_offset().ok_or(OffsetTimeError)?;
        let timestamp = text.parse::<Timestamp>().map_err(|_| OffsetTimeError)?;
        Ok(Self { timestamp, offset })
    }

    /// The instant.
    pub fn timestamp(&self) -> Timestamp {
        self.timestamp
    }

    /// The offset it was written with.
    pub fn offset(&self) -> Offset {
        self.offset
    }

    /// The same instant as a zoned date and time in the fixed offset.
    pub fn to_zoned(&self) -> jiff::ZonedDateTime {
        self.timestamp
            .to_zoned_datetime(TimeZone::fixed(self.offset))
    }
}

impl fmt::Display for OffsetTime {
    /// RFC 3339 with the offset, as the API expects it: `2022-04-27T09:00:00-04:00`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.timestamp.display_with_offset(self.offset))
    }
}

impl From<&jiff::ZonedDateTime> for OffsetTime {
    fn from(zoned: &jiff::ZonedDateTime) -> Self {
        Self::new(zoned.timestamp(), zoned.offset())
    }
}

/// One appointment as `GET /v1/appointments/{id}` and the list return it
/// (`AppointmentStatusResponseData`). Fields the spec requires are plain; optional ones are
/// `Option` (`null` counts as absent). Unknown fields are ignored.
#[derive(Clone, PartialEq, Eq)]
pub struct Appointment {
    /// `appointment_id`.
    pub appointment_id: AppointmentId,
    /// `appointment_status`.
    pub appointment_status: AppointmentStatus,
    /// `developer_patient_id`.
    pub developer_patient_id: Option<DeveloperPatientId>,
    /// `is_provider_resource`: performed by a professional supervised by the booked provider.
    pub is_provider_resource: bool,
    /// `location_phone_number`: the office's phone, 10 digits.
    pub location_phone_number: Option<String>,
    /// `location_phone_extension`.
    pub location_phone_extension: Option<String>,
    /// `waiting_room_path`: the patient's link to a Zocdoc video visit (left out of `Debug`).
    pub waiting_room_path: Option<String>,
    /// `confirmation_type`.
    pub confirmation_type: ConfirmationType,
    /// `start_time`, with the provider's offset.
    pub start_time: OffsetTime,
    /// `created_time_utc`.
    pub created_time_utc: Option<Timestamp>,
    /// `last_modified_time_utc`.
    pub last_modified_time_utc: Option<Timestamp>,
    /// `provider_location_id`.
    pub provider_location_id: ProviderLocationId,
    /// `practice_id`.
    pub practice_id: Option<PracticeId>,
    /// `visit_reason_id`.
    pub visit_reason_id: VisitReasonId,
    /// `visit_type`.
    pub visit_type: Option<VisitType>,
    /// `patient_type`.
    pub patient_type: Option<PatientType>,
    /// `notes`: the patient's notes, PHI (left out of `Debug`).
    pub notes: Option<String>,
    /// `cancellation_reason`: free text, may describe the patient (left out of `Debug`).
    pub cancellation_reason: Option<String>,
    /// `source`: the booking channel, e.g. `Zocdoc Marketplace`.
    pub source: Option<String>,
}

impl fmt::Debug for Appointment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Appointment")
            .field("appointment_id", &self.appointment_id)
            .field("appointment_status", &self.appointment_status)
            .field("developer_patient_id", &self.developer_patient_id)
            .field("is_provider_resource", &self.is_provider_resource)
            .field("location_phone_number", &self.location_phone_number)
            .field("location_phone_extension", &self.location_phone_extension)
            .field("waiting_room_path", &redacted(&self.waiting_room_path))
            .field("confirmation_type", &self.confirmation_type)
            .field("start_time", &self.start_time)
            .field("created_time_utc", &self.created_time_utc)
            .field("last_modified_time_utc", &self.last_modified_time_utc)
            .field("provider_location_id", &self.provider_location_id)
            .field("practice_id", &self.practice_id)
            .field("visit_reason_id", &self.visit_reason_id)
            .field("visit_type", &self.visit_type)
            .field("patient_type", &self.patient_type)
            .field("notes", &redacted(&self.notes))
            .field("cancellation_reason", &redacted(&self.cancellation_reason))
            .field("source", &self.source)
            .finish()
    }
}

/// The answer of confirm, cancel and update-status (`AppointmentBaseResponse`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    /// `request_id` of the answer, when Zocdoc sent one.
    pub request_id: Option<RequestId>,
    /// `data.appointment_id`.
    pub appointment_id: AppointmentId,
    /// `data.appointment_status`: the status after the write.
    pub appointment_status: AppointmentStatus,
    /// `data.developer_patient_id`.
    pub developer_patient_id: Option<DeveloperPatientId>,
}

/// The answer of reschedule (`AppointmentResponse`). It carries no start time: the new time is
/// the one that was sent.
#[derive(Clone, PartialEq, Eq)]
pub struct RescheduledAppointment {
    /// `request_id` of the answer, when Zocdoc sent one.
    pub request_id: Option<RequestId>,
    /// `data.appointment_id`.
    pub appointment_id: AppointmentId,
    /// `data.appointment_status`.
    pub appointment_status: AppointmentStatus,
    /// `data.developer_patient_id`.
    pub developer_patient_id: Option<DeveloperPatientId>,
    /// `data.is_provider_resource`.
    pub is_provider_resource: bool,
    /// `data.location_phone_number`.
    pub location_phone_number: Option<String>,
    /// `data.location_phone_extension`.
    pub location_phone_extension: Option<String>,
    /// `data.waiting_room_path` (left out of `Debug`).
    pub waiting_room_path: Option<String>,
    /// `data.confirmation_type`.
    pub confirmation_type: ConfirmationType,
    /// `data.visit_type`.
    pub visit_type: VisitType,
    /// `data.notes`: PHI (left out of `Debug`).
    pub notes: Option<String>,
}

impl fmt::Debug for RescheduledAppointment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RescheduledAppointment")
            .field("request_id", &self.request_id)
            .field("appointment_id", &self.appointment_id)
            .field("appointment_status", &self.appointment_status)
            .field("developer_patient_id", &self.developer_patient_id)
            .field("is_provider_resource", &self.is_provider_resource)
            .field("location_phone_number", &self.location_phone_number)
            .field("location_phone_extension", &self.location_phone_extension)
            .field("waiting_room_path", &redacted(&self.waiting_room_path))
            .field("confirmation_type", &self.confirmation_type)
            .field("visit_type", &self.visit_type)
            .field("notes", &redacted(&self.notes))
            .finish()
    }
}

/// One page of `GET /v1/appointments` (`AppointmentStatusListResponse`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// `request_id`, when Zocdoc sent one.
    pub request_id: Option<RequestId>,
    /// `page`: zero-based index of this page.
    pub page: u32,
    /// `page_size`.
    pub page_size: u32,
    /// `total_count`: how many appointments match the query (may exceed what paging can reach).
    pub total_count: u64,
    /// `next_url`: `None` on the last page. The client does not follow it (it builds the next
    /// page's request itself, so the token never goes to a host it did not choose).
    pub next_url: Option<String>,
    /// `data`.
    pub appointments: Vec<Appointment>,
}

/// Every page of one query, as far as Zocdoc's paging reaches (at most 1,000 appointments).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// The appointments, each id once, in the order Zocdoc returned them.
    pub appointments: Vec<Appointment>,
    /// `total_count` of the last page fetched.
    pub total_count: u64,
    /// How many pages were fetched.
    pub pages: u32,
    /// Whether paging stopped at Zocdoc's limit with more appointments left: the caller must
    /// split the query (e.g. halve the time window) to see them all.
    pub capped: bool,
}

/// What a write returns when it succeeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written<T> {
    /// Zocdoc answered the write.
    Answered(T),
    /// Zocdoc's answer was lost (timeout, dropped connection, 5xx, unreadable body), and reading
    /// the appointment back showed that the write took effect. Here is the appointment as read.
    ReadBack(Box<Appointment>),
}

impl<T> Written<T> {
    /// Whether the outcome was settled by reading the appointment back.
    pub fn is_read_back(&self) -> bool {
        matches!(self, Written::ReadBack(_))
    }
}

/// Stands in for a value left out of `Debug`.
pub(crate) struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// `Some(<redacted>)` or `None`, for `Debug`.
pub(crate) fn redacted<T>(value: &Option<T>) -> Option<Redacted> {
    value.as_ref().map(|_| Redacted)
}

/// Appointments for unit tests.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;

    /// A confirmed-shape appointment with the given id and wire status, starting
    /// 2030-01-02T09:00:00-05:00.
    pub(crate) fn appointment(id: &str, status: &str) -> Appointment {
        Appointment {
            appointment_id: AppointmentId::new(id),
            appointment_status: AppointmentStatus::from_wire(status),
            developer_patient_id: None,
            is_provider_resource: false,
            location_phone_number: None,
            location_phone_extension: None,
            waiting_room_path: None,
            confirmation_type: ConfirmationType::Manual,
            start_time: OffsetTime::parse("2030-01-02T09:00:00-05:00").unwrap(),
            created_time_utc: None,
            last_modified_time_utc: None,
            provider_location_id: ProviderLocationId::new("pr_a|lo_b"),
            practice_id: None,
            visit_reason_id: VisitReasonId::new("pc_1"),
            visit_type: None,
            patient_type: None,
            notes: None,
            cancellation_reason: None,
            source: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_enum_values_are_kept_as_sent() {
        let status = AppointmentStatus::from_wire("arrived");
        assert_eq!(status, AppointmentStatus::Other("arrived".to_owned()));
        assert_eq!(status.as_str(), "arrived");
        assert!(!status.is_known());
        assert_eq!(
            AppointmentStatus::from_wire("no_show"),
            AppointmentStatus::NoShow
        );
        assert_eq!(VisitType::from_wire("in_person").to_string(), "in_person");
    }

    #[test]
    fn offset_time_keeps_the_offset_and_round_trips() {
        let time = OffsetTime::parse("2022-04-27T09:00:00-04:00").unwrap();
        assert_eq!(time.timestamp().to_string(), "2022-04-27T13:00:00Z");
        assert_eq!(time.offset(), Offset::from_hours(-4).unwrap());
        assert_eq!(time.to_string(), "2022-04-27T09:00:00-04:00");
        assert_eq!(time.to_zoned().hour(), 9);
        assert_eq!(OffsetTime::from(&time.to_zoned()), time);
        assert_eq!(
            OffsetTime::parse("2024-01-01T09:30:00Z")
                .unwrap()
                .to_string(),
            "2024-01-01T09:30:00+00:00"
        );
    }

    #[test]
    fn offset_time_requires_an_offset() {
        assert_eq!(
            OffsetTime::parse("2022-04-27T09:00:00"),
            Err(OffsetTimeError)
        );
        assert_eq!(OffsetTime::parse("tomorrow"), Err(OffsetTimeError));
    }

    #[test]
    fn cancel_reason_debug_leaves_the_note_out() {
        let reason = CancelReason::new(CancellationReasonType::OtherPatientReason)
            .with_note("Mrs Example's husband is in hospital");
        let debug = format!("{reason:?}");
        assert!(debug.contains("OtherPatientReason"), "{debug}");
        assert!(!debug.contains("hospital"), "{debug}");
        assert!(CancellationReasonType::OtherProviderReason.allows_note());
        assert!(!CancellationReasonType::ProviderNotAvailable.allows_note());
    }

    #[test]
    fn appointment_debug_leaves_patient_text_out() {
        let mut appointment = fixtures::appointment("a-1", "cancelled");
        appointment.notes = Some("chest pain since Monday".to_owned());
        appointment.cancellation_reason = Some("patient moved to Ohio".to_owned());
        appointment.waiting_room_path = Some("https://zocdoc.example/room/secret".to_owned());
        let debug = format!("{appointment:?}");
        assert!(
            debug.contains("a-1") && debug.contains("Cancelled"),
            "{debug}"
        );
        for phi in ["chest pain", "Ohio", "room/secret"] {
            assert!(!debug.contains(phi), "{phi} leaked into {debug}");
        }
    }

    #[test]
    fn plain_words_cover_unknown_statuses() {
        assert_eq!(
            AppointmentStatus::PendingBooking.in_plain_words(),
            "waiting for confirmation"
        );
        assert_eq!(
            AppointmentStatus::from_wire("on_hold").in_plain_words(),
            "in the status \u{201c}on_hold\u{201d}"
        );
    }
}
