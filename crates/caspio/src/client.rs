//! The client: its builder, the token cache, the request loop with its retry rules, and the
//! table, field and record operations.
//!
//! Rules of the request loop, per call:
//! - a 401 discards the token (only if no other call replaced it meanwhile), fetches a new one
//!   and retries once; a second 401 is [`Error::Unauthorized`];
//! - a 429 is retried up to [`RetryPolicy::rate_limit_retries`] times, after `Retry-After` when
//!   present, else exponential backoff with jitter;
//! - a 5xx or a broken connection is retried up to [`RetryPolicy::server_retries`] times, writes
//!   included: a `PUT` by where-clause is idempotent, and a repeated `POST` into a table with a
//!   Unique column is refused with a 400 instead of making a second row (the push turns that
//!   into a read and an update). Do not insert into a table without a Unique column with this
//!   client if a duplicate row would matter;
//! - other statuses map to their [`Error`] variant at once.
//!
//! Redirects are not followed (the bearer token goes only to the configured host).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::header::RETRY_AFTER;
use reqwest::{Method, Url};
use tokio::sync::Mutex;

use crate::account::{
    AccessToken, Account, TokenAnswer, decode_token_answer, reuse_until, token_form,
};
use crate::decode::{
    DecodeError, decode_error_body, decode_fields, decode_records, decode_tables, decode_written,
};
use crate::error::{AuthFailure, Error, Operation, TransportKind};
use crate::model::{Field, MAX_PAGE_SIZE, MIN_PAGE_SIZE, Record, RecordQuery, Written};
use crate::names::TableName;
use crate::retry::{
    Budget, Clock, Jitter, RandomJitter, RetryPolicy, SystemClock, parse_retry_after,
};
use crate::where_clause::Where;

/// Largest answer body the client reads (a page of 1,000 rows is well below).
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// Why a client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The base URL does not parse, or cannot carry a path.
    #[error("the Caspio base URL is not a valid http(s) URL")]
    InvalidUrl,
    /// The base URL uses plain http for a host that is not the machine itself.
    #[error("the Caspio base URL must use https (plain http only for a loopback address)")]
    InsecureUrl,
    /// The HTTP client could not be set up (e.g. TLS).
    #[error("the HTTP client could not be set up")]
    Http(#[source] reqwest::Error),
}

/// Builds a [`Client`]: the account, an optional base URL override (tests, the emulator),
/// timeouts, retry policy, and the clock and jitter.
#[derive(Debug)]
pub struct ClientBuilder {
    account: Account,
    base_url: Option<String>,
    timeout: Duration,
    connect_timeout: Duration,
    retry: RetryPolicy,
    clock: Arc<dyn Clock>,
    jitter: Arc<dyn Jitter>,
}

impl ClientBuilder {
    /// A builder for `account`.
    pub fn new(account: Account) -> Self {
        Self {
            account,
            base_url: None,
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            clock: Arc::new(SystemClock),
            jitter: Arc::new(RandomJitter),
        }
    }

    /// Talks to `url` instead of `https://<integration host>` (tests and the emulator): tokens
    /// from `<url>/oauth/token`, data under `<url>/integrations/rest/v3`.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
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

    /// Checks the URL and builds the client.
    pub fn build(self) -> Result<Client, BuildError> {
        let base = match &self.base_url {
            Some(url) => checked_url(url)?,
            None => checked_url(&self.account.host.base_url())?,
        };
        let mut token_url = base.clone();
        push_segments(&mut token_url, &["oauth", "token"]);
        let mut api_base = base.clone();
        push_segments(&mut api_base, &["integrations", "rest", "v3"]);
        let mut http = reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("deskbridge/", env!("CARGO_PKG_VERSION")));
        if is_loopback(&base) {
            // The emulator or a test server on this machine: never through an HTTP(S)_PROXY.
            http = http.no_proxy();
        }
        let http = http.build().map_err(BuildError::Http)?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                account: self.account,
                api_base,
                token_url,
                retry: self.retry,
                clock: self.clock,
                jitter: self.jitter,
                token: Mutex::new(None),
                tokens_issued: AtomicU64::new(0),
            }),
        })
    }
}

/// A Caspio REST v3 client. Cheap to clone; clones share the token and the connection pool.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    account: Account,
    api_base: Url,
    token_url: Url,
    retry: RetryPolicy,
    clock: Arc<dyn Clock>,
    jitter: Arc<dyn Jitter>,
    /// The current token; the lock is held while fetching, so concurrent calls share one fetch.
    token: Mutex<Option<CachedToken>>,
    tokens_issued: AtomicU64,
}

