//! Fuzz target: decoding any Zocdoc API answer never panics, whatever the bytes, and what decodes
//! holds together: ids are non-empty, an `Other` enum value reads back as itself, and the staff
//! text of an error body is bounded and free of control characters.
#![no_main]

use deskbridge_zocdoc::api::{
    self, AppointmentStatus, Error, ErrorResult, Operation, decode_error_result,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    if let Ok(appointment) = api::decode_appointment(body) {
        assert!(!appointment.appointment_id.as_str().is_empty());
        check_status(&appointment.appointment_status);
        let _ = appointment.start_time.to_string();
        let _ = format!("{appointment:?}");
    }
    if let Ok(page) = api::decode_appointment_page(body) {
        for appointment in &page.appointments {
            assert!(!appointment.appointment_id.as_str().is_empty());
        }
    }
    if let Ok(participants) = api::decode_participants(body) {
        assert!(!participants.provider_id.as_str().is_empty());
        let _ = format!("{participants:?}");
    }
    if let Ok(change) = api::decode_status_change(body) {
        check_status(&change.appointment_status);
    }
    if let Ok(moved) = api::decode_rescheduled(body) {
        check_status(&moved.appointment_status);
    }
    if let Ok(place) = api::decode_provider_location(body) {
        assert!(!place.provider_location_id.as_str().is_empty());
        let _ = place.provider.display_name();
        let _ = place.location_name();
        let kind = &place.provider_location_type;
        assert_eq!(&api::ProviderLocationType::from_wire(kind.as_str()), kind);
    }
    if let Ok(reason) = api::decode_visit_reason(body) {
        assert!(!reason.visit_reason_id.as_str().is_empty());
    }
    if let Err(error) = api::decode_appointment(body) {
        assert!(!error.to_string().is_empty());
    }
    if let Some(result) = decode_error_result(body) {
        check_error_result(result);
    }
});

/// An unknown status reads back as itself; a known one is never `Other`.
fn check_status(status: &AppointmentStatus) {
    assert_eq!(&AppointmentStatus::from_wire(status.as_str()), status);
}

/// Zocdoc's text shown to staff is cleaned and bounded, and every message built from it works.
fn check_error_result(result: ErrorResult) {
    if let Some(text) = result.staff_text() {
        assert!(!text.chars().any(char::is_control));
        assert!(text.chars().count() <= result.errors.len() * 303);
    }
    let error = Error::Conflict {
        operation: Operation::MarkNoShow,
        appointment_id: None,
        body: Some(result),
    };
    assert!(!error.staff_message().is_empty());
    assert!(!error.to_string().is_empty());
}
