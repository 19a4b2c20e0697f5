//! Zocdoc's appointment data as the emulator holds it, and its JSON form exactly as
//! `zocdoc-openapi.yml` names it (`AppointmentStatusResponseData`, `AppointmentParticipantsResponseData`,
//! the enums, and the two time formats).

use std::fmt;

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ZonedDateTime};
use serde::{Deserialize, Serialize};

/// `AppointmentStatus` in the spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppointmentStatus {
    /// Booked, waiting for the provider's confirmation.
    PendingBooking,
    /// Booked and confirmed.
    Confirmed,
    /// The booking request failed.
    BookingFailed,
    /// Cancelled (by the patient, the provider or the partner).
    Cancelled,
    /// The patient did not come.
    NoShow,
    /// A reschedule request waits for the provider's confirmation.
    PendingReschedule,
    /// Moved to a new time.
    Rescheduled,
    /// The reschedule request failed.
    RescheduleFailed,
}

impl AppointmentStatus {
    /// Every status, in the spec's order.
    pub const ALL: [AppointmentStatus; 8] = [
        AppointmentStatus::PendingBooking,
        AppointmentStatus::Confirmed,
        AppointmentStatus::BookingFailed,
        AppointmentStatus::Cancelled,
        AppointmentStatus::NoShow,
        AppointmentStatus::PendingReschedule,
        AppointmentStatus::Rescheduled,
        AppointmentStatus::RescheduleFailed,
    ];

    /// The spec's name, e.g. `pending_booking`.
    pub fn as_str(self) -> &'static str {
        match self {
            AppointmentStatus::PendingBooking => "pending_booking",
            AppointmentStatus::Confirmed => "confirmed",
            AppointmentStatus::BookingFailed => "booking_failed",
            AppointmentStatus::Cancelled => "cancelled",
            AppointmentStatus::NoShow => "no_show",
            AppointmentStatus::PendingReschedule => "pending_reschedule",
            AppointmentStatus::Rescheduled => "rescheduled",
            AppointmentStatus::RescheduleFailed => "reschedule_failed",
        }
    }

    /// Parses the spec's name.
    pub fn parse(text: &str) -> Option<AppointmentStatus> {
        AppointmentStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
    }

    /// The word the sandbox's magic provider-location ids use: `pr_<word>|lo_<word>`.
    pub fn magic_word(self) -> &'static str {
        match self {
            AppointmentStatus::PendingBooking => "pending",
            AppointmentStatus::Confirmed => "confirmed",
            AppointmentStatus::BookingFailed => "bookingfailed",
            AppointmentStatus::Cancelled => "cancelled",
            AppointmentStatus::NoShow => "noshow",
            AppointmentStatus::PendingReschedule => "pendingreschedule",
            AppointmentStatus::Rescheduled => "rescheduled",
            AppointmentStatus::RescheduleFailed => "reschedulefailed",
        }
    }
}

impl fmt::Display for AppointmentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `AppointmentVisitType` in the spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VisitType {
    /// At the practice.
    InPerson,
    /// Zocdoc's own video service (the appointment then has a `waiting_room_path`).
    ZocdocVideoService,
    /// Another video service.
    ThirdPartyVideoService,
}

/// `PatientType` in the spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PatientType {
    /// Has been to the practice before.
    Existing,
    /// First visit.
    New,
}

/// `AppointmentConfirmationType` in the spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfirmationType {
    /// Confirmed automatically: a booking is `confirmed` at once.
    Auto,
    /// The provider confirms by hand: a booking starts as `pending_booking`.
    Manual,
    /// Not decided yet.
    PendingEvaluation,
}

/// `CancellationReasonType` in the spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancellationReasonType {
    PatientNoLongerNeedsAppointment,
    PatientNoLongerAvailable,
    /// Explained in free text.
    OtherPatientReason,
    MissingNeededPatientInformation,
    PaymentOrInsuranceIssue,
    PatientOrVisitTypeNotAccepted,
    ProviderNotAvailable,
    ReschedulingPatient,
    /// Explained in free text.
    OtherProviderReason,
}

impl CancellationReasonType {
    /// Every reason type, in the spec's order.
    pub const ALL: [CancellationReasonType; 9] = [
        CancellationReasonType::PatientNoLongerNeedsAppointment,
        CancellationReasonType::PatientNoLongerAvailable,
        CancellationReasonType::OtherPatientReason,
        CancellationReasonType::MissingNeededPatientInformation,
        CancellationReasonType::PaymentOrInsuranceIssue,
        CancellationReasonType::PatientOrVisitTypeNotAccepted,
        CancellationReasonType::ProviderNotAvailable,
        CancellationReasonType::ReschedulingPatient,
        CancellationReasonType::OtherProviderReason,
    ];

