//! Ingest: verify → parse → insert (dedupe) → commit → outcome, for one webhook request.
//!
//! Verification and parsing run in the caller's task. Storing goes to one writer thread that owns
//! the database connection and commits in groups: it takes the first queued request, drains what
//! else is queued (up to [`MAX_BATCH`]), writes them all in one transaction with a savepoint per
//! request (so a bad row fails only itself), commits (an fsync under `synchronous = FULL`), and
//! only then answers each request. Every acknowledging [`Outcome`] therefore follows the commit
//! that covers its own row, and throughput grows with the load instead of paying one fsync per
//! request.
//!
//! Without a webhook key nothing can be verified, and a 401 would lose an authentic event for
//! good, so such requests fail (the connection is closed and Zocdoc retries).

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use deskbridge_zocdoc::webhook::{
    self, Freshness, SIGNATURE_HEADER, TIMESTAMP_HEADER, Verified, WebhookKey,
};
use http::HeaderMap;
use http::header::{CONTENT_TYPE, USER_AGENT};
use jiff::Timestamp;
use rusqlite::{Connection, ErrorCode, TransactionBehavior};
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use crate::clock::Clock;
use crate::store::{self, Inserted, NewReceived, NewRejected, Store};

/// The most requests one transaction (one fsync) covers.
pub const MAX_BATCH: usize = 256;

/// How many requests may wait for the writer before senders wait for room.
const QUEUE_CAPACITY: usize = 1024;

/// The longest header value kept for a rejected request (they are unauthenticated input).
const MAX_REJECTED_HEADER_LEN: usize = 512;

/// One webhook request exactly as received: headers and raw body bytes.
#[derive(Clone)]
pub struct IncomingWebhook {
    /// The request headers.
    pub headers: HeaderMap,
    /// The raw request body, byte for byte.
    pub body: Bytes,
}

impl fmt::Debug for IncomingWebhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IncomingWebhook")
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// What became of one webhook request, and so what the sender is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Authentic and new: committed.
    Stored {
        /// The received row.
        id: i64,
    },
    /// Authentic, and the same event was already stored: counted on that row, committed.
    Duplicate {
        /// The row that holds the event.
        id: i64,
    },
    /// Authentic but its timestamp lies outside the tolerance: stored, flagged, committed.
    Stale {
        /// The received row.
        id: i64,
        /// Webhook timestamp minus the time of receipt, in seconds.
        skew_seconds: i64,
    },
    /// Not authentic (signature or timestamp header missing, malformed or wrong).
    Rejected(&'static str),
    /// Could not be stored: the sender gets no answer, so it retries.
    Failed(FailReason),
}

impl Outcome {
    /// True when the sender may be told the event is safe (2xx): stored, duplicate or stale.
    pub fn acknowledges(&self) -> bool {
        matches!(
            self,
            Outcome::Stored { .. } | Outcome::Duplicate { .. } | Outcome::Stale { .. }
        )
    }

    /// The HTTP status to answer with; `None` means close the connection without an answer.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Outcome::Stored { .. } | Outcome::Duplicate { .. } | Outcome::Stale { .. } => Some(200),
            Outcome::Rejected(_) => Some(401),
            Outcome::Failed(_) => None,
        }
    }

    /// A stable lowercase name for logs and the tunnel: `stored`, `duplicate`, `stale`,
    /// `rejected` or `failed`.
    pub fn kind(&self) -> &'static str {
        match self {
            Outcome::Stored { .. } => "stored",
            Outcome::Duplicate { .. } => "duplicate",
            Outcome::Stale { .. } => "stale",
            Outcome::Rejected(_) => "rejected",
            Outcome::Failed(_) => "failed",
        }
    }
}

/// What one handled request came to, for whoever follows the pipeline ([`Ingest::subscribe`]):
/// the processing worker, the board, the webhook inspector. Ids and types only, never a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The outcome, as the sender was told it.
    pub outcome: Outcome,
    /// When the request was received.
    pub received_at: Timestamp,
    /// The appointment the payload named, when it could be read.
    pub appointment_id: Option<String>,
    /// `appointment_update_type`, when the payload could be read.
    pub update_type: Option<String>,
}

/// How many notices a slow subscriber may fall behind before it misses some (it is told so).
const NOTICE_CAPACITY: usize = 1024;

/// Why an authentic (or unverifiable) request could not be stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum FailReason {
    /// The database reported an error.
    #[error("the database reported an error")]
    Database,
    /// The disk (or the database's size limit) is full.
    #[error("the disk is full")]
    DiskFull,
    /// The encrypted store is not open (its key could not be had).
    #[error("the encrypted store is not open")]
    StoreUnavailable,
    /// The writer has stopped (shut down, or it failed).
    #[error("the database writer has stopped")]
    WriterStopped,
    /// No webhook key is configured, so nothing can be verified.
    #[error("no webhook key is configured")]
    NoWebhookKey,
}

impl FailReason {
    /// A stable snake_case code for logs and the tunnel.
    pub fn as_str(&self) -> &'static str {
        match self {
            FailReason::Database => "database",
            FailReason::DiskFull => "disk_full",
            FailReason::StoreUnavailable => "store_unavailable",
            FailReason::WriterStopped => "writer_stopped",
            FailReason::NoWebhookKey => "no_webhook_key",
        }
    }

    fn from_sqlite(err: &rusqlite::Error) -> FailReason {
        match err.sqlite_error_code() {
            Some(ErrorCode::DiskFull) => FailReason::DiskFull,
            _ => FailReason::Database,
        }
    }
}

