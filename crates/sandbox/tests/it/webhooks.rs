//! Webhook delivery with Zocdoc's rules, checked against real receivers on 127.0.0.1: the
//! signature verifies with the app's own `verify`; a hang-up or a timeout (5 s) is retried with
//! exponential backoff on the emulated clock; any status, 500 included, is never retried;
//! connection failures stop after 48 hours; `POST /v1/webhook/mock-request` as documented.

use std::time::{Duration, Instant};

use deskbridge_sandbox::zocdoc::{
    AppointmentStatus, AttemptOutcome, Change, Delivery, DeliveryState, WebhookTarget,
};
use deskbridge_zocdoc::webhook::{self, Freshness, UpdateType};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use crate::common::{Behaviour, Harness, Receiver, WEBHOOK_KEY, key};

const WAIT: Duration = Duration::from_secs(10);

fn attempts(harness: &Harness) -> Vec<deskbridge_sandbox::zocdoc::DeliveryAttempt> {
    harness.emulator().deliveries().deliveries()[0]
        .attempts
        .clone()
}

async fn wait_for_attempts(harness: &Harness, count: usize) -> Vec<Delivery> {
    let log = harness.emulator().deliveries();
    assert!(
        log.wait_until(WAIT, |d| d
            .first()
            .is_some_and(|d| d.attempts.len() >= count))
            .await,
        "{count} attempts expected: {:?}",
        log.deliveries()
    );
    log.deliveries()
}

/// A provider-side cancellation of a new appointment: one `cancelled` webhook.
async fn provider_cancels(harness: &Harness) -> String {
    let appointment =
        harness.add_appointment(AppointmentStatus::Confirmed, SignedDuration::from_hours(24));
    harness
        .emulator()
        .change_by_provider(
            &appointment.appointment_id,
            Change::Cancel {
                reason_type: None,
                reason: Some("Provider is not available".into()),
            },
        )
        .unwrap();
    appointment.appointment_id
}

fn verify(received: &crate::common::Received) {
    let verified = webhook::verify(&key(), &received.headers, &received.body, Timestamp::now())
        .expect("the signature verifies with the app's own verify");
    assert_eq!(verified.freshness, Freshness::Fresh);
    let signature = received.headers["webhook-signature"].to_str().unwrap();
    assert!(signature.starts_with("v1:"), "{signature}");
}

#[tokio::test]
async fn webhooks_are_signed_like_zocdocs() {
    let harness = Harness::sandbox().await;
    let receiver = Receiver::start(vec![Behaviour::Answer(200)]).await;
    harness.send_webhooks_to(&receiver);
    let id = provider_cancels(&harness).await;
    let received = receiver.wait_for(1, WAIT).await;
    assert_eq!(received.len(), 1);
    verify(&received[0]);
    assert_eq!(received[0].headers["content-type"], "application/json");
    let event = webhook::parse_event(&received[0].body).unwrap();
    assert_eq!(event.appointment_id, id);
    assert_eq!(event.update_type, UpdateType::Cancelled);
    assert_eq!(event.event_type, "appointment_updated");
    assert_eq!(event.data_type.as_deref(), Some("appointment_data"));
    let stored = harness.emulator().appointment(&id).unwrap();
    assert_eq!(event.appointment_updated_at(), Some(stored.last_modified));
    let body: Value = serde_json::from_slice(&received[0].body).unwrap();
    let updated = body["data"]["appointment_data"]["appointment_updated_timestamp"]
        .as_str()
        .unwrap();
    assert_eq!(
        updated.len(),
        "2023-06-14T17:06:54.9430804Z".len(),
        "{updated}"
    );
    wait_for_attempts(&harness, 1).await;
    assert_eq!(
        harness.emulator().deliveries().deliveries()[0].state,
        DeliveryState::Answered { status: 200 }
    );
}

