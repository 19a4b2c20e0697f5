//! The client: its builder, the token cache, the request loop with its retry rules, the
//! appointment operations and the directory reads.
//!
//! Rules of the request loop, per call:
//! - a 401 discards the token (only if no other call replaced it meanwhile), fetches a new one
//!   and retries once; a second 401 is [`Error::Unauthorized`]. Safe for writes too: a 401 means
//!   the request was refused, not performed;
//! - a 429 is retried up to [`RetryPolicy::rate_limit_retries`] times after `Retry-After` when
//!   present, else exponential backoff with jitter; reads and writes alike (a 429 means the
//!   request was refused, not performed: Zocdoc's rate limiter answers before the request is
//!   handled). A `Retry-After` above [`RetryPolicy::max_retry_after`] ends the call at once;
//! - a 5xx, a broken connection, a timeout or an unreadable body is retried up to
//!   [`RetryPolicy::server_retries`] times for reads. A write is never sent again: unless the
//!   request provably never left (connection refused), its outcome is unknown and the appointment
//!   is read back (see `settle`);
//! - other statuses map to their [`Error`] variant at once.
//!
//! Redirects are not followed (the bearer token goes only to the configured host).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::RETRY_AFTER;
use reqwest::{Method, Url};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::auth::{
    AccessToken, ClientId, ClientSecret, decode_token, reuse_until, token_request_body,
};
use super::decode::{
    DecodeError, decode_appointment, decode_appointment_page, decode_error_result,
    decode_participants, decode_provider_location, decode_rescheduled, decode_status_change,
    decode_visit_reason,
};
use super::directory::{ProviderLocation, VisitReason};
use super::environment::Environment;
use super::error::{AuthFailure, Error, Operation, ReadBack, RequestProblem, TransportKind};
use super::ids::{AppointmentId, ProviderLocationId, VisitReasonId};
use super::model::{
    Appointment, CancelReason, Listing, OffsetTime, Page, RescheduledAppointment, StatusChange,
    StatusUpdate, Written,
};
use super::participants::Participants;
use super::query::{ListQuery, MAX_PAGE, MAX_PAGE_SIZE, MAX_RESULTS_PER_QUERY};
use super::retry::{Clock, Jitter, RandomJitter, RetryPolicy, SystemClock, parse_retry_after};
use super::settle::{Intent, Verdict};

/// Largest answer body the client reads (after decompression); a page of 100 appointments is a
/// few hundred kilobytes.
const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// Why a client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A URL does not parse, or cannot carry a path.
    #[error("the {which} is not a valid http(s) URL")]
    InvalidUrl {
        /// `API base URL` or `token URL`.
        which: &'static str,
    },
    /// A URL uses plain http for a host that is not the machine itself.
    #[error("the {which} must use https (plain http only for a loopback address)")]
    InsecureUrl {
        /// `API base URL` or `token URL`.
        which: &'static str,
    },
    /// The HTTP client could not be set up (e.g. TLS).
    #[error("the HTTP client could not be set up")]
    Http(#[source] reqwest::Error),
}

/// Builds a [`Client`]: environment and credentials, optional URL overrides (tests, the
/// emulator), timeouts, retry policy, and the clock and jitter.
#[derive(Debug)]
pub struct ClientBuilder {
    environment: Environment,
    client_id: ClientId,
    client_secret: ClientSecret,
    api_base: Option<String>,
    token_url: Option<String>,
    timeout: Duration,
    connect_timeout: Duration,
    retry: RetryPolicy,
    clock: Arc<dyn Clock>,
    jitter: Arc<dyn Jitter>,
}

impl ClientBuilder {
    /// A builder for `environment` with its client credentials.
    pub fn new(environment: Environment, client_id: ClientId, client_secret: ClientSecret) -> Self {
        Self {
            environment,
            client_id,
            client_secret,
            api_base: None,
            token_url: None,
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            clock: Arc::new(SystemClock),
            jitter: Arc::new(RandomJitter),
        }
    }