/// A handle on the ingest pipeline. Clones share one writer; when the last handle is dropped (or
/// [`Ingest::shutdown`] is called) the writer finishes what is queued and closes the database.
/// Dropping the last handle waits for that (milliseconds), so the database is always closed
/// before the process can exit.
#[derive(Debug, Clone)]
pub struct Ingest {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    key: Option<WebhookKey>,
    clock: Arc<dyn Clock>,
    /// Every handled request's [`Notice`], sent after its outcome is final.
    notices: broadcast::Sender<Notice>,
    /// `None` once shut down (or when there never was a store).
    queue: Mutex<Option<mpsc::Sender<Request>>>,
    /// What requests get when there is no queue.
    closed: FailReason,
    /// Resolves (its sender is dropped) when the writer thread has closed the database.
    writer_done: watch::Receiver<()>,
    /// The writer thread, joined when the last handle goes.
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Drop for Shared {
    /// Closes the queue, lets the writer finish what is queued, and waits until it has closed the
    /// database: a process must never exit (and tear down the crypto library SQLCipher uses)
    /// under a writer that is still encrypting pages.
    fn drop(&mut self) {
        drop(
            self.queue
                .get_mut()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
        let writer = self
            .writer
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(writer) = writer
            && writer.join().is_err()
        {
            tracing::error!("the database writer panicked");
        }
    }
}

/// A write for the writer thread, with where to send its result.
enum Request {
    Received {
        row: NewReceived,
        reply: oneshot::Sender<Result<Inserted, FailReason>>,
    },
    Rejected {
        row: NewRejected,
        reply: oneshot::Sender<Result<i64, FailReason>>,
    },
}

impl Ingest {
    /// Starts the writer thread, which takes over `store`'s connection. `key` is the shared
    /// webhook key (`None`: every request fails with [`FailReason::NoWebhookKey`]); `clock`
    /// gives each request's time of receipt.
    pub fn start(
        store: Store,
        key: Option<WebhookKey>,
        clock: Arc<dyn Clock>,
    ) -> std::io::Result<Ingest> {
        let (sender, receiver) = mpsc::channel(QUEUE_CAPACITY);
        let (done, writer_done) = watch::channel(());
        let writer = std::thread::Builder::new()
            .name(format!("deskbridge-writer-{}", store.environment()))
            .spawn(move || run_writer(store, receiver, done))?;
        Ok(Ingest {
            shared: Arc::new(Shared {
                key,
                clock,
                notices: broadcast::channel(NOTICE_CAPACITY).0,
                queue: Mutex::new(Some(sender)),
                closed: FailReason::WriterStopped,
                writer_done,
                writer: Mutex::new(Some(writer)),
            }),
        })
    }

    /// A pipeline without a store (it could not be opened): forged requests are still
    /// rejected, authentic ones fail with [`FailReason::StoreUnavailable`] so Zocdoc retries.
    pub fn without_store(key: Option<WebhookKey>, clock: Arc<dyn Clock>) -> Ingest {
        let (_, writer_done) = watch::channel(());
        Ingest {
            shared: Arc::new(Shared {
                key,
                clock,
                notices: broadcast::channel(NOTICE_CAPACITY).0,
                queue: Mutex::new(None),
                closed: FailReason::StoreUnavailable,
                writer_done,
                writer: Mutex::new(None),
            }),
        }
    }

    /// Verifies, parses and stores one request, and says what to answer. Acknowledging outcomes
    /// are only returned once the row is committed.
    pub async fn ingest(&self, webhook: IncomingWebhook) -> Outcome {
        let IncomingWebhook { headers, body } = webhook;
        let Some(key) = &self.shared.key else {
            tracing::error!("webhook not verified: no webhook key is configured");
            return Outcome::Failed(FailReason::NoWebhookKey);
        };
        let received_at = self.shared.clock.now();
        let notice = match webhook::verify(key, &headers, &body, received_at) {
            Ok(verified) => self.accept(verified, &headers, body, received_at).await,
            Err(err) => {
                let reason = err.reason_code();
                self.reject(reason, &headers, &body, received_at).await;
                Notice {
                    outcome: Outcome::Rejected(reason),
                    received_at,
                    appointment_id: None,
                    update_type: None,
                }
            }
        };
        let outcome = notice.outcome;
        // No subscriber is not an error: the notice is for whoever listens.
        let _ = self.shared.notices.send(notice);
        outcome
    }

    /// Follows every handled request from now on: one [`Notice`] each, after its outcome is
    /// final (for acknowledging outcomes: after the commit).
    pub fn subscribe(&self) -> broadcast::Receiver<Notice> {
        self.shared.notices.subscribe()
    }

    /// Stops taking requests, lets the writer finish what is queued, and waits until it has
    /// closed the database. Requests after this fail with [`FailReason::WriterStopped`].
    pub async fn shutdown(&self) {
        let queue = self
            .shared
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        drop(queue);
        let mut writer_done = self.shared.writer_done.clone();
        // Only ever resolves with an error: when the writer drops its end after closing.
        let _closed = writer_done.changed().await;
    }

    async fn accept(
        &self,
        verified: Verified,
        headers: &HeaderMap,
        body: Bytes,
        received_at: Timestamp,
    ) -> Notice {
        let (appointment_id, update_type, payload_error) = match webhook::parse_event(&body) {
            Ok(event) => (
                Some(event.appointment_id),
                Some(event.update_type.as_str().to_owned()),
                None,
            ),
            Err(err) => {
                tracing::warn!(
                    reason = err.reason_code(),
                    "authentic webhook with an unreadable payload: storing it as received"
                );
                (None, None, Some(err.reason_code()))
            }
        };
        let skew_seconds = match verified.freshness {
            Freshness::Fresh => None,
            Freshness::Stale { skew_seconds } => Some(skew_seconds),
        };
        let row = NewReceived {
            received_at,
            webhook_timestamp: verified.timestamp,
            skew_seconds,
            dedupe_key: webhook::dedupe_key(&body).into_string(),
            body_sha256: webhook::body_sha256_hex(&body),
            body,
            headers_json: capture_headers(headers, None),
            appointment_id,
            update_type,
            payload_error,
        };
        let (appointment_id, update_type) = (row.appointment_id.clone(), row.update_type.clone());
        let outcome = match self.send(|reply| Request::Received { row, reply }).await {
            Ok(Inserted::New(id)) => match skew_seconds {
                None => Outcome::Stored { id },
                Some(skew_seconds) => Outcome::Stale { id, skew_seconds },
            },
            Ok(Inserted::Duplicate(id)) => Outcome::Duplicate { id },
            Err(reason) => Outcome::Failed(reason),
        };
        match outcome {
            Outcome::Failed(reason) => tracing::error!(
                appointment_id = appointment_id.as_deref(),
                update_type = update_type.as_deref(),
                reason = reason.as_str(),
                "authentic webhook not stored: the sender will retry"
            ),
            _ => tracing::info!(
                appointment_id = appointment_id.as_deref(),
                update_type = update_type.as_deref(),
                outcome = outcome.kind(),
                ?skew_seconds,
                "webhook ingested"
            ),
        }
        Notice {
            outcome,
            received_at,
            appointment_id,
            update_type,
        }
    }

    async fn reject(
        &self,
        reason: &'static str,
        headers: &HeaderMap,
        body: &[u8],
        received_at: Timestamp,
    ) {
        let row = NewRejected {
            received_at,
            reason,
            headers_json: capture_headers(headers, Some(MAX_REJECTED_HEADER_LEN)),
            body_sha256: webhook::body_sha256_hex(body),
            body_len: body.len(),
        };
        match self.send(|reply| Request::Rejected { row, reply }).await {
            Ok(id) => tracing::warn!(id, reason, "webhook rejected"),
            Err(failure) => tracing::error!(
                reason,
                failure = failure.as_str(),
                "webhook rejected; recording the rejection failed"
            ),
        }
    }

    /// Queues a write and waits for its committed result.
    async fn send<T>(
        &self,
        request: impl FnOnce(oneshot::Sender<Result<T, FailReason>>) -> Request,
    ) -> Result<T, FailReason> {
        let queue = self
            .shared
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let Some(queue) = queue else {
            return Err(self.shared.closed);
        };
        let (reply, answer) = oneshot::channel();
        queue
            .send(request(reply))
            .await
            .map_err(|_| FailReason::WriterStopped)?;
        // Hold no sender while waiting, so a shutdown is not kept waiting for this request.
        drop(queue);
        answer.await.unwrap_or(Err(FailReason::WriterStopped))
    }
}

/// The signature-relevant headers as JSON: header name → list of values (non-UTF-8 bytes
/// replaced), each cut to `max_len` bytes when given.
fn capture_headers(headers: &HeaderMap, max_len: Option<usize>) -> String {
    let mut captured = serde_json::Map::new();
    for name in [
        TIMESTAMP_HEADER,
        SIGNATURE_HEADER,
        CONTENT_TYPE.as_str(),
        USER_AGENT.as_str(),
    ] {
        let values: Vec<serde_json::Value> = headers
            .get_all(name)
            .iter()
            .map(|value| {
                let bytes = value.as_bytes();
                let bytes = match max_len {
                    Some(max) => &bytes[..bytes.len().min(max)],
                    None => bytes,
                };
                serde_json::Value::String(String::from_utf8_lossy(bytes).into_owned())
            })
            .collect();
        if !values.is_empty() {
            captured.insert(name.to_owned(), serde_json::Value::Array(values));
        }
    }
    serde_json::Value::Object(captured).to_string()
}

/// The writer thread: group commits until every sender is gone, then closes the database.
fn run_writer(mut store: Store, mut queue: mpsc::Receiver<Request>, done: watch::Sender<()>) {
    let environment = store.environment();
    tracing::debug!(%environment, "database writer started");
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = queue.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(request) => batch.push(request),
                Err(_) => break,
            }
        }
        write_batch(store.conn_mut(), &mut batch);
    }
    drop(store);
    tracing::debug!(%environment, "database writer stopped and closed the database");
    drop(done);
}

