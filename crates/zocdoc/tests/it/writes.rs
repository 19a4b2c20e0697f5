//! Writes: confirm, cancel, reschedule and update-status send the spec's bodies; 409/400/403 are
//! mapped with Zocdoc's message; a write is never sent twice on a guess: a lost answer (5xx,
//! timeout, broken body) is settled by reading the appointment back, and only a 429 or a 401 (the
//! request was refused, not performed) is retried.

use std::sync::Arc;
use std::time::Duration;

use deskbridge_zocdoc::api::{
    AppointmentId, AppointmentStatus, CancelReason, CancellationReasonType, Error, OffsetTime,
    ReadBack, StatusUpdate, TransportKind, VisitType, Written,
};
use jiff::SignedDuration;
use serde_json::json;

use crate::support::{
    CLIENT_SECRET, FIXED, FakeZocdoc, Fault, Route, TestClock, appointment_json, now, timestamp,
};

/// Inserts an appointment with `status`, starting at `start`, and returns its id.
fn add(zocdoc: &FakeZocdoc, id: &str, status: &str, start: jiff::Timestamp) -> AppointmentId {
    zocdoc.insert(appointment_json(
        id,
        status,
        start,
        timestamp(1_700_000_000),
    ));
    AppointmentId::new(id)
}

fn future() -> jiff::Timestamp {
    now() + SignedDuration::from_hours(72)
}

fn last_body(zocdoc: &FakeZocdoc, route: Route) -> serde_json::Value {
    zocdoc
        .seen()
        .into_iter()
        .rfind(|s| s.route == route)
        .and_then(|s| s.body)
        .unwrap()
}

fn new_time() -> OffsetTime {
    OffsetTime::parse("2031-05-06T10:30:00-04:00").unwrap()
}

#[tokio::test]
async fn each_write_sends_the_spec_body_and_returns_zocdocs_answer() {
    let zocdoc = FakeZocdoc::start().await;
    let (client, _clock) = zocdoc.client();

    let pending = AppointmentId::new(FIXED[0].0);
    let Written::Answered(change) = client.confirm(&pending).await.unwrap() else {
        panic!("answered");
    };
    assert_eq!(change.appointment_status, AppointmentStatus::Confirmed);
    assert_eq!(change.appointment_id, pending);
    assert!(change.request_id.is_some());
    assert_eq!(
        last_body(&zocdoc, Route::Confirm),
        json!({"appointment_id": FIXED[0].0})
    );

    let to_cancel = add(&zocdoc, "w-cancel", "confirmed", future());
    let reason =
        CancelReason::new(CancellationReasonType::OtherProviderReason).with_note("Provider is ill");
    let Written::Answered(change) = client.cancel(&to_cancel, &reason).await.unwrap() else {
        panic!("answered");
    };
    assert_eq!(change.appointment_status, AppointmentStatus::Cancelled);
    assert_eq!(
        last_body(&zocdoc, Route::Cancel),
        json!({
            "appointment_id": "w-cancel",
            "cancellation_reason_type": "other_provider_reason",
            "cancellation_reason": "Provider is ill",
        })
    );
    assert_eq!(
        zocdoc.stored("w-cancel")["cancellation_reason"],
        "Provider is ill"
    );

    let to_move = AppointmentId::new(FIXED[1].0);
    let Written::Answered(moved) = client.reschedule(&to_move, &new_time()).await.unwrap() else {
        panic!("answered");
    };
    assert_eq!(moved.appointment_status, AppointmentStatus::Rescheduled);
    assert_eq!(moved.visit_type, VisitType::InPerson);
    assert_eq!(
        last_body(&zocdoc, Route::Reschedule),
        json!({"appointment_id": FIXED[1].0, "start_time": "2031-05-06T10:30:00-04:00"})
    );
    let read = client.appointment(&to_move).await.unwrap();
    assert_eq!(read.start_time, new_time());

    let missed = add(
        &zocdoc,
        "w-noshow",
        "confirmed",
        now() - SignedDuration::from_hours(3),
    );
    let Written::Answered(change) = client
        .update_status(&missed, StatusUpdate::NoShow)
        .await
        .unwrap()
    else {
        panic!("answered");
    };
    assert_eq!(change.appointment_status, AppointmentStatus::NoShow);
    assert_eq!(
        last_body(&zocdoc, Route::UpdateStatus),
        json!({"appointment_id": "w-noshow", "appointment_status": "no_show"})
    );

    let here = add(&zocdoc, "w-arrived", "confirmed", now());
    let Written::Answered(change) = client
        .update_status(&here, StatusUpdate::Arrived)
        .await
        .unwrap()
    else {
        panic!("answered");
    };
    assert_eq!(
        change.appointment_status,
        AppointmentStatus::Other("arrived".to_owned()),
        "a status outside the enum is kept, not a parse failure"
    );
    assert!(zocdoc.was_marked_arrived("w-arrived"));
    for route in [Route::Confirm, Route::Cancel, Route::Reschedule] {
        assert_eq!(zocdoc.count(route), 1);
    }
    assert_eq!(zocdoc.count(Route::UpdateStatus), 2);
}

