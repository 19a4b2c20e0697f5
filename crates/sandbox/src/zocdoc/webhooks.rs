//! Webhook payloads and their delivery with Zocdoc's rules: signed `v1:` HMAC-SHA256 over
//! `<timestamp>.<body>`; an answer is due within 5 s; retried with exponential backoff, for up to
//! 48 hours of emulated time, **only** when the connection cannot be made, no answer comes in
//! time, or the connection drops before an answer, and never because of a status code. Every
//! attempt is recorded so that tests can assert exactly that.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use deskbridge_zocdoc::webhook::{SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookKey, sign};
use http::{Request, Uri, header};
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use tokio::net::TcpStream;
use tokio::sync::watch;

use crate::clock::Clock;

use super::model::format_webhook_instant;

/// `AppointmentUpdateType` in the spec: the `appointment_update_type` of a webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateType {
    /// A new appointment.
    Created,
    /// Something about it changed (`changed_attributes` says what, for attribute changes).
    Updated,
    /// It was cancelled.
    Cancelled,
}

/// One entry of `changed_attributes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangedAttribute {
    /// E.g. `appointment.start_time`, `patient.uploaded_attachments`.
    pub attribute_path: String,
    /// Given for `patient.uploaded_attachments`, e.g. `id_card`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment_type: Option<String>,
}

impl ChangedAttribute {
    /// `appointment.start_time`: the appointment moved.
    pub fn start_time() -> ChangedAttribute {
        ChangedAttribute {
            attribute_path: "appointment.start_time".to_owned(),
            attachment_type: None,
        }
    }

    /// `patient.uploaded_attachments` with the document's type.
    pub fn uploaded_attachment(attachment_type: &str) -> ChangedAttribute {
        ChangedAttribute {
            attribute_path: "patient.uploaded_attachments".to_owned(),
            attachment_type: Some(attachment_type.to_owned()),
        }
    }
}

/// What one webhook says happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    /// The appointment.
    pub appointment_id: String,
    /// created, updated or cancelled.
    pub update_type: UpdateType,
    /// When the appointment changed (`appointment_updated_timestamp`).
    pub updated_at: Timestamp,
    /// What changed, for attribute changes; empty otherwise.
    pub changed_attributes: Vec<ChangedAttribute>,
}

#[derive(Serialize)]
struct Body<'a> {
    data: BodyData<'a>,
    event_type: &'static str,
    webhook_timestamp: String,
}

#[derive(Serialize)]
struct BodyData<'a> {
    appointment_data: AppointmentData<'a>,
    data_type: &'static str,
}

#[derive(Serialize)]
struct AppointmentData<'a> {
    appointment_id: &'a str,
    appointment_updated_timestamp: String,
    appointment_update_type: UpdateType,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    changed_attributes: &'a [ChangedAttribute],
}

impl WebhookEvent {
    /// The body Zocdoc sends (the shape of the guide's example, and of `WebhookMockResponse`),
    /// sent at `sent_at`.
    pub fn body(&self, sent_at: Timestamp) -> Vec<u8> {
        let body = Body {
            data: BodyData {
                appointment_data: AppointmentData {
                    appointment_id: &self.appointment_id,
                    appointment_updated_timestamp: format_webhook_instant(self.updated_at),
                    appointment_update_type: self.update_type,
                    changed_attributes: &self.changed_attributes,
                },
                data_type: "appointment_data",
            },
            event_type: "appointment_updated",
            webhook_timestamp: format_webhook_instant(sent_at),
        };
        serde_json::to_vec(&body).unwrap_or_default()
    }
}

/// Where webhooks go, and the key they are signed with.
#[derive(Debug, Clone)]
pub struct WebhookTarget {
    url: Uri,
    key: WebhookKey,
}

/// Why a webhook target was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// Not an absolute `http://host[:port]/path` URL.
    #[error("the webhook URL is not an absolute http:// URL")]
    InvalidUrl,
    /// `https://`: the emulator delivers over plain HTTP only.
    #[error("the emulator delivers webhooks over plain http:// only")]
    HttpsUnsupported,
}

impl WebhookTarget {
    /// A target from its URL (`http://` only) and key.
    pub fn new(url: &str, key: WebhookKey) -> Result<WebhookTarget, TargetError> {
        let url: Uri = url.parse().map_err(|_| TargetError::InvalidUrl)?;
        match url.scheme_str() {
            Some("http") => {}
            Some("https") => return Err(TargetError::HttpsUnsupported),
            _ => return Err(TargetError::InvalidUrl),
        }
        if url.host().is_none_or(str::is_empty) {
            return Err(TargetError::InvalidUrl);
        }
        Ok(WebhookTarget { url, key })
    }