struct CachedToken {
    token: Arc<AccessToken>,
    reuse_until: Instant,
    generation: u64,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("host", &self.inner.account.host)
            .field("api_base", &self.inner.api_base.as_str())
            .finish_non_exhaustive()
    }
}

/// One API request to make.
struct Call<'a> {
    operation: Operation,
    table: Option<&'a TableName>,
    method: Method,
    url: Url,
    body: Option<&'a Record>,
}

/// A 2xx answer.
struct Answer {
    status: u16,
    body: Vec<u8>,
}

impl Client {
    /// A builder for `account`.
    pub fn builder(account: Account) -> ClientBuilder {
        ClientBuilder::new(account)
    }

    /// `GET /tables`: the names of the account's tables.
    pub async fn tables(&self) -> Result<Vec<TableName>, Error> {
        let operation = Operation::ListTables;
        let url = self.endpoint(&["tables"]);
        let answer = self
            .execute(&Call::new(operation, None, Method::GET, url))
            .await?;
        decoded(operation, &answer, decode_tables)
    }

    /// `GET /tables/{table}/fields`: the table's columns, their types and flags.
    pub async fn fields(&self, table: &TableName) -> Result<Vec<Field>, Error> {
        let operation = Operation::GetFields;
        let url = self.endpoint(&["tables", table.as_str(), "fields"]);
        let answer = self
            .execute(&Call::new(operation, Some(table), Method::GET, url))
            .await?;
        decoded(operation, &answer, decode_fields)
    }