#[tokio::test]
async fn conflicts_explain_the_rule_and_quote_zocdoc() {
    let zocdoc = FakeZocdoc::start().await;
    let (client, _clock) = zocdoc.client();
    let cancelled = AppointmentId::new(FIXED[4].0);
    let error = client
        .cancel(
            &cancelled,
            &CancelReason::new(CancellationReasonType::ProviderNotAvailable),
        )
        .await
        .unwrap_err();
    let Error::Conflict {
        appointment_id: Some(conflicting),
        body: Some(body),
        ..
    } = &error
    else {
        panic!("{error:?}");
    };
    assert_eq!(conflicting, &cancelled);
    assert_eq!(body.errors[0].message, "Appointment is already cancelled");
    let message = error.staff_message();
    assert!(
        message.starts_with("Zocdoc does not allow cancelling this appointment"),
        "{message}"
    );
    assert!(
        message.contains("\u{201c}Appointment is already cancelled\u{201d}"),
        "{message}"
    );

    let upcoming = add(&zocdoc, "w-future", "confirmed", future());
    let error = client
        .update_status(&upcoming, StatusUpdate::NoShow)
        .await
        .unwrap_err();
    assert_eq!(error.code(), "zocdoc_conflict");
    assert!(
        error.staff_message().starts_with(
            "Zocdoc does not allow marking this appointment as a no-show: it can only be set \
             after the start time and within 2 days."
        ),
        "{}",
        error.staff_message()
    );

    let confirmed = AppointmentId::new(FIXED[1].0);
    let error = client.confirm(&confirmed).await.unwrap_err();
    assert!(
        error
            .staff_message()
            .contains("only an appointment that is waiting for confirmation")
    );

    let failed = AppointmentId::new(FIXED[8].0);
    let error = client.reschedule(&failed, &new_time()).await.unwrap_err();
    assert_eq!(error.code(), "zocdoc_conflict");
    for route in [
        Route::Cancel,
        Route::UpdateStatus,
        Route::Confirm,
        Route::Reschedule,
    ] {
        assert_eq!(zocdoc.count(route), 1, "{route:?}: a 409 is not retried");
    }
    assert_eq!(zocdoc.count(Route::Get), 0, "a 409 needs no read-back");
}

#[tokio::test]
async fn bad_requests_and_missing_scope_are_mapped() {
    let zocdoc = FakeZocdoc::start().await;
    let (client, _clock) = zocdoc.client();
    let id = AppointmentId::new(FIXED[1].0);
    zocdoc.push_fault(
        Route::Reschedule,
        Fault::with_body(
            400,
            crate::support::error_result("req-9", "invalid_request", "Timeslot is not available"),
        ),
    );
    let error = client.reschedule(&id, &new_time()).await.unwrap_err();
    assert_eq!(error.code(), "zocdoc_bad_request");
    let message = error.staff_message();
    assert!(
        message.contains("free time from the provider's availability"),
        "{message}"
    );
    assert!(message.contains("Timeslot is not available"), "{message}");
    assert!(message.ends_with("(Zocdoc reference: req-9)"), "{message}");

    zocdoc.deny_writes();
    let error = client
        .confirm(&AppointmentId::new(FIXED[0].0))
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Forbidden { .. }), "{error:?}");
    assert!(error.staff_message().contains("external.appointment.write"));
}