    /// A description in words, used as `cancellation_reason` for provider-side cancellations.
    pub fn describe(self) -> &'static str {
        match self {
            CancellationReasonType::PatientNoLongerNeedsAppointment => {
                "Patient no longer needs the appointment"
            }
            CancellationReasonType::PatientNoLongerAvailable => "Patient is no longer available",
            CancellationReasonType::OtherPatientReason => "Patient cancelled for another reason",
            CancellationReasonType::MissingNeededPatientInformation => {
                "Missing patient information"
            }
            CancellationReasonType::PaymentOrInsuranceIssue => "Payment or insurance issue",
            CancellationReasonType::PatientOrVisitTypeNotAccepted => {
                "Patient or visit type not accepted"
            }
            CancellationReasonType::ProviderNotAvailable => "Provider is not available",
            CancellationReasonType::ReschedulingPatient => "Patient is rescheduling",
            CancellationReasonType::OtherProviderReason => "Provider cancelled for another reason",
        }
    }
}

/// `PatientSex` in the spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    Male,
    Female,
}

/// `UploadedAttachmentType` in the spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentType {
    InsuranceCardMedical,
    InsuranceCardDental,
    InsuranceCardVision,
    InsuranceCardSecondary,
    IdCard,
    IntakeForm,
    CommunityCarePacket,
    PcpPatientReferral,
    Other,
}

impl AttachmentType {
    /// The spec's name, e.g. `id_card` (also the webhook's `attachment_type`).
    pub fn as_str(self) -> &'static str {
        match self {
            AttachmentType::InsuranceCardMedical => "insurance_card_medical",
            AttachmentType::InsuranceCardDental => "insurance_card_dental",
            AttachmentType::InsuranceCardVision => "insurance_card_vision",
            AttachmentType::InsuranceCardSecondary => "insurance_card_secondary",
            AttachmentType::IdCard => "id_card",
            AttachmentType::IntakeForm => "intake_form",
            AttachmentType::CommunityCarePacket => "community_care_packet",
            AttachmentType::PcpPatientReferral => "pcp_patient_referral",
            AttachmentType::Other => "other",
        }
    }

    /// Whether the document has a front and a back (`side` is then given).
    pub fn has_sides(self) -> bool {
        matches!(
            self,
            AttachmentType::InsuranceCardMedical
                | AttachmentType::InsuranceCardDental
                | AttachmentType::InsuranceCardVision
                | AttachmentType::InsuranceCardSecondary
                | AttachmentType::IdCard
        )
    }
}

/// `DocumentSide` in the spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentSide {
    Front,
    Back,
}

/// One document the patient uploaded (`UploadedAttachment`); the URL is built when answering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// The emulator's id of the document, the last segment of its `attachment_url`.
    pub attachment_id: String,
    /// What the document is.
    pub attachment_type: AttachmentType,
    /// Front or back, for cards.
    pub side: Option<DocumentSide>,
}

/// `PatientAddress` in the spec.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatientAddress {
    pub address1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address2: Option<String>,
    pub city: String,
    /// Two-letter state code.
    pub state: String,
    /// Five digits.
    pub zip_code: String,
}

/// `PatientInsurance` in the spec.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatientInsurance {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insurance_plan_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insurance_group_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insurance_member_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_self_pay: Option<bool>,
}

/// The patient of an appointment (`Patient` in the spec). This is PHI, even when made up:
/// `Debug` shows only the ids, and nothing in the emulator logs it.
#[derive(Clone, PartialEq, Eq)]
pub struct Patient {
    /// Zocdoc's id of the patient.
    pub patient_id: Option<String>,
    /// The partner's own id, when the partner booked with one.
    pub developer_patient_id: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub date_of_birth: Date,
    pub sex_at_birth: Sex,
    /// Ten digits; the first and fourth are neither 0 nor 1.
    pub phone_number: String,
    pub email_address: String,
    pub patient_address: PatientAddress,
    pub insurance: Option<PatientInsurance>,
}

impl fmt::Debug for Patient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Patient")
            .field("patient_id", &self.patient_id)
            .field("developer_patient_id", &self.developer_patient_id)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for PatientAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PatientAddress(..)")
    }
}

impl fmt::Debug for PatientInsurance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PatientInsurance(..)")
    }
}