    /// The URL.
    pub fn url(&self) -> String {
        self.url.to_string()
    }
}

/// Which clock the `webhook-timestamp` header reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SigningTime {
    /// The machine's wall clock, so that a receiver's ±5-minute freshness check (made against
    /// its own wall clock) passes even while emulated time runs fast or stands still.
    #[default]
    Wall,
    /// The emulator's clock (to produce stale or future-dated signatures on purpose).
    Emulated,
}

/// Zocdoc's delivery rules, with the knobs a test needs to compress them.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryPolicy {
    /// Real time a receiver has to answer (connect, send, response head). Zocdoc: 5 s.
    pub timeout: Duration,
    /// Emulated time before the first retry; each later wait doubles.
    pub first_retry_after: SignedDuration,
    /// No retry is scheduled later than this (emulated) after the first attempt. Zocdoc: 48 h.
    pub give_up_after: SignedDuration,
    /// Which clock signs.
    pub signing_time: SigningTime,
}

impl Default for DeliveryPolicy {
    fn default() -> Self {
        DeliveryPolicy {
            timeout: Duration::from_secs(5),
            first_retry_after: SignedDuration::from_secs(30),
            give_up_after: SignedDuration::from_hours(48),
            signing_time: SigningTime::Wall,
        }
    }
}

impl DeliveryPolicy {
    /// The wait (emulated) before attempt `attempt + 1`, after attempt `attempt` (1-based) failed.
    pub fn backoff(&self, attempt: u32) -> SignedDuration {
        let factor = 2_i32.saturating_pow(attempt.saturating_sub(1).min(30));
        self.first_retry_after
            .checked_mul(factor)
            .unwrap_or(SignedDuration::MAX)
    }
}

/// What one attempt came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AttemptOutcome {
    /// The receiver answered, with this status. Never retried, whatever the status.
    Answered {
        /// The HTTP status.
        status: u16,
    },
    /// No connection could be made. Retried.
    ConnectFailed,
    /// No answer within the timeout. Retried.
    TimedOut,
    /// The connection closed (or reset) before an answer. Retried.
    Dropped,
}

impl AttemptOutcome {
    /// Whether Zocdoc retries after this outcome.
    pub fn is_retried(self) -> bool {
        !matches!(self, AttemptOutcome::Answered { .. })
    }
}

/// One attempt to deliver one webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeliveryAttempt {
    /// 1 for the first attempt.
    pub attempt: u32,
    /// Emulated time the attempt started.
    pub at: Timestamp,
    /// The `webhook-timestamp` header sent.
    pub signed_at: i64,
    /// What came of it.
    pub outcome: AttemptOutcome,
    /// Emulated time of the next attempt, when one is scheduled.
    pub retry_at: Option<Timestamp>,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DeliveryState {
    /// Not answered yet; an attempt is running or a retry is scheduled.
    InFlight,
    /// The receiver answered (any status): delivery is over.
    Answered {
        /// The HTTP status.
        status: u16,
    },
    /// 48 hours passed without an answer.
    GaveUp,
}

/// One webhook and every attempt to deliver it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    /// Sequence number within the emulator, from 1.
    pub id: u64,
    /// The receiver.
    pub url: String,
    /// The appointment.
    pub appointment_id: String,
    /// created, updated or cancelled.
    pub update_type: UpdateType,
    /// The body, byte for byte as sent on every attempt.
    pub body: String,
    /// Where it stands.
    pub state: DeliveryState,
    /// Every attempt so far, in order.
    pub attempts: Vec<DeliveryAttempt>,
}

/// The record of every delivery (cheap to clone: clones share the record).
#[derive(Debug, Clone)]
pub struct DeliveryLog {
    inner: Arc<LogInner>,
}

#[derive(Debug)]
struct LogInner {
    deliveries: Mutex<Vec<Delivery>>,
    changes: watch::Sender<u64>,
}

impl Default for DeliveryLog {
    fn default() -> Self {
        let (changes, _) = watch::channel(0);
        DeliveryLog {
            inner: Arc::new(LogInner {
                deliveries: Mutex::new(Vec::new()),
                changes,
            }),
        }
    }
}