    /// Sends API calls to `url` instead of the environment's host, and token requests to
    /// `<url>/oauth/token` (unless [`ClientBuilder::token_url`] says otherwise). For tests and
    /// the sandbox emulator; the audience stays the environment's.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.api_base = Some(url.into());
        self
    }

    /// Sends token requests to `url`.
    pub fn token_url(mut self, url: impl Into<String>) -> Self {
        self.token_url = Some(url.into());
        self
    }

    /// The limit on one request, from connecting to the end of the answer (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The limit on connecting (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The retry bounds and delays.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The clock (tests: one whose sleep returns at once).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The jitter source (tests: a fixed fraction).
    pub fn jitter(mut self, jitter: Arc<dyn Jitter>) -> Self {
        self.jitter = jitter;
        self
    }

    /// Checks the URLs and builds the client.
    pub fn build(self) -> Result<Client, BuildError> {
        let api_base = match &self.api_base {
            Some(url) => checked_url(url, "API base URL")?,
            None => checked_url(self.environment.api_base(), "API base URL")?,
        };
        let token_url = match (&self.token_url, &self.api_base) {
            (Some(url), _) => checked_url(url, "token URL")?,
            (None, Some(_)) => {
                let mut url = api_base.clone();
                push_segments(&mut url, &["oauth", "token"]);
                url
            }
            (None, None) => checked_url(self.environment.token_url(), "token URL")?,
        };
        let mut http = reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("deskbridge/", env!("CARGO_PKG_VERSION")));
        if is_loopback(&api_base) && is_loopback(&token_url) {
            // The emulator or a test server on this machine: never through an HTTP(S)_PROXY.
            http = http.no_proxy();
        }
        let http = http.build().map_err(BuildError::Http)?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                environment: self.environment,
                api_base,
                token_url,
                client_id: self.client_id,
                client_secret: self.client_secret,
                retry: self.retry,
                clock: self.clock,
                jitter: self.jitter,
                token: Mutex::new(None),
                tokens_issued: std::sync::atomic::AtomicU64::new(0),
            }),
        })
    }
}

/// A Zocdoc developer API client. Cheap to clone; clones share the token and the connection pool.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    environment: Environment,
    api_base: Url,
    token_url: Url,
    client_id: ClientId,
    client_secret: ClientSecret,
    retry: RetryPolicy,
    clock: Arc<dyn Clock>,
    jitter: Arc<dyn Jitter>,
    /// The current token; the lock is held while fetching, so concurrent calls share one fetch.
    token: Mutex<Option<CachedToken>>,
    /// Tokens fetched so far: each token's generation.
    tokens_issued: std::sync::atomic::AtomicU64,
}

struct CachedToken {
    token: Arc<AccessToken>,
    reuse_until: Instant,
    generation: u64,
}

/// A token handed to one request, with its generation so a 401 discards only that token.
struct Lease {
    token: Arc<AccessToken>,
    generation: u64,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("environment", &self.inner.environment)
            .field("api_base", &self.inner.api_base.as_str())
            .field("token_url", &self.inner.token_url.as_str())
            .finish_non_exhaustive()
    }
}

/// One API request to make.
struct Call<'a> {
    operation: Operation,
    method: Method,
    url: Url,
    body: Option<Value>,
    appointment_id: Option<&'a AppointmentId>,
}

/// A 2xx answer.
struct Answer {
    status: u16,
    body: Vec<u8>,
}

/// How a call failed.
enum Failure {
    /// The error is final: a read's, or a write's that provably did not happen.
    Final(Error),
    /// A write's outcome is unknown. `answered_ok`: Zocdoc did answer 2xx, but the body was
    /// lost or unreadable.
    Unknown { error: Error, answered_ok: bool },
}

/// Why an answer body could not be read.
enum BodyError {
    Transport(reqwest::Error),
    TooLarge,
}

/// The retry budget of one call.
struct Budget<'a> {
    policy: &'a RetryPolicy,
    attempts: u32,
    rate_limited: u32,
    failed: u32,
}

impl<'a> Budget<'a> {
    fn new(policy: &'a RetryPolicy) -> Self {
        Self {
            policy,
            attempts: 0,
            rate_limited: 0,
            failed: 0,
        }
    }

    /// The wait before retrying a 429, or `None` to give up.
    fn after_rate_limit(&mut self, retry_after: Option<Duration>, jitter: f64) -> Option<Duration> {
        if self.rate_limited >= self.policy.rate_limit_retries
            || retry_after.is_some_and(|delay| delay > self.policy.max_retry_after)
        {
            return None;
        }
        let delay = retry_after.unwrap_or_else(|| self.policy.backoff(self.rate_limited, jitter));
        self.rate_limited += 1;
        Some(delay)
    }