#[tokio::test]
async fn a_write_that_took_effect_but_answered_5xx_is_settled_by_reading_back() {
    let zocdoc = FakeZocdoc::start().await;
    let (client, _clock) = zocdoc.client();
    let id = add(&zocdoc, "w-5xx-applied", "confirmed", future());
    zocdoc.push_fault(Route::Cancel, Fault::ApplyThenAnswer(500));
    let written = client
        .cancel(
            &id,
            &CancelReason::new(CancellationReasonType::PatientNoLongerAvailable),
        )
        .await
        .unwrap();
    let Written::ReadBack(appointment) = written else {
        panic!("{written:?}");
    };
    assert_eq!(appointment.appointment_status, AppointmentStatus::Cancelled);
    assert_eq!(zocdoc.count(Route::Cancel), 1, "never sent twice");
    assert_eq!(zocdoc.count(Route::Get), 1);
    assert_eq!(zocdoc.applied("w-5xx-applied"), 1);
}

#[tokio::test]
async fn a_write_that_answered_5xx_without_effect_is_not_applied_and_not_retried() {
    let zocdoc = FakeZocdoc::start().await;
    let (client, _clock) = zocdoc.client();
    let id = add(&zocdoc, "w-5xx", "pending_booking", future());
    zocdoc.push_fault(Route::Confirm, Fault::status(502));
    let error = client.confirm(&id).await.unwrap_err();
    let Error::NotApplied {
        appointment, cause, ..
    } = &error
    else {
        panic!("{error:?}");
    };
    assert_eq!(
        appointment.appointment_status,
        AppointmentStatus::PendingBooking
    );
    assert!(matches!(
        **cause,
        Error::Server {
            status: 502,
            attempts: 1,
            ..
        }
    ));
    assert_eq!(zocdoc.count(Route::Confirm), 1);
    assert_eq!(zocdoc.applied("w-5xx"), 0);
    let message = error.staff_message();
    assert!(
        message.contains("still waiting for confirmation"),
        "{message}"
    );
    assert!(message.contains("safe to try again"), "{message}");
}

#[tokio::test]
async fn a_write_that_timed_out_is_settled_by_reading_back() {
    let zocdoc = FakeZocdoc::start().await;
    let clock = Arc::new(TestClock::new());
    let client = zocdoc
        .builder(CLIENT_SECRET, &clock)
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let id = AppointmentId::new(FIXED[7].0);
    zocdoc.push_fault(
        Route::Reschedule,
        Fault::ApplyThenStall(Duration::from_secs(2)),
    );
    let written = client.reschedule(&id, &new_time()).await.unwrap();
    let Written::ReadBack(appointment) = written else {
        panic!("{written:?}");
    };
    assert_eq!(appointment.start_time.timestamp(), new_time().timestamp());
    assert_eq!(zocdoc.count(Route::Reschedule), 1);
}

#[tokio::test]
async fn a_write_whose_answer_broke_off_is_settled_by_reading_back() {
    let zocdoc = FakeZocdoc::start().await;
    let (client, _clock) = zocdoc.client();
    let id = add(&zocdoc, "w-cut", "pending_booking", future());
    zocdoc.push_fault(Route::Confirm, Fault::ApplyThenCutBody);
    let written = client.confirm(&id).await.unwrap();
    assert!(written.is_read_back(), "{written:?}");
    assert_eq!(zocdoc.count(Route::Confirm), 1);
    assert_eq!(zocdoc.applied("w-cut"), 1);
}

#[tokio::test]
async fn a_write_whose_read_back_fails_is_ambiguous() {
    let zocdoc = FakeZocdoc::start().await;
    let (client, _clock) = zocdoc.client();
    let id = add(&zocdoc, "w-unknown", "confirmed", future());
    zocdoc.push_fault(Route::Cancel, Fault::ApplyThenAnswer(504));
    for _ in 0..4 {
        zocdoc.push_fault(Route::Get, Fault::status(503));
    }
    let error = client
        .cancel(
            &id,
            &CancelReason::new(CancellationReasonType::PatientNoLongerNeedsAppointment),
        )
        .await
        .unwrap_err();
    let Error::Ambiguous {
        read_back: ReadBack::Failed(read_error),
        cause,
        ..
    } = &error
    else {
        panic!("{error:?}");
    };
    assert!(matches!(**read_error, Error::Server { attempts: 4, .. }));
    assert!(matches!(**cause, Error::Server { status: 504, .. }));
    assert_eq!(zocdoc.count(Route::Cancel), 1);
    let message = error.staff_message();
    assert!(
        message.contains("cannot tell whether Zocdoc cancelled the appointment"),
        "{message}"
    );
    assert!(
        message.contains("Check the appointment in Zocdoc before trying again"),
        "{message}"
    );
    assert_eq!(
        error.to_string(),
        "cancel of appointment w-unknown: outcome unknown (read back failed: get_appointment: \
         Zocdoc answered 503 after 4 attempts): cancel: Zocdoc answered 504 after 1 attempts"
    );
}