impl DeliveryLog {
    /// Every delivery so far, oldest first.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.lock().clone()
    }

    /// Waits (at most `real_timeout`) until `done` holds for the deliveries; returns whether it
    /// did.
    pub async fn wait_until(
        &self,
        real_timeout: Duration,
        mut done: impl FnMut(&[Delivery]) -> bool,
    ) -> bool {
        let mut changes = self.inner.changes.subscribe();
        let wait = async {
            loop {
                if done(&self.lock()) {
                    return;
                }
                if changes.changed().await.is_err() {
                    return;
                }
            }
        };
        tokio::time::timeout(real_timeout, wait).await.is_ok() && done(&self.lock())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Delivery>> {
        self.inner
            .deliveries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn update(&self, change: impl FnOnce(&mut Vec<Delivery>)) {
        change(&mut self.lock());
        self.inner
            .changes
            .send_modify(|generation| *generation += 1);
    }

    fn start(&self, url: String, event: &WebhookEvent, body: &[u8]) -> u64 {
        let mut id = 0;
        self.update(|deliveries| {
            id = u64::try_from(deliveries.len()).unwrap_or(u64::MAX) + 1;
            deliveries.push(Delivery {
                id,
                url,
                appointment_id: event.appointment_id.clone(),
                update_type: event.update_type,
                body: String::from_utf8_lossy(body).into_owned(),
                state: DeliveryState::InFlight,
                attempts: Vec::new(),
            });
        });
        id
    }

    fn record(&self, id: u64, attempt: DeliveryAttempt, state: DeliveryState) {
        self.update(|deliveries| {
            if let Some(delivery) = deliveries.iter_mut().find(|delivery| delivery.id == id) {
                delivery.attempts.push(attempt);
                delivery.state = state;
            }
        });
    }
}

/// Sends webhooks, each in its own task, and records them.
#[derive(Debug, Clone)]
pub(crate) struct Deliverer {
    pub(crate) policy: DeliveryPolicy,
    pub(crate) clock: Clock,
    pub(crate) log: DeliveryLog,
    /// Turns true when the emulator shuts down: pending retries are abandoned.
    pub(crate) shutdown: watch::Receiver<bool>,
}

impl Deliverer {
    /// Starts delivering `event` to `target`; returns at once with the delivery's id and the body
    /// that every attempt sends.
    pub(crate) fn deliver(&self, target: &WebhookTarget, event: &WebhookEvent) -> (u64, Bytes) {
        let sent_at = self.clock.now();
        let body = Bytes::from(event.body(sent_at));
        let id = self.log.start(target.url(), event, &body);
        tracing::info!(
            delivery = id,
            appointment_id = %event.appointment_id,
            update_type = ?event.update_type,
            "webhook queued"
        );
        let deliverer = self.clone();
        let target = target.clone();
        let mut shutdown = self.shutdown.clone();
        let sent = body.clone();
        tokio::spawn(async move {
            tokio::select! {
                () = deliverer.run(id, &target, body) => {}
                _ = shutdown.wait_for(|stopped| *stopped) => {}
            }
        });
        (id, sent)
    }

    async fn run(&self, id: u64, target: &WebhookTarget, body: Bytes) {
        let first_at = self.clock.now();
        let mut attempt = 1;
        loop {
            let at = self.clock.now();
            let signed_at = match self.policy.signing_time {
                SigningTime::Wall => Timestamp::now().as_second(),
                SigningTime::Emulated => at.as_second(),
            };
            let signature = sign(&target.key, signed_at, &body);
            let outcome = attempt_once(
                &target.url,
                signed_at,
                &signature,
                body.clone(),
                self.policy.timeout,
            )
            .await;
            let retry_at = outcome
                .is_retried()
                .then(|| at.checked_add(self.policy.backoff(attempt)).ok())
                .flatten()
                .filter(|next| *next - first_at <= self.policy.give_up_after);
            let state = match (outcome, retry_at) {
                (AttemptOutcome::Answered { status }, _) => DeliveryState::Answered { status },
                (_, Some(_)) => DeliveryState::InFlight,
                (_, None) => DeliveryState::GaveUp,
            };
            tracing::info!(delivery = id, attempt, ?outcome, "webhook attempt");
            self.log.record(
                id,
                DeliveryAttempt {
                    attempt,
                    at,
                    signed_at,
                    outcome,
                    retry_at,
                },
                state,
            );
            let Some(retry_at) = retry_at else { return };
            self.clock.sleep_until(retry_at).await;
            attempt += 1;
        }
    }
}

/// One POST of the body: connect, send, and wait for the response head, all within `timeout`.
async fn attempt_once(
    url: &Uri,
    signed_at: i64,
    signature: &str,
    body: Bytes,
    timeout: Duration,
) -> AttemptOutcome {
    let exchange = async {
        let host = url.host().unwrap_or_default();
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port = url.port_u16().unwrap_or(80);
        let stream = TcpStream::connect((host, port))
            .await
            .map_err(|_| AttemptOutcome::ConnectFailed)?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|_| AttemptOutcome::Dropped)?;
        let connection = AbortOnDrop(tokio::spawn(connection));
        let path = url
            .path_and_query()
            .map_or("/", |path_and_query| path_and_query.as_str());
        let authority = url.authority().map_or(host, |authority| authority.as_str());
        let request = Request::post(path)
            .header(header::HOST, authority)
            .header(header::CONTENT_TYPE, "application/json")
            .header(TIMESTAMP_HEADER, signed_at.to_string())
            .header(SIGNATURE_HEADER, signature)
            .body(Full::new(body))
            .map_err(|_| AttemptOutcome::ConnectFailed)?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|_| AttemptOutcome::Dropped)?;
        drop(connection);
        Ok(response.status().as_u16())
    };
    match tokio::time::timeout(timeout, exchange).await {
        Err(_) => AttemptOutcome::TimedOut,
        Ok(Err(outcome)) => outcome,
        Ok(Ok(status)) => AttemptOutcome::Answered { status },
    }
}