    /// The wait before retrying a failed read, or `None` to give up.
    fn after_failure(&mut self, jitter: f64) -> Option<Duration> {
        if self.failed >= self.policy.server_retries {
            return None;
        }
        let delay = self.policy.backoff(self.failed, jitter);
        self.failed += 1;
        Some(delay)
    }
}

impl Client {
    /// A builder for `environment` with its client credentials.
    pub fn builder(
        environment: Environment,
        client_id: ClientId,
        client_secret: ClientSecret,
    ) -> ClientBuilder {
        ClientBuilder::new(environment, client_id, client_secret)
    }

    /// The environment the client was built for.
    pub fn environment(&self) -> Environment {
        self.inner.environment
    }

    /// One page of `GET /v1/appointments`.
    pub async fn list_appointments(&self, query: &ListQuery) -> Result<Page, Error> {
        let operation = Operation::ListAppointments;
        let query_string = query
            .to_query_string()
            .map_err(|problem| Error::InvalidRequest { operation, problem })?;
        let mut url = self.endpoint(&["v1", "appointments"]);
        if !query_string.is_empty() {
            url.set_query(Some(&query_string));
        }
        let answer = self.read(Call::get(operation, url, None)).await?;
        let page = decoded(operation, &answer, decode_appointment_page)?;
        tracing::debug!(
            operation = %operation,
            request_id = page.request_id.as_ref().map(|id| id.as_str()),
            page = page.page,
            count = page.appointments.len(),
            total_count = page.total_count,
            "Zocdoc page read"
        );
        Ok(page)
    }

    /// Every page of one query, starting at its `page` (default 0) with its `page_size`
    /// (default 100), until the last page or Zocdoc's paging limit (page 10, 1,000
    /// appointments). [`Listing::capped`] says whether the limit cut the results short; it is
    /// also set when exactly 1,000 were reached, as Zocdoc's answer cannot tell that apart.
    /// An appointment seen on two pages (it changed while paging) is kept once, as last read.
    pub async fn list_all_appointments(&self, query: &ListQuery) -> Result<Listing, Error> {
        let page_size = query.page_size.unwrap_or(MAX_PAGE_SIZE);
        let mut page_number = query.page.unwrap_or(0);
        let mut appointments: Vec<Appointment> = Vec::new();
        let mut positions: HashMap<AppointmentId, usize> = HashMap::new();
        let mut listing = Listing {
            appointments: Vec::new(),
            total_count: 0,
            pages: 0,
            capped: false,
        };
        loop {
            let page = self
                .list_appointments(&ListQuery {
                    page: Some(page_number),
                    page_size: Some(page_size),
                    ..query.clone()
                })
                .await?;
            listing.pages += 1;
            listing.total_count = page.total_count;
            let returned = page.appointments.len();
            for appointment in page.appointments {
                match positions.get(&appointment.appointment_id) {
                    Some(&index) => appointments[index] = appointment,
                    None => {
                        positions.insert(appointment.appointment_id.clone(), appointments.len());
                        appointments.push(appointment);
                    }
                }
            }
            let reached = u64::from(page_number + 1) * u64::from(page_size);
            let more = page.next_url.is_some() || page.total_count > reached;
            if returned == 0 {
                break;
            }
            if reached >= MAX_RESULTS_PER_QUERY || (more && page_number >= MAX_PAGE) {
                listing.capped = true;
                break;
            }
            if !more {
                break;
            }
            page_number += 1;
        }
        listing.appointments = appointments;
        Ok(listing)
    }

    /// `GET /v1/appointments/{id}`.
    pub async fn appointment(&self, id: &AppointmentId) -> Result<Appointment, Error> {
        let operation = Operation::GetAppointment;
        check_id(operation, id)?;
        let url = self.endpoint(&["v1", "appointments", id.as_str()]);
        let answer = self.read(Call::get(operation, url, Some(id))).await?;
        decoded(operation, &answer, decode_appointment)
    }

    /// `GET /v1/appointments/{id}/participants`: the patient's details (PHI).
    pub async fn participants(&self, id: &AppointmentId) -> Result<Participants, Error> {
        let operation = Operation::GetParticipants;
        check_id(operation, id)?;
        let url = self.endpoint(&["v1", "appointments", id.as_str(), "participants"]);
        let answer = self.read(Call::get(operation, url, Some(id))).await?;
        decoded(operation, &answer, decode_participants)
    }