#[tokio::test]
async fn a_lost_arrival_cannot_be_read_back_and_says_so() {
    let zocdoc = FakeZocdoc::start().await;
    let (client, _clock) = zocdoc.client();
    let id = add(&zocdoc, "w-arrival", "confirmed", now());
    zocdoc.push_fault(Route::UpdateStatus, Fault::ApplyThenAnswer(503));
    let error = client
        .update_status(&id, StatusUpdate::Arrived)
        .await
        .unwrap_err();
    let Error::Ambiguous {
        read_back: ReadBack::Inconclusive(appointment),
        ..
    } = &error
    else {
        panic!("{error:?}");
    };
    assert_eq!(appointment.appointment_status, AppointmentStatus::Confirmed);
    assert!(error.staff_message().contains("does not show arrivals"));
    assert_eq!(zocdoc.count(Route::UpdateStatus), 1);
}

#[tokio::test]
async fn a_write_refused_with_429_is_retried_and_takes_effect_once() {
    let zocdoc = FakeZocdoc::start().await;
    let (client, clock) = zocdoc.client();
    let id = add(&zocdoc, "w-429", "confirmed", future());
    zocdoc.push_fault(Route::Cancel, Fault::status(429));
    zocdoc.push_fault(
        Route::Cancel,
        Fault::Answer {
            status: 429,
            body: None,
            retry_after: Some("4"),
        },
    );
    let written = client
        .cancel(
            &id,
            &CancelReason::new(CancellationReasonType::ReschedulingPatient),
        )
        .await
        .unwrap();
    assert!(matches!(written, Written::Answered(_)), "{written:?}");
    assert_eq!(zocdoc.count(Route::Cancel), 3);
    assert_eq!(zocdoc.applied("w-429"), 1);
    assert_eq!(
        clock.sleeps(),
        [Duration::from_millis(375), Duration::from_secs(4)]
    );
}

#[tokio::test]
async fn a_write_after_a_token_revocation_refreshes_and_takes_effect_once() {
    let zocdoc = FakeZocdoc::start().await;
    let (client, _clock) = zocdoc.client();
    client
        .appointment(&AppointmentId::new(FIXED[1].0))
        .await
        .unwrap();
    zocdoc.revoke_tokens();
    let id = add(&zocdoc, "w-401", "pending_booking", future());
    let written = client.confirm(&id).await.unwrap();
    assert!(matches!(written, Written::Answered(_)));
    let answers: Vec<u16> = zocdoc
        .seen()
        .iter()
        .filter(|s| s.route == Route::Confirm)
        .map(|s| s.answered)
        .collect();
    assert_eq!(answers, [401, 200]);
    assert_eq!(zocdoc.applied("w-401"), 1);
    assert_eq!(zocdoc.tokens_issued(), 2);
}

#[tokio::test]
async fn a_refused_connection_is_final_for_a_write() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let zocdoc = FakeZocdoc::start().await;
    let clock = Arc::new(TestClock::new());
    let client = zocdoc
        .builder(CLIENT_SECRET, &clock)
        .base_url(format!("http://{closed}"))
        .token_url(format!("{}/oauth/token", zocdoc.url()))
        .build()
        .unwrap();
    let error = client
        .confirm(&AppointmentId::new(FIXED[0].0))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::Transport {
                kind: TransportKind::Connect,
                attempts: 1,
                ..
            }
        ),
        "not sent, so nothing to read back, and not retried: {error:?}"
    );
    assert!(clock.sleeps().is_empty());
}

#[tokio::test]
async fn a_cancellation_note_needs_an_other_reason() {
    let zocdoc = FakeZocdoc::start().await;
    let (client, _clock) = zocdoc.client();
    let id = AppointmentId::new(FIXED[1].0);
    for reason in [
        CancelReason::new(CancellationReasonType::ProviderNotAvailable).with_note("away"),
        CancelReason::new(CancellationReasonType::OtherPatientReason).with_note("  "),
    ] {
        let error = client.cancel(&id, &reason).await.unwrap_err();
        assert_eq!(error.code(), "zocdoc_invalid_request");
    }
    assert!(zocdoc.seen().is_empty());
}
