//! Reads: one appointment, participants, and every error class a read can end in: 400, 403, 404
//! with Zocdoc's `ErrorResult`, 5xx and connection failures after bounded retries, 429 bounds,
//! unexpected statuses, undecodable bodies, gzip answers, unknown fields and enum values.

use std::sync::Arc;
use std::time::Duration;

use deskbridge_zocdoc::api::{
    AppointmentId, AppointmentStatus, AttachmentType, ConfirmationType, DecodeError, Error,
    ErrorType, Gender, ListQuery, PatientType, Sex, TransportKind, VisitType,
};
use serde_json::json;

use crate::support::{
    BROKEN_ID, FIXED, FakeZocdoc, Fault, MISSING_ID, Route, TestClock, appointment_json,
    error_result, timestamp,
};

fn id(text: &str) -> AppointmentId {
    AppointmentId::new(text)
}

#[tokio::test]
async fn an_appointment_is_read_with_every_field() {
    let zocdoc = FakeZocdoc::start().await;
    let (client, _clock) = zocdoc.client();
    let (fixed_id, _, _, _) = FIXED[2];
    let stored = zocdoc.stored(fixed_id);
    let appointment = client.appointment(&id(fixed_id)).await.unwrap();
    assert_eq!(appointment.appointment_id.as_str(), fixed_id);
    assert_eq!(appointment.appointment_status, AppointmentStatus::Confirmed);
    assert_eq!(
        appointment.developer_patient_id.as_ref().unwrap().as_str(),
        format!("mrn-{fixed_id}")
    );
    assert!(!appointment.is_provider_resource);
    assert_eq!(
        appointment.location_phone_number.as_deref(),
        Some("2125550100")
    );
    assert_eq!(appointment.location_phone_extension.as_deref(), Some("12"));
    assert_eq!(appointment.waiting_room_path, None, "null is absent");
    assert_eq!(appointment.confirmation_type, ConfirmationType::Manual);
    assert_eq!(appointment.start_time.to_string(), stored["start_time"]);
    assert_eq!(
        appointment.start_time.offset(),
        jiff::tz::Offset::from_hours(-5).unwrap()
    );
    assert_eq!(
        appointment.last_modified_time_utc.unwrap().to_string(),
        stored["last_modified_time_utc"]
    );
    assert!(appointment.created_time_utc.is_some());
    assert_eq!(
        appointment.provider_location_id.as_str(),
        "pr_confirmed|lo_confirmed"
    );
    assert_eq!(
        appointment.practice_id.as_ref().unwrap().as_str(),
        "pt_main"
    );
    assert_eq!(
        appointment.visit_reason_id.as_str(),
        "pc_FRO-18leckytNKtruw5dLR"
    );
    assert_eq!(appointment.visit_type, Some(VisitType::InPerson));
    assert_eq!(appointment.patient_type, Some(PatientType::Existing));
    assert_eq!(
        appointment.notes.as_deref(),
        Some("Patient notes: knee pain")
    );
    assert_eq!(appointment.source.as_deref(), Some("Zocdoc Marketplace"));
    assert!(!format!("{appointment:?}").contains("knee pain"));
}

#[tokio::test]
async fn unknown_fields_and_enum_values_are_tolerated() {
    let zocdoc = FakeZocdoc::start().await;
    let mut appointment = appointment_json(
        "future-1",
        "awaiting_triage",
        timestamp(1_900_000_000),
        timestamp(1_800_000_000),
    );
    appointment["visit_type"] = json!("hologram_visit");
    appointment["confirmation_type"] = json!("telepathic");
    appointment["patient_type"] = json!("returning");
    appointment["brand_new_field"] = json!({"nested": [1, 2, {"deep": null}]});
    appointment["notes"] = json!(null);
    zocdoc.insert(appointment);
    let (client, _clock) = zocdoc.client();
    let read = client.appointment(&id("future-1")).await.unwrap();
    assert_eq!(
        read.appointment_status,
        AppointmentStatus::Other("awaiting_triage".to_owned())
    );
    assert_eq!(
        read.visit_type,
        Some(VisitType::Other("hologram_visit".to_owned()))
    );
    assert_eq!(
        read.confirmation_type,
        ConfirmationType::Other("telepathic".to_owned())
    );
    assert_eq!(
        read.patient_type,
        Some(PatientType::Other("returning".to_owned()))
    );
    assert_eq!(read.notes, None);
}