    /// `GET /v1/provider_locations/{id}`: the provider's and location's names behind an
    /// appointment's `provider_location_id`. Retried like every read.
    pub async fn provider_location(
        &self,
        id: &ProviderLocationId,
    ) -> Result<ProviderLocation, Error> {
        let operation = Operation::GetProviderLocation;
        check_directory_id(operation, "provider_location_id", id.as_str())?;
        let url = self.endpoint(&["v1", "provider_locations", id.as_str()]);
        let answer = self.read(Call::get(operation, url, None)).await?;
        decoded(operation, &answer, decode_provider_location)
    }

    /// `GET /v1/visit_reasons/{id}`: the name behind an appointment's `visit_reason_id`.
    /// Retried like every read.
    pub async fn visit_reason(&self, id: &VisitReasonId) -> Result<VisitReason, Error> {
        let operation = Operation::GetVisitReason;
        check_directory_id(operation, "visit_reason_id", id.as_str())?;
        let url = self.endpoint(&["v1", "visit_reasons", id.as_str()]);
        let answer = self.read(Call::get(operation, url, None)).await?;
        decoded(operation, &answer, decode_visit_reason)
    }

    /// `POST /v1/appointments/confirm`: confirms a `pending_booking` appointment.
    pub async fn confirm(&self, id: &AppointmentId) -> Result<Written<StatusChange>, Error> {
        let body = json!({ "appointment_id": id.as_str() });
        self.write(
            Intent::Confirm,
            id,
            Method::POST,
            "confirm",
            body,
            decode_status_change,
        )
        .await
    }

    /// `POST /v1/appointments/cancel` with the reason (a note only with an `other_*` reason).
    pub async fn cancel(
        &self,
        id: &AppointmentId,
        reason: &CancelReason,
    ) -> Result<Written<StatusChange>, Error> {
        let mut body = json!({
            "appointment_id": id.as_str(),
            "cancellation_reason_type": reason.reason_type.as_str(),
        });
        if let Some(note) = &reason.note {
            if note.trim().is_empty() || !reason.reason_type.allows_note() {
                return Err(Error::InvalidRequest {
                    operation: Operation::Cancel,
                    problem: RequestProblem::BadCancellationNote,
                });
            }
            body["cancellation_reason"] = Value::from(note.as_str());
        }
        self.write(
            Intent::Cancel,
            id,
            Method::POST,
            "cancel",
            body,
            decode_status_change,
        )
        .await
    }

    /// `POST /v1/appointments/reschedule` to `start_time` (a time from the provider's
    /// availability, with its offset). Zocdoc's answer carries no start time.
    pub async fn reschedule(
        &self,
        id: &AppointmentId,
        start_time: &OffsetTime,
    ) -> Result<Written<RescheduledAppointment>, Error> {
        let body = json!({
            "appointment_id": id.as_str(),
            "start_time": start_time.to_string(),
        });
        let intent = Intent::Reschedule(start_time.timestamp());
        self.write(
            intent,
            id,
            Method::POST,
            "reschedule",
            body,
            decode_rescheduled,
        )
        .await
    }

    /// `PUT /v1/appointments/update-status`: `arrived` or `no_show`.
    pub async fn update_status(
        &self,
        id: &AppointmentId,
        status: StatusUpdate,
    ) -> Result<Written<StatusChange>, Error> {
        let body = json!({
            "appointment_id": id.as_str(),
            "appointment_status": status.as_str(),
        });
        let intent = match status {
            StatusUpdate::Arrived => Intent::MarkArrived,
            StatusUpdate::NoShow => Intent::MarkNoShow,
        };
        self.write(
            intent,
            id,
            Method::PUT,
            "update-status",
            body,
            decode_status_change,
        )
        .await
    }

    /// `<api base>/<segments…>`, each segment percent-encoded.
    fn endpoint(&self, segments: &[&str]) -> Url {
        let mut url = self.inner.api_base.clone();
        push_segments(&mut url, segments);
        url
    }

    /// Makes a read call: every failure is final.
    async fn read(&self, call: Call<'_>) -> Result<Answer, Error> {
        self.execute(&call).await.map_err(|failure| match failure {
            Failure::Final(error) | Failure::Unknown { error, .. } => error,
        })
    }

