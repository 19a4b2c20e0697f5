//! Zocdoc's sandbox test data (`zocdoc-sandbox.md`): the fixed appointment ids that always answer
//! with one status, the two ids that answer 404 and 500, and the magic `pr_<status>|lo_<status>`
//! provider-location ids that make a booking come out in a given status.

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::model::{
    Appointment, AppointmentStatus, Attachment, AttachmentType, ConfirmationType, DocumentSide,
    PatientType, VisitType,
};
use super::practice::fake_patient;

/// Always answers 404.
pub const NOT_FOUND_ID: &str = "83f5cf14-3eb1-4034-be1f-e7c3058aad21";
/// Always answers 500.
pub const SERVER_ERROR_ID: &str = "dc69a428-8a73-461b-bd7b-df755910a3fb";
/// A confirmed appointment with several attachments.
pub const WITH_ATTACHMENTS_ID: &str = "08399012-db42-4f0b-92a5-4fbceffcbd58";

/// The fixed appointments: id, status, patient type.
pub const FIXED: [(&str, AppointmentStatus, PatientType); 10] = [
    (
        "2b29f79b-6d7f-472a-9603-d0c378bc9531",
        AppointmentStatus::PendingBooking,
        PatientType::New,
    ),
    (
        "d2ee5bd8-643a-42c8-8c5a-be450e903430",
        AppointmentStatus::Confirmed,
        PatientType::New,
    ),
    (
        "423e6a11-8dac-4873-b933-d8d02f9a370f",
        AppointmentStatus::Confirmed,
        PatientType::Existing,
    ),
    (
        "34e4ead3-ca69-4448-9438-58702dd1048f",
        AppointmentStatus::BookingFailed,
        PatientType::New,
    ),
    (
        "21990114-ea71-4d7d-9d1e-00c43ae44bcd",
        AppointmentStatus::Cancelled,
        PatientType::New,
    ),
    (
        "a0a7770d-e667-416c-9f06-9c3b40a7bb84",
        AppointmentStatus::NoShow,
        PatientType::New,
    ),
    (
        "63f995c2-49c4-40c8-a93a-140fb32e913b",
        AppointmentStatus::PendingReschedule,
        PatientType::New,
    ),
    (
        "8507d05f-cbe5-4732-b72a-22add9c80120",
        AppointmentStatus::Rescheduled,
        PatientType::New,
    ),
    (
        "84d04f67-b2cf-4afd-ab64-193072498ed5",
        AppointmentStatus::RescheduleFailed,
        PatientType::New,
    ),
    (
        WITH_ATTACHMENTS_ID,
        AppointmentStatus::Confirmed,
        PatientType::Existing,
    ),
];

/// The visit reason of the fixtures (the spec's own example id).
const FIXTURE_VISIT_REASON: &str = "pc_FRO-18leckytNKtruw5dLR";
/// The practice of the fixtures.
pub const FIXTURE_PRACTICE_ID: &str = "pt_sandbox-fixed_appointments";

/// What a booking with a magic provider-location id does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Magic {
    /// Book, in this status.
    Status(AppointmentStatus),
    /// `pr_error|lo_error`: answer 500.
    ServerError,
    /// `pr_missing|lo_missing`: answer 404.
    NotFound,
}

/// Reads a magic provider-location id (`pr_<word>|lo_<word>`, the same word twice).
pub(crate) fn magic(provider_location_id: &str) -> Option<Magic> {
    let (provider, location) = provider_location_id.split_once('|')?;
    let word = provider.strip_prefix("pr_")?;
    if location.strip_prefix("lo_")? != word {
        return None;
    }
    match word {
        "error" => Some(Magic::ServerError),
        "missing" => Some(Magic::NotFound),
        _ => AppointmentStatus::ALL
            .into_iter()
            .find(|status| status.magic_word() == word)
            .map(Magic::Status),
    }
}

