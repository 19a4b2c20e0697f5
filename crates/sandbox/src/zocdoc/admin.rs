//! The emulator's own admin endpoints under `/_emulator/` (not part of Zocdoc's API, not counted
//! as calls): call counts, faults, the clock, tokens and the webhook delivery log, as JSON, for
//! tests and tools that drive the binary from outside.
//!
//! | method and path | what |
//! | --- | --- |
//! | `GET /_emulator/calls` | `{"total", "api_calls", "per_route": {route: count}}` |
//! | `POST /_emulator/calls/reset` | zero the counts |
//! | `GET /_emulator/faults` | `{route: FaultConfig}` |
//! | `PUT /_emulator/faults/{route}` | set one route's faults (a `FaultConfig`, every field optional) |
//! | `DELETE /_emulator/faults` | remove every fault |
//! | `GET /_emulator/clock` | `{"now", "rate"}` |
//! | `POST /_emulator/clock/advance` | `{"seconds": n}` moves emulated time |
//! | `POST /_emulator/tokens/expire` | every token issued so far stops working |
//! | `GET /_emulator/webhooks` | every delivery and its attempts |
//! | `GET /_emulator/state` | environment, practice ids, appointment count |

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use http::StatusCode;
use jiff::SignedDuration;
use serde_json::json;

use super::ZocdocEmulator;
use super::faults::{FaultConfig, Route};

pub(crate) fn router(emulator: ZocdocEmulator) -> Router {
    Router::new()
        .route("/_emulator/calls", get(calls))
        .route("/_emulator/calls/reset", post(reset_calls))
        .route("/_emulator/faults", get(faults).delete(clear_faults))
        .route("/_emulator/faults/{route}", put(set_fault))
        .route("/_emulator/clock", get(clock))
        .route("/_emulator/clock/advance", post(advance_clock))
        .route("/_emulator/tokens/expire", post(expire_tokens))
        .route("/_emulator/webhooks", get(webhooks))
        .route("/_emulator/state", get(state))
        .with_state(emulator)
}

fn bad_request(message: String) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": message }))).into_response()
}

async fn calls(State(emulator): State<ZocdocEmulator>) -> Response {
    let counts = emulator.calls();
    Json(json!({
        "total": counts.total(),
        "api_calls": counts.api_calls(),
        "per_route": counts.per_route(),
    }))
    .into_response()
}

async fn reset_calls(State(emulator): State<ZocdocEmulator>) -> StatusCode {
    emulator.reset_calls();
    StatusCode::NO_CONTENT
}

async fn faults(State(emulator): State<ZocdocEmulator>) -> Response {
    Json(emulator.faults()).into_response()
}

async fn clear_faults(State(emulator): State<ZocdocEmulator>) -> StatusCode {
    emulator.clear_faults();
    StatusCode::NO_CONTENT
}

async fn set_fault(
    State(emulator): State<ZocdocEmulator>,
    Path(route): Path<String>,
    body: Bytes,
) -> Response {
    let Some(route) = Route::parse(&route) else {
        return bad_request(format!("unknown route {route}"));
    };
    let config: FaultConfig = match serde_json::from_slice(&body) {
        Ok(config) => config,
        Err(error) => return bad_request(error.to_string()),
    };
    if let Err(message) = config.validate() {
        return bad_request(message);
    }
    tracing::info!(route = route.name(), ?config, "fault set");
    emulator.set_fault(route, config);
    StatusCode::NO_CONTENT.into_response()
}

async fn clock(State(emulator): State<ZocdocEmulator>) -> Response {
    Json(json!({
        "now": emulator.clock().now().to_string(),
        "rate": emulator.clock().rate(),
    }))
    .into_response()
}

async fn advance_clock(State(emulator): State<ZocdocEmulator>, body: Bytes) -> Response {
    let seconds = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|body| body.get("seconds").and_then(serde_json::Value::as_i64));
    let Some(seconds) = seconds else {
        return bad_request("expected {\"seconds\": <whole number>}".to_owned());
    };
    emulator.clock().advance(SignedDuration::from_secs(seconds));
    clock(State(emulator)).await
}

async fn expire_tokens(State(emulator): State<ZocdocEmulator>) -> StatusCode {
    emulator.expire_all_tokens();
    StatusCode::NO_CONTENT
}

async fn webhooks(State(emulator): State<ZocdocEmulator>) -> Response {
    Json(emulator.deliveries().deliveries()).into_response()
}

async fn state(State(emulator): State<ZocdocEmulator>) -> Response {
    let practice = emulator.practice();
    Json(json!({
        "environment": emulator.environment(),
        "practice_id": practice.practice_id,
        "provider_ids": practice.providers.iter().map(|p| &p.provider_id).collect::<Vec<_>>(),
        "location_ids": practice.locations.iter().map(|l| &l.location_id).collect::<Vec<_>>(),
        "visit_reason_ids": practice
            .visit_reasons
            .iter()
            .map(|r| &r.visit_reason_id)
            .collect::<Vec<_>>(),
        "appointments": emulator.appointment_count(),
        "clock": emulator.clock().now().to_string(),
    }))
    .into_response()
}
