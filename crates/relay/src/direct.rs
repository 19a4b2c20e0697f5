//! The direct listener: receives Zocdoc webhooks over HTTP on an address of the desk's own network
//! (LAN set-ups, development, tests) and hands each to the ingest function.
//!
//! `POST /webhooks/zocdoc` answers 200 only once the event is committed, 401 when it is not
//! authentic, and closes the connection without an answer when it could not be stored, so Zocdoc
//! retries. `GET /health` says the listener is up.

use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse as _, Response};
use axum::routing::{get, post};
use deskbridge_core::ingest::{IncomingWebhook, Ingest, Outcome};

pub use crate::body::MAX_BODY_BYTES;
use crate::body::{BodyError, read_body};
use crate::http_server::close_without_answer;

/// Where Zocdoc posts webhooks.
pub const WEBHOOK_PATH: &str = "/webhooks/zocdoc";

/// How long a client may take to send the body once its headers are in. Zocdoc gives up on an
/// answer after 5 s and retries, so a body still trickling in after this is dropped unanswered.
const BODY_TIMEOUT: Duration = Duration::from_secs(5);

/// The listener's routes.
pub fn router(ingest: Ingest) -> Router {
    Router::new()
        .route(WEBHOOK_PATH, post(receive))
        .route("/health", get(health))
        .with_state(ingest)
}

async fn health() -> Response {
    axum::Json(serde_json::json!({ "status": "ok" })).into_response()
}

async fn receive(State(ingest): State<Ingest>, headers: HeaderMap, body: Body) -> Response {
    let started = Instant::now();
    let body = match read_body(&headers, body, BODY_TIMEOUT, None).await {
        Ok(body) => body.bytes,
        Err(error) => {
            match &error {
                BodyError::TooLarge => tracing::warn!("webhook body too large"),
                _ => tracing::warn!(%error, "webhook body not received: closing unanswered"),
            }
            return error.answer();
        }
    };
    let size = body.len();
    let outcome = ingest.ingest(IncomingWebhook { headers, body }).await;
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    match outcome {
        Outcome::Failed(reason) => {
            tracing::error!(
                size,
                outcome = outcome.kind(),
                reason = reason.as_str(),
                latency_ms,
                "webhook not stored: closing unanswered so Zocdoc retries"
            );
        }
        Outcome::Rejected(reason) => {
            tracing::warn!(
                size,
                outcome = outcome.kind(),
                reason,
                latency_ms,
                "webhook rejected"
            );
        }
        _ => tracing::info!(
            size,
            outcome = outcome.kind(),
            latency_ms,
            "webhook received"
        ),
    }
    answer(outcome)
}

/// What the sender is told for an outcome.
pub fn answer(outcome: Outcome) -> Response {
    answer_status(outcome.http_status())
}

/// What the sender is told for a status: 200 `{"received":true}`, 401 (not authentic), or
/// `None`: the connection is closed without an answer so the sender retries.
pub fn answer_status(status: Option<u16>) -> Response {
    match status {
        Some(200) => (
            StatusCode::OK,
            axum::Json(serde_json::json!({ "received": true })),
        )
            .into_response(),
        Some(status) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::UNAUTHORIZED);
            (
                status,
                axum::Json(serde_json::json!({ "error": "the webhook signature is not valid" })),
            )
                .into_response()
        }
        None => close_without_answer(),
    }
}