/// The fixed appointments as of `now`: past statuses start in the past (the no-show yesterday),
/// the others in the coming days.
pub(crate) fn fixed_appointments(now: Timestamp, time_zone: &TimeZone) -> Vec<Appointment> {
    let mut rng = ChaCha8Rng::seed_from_u64(0x5a4d_b0c5);
    FIXED
        .iter()
        .enumerate()
        .map(|(index, &(id, status, patient_type))| {
            let offset_hours = match status {
                AppointmentStatus::NoShow => -26,
                AppointmentStatus::Cancelled | AppointmentStatus::BookingFailed => -50,
                _ => 48 + 24 * i64::try_from(index).unwrap_or(0),
            };
            let start_time = now + SignedDuration::from_hours(offset_hours);
            let word = status.magic_word();
            let attachments = if id == WITH_ATTACHMENTS_ID {
                vec![
                    attachment(
                        "att-1",
                        AttachmentType::InsuranceCardMedical,
                        Some(DocumentSide::Front),
                    ),
                    attachment(
                        "att-2",
                        AttachmentType::InsuranceCardMedical,
                        Some(DocumentSide::Back),
                    ),
                    attachment("att-3", AttachmentType::IdCard, Some(DocumentSide::Front)),
                    attachment("att-4", AttachmentType::IntakeForm, None),
                ]
            } else {
                Vec::new()
            };
            Appointment {
                appointment_id: id.to_owned(),
                status,
                arrived: false,
                start_time,
                time_zone: time_zone.clone(),
                created: start_time - SignedDuration::from_hours(24 * 7),
                last_modified: now,
                provider_id: format!("pr_{word}"),
                location_id: format!("lo_{word}"),
                practice_id: Some(FIXTURE_PRACTICE_ID.to_owned()),
                visit_reason_id: FIXTURE_VISIT_REASON.to_owned(),
                visit_type: VisitType::InPerson,
                patient_type,
                confirmation_type: ConfirmationType::Auto,
                is_provider_resource: false,
                location_phone_number: Some("2125550100".to_owned()),
                waiting_room_path: None,
                notes: None,
                cancellation_reason: (status == AppointmentStatus::Cancelled)
                    .then(|| "Patient no longer needs the appointment".to_owned()),
                cancellation_reason_type: None,
                source: Some("Zocdoc Marketplace".to_owned()),
                patient: fake_patient(&mut rng),
                booked_by_another_patient: false,
                attachments,
            }
        })
        .collect()
}

fn attachment(id: &str, attachment_type: AttachmentType, side: Option<DocumentSide>) -> Attachment {
    Attachment {
        attachment_id: id.to_owned(),
        attachment_type,
        side,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_ids_name_a_status_or_an_error() {
        assert_eq!(
            magic("pr_confirmed|lo_confirmed"),
            Some(Magic::Status(AppointmentStatus::Confirmed))
        );
        assert_eq!(
            magic("pr_noshow|lo_noshow"),
            Some(Magic::Status(AppointmentStatus::NoShow))
        );
        assert_eq!(magic("pr_error|lo_error"), Some(Magic::ServerError));
        assert_eq!(magic("pr_missing|lo_missing"), Some(Magic::NotFound));
        assert_eq!(magic("pr_confirmed|lo_noshow"), None);
        assert_eq!(
            magic("pr_abc123-def456_wxyz7890|lo_abc123-def456_wxyz7890"),
            None
        );
    }

    #[test]
    fn fixtures_use_their_status_words_as_provider_and_location() {
        let fixtures = fixed_appointments(Timestamp::UNIX_EPOCH, &TimeZone::UTC);
        let pending = fixtures
            .iter()
            .find(|a| a.status == AppointmentStatus::PendingBooking)
            .unwrap();
        assert_eq!(pending.provider_location_id(), "pr_pending|lo_pending");
        let with_attachments = fixtures
            .iter()
            .find(|a| a.appointment_id == WITH_ATTACHMENTS_ID)
            .unwrap();
        assert!(with_attachments.attachments.len() >= 2);
    }
}