#[tokio::test]
async fn participants_are_read_and_their_debug_holds_ids_only() {
    let zocdoc = FakeZocdoc::start().await;
    let (client, _clock) = zocdoc.client();
    let (fixed_id, _, _, _) = FIXED[1];
    let participants = client.participants(&id(fixed_id)).await.unwrap();
    let patient = &participants.patient;
    assert_eq!(patient.first_name, "Jane");
    assert_eq!(patient.last_name, "Doe");
    assert_eq!(patient.date_of_birth, jiff::civil::date(1980, 2, 3));
    assert_eq!(patient.sex_at_birth, Sex::Female);
    assert_eq!(patient.phone_number, "2125550199");
    assert_eq!(patient.email_address, "jane.doe@example.com");
    assert_eq!(patient.address.address2.as_deref(), Some("Apt 4"));
    assert_eq!(patient.address.zip_code, "10001");
    let insurance = patient.insurance.as_ref().unwrap();
    assert_eq!(insurance.insurance_member_id.as_deref(), Some("MEM-123"));
    assert_eq!(insurance.is_self_pay, Some(false));
    assert_eq!(patient.gender, [Gender::FemaleAtBirth, Gender::Cisgender]);
    assert_eq!(patient.uploaded_attachments.len(), 2);
    assert_eq!(
        patient.uploaded_attachments[0].attachment_type,
        AttachmentType::InsuranceCardMedical
    );
    assert!(!patient.is_booked_by_another_patient);
    assert_eq!(participants.provider_id.as_str(), "pr_confirmed");
    assert_eq!(participants.location_id.as_str(), "lo_confirmed");
    let debug = format!("{participants:?}");
    assert!(debug.contains(&format!("pa-{fixed_id}")), "{debug}");
    for phi in [
        "Jane",
        "Doe",
        "1980",
        "2125550199",
        "jane.doe",
        "Main St",
        "MEM-123",
        "att/1",
    ] {
        assert!(!debug.contains(phi), "{phi} leaked: {debug}");
    }
}

#[tokio::test]
async fn participants_tolerate_unknown_values_and_absent_optional_fields() {
    let zocdoc = FakeZocdoc::start().await;
    let (fixed_id, _, _, _) = FIXED[1];
    let mut participants = crate::support::participants_json(fixed_id);
    participants["patient"]["sex_at_birth"] = json!("unspecified");
    participants["patient"]["gender"] = json!(["two_spirit"]);
    participants["patient"]["uploaded_attachments"] =
        json!([{"attachment_type": "x_ray", "attachment_url": "https://x/att/9", "side": "edge"}]);
    participants["patient"]["insurance"] = json!(null);
    participants["patient"]["patient_address"]["address2"] = json!(null);
    participants["patient"]["preferred_pronouns"] = json!("she/her");
    zocdoc.set_participants(fixed_id, participants);
    let (client, _clock) = zocdoc.client();
    let read = client.participants(&id(fixed_id)).await.unwrap();
    assert_eq!(
        read.patient.sex_at_birth,
        Sex::Other("unspecified".to_owned())
    );
    assert_eq!(
        read.patient.gender,
        [Gender::Other("two_spirit".to_owned())]
    );
    assert_eq!(
        read.patient.uploaded_attachments[0].attachment_type,
        AttachmentType::Other("x_ray".to_owned())
    );
    assert_eq!(read.patient.insurance, None);
    assert_eq!(read.patient.address.address2, None);
}