    /// Makes a write call; when its outcome is unknown, reads the appointment back to settle it.
    async fn write<T>(
        &self,
        intent: Intent,
        id: &AppointmentId,
        method: Method,
        path: &str,
        body: Value,
        decode: fn(&[u8]) -> Result<T, DecodeError>,
    ) -> Result<Written<T>, Error> {
        let operation = intent.operation();
        check_id(operation, id)?;
        let call = Call {
            operation,
            method,
            url: self.endpoint(&["v1", "appointments", path]),
            body: Some(body),
            appointment_id: Some(id),
        };
        let (cause, answered_ok) = match self.execute(&call).await {
            Ok(answer) => match decode(&answer.body) {
                Ok(written) => {
                    tracing::info!(operation = %operation, appointment_id = %id, "Zocdoc write done");
                    return Ok(Written::Answered(written));
                }
                Err(problem) => (
                    Error::Decode {
                        operation,
                        status: answer.status,
                        problem,
                    },
                    true,
                ),
            },
            Err(Failure::Final(error)) => return Err(error),
            Err(Failure::Unknown { error, answered_ok }) => (error, answered_ok),
        };
        self.settle(intent, id, cause, answered_ok).await
    }

    /// Reads the appointment back after a write whose outcome is unknown, and judges it.
    async fn settle<T>(
        &self,
        intent: Intent,
        id: &AppointmentId,
        cause: Error,
        answered_ok: bool,
    ) -> Result<Written<T>, Error> {
        let operation = intent.operation();
        tracing::warn!(
            operation = %operation,
            appointment_id = %id,
            cause = %cause,
            "Zocdoc write outcome unknown; reading the appointment back"
        );
        let appointment = match self.appointment(id).await {
            Ok(appointment) => appointment,
            Err(read_error) => {
                return Err(Error::Ambiguous {
                    operation,
                    appointment_id: id.clone(),
                    read_back: ReadBack::Failed(Box::new(read_error)),
                    cause: Box::new(cause),
                });
            }
        };
        let verdict = intent.judge(&appointment);
        tracing::warn!(
            operation = %operation,
            appointment_id = %id,
            status = %appointment.appointment_status,
            verdict = ?verdict,
            "Zocdoc write settled by read-back"
        );
        match (verdict, answered_ok) {
            (Verdict::Applied, _) => Ok(Written::ReadBack(Box::new(appointment))),
            (Verdict::NotApplied, false) => Err(Error::NotApplied {
                operation,
                appointment_id: id.clone(),
                appointment: Box::new(appointment),
                cause: Box::new(cause),
            }),
            _ => Err(Error::Ambiguous {
                operation,
                appointment_id: id.clone(),
                read_back: ReadBack::Inconclusive(Box::new(appointment)),
                cause: Box::new(cause),
            }),
        }
    }

