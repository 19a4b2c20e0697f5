//! The relay's public side, end to end: sender → relay → tunnel → app → encrypted store, and
//! back. Every "no answer" is asserted on the raw socket: not one byte of response.

use std::time::{Duration, Instant};

use deskbridge_core::random::OsRandom;
use deskbridge_relay::direct::MAX_BODY_BYTES;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_webhook_through_the_relay_is_stored_then_answered_200() {
    let relay = TestRelay::start().await;
    let desk = Desk::new();
    let _app = connect(relay.app_config(), &desk, |_| {}).await;

    let answer = exchange(
        relay.addr,
        &webhook(&relay.hook_path(), &desk.key, "appt-r1"),
    )
    .await;
    assert_eq!(
        status(&answer),
        Some(200),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    assert_eq!(answer_body(&answer), r#"{"received":true}"#);
    // The 200 came after the commit: a new connection to the encrypted database sees the row.
    let row = desk.received_for("appt-r1").expect("the row is committed");
    assert_eq!(row.duplicates, 0);

    // Zocdoc's retry of the same event is a duplicate, also 200, and no second row.
    let again = exchange(
        relay.addr,
        &webhook(&relay.hook_path(), &desk.key, "appt-r1"),
    )
    .await;
    assert_eq!(status(&again), Some(200));
    assert_eq!(desk.received().len(), 1);
    assert_eq!(desk.received_for("appt-r1").unwrap().duplicates, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_app_every_webhook_gets_zero_bytes() {
    let relay = TestRelay::start().await;
    let desk = Desk::new();
    let mut unanswered = 0;
    for i in 0..200 {
        let answer = exchange(
            relay.addr,
            &webhook(&relay.hook_path(), &desk.key, &format!("appt-{i}")),
        )
        .await;
        assert!(
            answer.is_empty(),
            "try {i}: {}",
            String::from_utf8_lossy(&answer)
        );
        unanswered += 1;
    }
    assert_eq!(unanswered, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_app_cannot_store_every_webhook_gets_zero_bytes() {
    let relay = TestRelay::start().await;
    let desk = Desk::without_store();
    let _app = connect(relay.app_config(), &desk, |_| {}).await;
    for i in 0..200 {
        let answer = exchange(
            relay.addr,
            &webhook(&relay.hook_path(), &desk.key, &format!("appt-{i}")),
        )
        .await;
        assert!(
            answer.is_empty(),
            "try {i}: {}",
            String::from_utf8_lossy(&answer)
        );
    }
    // A forgery is still told apart: 401, so nothing authentic was lost by it.
    let forged = exchange(relay.addr, &forged(&relay.hook_path(), "appt-x")).await;
    assert_eq!(status(&forged), Some(401));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_stalled_past_the_deadline_gets_zero_bytes_and_the_retry_is_200() {
    let relay = TestRelay::start_with(|config| {
        config.limits.deadline_ms = 500;
        config.limits.shutdown_grace_ms = 500;
    })
    .await;
    let desk = Desk::new();
    let _app = connect(relay.app_config(), &desk, |_| {}).await;
    let lock = desk.stall_writer();

    let mut sends = Vec::new();
    for i in 0..20 {
        let request = webhook(&relay.hook_path(), &desk.key, &format!("appt-stall-{i}"));
        let addr = relay.addr;
        sends.push(tokio::spawn(async move {
            let started = Instant::now();
            (exchange(addr, &request).await, started.elapsed())
        }));
    }
    for send in sends {
        let (answer, took) = send.await.unwrap();
        assert!(answer.is_empty(), "{}", String::from_utf8_lossy(&answer));
        assert!(
            took >= Duration::from_millis(450),
            "hung up at the deadline, not before: {took:?}"
        );
        assert!(
            took < Duration::from_secs(3),
            "hung up at the deadline: {took:?}"
        );
    }
    drop(lock);
    // Zocdoc retries: the stalled writes went through once the lock was gone (duplicates now),
    // or go through now; either way the sender gets its 200.
    for i in 0..20 {
        let answer = exchange(
            relay.addr,
            &webhook(&relay.hook_path(), &desk.key, &format!("appt-stall-{i}")),
        )
        .await;
        assert_eq!(
            status(&answer),
            Some(200),
            "{}",
            String::from_utf8_lossy(&answer)
        );
    }
    assert_eq!(desk.received().len(), 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_signature_through_the_relay_is_401_and_recorded() {
    let relay = TestRelay::start().await;
    let desk = Desk::new();
    let _app = connect(relay.app_config(), &desk, |_| {}).await;
    let answer = exchange(relay.addr, &forged(&relay.hook_path(), "appt-forged")).await;
    assert_eq!(status(&answer), Some(401));
    assert!(desk.received().is_empty());
    let rejected = desk.rejected();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].reason, "no_matching_signature");
    // The forwarded headers reached the app: the claimed signature is in the record.
    assert!(rejected[0].headers_json.contains("webhook-signature"));
    assert!(rejected[0].headers_json.contains("application/json"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_revoked_oversized_and_wrong_method_requests() {
    let relay = TestRelay::start().await;
    let desk = Desk::new();
    let _app = connect(relay.app_config(), &desk, |_| {}).await;

    let unknown = deskbridge_relay::token::EndpointId::generate(&OsRandom).unwrap();
    for path in [
        format!("/hooks/{unknown}"),
        "/hooks/not-an-id".to_owned(),
        "/hooks/%FF%FE".to_owned(),
        "/elsewhere".to_owned(),
    ] {
        let answer = exchange(relay.addr, &webhook(&path, &desk.key, "appt-404")).await;
        assert_eq!(status(&answer), Some(404), "{path}");
    }

    let answer = exchange(
        relay.addr,
        &declared_head(&relay.hook_path(), MAX_BODY_BYTES + 1),
    )
    .await;
    assert_eq!(status(&answer), Some(413));
    // Undeclared length (chunked): counted, and still 413.
    let answer = exchange(relay.addr, &chunked_over_limit(&relay.hook_path())).await;
    assert_eq!(status(&answer), Some(413));

    let get = exchange(relay.addr, &request("GET", &relay.hook_path(), &[], b"")).await;
    assert_eq!(status(&get), Some(405));
    let health = exchange(relay.addr, &request("GET", "/health", &[], b"")).await;
    assert_eq!(status(&health), Some(200));

    relay
        .registry
        .revoke(&relay.endpoint, jiff::Timestamp::now())
        .unwrap();
    let answer = exchange(
        relay.addr,
        &webhook(&relay.hook_path(), &desk.key, "appt-gone"),
    )
    .await;
    assert_eq!(status(&answer), Some(404));
    assert!(desk.received().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_added_while_running_works_at_once() {
    let relay = TestRelay::start().await;
    let (endpoint, token) = relay
        .registry
        .add("North", &OsRandom, jiff::Timestamp::now())
        .unwrap();
    let desk = Desk::new();
    let url = format!("ws://{}/tunnel/{}", relay.addr, endpoint.id);
    let _app = connect(app_config(url, token), &desk, |_| {}).await;
    let answer = exchange(
        relay.addr,
        &webhook(&format!("/hooks/{}", endpoint.id), &desk.key, "appt-north"),
    )
    .await;
    assert_eq!(status(&answer), Some(200));
    assert!(desk.received_for("appt-north").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_webhooks_at_once_are_all_stored_and_answered() {
    let relay = TestRelay::start().await;
    let desk = Desk::new();
    let _app = connect(relay.app_config(), &desk, |_| {}).await;
    let mut sends = Vec::new();
    for i in 0..100 {
        let request = webhook(&relay.hook_path(), &desk.key, &format!("appt-many-{i}"));
        let addr = relay.addr;
        sends.push(tokio::spawn(async move { exchange(addr, &request).await }));
    }
    for send in sends {
        assert_eq!(status(&send.await.unwrap()), Some(200));
    }
    assert_eq!(desk.received().len(), 100);
}