/// Ends the connection task when the attempt is over (answered, failed or timed out).
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_has_the_guides_shape() {
        let event = WebhookEvent {
            appointment_id: "a1".into(),
            update_type: UpdateType::Updated,
            updated_at: "2023-06-14T17:06:54.9430804Z".parse().unwrap(),
            changed_attributes: vec![
                ChangedAttribute::start_time(),
                ChangedAttribute::uploaded_attachment("id_card"),
            ],
        };
        let body = event.body("2023-06-14T17:08:54.9430839Z".parse().unwrap());
        assert_eq!(
            String::from_utf8(body).unwrap(),
            concat!(
                r#"{"data":{"appointment_data":{"appointment_id":"a1","#,
                r#""appointment_updated_timestamp":"2023-06-14T17:06:54.9430804Z","#,
                r#""appointment_update_type":"updated","changed_attributes":["#,
                r#"{"attribute_path":"appointment.start_time"},"#,
                r#"{"attribute_path":"patient.uploaded_attachments","attachment_type":"id_card"}]},"#,
                r#""data_type":"appointment_data"},"event_type":"appointment_updated","#,
                r#""webhook_timestamp":"2023-06-14T17:08:54.9430839Z"}"#
            )
        );
    }

    #[test]
    fn changed_attributes_are_left_out_when_empty() {
        let event = WebhookEvent {
            appointment_id: "a1".into(),
            update_type: UpdateType::Cancelled,
            updated_at: Timestamp::UNIX_EPOCH,
            changed_attributes: Vec::new(),
        };
        let body: serde_json::Value =
            serde_json::from_slice(&event.body(Timestamp::UNIX_EPOCH)).unwrap();
        assert!(
            body["data"]["appointment_data"]
                .get("changed_attributes")
                .is_none()
        );
    }

    #[test]
    fn backoff_doubles() {
        let policy = DeliveryPolicy::default();
        assert_eq!(policy.backoff(1), SignedDuration::from_secs(30));
        assert_eq!(policy.backoff(2), SignedDuration::from_secs(60));
        assert_eq!(policy.backoff(5), SignedDuration::from_secs(480));
        assert_eq!(policy.timeout, Duration::from_secs(5));
        assert_eq!(policy.give_up_after, SignedDuration::from_hours(48));
    }

    #[test]
    fn targets_are_plain_http() {
        let key = WebhookKey::from_bytes(vec![1, 2, 3]);
        assert!(WebhookTarget::new("http://127.0.0.1:9/hook", key.clone()).is_ok());
        assert_eq!(
            WebhookTarget::new("https://example.com/hook", key.clone()).unwrap_err(),
            TargetError::HttpsUnsupported
        );
        assert_eq!(
            WebhookTarget::new("not a url", key).unwrap_err(),
            TargetError::InvalidUrl
        );
    }
}