    /// The request loop (see the module docs).
    async fn execute(&self, call: &Call<'_>) -> Result<Answer, Failure> {
        let operation = call.operation;
        let write = operation.is_write();
        let mut budget = Budget::new(&self.inner.retry);
        let mut refreshed = false;
        loop {
            let lease = self.token(operation).await.map_err(Failure::Final)?;
            budget.attempts += 1;
            let mut request = self
                .inner
                .http
                .request(call.method.clone(), call.url.clone())
                .bearer_auth(lease.token.expose());
            if let Some(body) = &call.body {
                request = request.json(body);
            }
            let response = match request.send().await {
                Ok(response) => response,
                Err(error) => {
                    let kind = transport_kind(&error);
                    if !write && let Some(delay) = budget.after_failure(self.jitter()) {
                        self.pause(operation, "connection failed", budget.attempts, delay)
                            .await;
                        continue;
                    }
                    let error = Error::Transport {
                        operation,
                        kind,
                        attempts: budget.attempts,
                        source: error.without_url(),
                    };
                    return Err(if write && kind != TransportKind::Connect {
                        Failure::Unknown {
                            error,
                            answered_ok: false,
                        }
                    } else {
                        Failure::Final(error)
                    });
                }
            };
            let status = response.status().as_u16();
            let retry_after = self.retry_after(&response);
            let body = read_body(response).await;
            if (200..300).contains(&status) {
                let error = match body {
                    Ok(body) => return Ok(Answer { status, body }),
                    Err(BodyError::TooLarge) => Error::Decode {
                        operation,
                        status,
                        problem: DecodeError::TooLarge {
                            limit: MAX_BODY_BYTES,
                        },
                    },
                    Err(BodyError::Transport(error)) => {
                        if !write && let Some(delay) = budget.after_failure(self.jitter()) {
                            self.pause(operation, "answer broken off", budget.attempts, delay)
                                .await;
                            continue;
                        }
                        Error::Transport {
                            operation,
                            kind: transport_kind(&error),
                            attempts: budget.attempts,
                            source: error.without_url(),
                        }
                    }
                };
                return Err(if write {
                    Failure::Unknown {
                        error,
                        answered_ok: true,
                    }
                } else {
                    Failure::Final(error)
                });
            }
            let error_body = body.ok().as_deref().and_then(decode_error_result);
            tracing::debug!(
                operation = %operation,
                status,
                attempt = budget.attempts,
                appointment_id = call.appointment_id.map(|id| id.as_str()),
                request_id = error_body
                    .as_ref()
                    .and_then(|body| body.request_id.as_ref())
                    .map(|id| id.as_str()),
                "Zocdoc answered with an error status"
            );
            let appointment_id = call.appointment_id.cloned();
            let error = match status {
                401 if !refreshed => {
                    refreshed = true;
                    self.discard_token(lease.generation).await;
                    continue;
                }
                401 => Error::Unauthorized {
                    operation,
                    cause: AuthFailure::TokenRejected,
                },
                429 => match budget.after_rate_limit(retry_after, self.jitter()) {
                    Some(delay) => {
                        self.pause(operation, "rate limited", budget.attempts, delay)
                            .await;
                        continue;
                    }
                    None => Error::RateLimited {
                        operation,
                        attempts: budget.attempts,
                        retry_after,
                    },
                },
                500..=599 => {
                    if !write && let Some(delay) = budget.after_failure(self.jitter()) {
                        self.pause(operation, "server error", budget.attempts, delay)
                            .await;
                        continue;
                    }
                    let error = Error::Server {
                        operation,
                        status,
                        attempts: budget.attempts,
                        body: error_body,
                    };
                    if write {
                        return Err(Failure::Unknown {
                            error,
                            answered_ok: false,
                        });
                    }
                    error
                }
                400 => Error::BadRequest {
                    operation,
                    appointment_id,
                    body: error_body,
                },
                403 => Error::Forbidden {
                    operation,
                    body: error_body,
                },
                404 => Error::NotFound {
                    operation,
                    appointment_id,
                    body: error_body,
                },
                409 => Error::Conflict {
                    operation,
                    appointment_id,
                    body: error_body,
                },
                _ => Error::UnexpectedStatus {
                    operation,
                    status,
                    body: error_body,
                },
            };
            return Err(Failure::Final(error));
        }
    }

    /// The current token, fetching a new one when there is none or it is about to expire.
    async fn token(&self, operation: Operation) -> Result<Lease, Error> {
        let mut cache = self.inner.token.lock().await;
        if let Some(cached) = cache.as_ref()
            && self.inner.clock.now() < cached.reuse_until
        {
            return Ok(Lease {
                token: Arc::clone(&cached.token),
                generation: cached.generation,
            });
        }
        let obtained = self.inner.clock.now();
        let answer = self.fetch_token(operation).await?;
        let generation = self
            .inner
            .tokens_issued
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        let token = Arc::new(answer.access_token);
        *cache = Some(CachedToken {
            token: Arc::clone(&token),
            reuse_until: reuse_until(obtained, answer.expires_in),
            generation,
        });
        tracing::debug!(
            operation = %operation,
            generation,
            expires_in_s = answer.expires_in.as_secs(),
            "Zocdoc token obtained"
        );
        Ok(Lease { token, generation })
    }

    /// Forgets the token of `generation` after a 401, unless another call already replaced it.
    async fn discard_token(&self, generation: u64) {
        let mut cache = self.inner.token.lock().await;
        if cache
            .as_ref()
            .is_some_and(|cached| cached.generation == generation)
        {
            *cache = None;
            tracing::debug!(generation, "Zocdoc token refused (401); discarded");
        }
    }