/// A request's result, held until the batch's commit decides it.
enum Pending {
    Received(
        oneshot::Sender<Result<Inserted, FailReason>>,
        Result<Inserted, FailReason>,
    ),
    Rejected(
        oneshot::Sender<Result<i64, FailReason>>,
        Result<i64, FailReason>,
    ),
}

impl Pending {
    /// A request that fails without being written.
    fn failed(request: Request, reason: FailReason) -> Pending {
        match request {
            Request::Received { reply, .. } => Pending::Received(reply, Err(reason)),
            Request::Rejected { reply, .. } => Pending::Rejected(reply, Err(reason)),
        }
    }

    /// Why the write failed, if it did.
    fn failure(&self) -> Option<FailReason> {
        match self {
            Pending::Received(_, Err(reason)) | Pending::Rejected(_, Err(reason)) => Some(*reason),
            _ => None,
        }
    }

    /// Turns a result that was not made durable into a failure.
    fn fail(&mut self, reason: FailReason) {
        match self {
            Pending::Received(_, result @ Ok(_)) => *result = Err(reason),
            Pending::Rejected(_, result @ Ok(_)) => *result = Err(reason),
            _ => {}
        }
    }

    fn answer(self) {
        // A caller that stopped waiting (its connection closed) is no error: its row stays, and
        // Zocdoc's retry will be counted as a duplicate.
        match self {
            Pending::Received(reply, result) => drop(reply.send(result)),
            Pending::Rejected(reply, result) => drop(reply.send(result)),
        }
    }
}

/// Writes a batch in one transaction, a savepoint per request, commits, then answers each.
fn write_batch(conn: &mut Connection, batch: &mut Vec<Request>) {
    let mut tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(err) => {
            let reason = log_write_error("begin", &err);
            for request in batch.drain(..) {
                Pending::failed(request, reason).answer();
            }
            return;
        }
    };
    let mut pending = Vec::with_capacity(batch.len());
    let mut aborted = None;
    for request in batch.drain(..) {
        let result = match aborted {
            Some(reason) => Pending::failed(request, reason),
            None => apply(&mut tx, request),
        };
        // After some errors (disk full, I/O) SQLite rolls the whole transaction back: then
        // nothing more in this batch can be made durable by it.
        if aborted.is_none()
            && let Some(reason) = result.failure()
            && tx.is_autocommit()
        {
            aborted = Some(reason);
        }
        pending.push(result);
    }
    let committed = match aborted {
        Some(reason) => Err(reason),
        None => tx.commit().map_err(|err| log_write_error("commit", &err)),
    };
    for mut result in pending {
        if let Err(reason) = committed {
            result.fail(reason);
        }
        result.answer();
    }
}