    /// `GET /tables/{table}/records` with `q.select`, `q.where` and paging. A page size is
    /// clamped to Caspio's 5..=1000 and a page number starts at 1.
    pub async fn records(
        &self,
        table: &TableName,
        query: &RecordQuery,
    ) -> Result<Vec<Record>, Error> {
        let operation = Operation::GetRecords;
        let mut url = self.endpoint(&["tables", table.as_str(), "records"]);
        {
            let mut pairs = url.query_pairs_mut();
            if !query.select.is_empty() {
                let select: Vec<&str> = query.select.iter().map(|c| c.as_str()).collect();
                pairs.append_pair("q.select", &select.join(","));
            }
            if let Some(filter) = &query.filter {
                pairs.append_pair("q.where", filter.as_str());
            }
            if let Some((number, size)) = query.page {
                pairs.append_pair("q.pageNumber", &number.max(1).to_string());
                pairs.append_pair(
                    "q.pageSize",
                    &size.clamp(MIN_PAGE_SIZE, MAX_PAGE_SIZE).to_string(),
                );
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        let answer = self
            .execute(&Call::new(operation, Some(table), Method::GET, url))
            .await?;
        let rows = decoded(operation, &answer, decode_records)?;
        tracing::debug!(table = %table, rows = rows.len(), "Caspio records read");
        Ok(rows)
    }

    /// `POST /tables/{table}/records?response=rows`: inserts one row; the answer holds it as
    /// written (generated columns included). See the module docs on retries.
    pub async fn insert(&self, table: &TableName, record: &Record) -> Result<Written, Error> {
        let operation = Operation::InsertRecord;
        let mut url = self.endpoint(&["tables", table.as_str(), "records"]);
        url.query_pairs_mut().append_pair("response", "rows");
        let mut call = Call::new(operation, Some(table), Method::POST, url);
        call.body = Some(record);
        let answer = self.execute(&call).await?;
        let written = decoded(operation, &answer, decode_written)?;
        tracing::debug!(table = %table, "Caspio row inserted");
        Ok(written)
    }

    /// `PUT /tables/{table}/records?q.where=…&response=rows`: sets `record`'s columns on every
    /// row matching `filter`.
    pub async fn update(
        &self,
        table: &TableName,
        filter: &Where,
        record: &Record,
    ) -> Result<Written, Error> {
        let operation = Operation::UpdateRecords;
        let mut url = self.endpoint(&["tables", table.as_str(), "records"]);
        url.query_pairs_mut()
            .append_pair("q.where", filter.as_str())
            .append_pair("response", "rows");
        let mut call = Call::new(operation, Some(table), Method::PUT, url);
        call.body = Some(record);
        let answer = self.execute(&call).await?;
        let written = decoded(operation, &answer, decode_written)?;
        tracing::debug!(table = %table, rows = written.records_affected, "Caspio rows updated");
        Ok(written)
    }

    /// `<api base>/<segments…>`, each segment percent-encoded.
    fn endpoint(&self, segments: &[&str]) -> Url {
        let mut url = self.inner.api_base.clone();
        push_segments(&mut url, segments);
        url
    }

    /// The request loop (see the module docs).
    async fn execute(&self, call: &Call<'_>) -> Result<Answer, Error> {
        let operation = call.operation;
        let mut budget = Budget::new(&self.inner.retry);
        let mut refreshed = false;
        loop {
            let (token, generation) = self.token().await?;
            budget.attempts += 1;
            let mut request = self
                .inner
                .http
                .request(call.method.clone(), call.url.clone())
                .bearer_auth(token.expose());
            if let Some(body) = call.body {
                request = request.json(body);
            }
            let response = match request.send().await {
                Ok(response) => response,
                Err(error) => {
                    if let Some(delay) = budget.after_failure(self.jitter()) {
                        self.pause(operation, "connection failed", budget.attempts, delay)
                            .await;
                        continue;
                    }
                    return Err(transport(operation, budget.attempts, error));
                }
            };
            let status = response.status().as_u16();
            let retry_after = retry_after(&response);
            let body = match read_body(response).await {
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
                        self.pause(operation, "answer broken off", budget.attempts, delay)
                            .await;
                        continue;
                    }
                    return Err(transport(operation, budget.attempts, error));
                }
            };
            if (200..300).contains(&status) {
                return Ok(Answer { status, body });
            }
            let error_body = decode_error_body(&body);
            tracing::debug!(
                operation = %operation,
                table = call.table.map(TableName::as_str),
                status,
                attempt = budget.attempts,
                code = error_body.as_ref().and_then(|b| b.code.as_deref()),
                request_id = error_body.as_ref().and_then(|b| b.request_id.as_deref()),
                "Caspio answered with an error status"
            );
            let table = call.table.cloned();
            return Err(match status {
                401 if !refreshed => {
                    refreshed = true;
                    self.discard_token(generation).await;
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
                500..=599 => match budget.after_failure(self.jitter()) {
                    Some(delay) => {
                        self.pause(operation, "server error", budget.attempts, delay)
                            .await;
                        continue;
                    }
                    None => Error::Server {
                        operation,
                        status,
                        attempts: budget.attempts,
                        body: error_body,
                    },
                },
                400 => Error::BadRequest {
                    operation,
                    table,
                    body: error_body,
                },
                403 => Error::Forbidden {
                    operation,
                    table,
                    body: error_body,
                },
                404 => Error::NotFound {
                    operation,
                    table,
                    body: error_body,
                },
                _ => Error::UnexpectedStatus {
                    operation,
                    status,
                    body: error_body,
                },
            });
        }
    }

    /// The current token and its generation, fetching a new one when there is none or it is
    /// about to expire.
    async fn token(&self) -> Result<(Arc<AccessToken>, u64), Error> {
        let mut cache = self.inner.token.lock().await;
        if let Some(cached) = cache.as_ref()
            && self.inner.clock.now() < cached.reuse_until
        {
            return Ok((Arc::clone(&cached.token), cached.generation));
        }
        let obtained = self.inner.clock.now();
        let answer = self.fetch_token().await?;
        let generation = self.inner.tokens_issued.fetch_add(1, Ordering::Relaxed) + 1;
        let token = Arc::new(answer.access_token);
        *cache = Some(CachedToken {
            token: Arc::clone(&token),
            reuse_until: reuse_until(obtained, answer.expires_in),
            generation,
        });
        tracing::debug!(
            generation,
            expires_in_s = answer.expires_in.as_secs(),
            "Caspio token obtained"
        );
        Ok((token, generation))
    }

    /// Forgets the token of `generation` after a 401, unless another call already replaced it.
    async fn discard_token(&self, generation: u64) {
        let mut cache = self.inner.token.lock().await;
        if cache
            .as_ref()
            .is_some_and(|cached| cached.generation == generation)
        {
            *cache = None;
            tracing::debug!(generation, "Caspio token refused (401); discarded");
        }
    }

    /// `POST <base>/oauth/token` with the client credentials as a form.
    async fn fetch_token(&self) -> Result<TokenAnswer, Error> {
        let operation = Operation::Token;
        let inner = &self.inner;
        let form = token_form(&inner.account.client_id, &inner.account.client_secret);
        let mut budget = Budget::new(&inner.retry);
        loop {
            budget.attempts += 1;
            let sent = inner
                .http
                .post(inner.token_url.clone())
                .form(&form)
                .send()
                .await;
            let response = match sent {
                Ok(response) => response,
                Err(error) => {
                    if let Some(delay) = budget.after_failure(self.jitter()) {
                        self.pause(operation, "connection failed", budget.attempts, delay)
                            .await;
                        continue;
                    }
                    return Err(transport(operation, budget.attempts, error));
                }
            };
            let status = response.status().as_u16();
            let retry_after = retry_after(&response);
            let body = match read_body(response).await {
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
                        self.pause(operation, "answer broken off", budget.attempts, delay)
                            .await;
                        continue;
                    }
                    return Err(transport(operation, budget.attempts, error));
                }
            };
            match status {
                200..=299 => {
                    return decode_token_answer(&body).map_err(|problem| Error::Decode {
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
                        self.pause(operation, "rate limited", budget.attempts, delay)
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
                        self.pause(operation, "server error", budget.attempts, delay)
                            .await;
                    }
                    None => {
                        return Err(Error::Server {
                            operation,
                            status,
                            attempts: budget.attempts,
                            body: decode_error_body(&body),
                        });
                    }
                },
                _ => {
                    return Err(Error::UnexpectedStatus {
                        operation,
                        status,
                        body: decode_error_body(&body),
                    });
                }
            }
        }
    }