    /// `POST <token URL>` with the client credentials. Retried like a read.
    async fn fetch_token(&self, operation: Operation) -> Result<super::auth::TokenAnswer, Error> {
        let inner = &self.inner;
        let body = token_request_body(
            &inner.client_id,
            &inner.client_secret,
            inner.environment.audience(),
        );
        let mut budget = Budget::new(&inner.retry);
        loop {
            budget.attempts += 1;
            let sent = inner
                .http
                .post(inner.token_url.clone())
                .json(&body)
                .send()
                .await;
            let response = match sent {
                Ok(response) => response,
                Err(error) => {
                    if let Some(delay) = budget.after_failure(self.jitter()) {
                        self.pause(
                            operation,
                            "token: connection failed",
                            budget.attempts,
                            delay,
                        )
                        .await;
                        continue;
                    }
                    return Err(Error::Transport {
                        operation,
                        kind: transport_kind(&error),
                        attempts: budget.attempts,
                        source: error.without_url(),
                    });
                }
            };
            let status = response.status().as_u16();
            let retry_after = self.retry_after(&response);
            let body = read_body(response).await;
            match status {
                200..=299 => {
                    let body = match body {
                        Ok(body) => body,
                        Err(BodyError::TooLarge) => {
                            return Err(Error::Decode {
                                operation,
                                status,
                                problem: DecodeError::TooLarge {
                                    limit: MAX_BODY_BYTES,
                                },
                            });
                        }
                        Err(BodyError::Transport(error)) => {
                            if let Some(delay) = budget.after_failure(self.jitter()) {
                                self.pause(operation, "token: broken off", budget.attempts, delay)
                                    .await;
                                continue;
                            }
                            return Err(Error::Transport {
                                operation,
                                kind: transport_kind(&error),
                                attempts: budget.attempts,
                                source: error.without_url(),
                            });
                        }
                    };
                    return decode_token(&body).map_err(|problem| Error::Decode {
                        operation,
                        status,
                        problem,
                    });
                }
                400 | 401 | 403 => {
                    return Err(Error::Unauthorized {
                        operation,
                        cause: AuthFailure::CredentialsRefused { status },
                    });
                }
                429 => match budget.after_rate_limit(retry_after, self.jitter()) {
                    Some(delay) => {
                        self.pause(operation, "token: rate limited", budget.attempts, delay)
                            .await;
                    }
                    None => {
                        return Err(Error::RateLimited {
                            operation,
                            attempts: budget.attempts,
                            retry_after,
                        });
                    }
                },
                500..=599 => match budget.after_failure(self.jitter()) {
                    Some(delay) => {
                        self.pause(operation, "token: server error", budget.attempts, delay)
                            .await;
                    }
                    None => {
                        return Err(Error::Server {
                            operation,
                            status,
                            attempts: budget.attempts,
                            body: None,
                        });
                    }
                },
                _ => {
                    return Err(Error::UnexpectedStatus {
                        operation,
                        status,
                        body: None,
                    });
                }
            }
        }
    }

    fn jitter(&self) -> f64 {
        self.inner.jitter.fraction()
    }

    fn retry_after(&self, response: &reqwest::Response) -> Option<Duration> {
        let value = response.headers().get(RETRY_AFTER)?.to_str().ok()?;
        parse_retry_after(value, self.inner.clock.now_utc())
    }

    async fn pause(&self, operation: Operation, reason: &str, attempt: u32, delay: Duration) {
        tracing::debug!(
            operation = %operation,
            reason,
            attempt,
            delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            "retrying a Zocdoc call"
        );
        self.inner.clock.sleep(delay).await;
    }
}

impl<'a> Call<'a> {
    fn get(operation: Operation, url: Url, appointment_id: Option<&'a AppointmentId>) -> Self {
        Self {
            operation,
            method: Method::GET,
            url,
            body: None,
            appointment_id,
        }
    }
}

/// Decodes a 2xx answer, mapping a problem to [`Error::Decode`].
fn decoded<T>(
    operation: Operation,
    answer: &Answer,
    decode: fn(&[u8]) -> Result<T, DecodeError>,
) -> Result<T, Error> {
    decode(&answer.body).map_err(|problem| Error::Decode {
        operation,
        status: answer.status,
        problem,
    })
}

/// Refuses an empty appointment id (it would turn `/v1/appointments/{id}` into the list).
fn check_id(operation: Operation, id: &AppointmentId) -> Result<(), Error> {
    if id.as_str().is_empty() {
        return Err(Error::InvalidRequest {
            operation,
            problem: RequestProblem::EmptyAppointmentId,
        });
    }
    Ok(())
}

/// Refuses an empty directory id (it would turn `/v1/visit_reasons/{id}` into the list).
fn check_directory_id(
    operation: Operation,
    parameter: &'static str,
    id: &str,
) -> Result<(), Error> {
    if id.is_empty() {
        return Err(Error::InvalidRequest {
            operation,
            problem: RequestProblem::EmptyDirectoryId { parameter },
        });
    }
    Ok(())
}