#[tokio::test]
async fn not_found_keeps_zocdocs_error_result() {
    let zocdoc = FakeZocdoc::start().await;
    let (client, _clock) = zocdoc.client();
    let error = client.appointment(&id(MISSING_ID)).await.unwrap_err();
    let Error::NotFound {
        appointment_id,
        body: Some(body),
        ..
    } = &error
    else {
        panic!("{error:?}");
    };
    assert_eq!(appointment_id.as_ref().unwrap().as_str(), MISSING_ID);
    assert_eq!(body.error_type, Some(ErrorType::InvalidRequest));
    assert_eq!(body.errors[0].message, "Appointment not found");
    assert_eq!(body.errors[0].field.as_deref(), Some("appointment_id"));
    let request_id = body.request_id.as_ref().unwrap().as_str().to_owned();
    assert!(error.to_string().contains(&request_id));
    assert!(error.to_string().contains(MISSING_ID));
    let message = error.staff_message();
    assert!(
        message.contains("Zocdoc has no such appointment"),
        "{message}"
    );
    assert!(message.contains("Appointment not found"), "{message}");
    assert!(message.contains(&request_id), "{message}");
    let participants_error = client.participants(&id(MISSING_ID)).await.unwrap_err();
    assert_eq!(participants_error.code(), "zocdoc_not_found");
}

#[tokio::test]
async fn forbidden_and_bad_request_are_mapped() {
    let zocdoc = FakeZocdoc::start().await;
    let (client, _clock) = zocdoc.client();
    zocdoc.push_fault(Route::Get, Fault::status(403));
    let error = client.appointment(&id(FIXED[1].0)).await.unwrap_err();
    assert!(
        matches!(error, Error::Forbidden { body: None, .. }),
        "{error:?}"
    );
    assert!(error.staff_message().contains("external.appointment.read"));

    zocdoc.push_fault(
        Route::List,
        Fault::with_body(
            400,
            error_result("req-x", "invalid_request", "bad statuses"),
        ),
    );
    let error = client
        .list_appointments(&ListQuery::default())
        .await
        .unwrap_err();
    let Error::BadRequest {
        body: Some(body), ..
    } = &error
    else {
        panic!("{error:?}");
    };
    assert_eq!(body.request_id.as_ref().unwrap().as_str(), "req-x");
    assert!(error.staff_message().contains("bad statuses"));
    assert_eq!(zocdoc.count(Route::List), 1, "a 400 is not retried");
}

#[tokio::test]
async fn server_errors_on_reads_are_retried_with_backoff() {
    let zocdoc = FakeZocdoc::start().await;
    let (client, clock) = zocdoc.client();
    zocdoc.push_fault(Route::Get, Fault::status(500));
    zocdoc.push_fault(Route::Get, Fault::status(503));
    let appointment = client.appointment(&id(FIXED[1].0)).await.unwrap();
    assert_eq!(appointment.appointment_status, AppointmentStatus::Confirmed);
    assert_eq!(zocdoc.count(Route::Get), 3);
    assert_eq!(
        clock.sleeps(),
        [Duration::from_millis(375), Duration::from_millis(750)]
    );
}

#[tokio::test]
async fn persistent_server_errors_end_after_the_bounded_retries() {
    let zocdoc = FakeZocdoc::start().await;
    zocdoc.insert(appointment_json(
        BROKEN_ID,
        "confirmed",
        timestamp(1_900_000_000),
        timestamp(1_800_000_000),
    ));
    let (client, clock) = zocdoc.client();
    let error = client.appointment(&id(BROKEN_ID)).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::Server {
                status: 500,
                attempts: 4,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(zocdoc.count(Route::Get), 4, "1 + 3 retries");
    assert_eq!(clock.sleeps().len(), 3);
    assert!(
        error
            .staff_message()
            .contains("having a problem on its side")
    );
}

#[tokio::test]
async fn a_read_that_times_out_is_retried() {
    let zocdoc = FakeZocdoc::start().await;
    let clock = Arc::new(TestClock::new());
    let client = zocdoc
        .builder(crate::support::CLIENT_SECRET, &clock)
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    zocdoc.push_fault(Route::Get, Fault::Stall(Duration::from_secs(2)));
    let appointment = client.appointment(&id(FIXED[1].0)).await.unwrap();
    assert_eq!(appointment.appointment_id.as_str(), FIXED[1].0);
    assert_eq!(zocdoc.count(Route::Get), 2);
}

#[tokio::test]
async fn an_unreachable_zocdoc_is_a_transport_error_after_the_bounded_retries() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let clock = Arc::new(TestClock::new());
    let zocdoc = FakeZocdoc::start().await;
    let client = zocdoc
        .builder(crate::support::CLIENT_SECRET, &clock)
        .base_url(format!("http://{closed}"))
        .build()
        .unwrap();
    let error = client.appointment(&id(FIXED[1].0)).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::Transport {
                kind: TransportKind::Connect,
                attempts: 4,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        !error.to_string().contains("127.0.0.1"),
        "no URL in the message"
    );
    assert!(error.staff_message().contains("could not reach Zocdoc"));
}

