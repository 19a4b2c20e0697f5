//! Fault injection per route (429 with and without Retry-After, 5xx, latency, tokens refused as
//! expired), its reproducibility under a seed, and the call counter (Rust API and admin JSON).

use std::time::{Duration, Instant};

use deskbridge_sandbox::zocdoc::{Environment, FaultConfig, Route};
use http::Method;
use serde_json::json;

use crate::common::{Harness, config, request};

#[tokio::test]
async fn an_injected_429_has_no_body_and_retry_after_only_when_asked() {
    let harness = Harness::sandbox().await;
    harness.emulator().set_fault(
        Route::ListAppointments,
        FaultConfig {
            rate_429: 1.0,
            ..FaultConfig::default()
        },
    );
    let reply = harness.get("/v1/appointments").await;
    assert_eq!(reply.status, 429);
    assert!(reply.body.is_empty());
    assert!(reply.headers.get("retry-after").is_none());
    harness.emulator().set_fault(
        Route::ListAppointments,
        FaultConfig {
            rate_429: 1.0,
            retry_after_seconds: Some(7),
            ..FaultConfig::default()
        },
    );
    let reply = harness.get("/v1/appointments").await;
    assert_eq!(reply.headers["retry-after"], "7");
    assert_eq!(
        harness
            .get("/v1/appointments/2b29f79b-6d7f-472a-9603-d0c378bc9531")
            .await
            .status,
        200,
        "faults are per route"
    );
    harness.emulator().clear_faults();
    assert_eq!(harness.get("/v1/appointments").await.status, 200);
}

#[tokio::test]
async fn an_injected_5xx_has_the_configured_status() {
    let harness = Harness::sandbox().await;
    harness.emulator().set_fault(
        Route::Cancel,
        FaultConfig {
            rate_5xx: 1.0,
            status_5xx: 503,
            ..FaultConfig::default()
        },
    );
    let reply = harness
        .post(
            "/v1/appointments/cancel",
            &json!({"appointment_id": "d2ee5bd8-643a-42c8-8c5a-be450e903430"}),
        )
        .await;
    assert_eq!((reply.status, reply.body.is_empty()), (503, true));
}

#[tokio::test]
async fn latency_delays_the_answer() {
    let harness = Harness::sandbox().await;
    harness.emulator().set_fault(
        Route::GetAppointment,
        FaultConfig {
            latency: Duration::from_millis(300),
            ..FaultConfig::default()
        },
    );
    let started = Instant::now();
    let reply = harness
        .get("/v1/appointments/2b29f79b-6d7f-472a-9603-d0c378bc9531")
        .await;
    assert_eq!(reply.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn an_injected_token_expiry_is_a_401_without_a_body() {
    let harness = Harness::sandbox().await;
    harness.emulator().set_fault(
        Route::GetParticipants,
        FaultConfig {
            expired_token_rate: 1.0,
            ..FaultConfig::default()
        },
    );
    let reply = harness
        .get("/v1/appointments/d2ee5bd8-643a-42c8-8c5a-be450e903430/participants")
        .await;
    assert_eq!((reply.status, reply.body.is_empty()), (401, true));
}

async fn statuses_under_half_faults(seed: u64) -> Vec<u16> {
    let mut config = config(Environment::Sandbox);
    config.seed = seed;
    let harness = Harness::start(config).await;
    harness.emulator().set_fault(
        Route::ListAppointments,
        FaultConfig {
            rate_429: 0.3,
            rate_5xx: 0.3,
            ..FaultConfig::default()
        },
    );
    let mut statuses = Vec::new();
    for _ in 0..40 {
        statuses.push(harness.get("/v1/appointments").await.status);
    }
    statuses
}

#[tokio::test]
async fn partial_fault_rates_are_reproducible_under_a_seed() {
    let first = statuses_under_half_faults(11).await;
    assert_eq!(first, statuses_under_half_faults(11).await);
    for status in [200, 429, 500] {
        assert!(first.contains(&status), "{status} in {first:?}");
    }
}

#[tokio::test]
async fn every_call_is_counted_per_route_and_shown_by_the_admin_endpoint() {
    let harness = Harness::sandbox().await;
    let emulator = harness.emulator();
    assert_eq!(emulator.calls().get(Route::Token), 1, "the harness's token");
    harness.get("/v1/appointments").await;
    harness.get("/v1/appointments?page=11").await;
    request(Method::GET, &harness.url("/v1/appointments"), &[], None).await;
    harness
        .get("/v1/appointments/2b29f79b-6d7f-472a-9603-d0c378bc9531")
        .await;
    let counts = emulator.calls();
    assert_eq!(
        counts.get(Route::ListAppointments),
        3,
        "400s and 401s count too"
    );
    assert_eq!(counts.get(Route::GetAppointment), 1);
    assert_eq!(counts.api_calls(), 4);
    let admin = request(Method::GET, &harness.url("/_emulator/calls"), &[], None)
        .await
        .json();
    assert_eq!(admin["per_route"]["list_appointments"], 3);
    assert_eq!(admin["api_calls"], 4);
    assert_eq!(admin["total"], 5);
    request(
        Method::POST,
        &harness.url("/_emulator/calls/reset"),
        &[],
        None,
    )
    .await;
    assert_eq!(emulator.calls().total(), 0, "admin calls are not counted");
}

#[tokio::test]
async fn faults_can_be_set_through_the_admin_endpoint() {
    let harness = Harness::sandbox().await;
    let set = request(
        Method::PUT,
        &harness.url("/_emulator/faults/list_appointments"),
        &[],
        Some(br#"{"rate_5xx": 1.0, "status_5xx": 502}"#.to_vec()),
    )
    .await;
    assert_eq!(set.status, 204);
    assert_eq!(harness.get("/v1/appointments").await.status, 502);
    let bad = request(
        Method::PUT,
        &harness.url("/_emulator/faults/list_appointments"),
        &[],
        Some(br#"{"rate_5xx": 3}"#.to_vec()),
    )
    .await;
    assert_eq!(bad.status, 400);
    let unknown = request(
        Method::PUT,
        &harness.url("/_emulator/faults/nowhere"),
        &[],
        Some(b"{}".to_vec()),
    )
    .await;
    assert_eq!(unknown.status, 400);
    request(Method::DELETE, &harness.url("/_emulator/faults"), &[], None).await;
    assert_eq!(harness.get("/v1/appointments").await.status, 200);
}