/// Writes one request inside its own savepoint: on error only its own changes are undone.
fn apply(tx: &mut rusqlite::Transaction<'_>, request: Request) -> Pending {
    let savepoint = match tx.savepoint() {
        Ok(savepoint) => savepoint,
        Err(err) => return Pending::failed(request, log_write_error("savepoint", &err)),
    };
    let mut pending = match request {
        Request::Received { row, reply } => Pending::Received(
            reply,
            store::insert_received(&savepoint, &row)
                .map_err(|err| log_write_error("received_webhooks", &err)),
        ),
        Request::Rejected { row, reply } => Pending::Rejected(
            reply,
            store::insert_rejected(&savepoint, &row)
                .map_err(|err| log_write_error("rejected_webhooks", &err)),
        ),
    };
    // On failure the savepoint is dropped, which rolls back to it.
    if pending.failure().is_none()
        && let Err(err) = savepoint.commit()
    {
        pending.fail(log_write_error("savepoint", &err));
    }
    pending
}

/// Logs a failed write (SQLite's messages name tables and constraints, never values) and
/// classifies it.
fn log_write_error(step: &'static str, err: &rusqlite::Error) -> FailReason {
    let reason = FailReason::from_sqlite(err);
    tracing::error!(step, reason = reason.as_str(), error = %err, "database write failed");
    reason
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::path::{Path, PathBuf};
    use std::time::Duration;

    use deskbridge_zocdoc::webhook::sign;
    use jiff::SignedDuration;
    use rusqlite::OptionalExtension;
    use tempfile::TempDir;

    use super::*;
    use crate::clock::ManualClock;
    use crate::environment::Environment;
    use crate::random::PatternRandom;
    use crate::secrets::MemorySecrets;

    const NOW: i64 = 1_700_000_000;

    fn now() -> Timestamp {
        Timestamp::from_second(NOW).unwrap()
    }

    fn body(appointment_id: &str, update_type: &str) -> Vec<u8> {
        format!(
            r#"{{"data":{{"appointment_data":{{"appointment_id":"{appointment_id}","appointment_updated_timestamp":"2023-06-14T17:06:54.9430804Z","appointment_update_type":"{update_type}"}},"data_type":"appointment_data"}},"event_type":"appointment_updated","webhook_timestamp":"2023-06-14T17:08:54.9430839Z"}}"#
        )
        .into_bytes()
    }

    fn headers(timestamp: Option<&str>, signature: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(timestamp) = timestamp {
            headers.insert(TIMESTAMP_HEADER, timestamp.parse().unwrap());
        }
        if let Some(signature) = signature {
            headers.insert(SIGNATURE_HEADER, signature.parse().unwrap());
        }
        headers.insert(CONTENT_TYPE, "application/json".parse().unwrap());
        headers.insert(USER_AGENT, "Zocdoc-Webhooks/1.0".parse().unwrap());
        headers
    }

    fn signed(key: &WebhookKey, timestamp: i64, body: Vec<u8>) -> IncomingWebhook {
        let signature = sign(key, timestamp, &body);
        IncomingWebhook {
            headers: headers(Some(&timestamp.to_string()), Some(&signature)),
            body: Bytes::from(body),
        }
    }

    struct Fixture {
        dir: TempDir,
        secrets: MemorySecrets,
        clock: Arc<ManualClock>,
        key: WebhookKey,
        ingest: Ingest,
    }

    impl Fixture {
        fn new() -> Fixture {
            Fixture::with(|_| {}, true)
        }

        /// `prepare` may sabotage the writer's connection before the writer takes it.
        fn with(prepare: impl FnOnce(&Store), with_key: bool) -> Fixture {
            let dir = TempDir::new().unwrap();
            let secrets = MemorySecrets::new();
            let store = Store::open(
                dir.path(),
                Environment::Sandbox,
                &secrets,
                &PatternRandom(3),
            )
            .unwrap();
            prepare(&store);
            let clock = Arc::new(ManualClock::new(now()));
            let key = WebhookKey::from_bytes(b"the shared webhook key".to_vec());
            let ingest =
                Ingest::start(store, with_key.then(|| key.clone()), clock.clone()).unwrap();
            Fixture {
                dir,
                secrets,
                clock,
                key,
                ingest,
            }
        }

        /// A brand-new connection, independent of the writer's.
        fn open(&self) -> Store {
            Store::open(
                self.dir.path(),
                Environment::Sandbox,
                &self.secrets,
                &PatternRandom(3),
            )
            .unwrap()
        }

        fn webhook(&self, appointment_id: &str, update_type: &str) -> IncomingWebhook {
            signed(&self.key, NOW, body(appointment_id, update_type))
        }
    }

    /// verdict, body, headers_json, appointment_id, skew_seconds, duplicates, payload_error
    type Row = (
        String,
        Vec<u8>,
        String,
        Option<String>,
        Option<i64>,
        i64,
        Option<String>,
    );

    fn received_row(store: &Store, id: i64) -> Option<Row> {
        store
            .conn()
            .query_row(
                "SELECT verdict, body, headers_json, appointment_id, skew_seconds, duplicates,
                        payload_error
                 FROM received_webhooks WHERE id = ?1",
                [id],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                    ))
                },
            )
            .optional()
            .unwrap()
    }

    fn count(store: &Store, table: &str) -> i64 {
        store
            .conn()
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn outcomes_map_to_answers() {
        let cases = [
            (Outcome::Stored { id: 1 }, true, Some(200), "stored"),
            (Outcome::Duplicate { id: 1 }, true, Some(200), "duplicate"),
            (
                Outcome::Stale {
                    id: 1,
                    skew_seconds: -400,
                },
                true,
                Some(200),
                "stale",
            ),
            (
                Outcome::Rejected("no_matching_signature"),
                false,
                Some(401),
                "rejected",
            ),
            (Outcome::Failed(FailReason::DiskFull), false, None, "failed"),
            (
                Outcome::Failed(FailReason::NoWebhookKey),
                false,
                None,
                "failed",
            ),
        ];
        for (outcome, acknowledges, status, kind) in cases {
            assert_eq!(outcome.acknowledges(), acknowledges, "{outcome:?}");
            assert_eq!(outcome.http_status(), status, "{outcome:?}");
            assert_eq!(outcome.kind(), kind);
        }
        let codes: HashSet<_> = [
            FailReason::Database,
            FailReason::DiskFull,
            FailReason::StoreUnavailable,
            FailReason::WriterStopped,
            FailReason::NoWebhookKey,
        ]
        .iter()
        .map(FailReason::as_str)
        .collect();
        assert_eq!(codes.len(), 5);
    }

    #[test]
    fn handles_can_be_shared_across_tasks_and_threads() {
        fn shareable<T: Clone + Send + Sync + 'static>() {}
        shareable::<Ingest>();
        shareable::<Outcome>();
    }

    #[test]
    fn incoming_debug_shows_no_body_or_signature() {
        let key = WebhookKey::from_bytes(b"k".to_vec());
        let incoming = signed(&key, NOW, body("appt-secretish", "created"));
        let shown = format!("{incoming:?}");
        assert!(!shown.contains("appt-secretish"), "{shown}");
        assert!(!shown.contains(&sign(&key, NOW, &body("appt-secretish", "created"))));
        assert!(shown.contains("body_len"));
    }

    #[tokio::test]
    async fn an_authentic_new_webhook_is_stored_and_committed() {
        let fx = Fixture::new();
        let incoming = fx.webhook("appt-1", "created");
        let raw = incoming.body.clone();
        let outcome = fx.ingest.ingest(incoming).await;
        let Outcome::Stored { id } = outcome else {
            panic!("{outcome:?}")
        };
        assert_eq!(outcome.http_status(), Some(200));

        let reader = fx.open();
        let (verdict, body, headers_json, appointment_id, skew, duplicates, payload_error) =
            received_row(&reader, id).expect("committed row visible to a new connection");
        assert_eq!(verdict, "stored");
        assert_eq!(body, raw, "the raw body, byte for byte");
        assert_eq!(appointment_id.as_deref(), Some("appt-1"));
        assert_eq!(skew, None);
        assert_eq!(duplicates, 0);
        assert_eq!(payload_error, None);
        let headers: serde_json::Value = serde_json::from_str(&headers_json).unwrap();
        assert_eq!(headers["webhook-timestamp"][0], NOW.to_string());
        assert!(
            headers["webhook-signature"][0]
                .as_str()
                .unwrap()
                .starts_with("v1:")
        );
        assert_eq!(headers["content-type"][0], "application/json");
        assert_eq!(headers["user-agent"][0], "Zocdoc-Webhooks/1.0");

        let listed = reader.list_received(10).unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].id, id);
        assert_eq!(listed[0].received_at, now());
        assert_eq!(listed[0].update_type.as_deref(), Some("created"));
    }

    #[tokio::test]
    async fn subscribers_get_a_notice_per_request_after_its_outcome() {
        let fx = Fixture::new();
        let mut notices = fx.ingest.subscribe();
        let stored = fx.ingest.ingest(fx.webhook("appt-1", "created")).await;
        let duplicate = fx.ingest.ingest(fx.webhook("appt-1", "created")).await;
        let mut forged = fx.webhook("appt-2", "cancelled");
        forged.body = Bytes::from(body("appt-3", "cancelled"));
        let rejected = fx.ingest.ingest(forged).await;
        let seen: Vec<Notice> = (0..3).map(|_| notices.try_recv().unwrap()).collect();
        assert_eq!(
            seen.iter().map(|notice| notice.outcome).collect::<Vec<_>>(),
            [stored, duplicate, rejected]
        );
        assert!(matches!(rejected, Outcome::Rejected(_)));
        assert_eq!(seen[0].appointment_id.as_deref(), Some("appt-1"));
        assert_eq!(seen[0].update_type.as_deref(), Some("created"));
        assert_eq!(seen[0].received_at, now());
        assert_eq!(
            seen[2].appointment_id, None,
            "a forged request names nothing"
        );
        assert!(notices.try_recv().is_err());
    }

    #[tokio::test]
    async fn a_repeated_webhook_is_a_duplicate_counted_on_the_first_row() {
        let fx = Fixture::new();
        let first = fx.ingest.ingest(fx.webhook("appt-1", "updated")).await;
        let Outcome::Stored { id } = first else {
            panic!("{first:?}")
        };
        fx.clock.advance(SignedDuration::from_secs(30));
        // Zocdoc's retry: same payload, signed again at a later time.
        let retry = signed(&fx.key, NOW + 30, body("appt-1", "updated"));
        assert_eq!(fx.ingest.ingest(retry).await, Outcome::Duplicate { id });
        assert_eq!(
            fx.ingest.ingest(fx.webhook("appt-1", "updated")).await,
            Outcome::Duplicate { id }
        );

        let reader = fx.open();
        assert_eq!(count(&reader, "received_webhooks"), 1);
        assert_eq!(received_row(&reader, id).unwrap().5, 2);
        let listed = reader.list_received(10).unwrap();
        assert_eq!(listed[0].duplicates, 2);
        assert_eq!(
            listed[0].last_duplicate_at.map(|t| t.as_second()),
            Some(NOW + 30)
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_identical_webhooks_at_once_are_stored_once() {
        let fx = Fixture::new();
        let (a, b) = tokio::join!(
            fx.ingest.ingest(fx.webhook("appt-7", "cancelled")),
            fx.ingest.ingest(fx.webhook("appt-7", "cancelled")),
        );
        let mut outcomes = [a, b];
        outcomes.sort_by_key(|o| o.kind());
        let [Outcome::Duplicate { id: dup }, Outcome::Stored { id }] = outcomes else {
            panic!("{outcomes:?}")
        };
        assert_eq!(dup, id);
        assert_eq!(count(&fx.open(), "received_webhooks"), 1);
    }

    fn new_received(dedupe_key: &str, headers_json: &str) -> NewReceived {
        NewReceived {
            received_at: now(),
            webhook_timestamp: NOW,
            skew_seconds: None,
            dedupe_key: dedupe_key.to_owned(),
            body: Bytes::from(body("appt-9", "created")),
            body_sha256: "00".to_owned(),
            headers_json: headers_json.to_owned(),
            appointment_id: Some("appt-9".to_owned()),
            update_type: Some("created".to_owned()),
            payload_error: None,
        }
    }

    #[test]
    fn one_batch_dedupes_within_itself_and_a_bad_row_fails_only_itself() {
        let dir = TempDir::new().unwrap();
        let secrets = MemorySecrets::new();
        let mut store = Store::open(
            dir.path(),
            Environment::Sandbox,
            &secrets,
            &PatternRandom(1),
        )
        .unwrap();
        let mut answers = Vec::new();
        let mut batch = Vec::new();
        // Bad (CHECK fails: headers not JSON), then good with the same key, then the same again,
        // then a rejected one.
        for row in [
            new_received("k", "not json"),
            new_received("k", "{}"),
            new_received("k", "{}"),
        ] {
            let (reply, answer) = oneshot::channel();
            batch.push(Request::Received { row, reply });
            answers.push(answer);
        }
        let (reply, mut rejected_answer) = oneshot::channel();
        batch.push(Request::Rejected {
            row: NewRejected {
                received_at: now(),
                reason: "missing_signature",
                headers_json: "{}".to_owned(),
                body_sha256: "00".to_owned(),
                body_len: 2,
            },
            reply,
        });

        write_batch(store.conn_mut(), &mut batch);
        assert!(batch.is_empty());
        let results: Vec<_> = answers
            .iter_mut()
            .map(|answer| answer.try_recv().unwrap())
            .collect();
        assert_eq!(results[0], Err(FailReason::Database));
        let Ok(Inserted::New(id)) = results[1] else {
            panic!("{results:?}")
        };
        assert_eq!(results[2], Ok(Inserted::Duplicate(id)));
        assert!(rejected_answer.try_recv().unwrap().is_ok());

        let reader = Store::open(
            dir.path(),
            Environment::Sandbox,
            &secrets,
            &PatternRandom(1),
        )
        .unwrap();
        assert_eq!(count(&reader, "received_webhooks"), 1);
        assert_eq!(received_row(&reader, id).unwrap().5, 1);
        assert_eq!(count(&reader, "rejected_webhooks"), 1);
    }

    #[tokio::test]
    async fn a_stale_webhook_is_stored_and_flagged() {
        let fx = Fixture::new();
        fx.clock.advance(SignedDuration::from_secs(600));
        let outcome = fx.ingest.ingest(fx.webhook("appt-2", "created")).await;
        let Outcome::Stale { id, skew_seconds } = outcome else {
            panic!("{outcome:?}")
        };
        assert_eq!(skew_seconds, -600);
        assert_eq!(outcome.http_status(), Some(200));
        let row = received_row(&fx.open(), id).unwrap();
        assert_eq!((row.0.as_str(), row.4), ("stale", Some(-600)));
    }

    #[tokio::test]
    async fn an_authentic_but_unreadable_payload_is_stored_as_received() {
        let fx = Fixture::new();
        let raw = b"{\"event_type\": 42, not even json".to_vec();
        let outcome = fx.ingest.ingest(signed(&fx.key, NOW, raw.clone())).await;
        let Outcome::Stored { id } = outcome else {
            panic!("{outcome:?}")
        };
        let row = received_row(&fx.open(), id).unwrap();
        assert_eq!(row.1, raw);
        assert_eq!(row.3, None);
        assert_eq!(row.6.as_deref(), Some("payload_not_json"));
        // Its retry is recognised by the body's hash.
        assert_eq!(
            fx.ingest.ingest(signed(&fx.key, NOW, raw)).await,
            Outcome::Duplicate { id }
        );
    }

    #[tokio::test]
    async fn forged_requests_are_rejected_and_recorded_without_their_body() {
        let fx = Fixture::new();
        let marker = "appt-FORGED-MARKER";
        let forged = body(marker, "cancelled");
        let other_key = WebhookKey::from_bytes(b"someone else's key".to_vec());
        let good = sign(&fx.key, NOW, &forged);
        let cases = [
            (headers(None, Some(&good)), "missing_timestamp"),
            (
                headers(Some("yesterday"), Some(&good)),
                "malformed_timestamp",
            ),
            (headers(Some(&NOW.to_string()), None), "missing_signature"),
            (
                headers(Some(&NOW.to_string()), Some("garbage")),
                "malformed_signature",
            ),
            (
                headers(Some(&NOW.to_string()), Some("v9:AAAA")),
                "unsupported_signature_version",
            ),
            (
                headers(
                    Some(&NOW.to_string()),
                    Some(&sign(&other_key, NOW, &forged)),
                ),
                "no_matching_signature",
            ),
        ];
        for (headers, reason) in &cases {
            let outcome = fx
                .ingest
                .ingest(IncomingWebhook {
                    headers: headers.clone(),
                    body: Bytes::from(forged.clone()),
                })
                .await;
            assert_eq!(outcome, Outcome::Rejected(reason), "{reason}");
            assert_eq!(outcome.http_status(), Some(401));
            assert!(!outcome.acknowledges());
        }

        let reader = fx.open();
        assert_eq!(count(&reader, "received_webhooks"), 0);
        let listed = reader.list_rejected(100).unwrap();
        let reasons: Vec<_> = listed.iter().rev().map(|r| r.reason.as_str()).collect();
        let expected: Vec<_> = cases.iter().map(|(_, reason)| *reason).collect();
        assert_eq!(reasons, expected);
        let sha = webhook::body_sha256_hex(&forged);
        for rejected in &listed {
            assert_eq!(rejected.body_sha256, sha);
            assert_eq!(rejected.body_len, i64::try_from(forged.len()).unwrap());
        }
        let everything: String = reader
            .conn()
            .query_row(
                "SELECT group_concat(received_at || reason || headers_json || body_sha256 ||
                                     body_len, '|')
                 FROM rejected_webhooks",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(!everything.contains(marker));
        assert!(everything.contains("garbage"), "claimed headers are kept");
    }

    #[tokio::test]
    async fn oversized_header_values_of_rejected_requests_are_cut() {
        let fx = Fixture::new();
        let huge = "v1:".to_owned() + &"A".repeat(10_000);
        let outcome = fx
            .ingest
            .ingest(IncomingWebhook {
                headers: headers(Some(&NOW.to_string()), Some(&huge)),
                body: Bytes::new(),
            })
            .await;
        assert_eq!(outcome, Outcome::Rejected("no_matching_signature"));
        let listed = fx.open().list_rejected(1).unwrap();
        let headers: serde_json::Value = serde_json::from_str(&listed[0].headers_json).unwrap();
        assert_eq!(
            headers["webhook-signature"][0].as_str().unwrap().len(),
            MAX_REJECTED_HEADER_LEN
        );
    }

    #[tokio::test]
    async fn without_a_webhook_key_nothing_is_verified_and_everything_fails() {
        let fx = Fixture::with(|_| {}, false);
        for incoming in [
            fx.webhook("appt-1", "created"),
            IncomingWebhook {
                headers: HeaderMap::new(),
                body: Bytes::from_static(b"junk"),
            },
        ] {
            let outcome = fx.ingest.ingest(incoming).await;
            assert_eq!(outcome, Outcome::Failed(FailReason::NoWebhookKey));
            assert_eq!(outcome.http_status(), None);
        }
        let reader = fx.open();
        assert_eq!(count(&reader, "received_webhooks"), 0);
        assert_eq!(count(&reader, "rejected_webhooks"), 0);
    }

    #[tokio::test]
    async fn without_a_store_authentic_requests_fail_and_forged_ones_are_rejected() {
        let key = WebhookKey::from_bytes(b"k".to_vec());
        let ingest = Ingest::without_store(Some(key.clone()), Arc::new(ManualClock::new(now())));
        assert_eq!(
            ingest
                .ingest(signed(&key, NOW, body("appt-1", "created")))
                .await,
            Outcome::Failed(FailReason::StoreUnavailable)
        );
        assert_eq!(
            ingest
                .ingest(IncomingWebhook {
                    headers: HeaderMap::new(),
                    body: Bytes::new(),
                })
                .await,
            Outcome::Rejected("missing_timestamp")
        );
        ingest.shutdown().await;
    }

    #[tokio::test]
    async fn after_shutdown_requests_fail_as_writer_stopped() {
        let fx = Fixture::new();
        let other = fx.ingest.clone();
        let stored = fx.ingest.ingest(fx.webhook("appt-1", "created")).await;
        assert!(matches!(stored, Outcome::Stored { .. }));
        fx.ingest.shutdown().await;
        fx.ingest.shutdown().await;
        for handle in [&fx.ingest, &other] {
            let outcome = handle.ingest(fx.webhook("appt-2", "created")).await;
            assert_eq!(outcome, Outcome::Failed(FailReason::WriterStopped));
            assert!(!outcome.acknowledges());
        }
        // A forgery is still a forgery, even though its rejection cannot be recorded.
        assert_eq!(
            other
                .ingest(IncomingWebhook {
                    headers: HeaderMap::new(),
                    body: Bytes::new(),
                })
                .await,
            Outcome::Rejected("missing_timestamp")
        );
        let reader = fx.open();
        assert_eq!(count(&reader, "received_webhooks"), 1);
        assert_eq!(count(&reader, "rejected_webhooks"), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn shutdown_finishes_queued_work_and_loses_nothing_acknowledged() {
        let fx = Fixture::new();
        let mut tasks = Vec::new();
        for i in 0..200 {
            let ingest = fx.ingest.clone();
            let incoming = fx.webhook(&format!("appt-{i}"), "created");
            tasks.push(tokio::spawn(async move { ingest.ingest(incoming).await }));
        }
        // The first ones are answered before the shutdown; the rest race with it.
        let mut stored = Vec::new();
        for task in tasks.drain(..20) {
            let outcome = task.await.unwrap();
            let Outcome::Stored { id } = outcome else {
                panic!("{outcome:?}")
            };
            stored.push(id);
        }
        fx.ingest.shutdown().await;
        for task in tasks {
            match task.await.unwrap() {
                Outcome::Stored { id } => stored.push(id),
                Outcome::Failed(FailReason::WriterStopped) => {}
                other => panic!("{other:?}"),
            }
        }
        let reader = fx.open();
        assert_eq!(
            count(&reader, "received_webhooks"),
            i64::try_from(stored.len()).unwrap()
        );
        for id in stored {
            assert!(received_row(&reader, id).is_some());
        }
    }

    #[tokio::test]
    async fn dropping_every_handle_closes_the_database() {
        let fx = Fixture::new();
        let mut writer_done = fx.ingest.shared.writer_done.clone();
        let clone = fx.ingest.clone();
        assert!(
            clone
                .ingest(fx.webhook("appt-1", "created"))
                .await
                .acknowledges()
        );
        let Fixture {
            dir,
            secrets,
            ingest,
            ..
        } = fx;
        drop(ingest);
        drop(clone);
        tokio::time::timeout(Duration::from_secs(10), writer_done.changed())
            .await
            .expect("the writer stops")
            .expect_err("it stops by dropping its end");
        // The last connection closed: SQLite checkpointed and removed the WAL.
        let path = Environment::Sandbox
            .data_dir(dir.path())
            .join(store::DATABASE_FILE_NAME);
        assert!(!PathBuf::from(format!("{}-wal", path.display())).exists());
        let reader = Store::open(
            dir.path(),
            Environment::Sandbox,
            &secrets,
            &PatternRandom(3),
        )
        .unwrap();
        assert_eq!(count(&reader, "received_webhooks"), 1);
    }

    #[tokio::test]
    async fn a_read_only_database_fails_authentic_requests_and_still_rejects_forgeries() {
        let fx = Fixture::with(
            |store| {
                store
                    .conn()
                    .execute_batch("PRAGMA query_only = ON;")
                    .unwrap();
            },
            true,
        );
        let outcome = fx.ingest.ingest(fx.webhook("appt-1", "created")).await;
        assert_eq!(outcome, Outcome::Failed(FailReason::Database));
        assert_eq!(outcome.http_status(), None);
        assert_eq!(
            fx.ingest
                .ingest(IncomingWebhook {
                    headers: HeaderMap::new(),
                    body: Bytes::new(),
                })
                .await,
            Outcome::Rejected("missing_timestamp")
        );
        let reader = fx.open();
        assert_eq!(count(&reader, "received_webhooks"), 0);
        assert_eq!(count(&reader, "rejected_webhooks"), 0);
    }

    #[tokio::test]
    async fn a_full_database_fails_as_disk_full() {
        let fx = Fixture::with(
            |store| {
                let pages: i64 = store
                    .conn()
                    .query_row("PRAGMA page_count", [], |r| r.get(0))
                    .unwrap();
                store
                    .conn()
                    .execute_batch(&format!("PRAGMA max_page_count = {pages};"))
                    .unwrap();
            },
            true,
        );
        let mut big = body("appt-big", "created");
        big.truncate(big.len() - 1);
        big.extend_from_slice(format!(r#","padding":"{}"}}"#, "x".repeat(256 * 1024)).as_bytes());
        let outcome = fx.ingest.ingest(signed(&fx.key, NOW, big)).await;
        assert_eq!(outcome, Outcome::Failed(FailReason::DiskFull));
        assert_eq!(outcome.http_status(), None);
        assert_eq!(count(&fx.open(), "received_webhooks"), 0);
    }

    #[tokio::test]
    async fn every_acknowledgement_follows_a_commit_visible_to_a_new_connection() {
        let fx = Fixture::new();
        for i in 0..20 {
            let outcome = fx
                .ingest
                .ingest(fx.webhook(&format!("appt-{}", i % 15), "updated"))
                .await;
            assert!(outcome.acknowledges(), "{outcome:?}");
            let (Outcome::Stored { id } | Outcome::Duplicate { id }) = outcome else {
                panic!("{outcome:?}")
            };
            // A brand-new connection, opened after the answer.
            let reader = fx.open();
            assert!(received_row(&reader, id).is_some(), "row {id} committed");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn many_concurrent_ingests_are_all_stored_exactly_once() {
        const TASKS: usize = 50;
        const EACH: usize = 10;
        let fx = Fixture::new();
        let mut tasks = Vec::new();
        for task in 0..TASKS {
            let ingest = fx.ingest.clone();
            let webhooks: Vec<_> = (0..EACH)
                .map(|i| fx.webhook(&format!("appt-{task}-{i}"), "created"))
                .collect();
            let reader = fx.open();
            tasks.push(tokio::spawn(async move {
                let mut ids = Vec::new();
                for incoming in webhooks {
                    let outcome = ingest.ingest(incoming).await;
                    let Outcome::Stored { id } = outcome else {
                        panic!("{outcome:?}")
                    };
                    assert!(received_row(&reader, id).is_some(), "row {id} committed");
                    ids.push(id);
                }
                ids
            }));
        }
        let mut ids = HashSet::new();
        for task in tasks {
            for id in task.await.unwrap() {
                assert!(ids.insert(id), "id {id} answered twice");
            }
        }
        assert_eq!(ids.len(), TASKS * EACH);
        let reader = fx.open();
        assert_eq!(
            count(&reader, "received_webhooks"),
            i64::try_from(TASKS * EACH).unwrap()
        );
        let duplicates: i64 = reader
            .conn()
            .query_row("SELECT sum(duplicates) FROM received_webhooks", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(duplicates, 0);
    }

    #[tokio::test]
    async fn nothing_readable_at_rest() {
        let fx = Fixture::new();
        for i in 0..20 {
            let outcome = fx
                .ingest
                .ingest(fx.webhook(&format!("PLAINTEXT-CANARY-{i:04}"), "created"))
                .await;
            assert!(outcome.acknowledges());
        }
        let path = Environment::Sandbox
            .data_dir(fx.dir.path())
            .join(store::DATABASE_FILE_NAME);
        let wal = PathBuf::from(format!("{}-wal", path.display()));
        let leaks = |file: &Path| {
            let bytes = std::fs::read(file).unwrap_or_default();
            [
                "PLAINTEXT-CANARY",
                "appointment_updated",
                "webhook-signature",
            ]
            .iter()
            .any(|needle| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
        };
        assert!(
            wal.exists(),
            "the rows are in the WAL while the writer runs"
        );
        assert!(!leaks(&path));
        assert!(!leaks(&wal));

        fx.ingest.shutdown().await;
        assert!(!leaks(&path), "after the checkpoint");

        let plain = Connection::open(&path).unwrap();
        plain
            .execute_batch("PRAGMA cipher_log_level = NONE;")
            .unwrap();
        let err = plain
            .query_row("SELECT count(*) FROM received_webhooks", [], |r| {
                r.get::<_, i64>(0)
            })
            .unwrap_err();
        assert_eq!(err.sqlite_error_code(), Some(ErrorCode::NotADatabase));
        let wrong = Connection::open(&path).unwrap();
        wrong
            .execute_batch(&format!(
                "PRAGMA cipher_log_level = NONE; PRAGMA key = \"x'{}'\";",
                "ab".repeat(32)
            ))
            .unwrap();
        let err = wrong
            .query_row("SELECT count(*) FROM received_webhooks", [], |r| {
                r.get::<_, i64>(0)
            })
            .unwrap_err();
        assert_eq!(err.sqlite_error_code(), Some(ErrorCode::NotADatabase));
    }
}