#[tokio::test]
async fn rate_limits_are_retried_up_to_the_bound() {
    let zocdoc = FakeZocdoc::start().await;
    let (client, clock) = zocdoc.client();
    for _ in 0..7 {
        zocdoc.push_fault(Route::Get, Fault::status(429));
    }
    let error = client.appointment(&id(FIXED[1].0)).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::RateLimited {
                attempts: 7,
                retry_after: None,
                ..
            }
        ),
        "{error:?}"
    );
    let millis: Vec<u128> = clock.sleeps().iter().map(Duration::as_millis).collect();
    assert_eq!(millis, [375, 750, 1500, 3000, 6000, 12000]);
}

#[tokio::test]
async fn a_retry_after_beyond_the_limit_ends_the_call_at_once() {
    let zocdoc = FakeZocdoc::start().await;
    let (client, clock) = zocdoc.client();
    zocdoc.push_fault(
        Route::Get,
        Fault::Answer {
            status: 429,
            body: None,
            retry_after: Some("3600"),
        },
    );
    let error = client.appointment(&id(FIXED[1].0)).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::RateLimited {
                attempts: 1,
                retry_after: Some(after),
                ..
            } if after == Duration::from_secs(3600)
        ),
        "{error:?}"
    );
    assert!(clock.sleeps().is_empty());
    assert!(error.staff_message().contains("Wait 60 minutes"));
}

#[tokio::test]
async fn unexpected_statuses_and_unreadable_bodies_are_reported() {
    let zocdoc = FakeZocdoc::start().await;
    let (client, _clock) = zocdoc.client();
    zocdoc.push_fault(Route::Get, Fault::status(302));
    let error = client.appointment(&id(FIXED[1].0)).await.unwrap_err();
    assert!(
        matches!(error, Error::UnexpectedStatus { status: 302, .. }),
        "redirects are not followed: {error:?}"
    );

    zocdoc.push_fault(
        Route::Get,
        Fault::with_body(
            200,
            json!({"request_id": "r", "data": {"appointment_id": 5, "first_name": "Jane"}}),
        ),
    );
    let error = client.appointment(&id(FIXED[1].0)).await.unwrap_err();
    let Error::Decode {
        status: 200,
        problem,
        ..
    } = &error
    else {
        panic!("{error:?}");
    };
    assert_eq!(
        problem,
        &DecodeError::WrongType {
            field: "data.appointment_id".to_owned()
        }
    );
    assert!(!format!("{error} {error:?}").contains("Jane"));
    assert_eq!(zocdoc.count(Route::Get), 2, "neither is retried");
}

#[tokio::test]
async fn gzip_answers_are_decoded() {
    let zocdoc = FakeZocdoc::start().await;
    zocdoc.gzip(true);
    let (client, _clock) = zocdoc.client();
    let appointment = client.appointment(&id(FIXED[1].0)).await.unwrap();
    assert_eq!(appointment.appointment_id.as_str(), FIXED[1].0);
    let page = client
        .list_appointments(&ListQuery::default())
        .await
        .unwrap();
    assert_eq!(page.appointments.len(), FIXED.len());
    assert!(
        zocdoc.gzipped() >= 3,
        "token, appointment and page came gzipped"
    );
}

#[tokio::test]
async fn an_empty_id_is_refused_before_sending() {
    let zocdoc = FakeZocdoc::start().await;
    let (client, _clock) = zocdoc.client();
    let error = client.appointment(&id("")).await.unwrap_err();
    assert_eq!(error.code(), "zocdoc_invalid_request");
    assert!(zocdoc.seen().is_empty());
}