#[tokio::test]
async fn a_receiver_that_hangs_up_is_retried_with_exponential_backoff() {
    let harness = Harness::sandbox().await;
    let receiver = Receiver::start(vec![
        Behaviour::HangUp,
        Behaviour::HangUp,
        Behaviour::Answer(200),
    ])
    .await;
    harness.send_webhooks_to(&receiver);
    provider_cancels(&harness).await;
    let clock = harness.emulator().clock().clone();

    wait_for_attempts(&harness, 1).await;
    let first = &attempts(&harness)[0];
    assert_eq!(first.outcome, AttemptOutcome::Dropped);
    assert_eq!(
        first.retry_at,
        Some(first.at + SignedDuration::from_secs(30))
    );
    clock.advance(SignedDuration::from_secs(29));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        receiver.received().len(),
        1,
        "no retry before the backoff has passed"
    );
    clock.advance(SignedDuration::from_secs(1));

    wait_for_attempts(&harness, 2).await;
    let second = &attempts(&harness)[1];
    assert_eq!(second.outcome, AttemptOutcome::Dropped);
    assert_eq!(
        second.retry_at,
        Some(second.at + SignedDuration::from_secs(60)),
        "doubled"
    );
    clock.advance(SignedDuration::from_secs(60));

    let deliveries = wait_for_attempts(&harness, 3).await;
    assert_eq!(
        deliveries[0].attempts[2].outcome,
        AttemptOutcome::Answered { status: 200 }
    );
    assert_eq!(deliveries[0].state, DeliveryState::Answered { status: 200 });
    let received = receiver.received();
    assert_eq!(received.len(), 3);
    for request in &received {
        verify(request);
        assert_eq!(
            request.body, received[0].body,
            "every retry sends the same body"
        );
    }
    assert_eq!(
        webhook::dedupe_key(&received[0].body),
        webhook::dedupe_key(&received[2].body)
    );
}

#[tokio::test]
async fn any_status_ends_delivery_even_500() {
    for status in [500, 401, 404] {
        let harness = Harness::sandbox().await;
        let receiver = Receiver::start(vec![Behaviour::Answer(status)]).await;
        harness.send_webhooks_to(&receiver);
        provider_cancels(&harness).await;
        let deliveries = wait_for_attempts(&harness, 1).await;
        assert_eq!(deliveries[0].state, DeliveryState::Answered { status });
        assert_eq!(deliveries[0].attempts[0].retry_at, None);
        harness
            .emulator()
            .clock()
            .advance(SignedDuration::from_hours(49));
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(receiver.received().len(), 1, "{status} is never retried");
        assert_eq!(attempts(&harness).len(), 1);
    }
}

#[tokio::test]
async fn no_answer_within_five_seconds_is_retried() {
    let harness = Harness::sandbox().await;
    let receiver = Receiver::start(vec![
        Behaviour::Stall(Duration::from_secs(7), 200),
        Behaviour::Answer(200),
    ])
    .await;
    harness.send_webhooks_to(&receiver);
    let started = Instant::now();
    provider_cancels(&harness).await;
    wait_for_attempts(&harness, 1).await;
    let elapsed = started.elapsed();
    assert_eq!(attempts(&harness)[0].outcome, AttemptOutcome::TimedOut);
    assert!(
        elapsed >= Duration::from_secs(5) && elapsed < Duration::from_secs(9),
        "{elapsed:?}"
    );
    harness
        .emulator()
        .clock()
        .advance(SignedDuration::from_secs(30));
    let deliveries = wait_for_attempts(&harness, 2).await;
    assert_eq!(deliveries[0].state, DeliveryState::Answered { status: 200 });
}

#[tokio::test]
async fn an_answer_within_five_seconds_is_not_retried() {
    let harness = Harness::sandbox().await;
    let receiver = Receiver::start(vec![Behaviour::Stall(Duration::from_millis(4_000), 202)]).await;
    harness.send_webhooks_to(&receiver);
    provider_cancels(&harness).await;
    let deliveries = wait_for_attempts(&harness, 1).await;
    assert_eq!(deliveries[0].state, DeliveryState::Answered { status: 202 });
}