/// One appointment as the emulator holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Appointment {
    /// Zocdoc's id (a UUID).
    pub appointment_id: String,
    /// The current status.
    pub status: AppointmentStatus,
    /// Set through `update-status` `arrived` (not an `AppointmentStatus`, so not in the API's
    /// answers; kept so that a no-show after an arrival is refused).
    pub arrived: bool,
    /// When the appointment starts.
    pub start_time: Timestamp,
    /// The location's time zone: `start_time` is answered with its offset.
    pub time_zone: TimeZone,
    /// When it was booked.
    pub created: Timestamp,
    /// When it last changed; every change moves it.
    pub last_modified: Timestamp,
    /// `pr_...`.
    pub provider_id: String,
    /// `lo_...`.
    pub location_id: String,
    /// `pt_...`.
    pub practice_id: Option<String>,
    /// `pc_...`.
    pub visit_reason_id: String,
    pub visit_type: VisitType,
    pub patient_type: PatientType,
    pub confirmation_type: ConfirmationType,
    /// Performed by a professional supervised by the booked provider.
    pub is_provider_resource: bool,
    /// The location's ten-digit phone number.
    pub location_phone_number: Option<String>,
    /// Patient-facing link, for Zocdoc video visits.
    pub waiting_room_path: Option<String>,
    /// At most 100 characters.
    pub notes: Option<String>,
    /// Free text, when cancelled.
    pub cancellation_reason: Option<String>,
    /// The reason type given with the cancellation (the API does not answer it back).
    pub cancellation_reason_type: Option<CancellationReasonType>,
    /// Where it was booked, e.g. "Zocdoc Marketplace".
    pub source: Option<String>,
    /// The patient (answered only by `/participants`).
    pub patient: Patient,
    /// A parent booking for a child, and the like.
    pub booked_by_another_patient: bool,
    /// Documents the patient uploaded.
    pub attachments: Vec<Attachment>,
}

impl Appointment {
    /// `pr_...|lo_...`.
    pub fn provider_location_id(&self) -> String {
        format!("{}|{}", self.provider_id, self.location_id)
    }

    /// `start_time` in the location's offset, as the API answers it.
    pub fn local_start(&self) -> ZonedDateTime {
        self.start_time.to_zoned_datetime(self.time_zone.clone())
    }
}

/// The API's `date-time` form with the location's offset, e.g. `2022-04-27T09:00:00-04:00`.
pub fn format_offset_date_time(time: &ZonedDateTime) -> String {
    time.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

/// The API's `instant` form, e.g. `2024-01-01T09:30:00Z` (fractional seconds only when present).
pub fn format_instant(time: Timestamp) -> String {
    time.to_string()
}

/// The webhook guide's timestamp form: UTC with seven fractional digits (.NET ticks), e.g.
/// `2023-06-14T17:06:54.9430804Z`.
pub fn format_webhook_instant(time: Timestamp) -> String {
    let whole = Timestamp::from_second(time.as_second()).unwrap_or(time);
    let seconds = whole.strftime("%Y-%m-%dT%H:%M:%S");
    let ticks = time.subsec_nanosecond() / 100;
    format!("{seconds}.{ticks:07}Z")
}

/// `AppointmentStatusResponseData`: one appointment as `GET /v1/appointments[/{id}]` answers it.
#[derive(Debug, Serialize)]
pub(crate) struct StatusData {
    appointment_id: String,
    appointment_status: AppointmentStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    developer_patient_id: Option<String>,
    is_provider_resource: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    location_phone_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    waiting_room_path: Option<String>,
    confirmation_type: ConfirmationType,
    start_time: String,
    created_time_utc: String,
    last_modified_time_utc: String,
    provider_location_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    practice_id: Option<String>,
    visit_reason_id: String,
    visit_type: VisitType,
    patient_type: PatientType,
    #[serde(skip_serializing_if = "Option::is_none")]
    notes: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cancellation_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<String>,
}

impl StatusData {
    pub(crate) fn of(appointment: &Appointment) -> StatusData {
        StatusData {
            appointment_id: appointment.appointment_id.clone(),
            appointment_status: appointment.status,
            developer_patient_id: appointment.patient.developer_patient_id.clone(),
            is_provider_resource: appointment.is_provider_resource,
            location_phone_number: appointment.location_phone_number.clone(),
            waiting_room_path: appointment.waiting_room_path.clone(),
            confirmation_type: appointment.confirmation_type,
            start_time: format_offset_date_time(&appointment.local_start()),
            created_time_utc: format_instant(appointment.created),
            last_modified_time_utc: format_instant(appointment.last_modified),
            provider_location_id: appointment.provider_location_id(),
            practice_id: appointment.practice_id.clone(),
            visit_reason_id: appointment.visit_reason_id.clone(),
            visit_type: appointment.visit_type,
            patient_type: appointment.patient_type,
            notes: appointment.notes.clone(),
            cancellation_reason: appointment.cancellation_reason.clone(),
            source: appointment.source.clone(),
        }
    }
}

/// `AppointmentResponseData`: what booking and rescheduling answer.
#[derive(Debug, Serialize)]
pub(crate) struct BookedData {
    appointment_id: String,
    appointment_status: AppointmentStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    developer_patient_id: Option<String>,
    is_provider_resource: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    location_phone_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    waiting_room_path: Option<String>,
    confirmation_type: ConfirmationType,
    visit_type: VisitType,
    #[serde(skip_serializing_if = "Option::is_none")]
    notes: Option<String>,
}

impl BookedData {
    pub(crate) fn of(appointment: &Appointment) -> BookedData {
        BookedData {
            appointment_id: appointment.appointment_id.clone(),
            appointment_status: appointment.status,
            developer_patient_id: appointment.patient.developer_patient_id.clone(),
            is_provider_resource: appointment.is_provider_resource,
            location_phone_number: appointment.location_phone_number.clone(),
            waiting_room_path: appointment.waiting_room_path.clone(),
            confirmation_type: appointment.confirmation_type,
            visit_type: appointment.visit_type,
            notes: appointment.notes.clone(),
        }
    }
}

/// `AppointmentBaseResponseData`: what cancel, confirm and update-status answer.
#[derive(Debug, Serialize)]
pub(crate) struct BaseData {
    pub(crate) appointment_id: String,
    pub(crate) appointment_status: AppointmentStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) developer_patient_id: Option<String>,
}

