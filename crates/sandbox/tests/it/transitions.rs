//! Status changes through the API: what each status allows, 409 `ErrorResult` for what it does
//! not (the no-show window included), `last_modified_time_utc` moving on every change, and the
//! 400/404 bodies each route's spec entry calls for.

use deskbridge_sandbox::zocdoc::AppointmentStatus;
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use crate::common::{Behaviour, Harness, Receiver, t0};

fn hours(count: i64) -> SignedDuration {
    SignedDuration::from_hours(count)
}

async fn status_of(harness: &Harness, id: &str) -> serde_json::Value {
    let reply = harness.get(&format!("/v1/appointments/{id}")).await;
    assert_eq!(reply.status, 200);
    reply.json()["data"].clone()
}

#[tokio::test]
async fn confirm_only_from_pending_booking() {
    let harness = Harness::sandbox().await;
    let pending = harness.add_appointment(AppointmentStatus::PendingBooking, hours(24));
    let reply = harness
        .post(
            "/v1/appointments/confirm",
            &json!({"appointment_id": pending.appointment_id}),
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["data"]["appointment_status"], "confirmed");
    let again = harness
        .post(
            "/v1/appointments/confirm",
            &json!({"appointment_id": pending.appointment_id}),
        )
        .await;
    assert_eq!(again.status, 409);
    assert_eq!(again.json()["error_type"], "invalid_request");
    assert!(
        again.json()["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("confirmed")
    );
}

#[tokio::test]
async fn cancel_moves_last_modified_and_keeps_the_reason() {
    let harness = Harness::sandbox().await;
    let appointment = harness.add_appointment(AppointmentStatus::Confirmed, hours(24));
    harness
        .emulator()
        .clock()
        .advance(SignedDuration::from_mins(7));
    let reply = harness
        .post(
            "/v1/appointments/cancel",
            &json!({
                "appointment_id": appointment.appointment_id,
                "cancellation_reason_type": "other_patient_reason",
                "cancellation_reason": "Moving away"
            }),
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["data"]["appointment_status"], "cancelled");
    let data = status_of(&harness, &appointment.appointment_id).await;
    assert_eq!(data["appointment_status"], "cancelled");
    assert_eq!(data["cancellation_reason"], "Moving away");
    let modified: Timestamp = data["last_modified_time_utc"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(modified, t0() + SignedDuration::from_mins(7));
    let again = harness
        .post(
            "/v1/appointments/cancel",
            &json!({"appointment_id": appointment.appointment_id}),
        )
        .await;
    assert_eq!(again.status, 409);
}

#[tokio::test]
async fn a_no_show_cannot_be_cancelled() {
    let harness = Harness::sandbox().await;
    let appointment = harness.add_appointment(AppointmentStatus::NoShow, hours(-3));
    let reply = harness
        .post(
            "/v1/appointments/cancel",
            &json!({"appointment_id": appointment.appointment_id}),
        )
        .await;
    assert_eq!(reply.status, 409);
}

#[tokio::test]
async fn reschedule_moves_the_start_and_refuses_cancelled_ones() {
    let harness = Harness::sandbox().await;
    let appointment = harness.add_appointment(AppointmentStatus::Confirmed, hours(24));
    let new_start = "2025-03-20T09:30:00-04:00";
    let reply = harness
        .post(
            "/v1/appointments/reschedule",
            &json!({"appointment_id": appointment.appointment_id, "start_time": new_start}),
        )
        .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    assert_eq!(reply.json()["data"]["appointment_status"], "rescheduled");
    assert!(reply.json()["data"]["visit_type"].is_string());
    let data = status_of(&harness, &appointment.appointment_id).await;
    assert_eq!(
        data["start_time"], new_start,
        "answered in the location's offset"
    );

    let cancelled = harness.add_appointment(AppointmentStatus::Cancelled, hours(24));
    let reply = harness
        .post(
            "/v1/appointments/reschedule",
            &json!({"appointment_id": cancelled.appointment_id, "start_time": new_start}),
        )
        .await;
    assert_eq!(reply.status, 409);

    let reply = harness
        .post(
            "/v1/appointments/reschedule",
            &json!({"appointment_id": appointment.appointment_id, "start_time": "2020-01-01T09:00:00-05:00"}),
        )
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.error_fields(), ["start_time"]);
}

#[tokio::test]
async fn no_show_only_for_a_start_in_the_past_two_days() {
    let harness = Harness::sandbox().await;
    let cases = [
        (hours(2), 409, "starts in the future"),
        (SignedDuration::ZERO, 409, "starts right now"),
        (hours(-47), 200, "started 47 hours ago"),
        (hours(-48), 200, "started exactly 48 hours ago"),
        (hours(-49), 409, "started 49 hours ago"),
    ];
    for (start, expected, why) in cases {
        let appointment = harness.add_appointment(AppointmentStatus::Confirmed, start);
        let reply = harness
            .put(
                "/v1/appointments/update-status",
                &json!({"appointment_id": appointment.appointment_id, "appointment_status": "no_show"}),
            )
            .await;
        assert_eq!(reply.status, expected, "{why}");
        if expected == 409 {
            assert_eq!(reply.json()["error_type"], "invalid_request", "{why}");
        } else {
            assert_eq!(reply.json()["data"]["appointment_status"], "no_show");
        }
    }
}

#[tokio::test]
async fn arrived_keeps_the_status_and_blocks_a_later_no_show() {
    let harness = Harness::sandbox().await;
    let appointment = harness.add_appointment(AppointmentStatus::Confirmed, hours(-1));
    let arrived =
        json!({"appointment_id": appointment.appointment_id, "appointment_status": "arrived"});
    let reply = harness
        .put("/v1/appointments/update-status", &arrived)
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["data"]["appointment_status"], "confirmed");
    assert!(
        harness
            .emulator()
            .appointment(&appointment.appointment_id)
            .unwrap()
            .arrived
    );
    assert_eq!(
        harness
            .put("/v1/appointments/update-status", &arrived)
            .await
            .status,
        409
    );
    let no_show =
        json!({"appointment_id": appointment.appointment_id, "appointment_status": "no_show"});
    assert_eq!(
        harness
            .put("/v1/appointments/update-status", &no_show)
            .await
            .status,
        409
    );
    let cancelled = harness.add_appointment(AppointmentStatus::Cancelled, hours(-1));
    let reply = harness
        .put(
            "/v1/appointments/update-status",
            &json!({"appointment_id": cancelled.appointment_id, "appointment_status": "arrived"}),
        )
        .await;
    assert_eq!(reply.status, 409);
}