#[tokio::test]
async fn connection_failures_are_retried_for_48_hours_then_dropped() {
    let harness = Harness::sandbox().await;
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", closed.local_addr().unwrap());
    drop(closed);
    harness
        .emulator()
        .set_webhook_target(Some(WebhookTarget::new(&url, key()).unwrap()));
    provider_cancels(&harness).await;
    let clock = harness.emulator().clock().clone();
    let log = harness.emulator().deliveries().clone();
    loop {
        let count = attempts(&harness).len();
        let deliveries = wait_for_attempts(&harness, count.max(1)).await;
        let delivery = &deliveries[0];
        let last = delivery.attempts.last().unwrap();
        assert_eq!(last.outcome, AttemptOutcome::ConnectFailed);
        match last.retry_at {
            Some(retry_at) => {
                clock.set(retry_at);
                assert!(
                    log.wait_until(WAIT, |d| d[0].attempts.len() > count.max(1))
                        .await,
                    "the retry at {retry_at} happens"
                );
            }
            None => {
                assert_eq!(delivery.state, DeliveryState::GaveUp);
                break;
            }
        }
    }
    let attempts = attempts(&harness);
    // Waits of 30 s, 60 s, 120 s ... : the 13th attempt comes 30 * (2^12 - 1) s = 34 h after the
    // first; the next would come 68 h after it, past the 48 hours.
    assert_eq!(attempts.len(), 13);
    let first = attempts[0].at;
    assert!(
        attempts
            .iter()
            .all(|a| a.at - first <= SignedDuration::from_hours(48))
    );
    for pair in attempts.windows(2) {
        assert_eq!(
            pair[1].at - pair[0].at,
            SignedDuration::from_secs(30) * (1 << (pair[0].attempt - 1))
        );
    }
}

#[tokio::test]
async fn mock_request_sends_one_signed_webhook_to_the_given_url() {
    let harness = Harness::sandbox().await;
    let receiver = Receiver::start(vec![Behaviour::Answer(200)]).await;
    for update_type in ["created", "updated", "cancelled"] {
        let reply = harness
            .post(
                "/v1/webhook/mock-request",
                &json!({
                    "webhook_url": receiver.url,
                    "webhook_key": WEBHOOK_KEY,
                    "appointment_update_type": update_type,
                }),
            )
            .await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        let answered = reply.json();
        assert_eq!(answered["event_type"], "appointment_updated");
        assert_eq!(answered["data"]["data_type"], "appointment_data");
        assert_eq!(
            answered["data"]["appointment_data"]["appointment_update_type"],
            update_type
        );
        let received = receiver
            .wait_for(harness.emulator().deliveries().deliveries().len(), WAIT)
            .await;
        let last = received.last().unwrap();
        verify(last);
        let sent: Value = serde_json::from_slice(&last.body).unwrap();
        assert_eq!(sent, answered, "the answer is the webhook that was sent");
    }
}

#[tokio::test]
async fn mock_request_validates_its_fields() {
    let harness = Harness::sandbox().await;
    for (body, field) in [
        (json!({"webhook_key": WEBHOOK_KEY}), "webhook_url"),
        (
            json!({"webhook_url": "http://127.0.0.1:9/x", "webhook_key": "not base64!"}),
            "webhook_key",
        ),
        (
            json!({"webhook_url": "https://example.com/x", "webhook_key": WEBHOOK_KEY}),
            "webhook_url",
        ),
        (
            json!({"webhook_url": "http://127.0.0.1:9/x", "webhook_key": WEBHOOK_KEY, "appointment_update_type": "deleted"}),
            "appointment_update_type",
        ),
    ] {
        let reply = harness.post("/v1/webhook/mock-request", &body).await;
        assert_eq!(reply.status, 400, "{body}");
        assert_eq!(reply.error_fields(), [field], "{body}");
    }
}

#[tokio::test]
async fn the_delivery_log_is_served_as_json() {
    let harness = Harness::sandbox().await;
    let receiver = Receiver::start(vec![Behaviour::Answer(204)]).await;
    harness.send_webhooks_to(&receiver);
    let id = provider_cancels(&harness).await;
    wait_for_attempts(&harness, 1).await;
    let log = crate::common::request(
        http::Method::GET,
        &harness.url("/_emulator/webhooks"),
        &[],
        None,
    )
    .await
    .json();
    assert_eq!(log[0]["appointment_id"], id);
    assert_eq!(log[0]["state"]["kind"], "answered");
    assert_eq!(log[0]["attempts"][0]["outcome"]["status"], 204);
}