    fn jitter(&self) -> f64 {
        self.inner.jitter.fraction()
    }

    async fn pause(&self, operation: Operation, reason: &str, attempt: u32, delay: Duration) {
        tracing::debug!(
            operation = %operation,
            reason,
            attempt,
            delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
            "retrying a Caspio call"
        );
        self.inner.clock.sleep(delay).await;
    }
}

impl<'a> Call<'a> {
    fn new(operation: Operation, table: Option<&'a TableName>, method: Method, url: Url) -> Self {
        Self {
            operation,
            table,
            method,
            url,
            body: None,
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

fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    parse_retry_after(response.headers().get(RETRY_AFTER)?.to_str().ok()?)
}

fn transport(operation: Operation, attempts: u32, error: reqwest::Error) -> Error {
    let kind = if error.is_timeout() {
        TransportKind::Timeout
    } else if error.is_connect() {
        TransportKind::Connect
    } else {
        TransportKind::Interrupted
    };
    Error::Transport {
        operation,
        kind,
        attempts,
        source: error.without_url(),
    }
}

/// Why an answer body could not be read.
enum BodyError {
    Transport(reqwest::Error),
    TooLarge,
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

/// Parses the base URL: http(s) with a host, https unless the host is a loopback address.
fn checked_url(text: &str) -> Result<Url, BuildError> {
    let mut url = Url::parse(text).map_err(|_| BuildError::InvalidUrl)?;
    if url.cannot_be_a_base() || url.host_str().is_none() {
        return Err(BuildError::InvalidUrl);
    }
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => return Err(BuildError::InsecureUrl),
        _ => return Err(BuildError::InvalidUrl),
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
    use crate::account::{ClientId, ClientSecret, IntegrationHost};

    fn account() -> Account {
        Account {
            host: IntegrationHost::parse("c1abc.caspio.com").unwrap(),
            client_id: ClientId::new("id"),
            client_secret: ClientSecret::new("very-secret".to_owned()),
        }
    }

    #[test]
    fn the_host_sets_the_urls_and_an_override_replaces_it() {
        let client = Client::builder(account()).build().unwrap();
        assert_eq!(
            client.inner.token_url.as_str(),
            "https://c1abc.caspio.com/oauth/token"
        );
        assert_eq!(
            client
                .endpoint(&["tables", "Appointments", "fields"])
                .as_str(),
            "https://c1abc.caspio.com/integrations/rest/v3/tables/Appointments/fields"
        );
        let client = Client::builder(account())
            .base_url("http://127.0.0.1:4000/")
            .build()
            .unwrap();
        assert_eq!(
            client.inner.token_url.as_str(),
            "http://127.0.0.1:4000/oauth/token"
        );
    }

    #[test]
    fn plain_http_is_refused_except_on_loopback() {
        assert!(matches!(
            Client::builder(account())
                .base_url("http://caspio.example")
                .build(),
            Err(BuildError::InsecureUrl)
        ));
        assert!(matches!(
            Client::builder(account()).base_url("not a url").build(),
            Err(BuildError::InvalidUrl)
        ));
    }

    #[test]
    fn client_debug_shows_no_secret() {
        let debug = format!(
            "{:?} {:?}",
            Client::builder(account()),
            Client::builder(account()).build().unwrap()
        );
        assert!(!debug.contains("very-secret"), "{debug}");
    }
}