#[tokio::test]
async fn bad_requests_and_unknown_ids_follow_each_routes_spec_entry() {
    let harness = Harness::sandbox().await;
    // update-status: 400 and 404 have no body in the spec.
    let reply = harness
        .put(
            "/v1/appointments/update-status",
            &json!({"appointment_id": "x", "appointment_status": "late"}),
        )
        .await;
    assert_eq!((reply.status, reply.body.is_empty()), (400, true));
    let reply = harness
        .put(
            "/v1/appointments/update-status",
            &json!({"appointment_id": "nope", "appointment_status": "arrived"}),
        )
        .await;
    assert_eq!((reply.status, reply.body.is_empty()), (404, true));
    // cancel: 400 has no body, 404 is an ErrorResult.
    let reply = harness.post("/v1/appointments/cancel", &json!({})).await;
    assert_eq!((reply.status, reply.body.is_empty()), (400, true));
    let reply = harness
        .post(
            "/v1/appointments/cancel",
            &json!({"appointment_id": "nope"}),
        )
        .await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.json()["error_type"], "invalid_request");
    // confirm and reschedule: 400 is an ErrorResult naming the field.
    let reply = harness
        .post("/v1/appointments/confirm", &json!({"appointment_id": 7}))
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.error_fields(), ["appointment_id"]);
    let reply = harness
        .post(
            "/v1/appointments/reschedule",
            &json!({"appointment_id": "x"}),
        )
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.error_fields(), ["start_time"]);
    let reply = harness.get("/v1/appointments/nope").await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.error_fields(), ["appointment_id"]);
}

#[tokio::test]
async fn the_partners_own_changes_send_no_webhook() {
    let harness = Harness::sandbox().await;
    let receiver = Receiver::start(vec![Behaviour::Answer(200)]).await;
    harness.send_webhooks_to(&receiver);
    let appointment = harness.add_appointment(AppointmentStatus::Confirmed, hours(24));
    let reply = harness
        .post(
            "/v1/appointments/cancel",
            &json!({"appointment_id": appointment.appointment_id}),
        )
        .await;
    assert_eq!(reply.status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(harness.emulator().deliveries().deliveries().is_empty());
    assert!(receiver.received().is_empty());
}