/// Reads an answer body, up to [`MAX_BODY_BYTES`].
async fn read_body(mut response: reqwest::Response) -> Result<Vec<u8>, BodyError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// How a request failed at the connection level.
fn transport_kind(error: &reqwest::Error) -> TransportKind {
    if error.is_timeout() {
        TransportKind::Timeout
    } else if error.is_connect() {
        TransportKind::Connect
    } else {
        TransportKind::Interrupted
    }
}

/// Parses a configured URL: http(s) with a host, https unless the host is a loopback address.
/// Any query or fragment is dropped.
fn checked_url(text: &str, which: &'static str) -> Result<Url, BuildError> {
    let mut url = Url::parse(text).map_err(|_| BuildError::InvalidUrl { which })?;
    if url.cannot_be_a_base() || url.host_str().is_none() {
        return Err(BuildError::InvalidUrl { which });
    }
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => return Err(BuildError::InsecureUrl { which }),
        _ => return Err(BuildError::InvalidUrl { which }),
    }
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
}

fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Appends path segments (percent-encoded) to a base URL, without doubling a trailing slash.
fn push_segments(url: &mut Url, segments: &[&str]) {
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(segments);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builder() -> ClientBuilder {
        Client::builder(
            Environment::Sandbox,
            ClientId::new("id"),
            ClientSecret::new("very-secret".to_owned()),
        )
    }

    #[test]
    fn environments_set_the_urls_and_overrides_replace_them() {
        let client = builder().build().unwrap();
        assert_eq!(
            client.inner.api_base.as_str(),
            "https://api-developer-sandbox.zocdoc.com/"
        );
        assert_eq!(
            client.inner.token_url.as_str(),
            "https://auth-api-developer-sandbox.zocdoc.com/oauth/token"
        );
        let client = builder()
            .base_url("http://127.0.0.1:4000/zd/")
            .build()
            .unwrap();
        assert_eq!(
            client.inner.token_url.as_str(),
            "http://127.0.0.1:4000/zd/oauth/token"
        );
        assert_eq!(
            client.endpoint(&["v1", "appointments", "a/b?c"]).as_str(),
            "http://127.0.0.1:4000/zd/v1/appointments/a%2Fb%3Fc"
        );
        let client = builder()
            .base_url("http://localhost:1")
            .token_url("https://auth.example/oauth/token")
            .build()
            .unwrap();
        assert_eq!(
            client.inner.token_url.as_str(),
            "https://auth.example/oauth/token"
        );
    }

    #[test]
    fn plain_http_is_refused_except_on_loopback() {
        assert!(matches!(
            builder().base_url("http://zocdoc.example").build(),
            Err(BuildError::InsecureUrl {
                which: "API base URL"
            })
        ));
        assert!(matches!(
            builder()
                .base_url("https://zocdoc.example")
                .token_url("http://auth.example/oauth/token")
                .build(),
            Err(BuildError::InsecureUrl { which: "token URL" })
        ));
        assert!(matches!(
            builder().base_url("mailto:x@example.com").build(),
            Err(BuildError::InvalidUrl { .. })
        ));
        assert!(matches!(
            builder().base_url("not a url").build(),
            Err(BuildError::InvalidUrl { .. })
        ));
        assert!(builder().base_url("http://[::1]:8080").build().is_ok());
    }

    #[test]
    fn client_debug_shows_no_secret() {
        let debug = format!("{:?} {:?}", builder(), builder().build().unwrap());
        assert!(!debug.contains("very-secret"), "{debug}");
        assert!(debug.contains("Sandbox"), "{debug}");
    }

    #[test]
    fn budget_bounds_each_kind_of_retry() {
        let policy = RetryPolicy {
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(40),
            rate_limit_retries: 2,
            server_retries: 1,
            max_retry_after: Duration::from_secs(5),
        };
        let mut budget = Budget::new(&policy);
        assert_eq!(
            budget.after_rate_limit(Some(Duration::from_secs(3)), 0.0),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            budget.after_rate_limit(None, 1.0),
            Some(Duration::from_millis(20))
        );
        assert_eq!(budget.after_rate_limit(None, 1.0), None);
        assert_eq!(budget.after_failure(0.0), Some(Duration::from_millis(5)));
        assert_eq!(budget.after_failure(0.0), None);
        let mut budget = Budget::new(&policy);
        assert_eq!(
            budget.after_rate_limit(Some(Duration::from_secs(6)), 0.0),
            None
        );
    }
}