/// `AppointmentParticipantsResponseData`.
#[derive(Serialize)]
pub(crate) struct ParticipantsData {
    patient: ParticipantPatient,
    provider_id: String,
    location_id: String,
}

/// `AppointmentParticipantPatient`: `Patient` plus the attachments and who booked.
#[derive(Serialize)]
struct ParticipantPatient {
    #[serde(skip_serializing_if = "Option::is_none")]
    patient_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    developer_patient_id: Option<String>,
    first_name: String,
    last_name: String,
    date_of_birth: String,
    sex_at_birth: Sex,
    phone_number: String,
    email_address: String,
    patient_address: PatientAddress,
    #[serde(skip_serializing_if = "Option::is_none")]
    insurance: Option<PatientInsurance>,
    uploaded_attachments: Vec<UploadedAttachment>,
    is_booked_by_another_patient: bool,
}

#[derive(Serialize)]
struct UploadedAttachment {
    attachment_type: AttachmentType,
    attachment_url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    side: Option<DocumentSide>,
}

impl ParticipantsData {
    /// `base_url` is where the emulator answers; attachment URLs point into the same API.
    pub(crate) fn of(appointment: &Appointment, base_url: &str) -> ParticipantsData {
        let patient = &appointment.patient;
        ParticipantsData {
            patient: ParticipantPatient {
                patient_id: patient.patient_id.clone(),
                developer_patient_id: patient.developer_patient_id.clone(),
                first_name: patient.first_name.clone(),
                last_name: patient.last_name.clone(),
                date_of_birth: patient.date_of_birth.to_string(),
                sex_at_birth: patient.sex_at_birth,
                phone_number: patient.phone_number.clone(),
                email_address: patient.email_address.clone(),
                patient_address: patient.patient_address.clone(),
                insurance: patient.insurance.clone(),
                uploaded_attachments: appointment
                    .attachments
                    .iter()
                    .map(|attachment| UploadedAttachment {
                        attachment_type: attachment.attachment_type,
                        attachment_url: format!(
                            "{base_url}/v1/appointments/{}/attachments/{}",
                            appointment.appointment_id, attachment.attachment_id
                        ),
                        side: attachment.side,
                    })
                    .collect(),
                is_booked_by_another_patient: appointment.booked_by_another_patient,
            },
            provider_id: appointment.provider_id.clone(),
            location_id: appointment.location_id.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_instants_have_seven_fractional_digits() {
        let time: Timestamp = "2023-06-14T17:06:54.9430804Z".parse().unwrap();
        assert_eq!(format_webhook_instant(time), "2023-06-14T17:06:54.9430804Z");
        let whole: Timestamp = "2023-06-14T17:06:54Z".parse().unwrap();
        assert_eq!(
            format_webhook_instant(whole),
            "2023-06-14T17:06:54.0000000Z"
        );
    }

    #[test]
    fn start_times_carry_the_locations_offset() {
        let tz = TimeZone::get("America/New_York").unwrap();
        let winter: Timestamp = "2024-01-10T14:00:00Z".parse().unwrap();
        let summer: Timestamp = "2024-07-10T13:00:00Z".parse().unwrap();
        assert_eq!(
            format_offset_date_time(&winter.to_zoned_datetime(tz.clone())),
            "2024-01-10T09:00:00-05:00"
        );
        assert_eq!(
            format_offset_date_time(&summer.to_zoned_datetime(tz)),
            "2024-07-10T09:00:00-04:00"
        );
    }

    #[test]
    fn statuses_round_trip_through_their_names() {
        for status in AppointmentStatus::ALL {
            assert_eq!(AppointmentStatus::parse(status.as_str()), Some(status));
            assert_eq!(
                serde_json::to_value(status).unwrap(),
                serde_json::Value::String(status.as_str().into())
            );
        }
        assert_eq!(AppointmentStatus::parse("arrived"), None);
    }
}
