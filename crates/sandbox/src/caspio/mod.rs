//! The Caspio emulator: the REST API v3 of one Caspio account as `caspio-notes.md` describes it —
//! the token endpoint (form-encoded client credentials), `/integrations/rest/v3/tables`, a
//! table's `/fields` and `/records` (read with `q.where`, `q.select`, paging; insert with
//! `response=rows`; update and delete by where-clause) — with Unique enforcement, type checks,
//! generated columns, token expiry, fault injection (429, 5xx, latency, expired tokens) and a
//! per-route call counter.
//!
//! Caspio's notes list no error `Code` values; the emulator's (`SqlServerError` for a clause
//! that does not parse, `IncorrectBodyParameter`, `UniqueConstraintViolation`, `TableNotFound`,
//! `AccessDenied`, `Unauthorized`) are its own, in Caspio's body shape. Clients should act on the
//! status code, not on these.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use deskbridge_sandbox::caspio::{CaspioConfig, CaspioEmulator};
//!
//! let running = CaspioEmulator::start(CaspioConfig::new("desk", "secret")).await?;
//! let base = running.base_url(); // POST {base}/oauth/token, {base}/integrations/rest/v3/…
//! # let _ = base;
//! let rows = running.records("Appointments");
//! # let _ = rows;
//! running.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod api;
pub mod filter;
mod table;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::net::TcpListener;

use crate::clock::Clock;
use crate::zocdoc::FaultConfig;

pub use table::{ColumnType, FieldDef, STRING_MAX, TEXT_MAX, TableDef, TableError};

/// One route of the emulated API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaspioRoute {
    /// `POST /oauth/token`.
    Token,
    /// `GET /integrations/rest/v3/tables`.
    ListTables,
    /// `GET /integrations/rest/v3/tables/{table}/fields`.
    GetFields,
    /// `GET /integrations/rest/v3/tables/{table}/records`.
    GetRecords,
    /// `POST /integrations/rest/v3/tables/{table}/records`.
    InsertRecord,
    /// `PUT /integrations/rest/v3/tables/{table}/records`.
    UpdateRecords,
    /// `DELETE /integrations/rest/v3/tables/{table}/records`.
    DeleteRecords,
}

impl CaspioRoute {
    /// Every route.
    pub const ALL: [CaspioRoute; 7] = [
        CaspioRoute::Token,
        CaspioRoute::ListTables,
        CaspioRoute::GetFields,
        CaspioRoute::GetRecords,
        CaspioRoute::InsertRecord,
        CaspioRoute::UpdateRecords,
        CaspioRoute::DeleteRecords,
    ];
}

/// How many requests each route received since the start (or the last reset).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CaspioCalls {
    per_route: BTreeMap<CaspioRoute, u64>,
}

impl CaspioCalls {
    /// Requests to one route.
    pub fn get(&self, route: CaspioRoute) -> u64 {
        self.per_route.get(&route).copied().unwrap_or(0)
    }

    /// Requests to every route, the token endpoint included.
    pub fn total(&self) -> u64 {
        self.per_route.values().sum()
    }
}

/// How to start a Caspio emulator. `Debug` never shows the client secret.
#[derive(Clone)]
pub struct CaspioConfig {
    /// The web services profile's client id.
    pub client_id: String,
    /// Its secret.
    pub client_secret: String,
    /// The account's tables (default: [`TableDef::appointments`]).
    pub tables: Vec<TableDef>,
    /// Lifetime of issued tokens, in emulated time (Caspio: about a day).
    pub token_lifetime: SignedDuration,
    /// Emulated time (tokens, TIMESTAMP columns).
    pub clock: Clock,
    /// The time zone TIMESTAMP columns are written in (the account's).
    pub time_zone: TimeZone,
    /// Seed of every random choice (tokens, GUIDs, faults).
    pub seed: u64,
}

impl CaspioConfig {
    /// One profile, the default `Appointments` table, day-long tokens, the system clock, UTC.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> CaspioConfig {
        CaspioConfig {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            tables: vec![TableDef::appointments()],
            token_lifetime: SignedDuration::from_hours(24),
            clock: Clock::system(),
            time_zone: TimeZone::UTC,
            seed: 0,
        }
    }
}

impl fmt::Debug for CaspioConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaspioConfig")
            .field("client_id", &self.client_id)
            .field(
                "tables",
                &self.tables.iter().map(|t| &t.name).collect::<Vec<_>>(),
            )
            .field("token_lifetime", &self.token_lifetime)
            .field("seed", &self.seed)
            .finish_non_exhaustive()
    }
}

/// The emulator's state (cheap to clone: clones share it).
#[derive(Clone, Debug)]
pub struct CaspioEmulator {
    inner: Arc<Inner>,
}

struct Inner {
    client_id: String,
    client_secret: String,
    clock: Clock,
    time_zone: TimeZone,
    rng: Mutex<ChaCha8Rng>,
    tables: Mutex<BTreeMap<String, table::Table>>,
    tokens: Mutex<HashMap<String, Timestamp>>,
    token_lifetime: Mutex<SignedDuration>,
    faults: Mutex<HashMap<CaspioRoute, FaultConfig>>,
    calls: [AtomicU64; CaspioRoute::ALL.len()],
    request_ids: AtomicU64,
    /// Writes still to be performed and then answered 500, as if the answer were lost.
    lost_answers: AtomicU64,
}

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inner")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl CaspioEmulator {
    /// A new emulator with `config`'s tables, empty.
    pub fn new(config: CaspioConfig) -> CaspioEmulator {
        let tables = config
            .tables
            .into_iter()
            .map(|def| (def.name.clone(), table::Table::new(def)))
            .collect();
        CaspioEmulator {
            inner: Arc::new(Inner {
                client_id: config.client_id,
                client_secret: config.client_secret,
                clock: config.clock,
                time_zone: config.time_zone,
                rng: Mutex::new(ChaCha8Rng::seed_from_u64(config.seed)),
                tables: Mutex::new(tables),
                tokens: Mutex::new(HashMap::new()),
                token_lifetime: Mutex::new(config.token_lifetime),
                faults: Mutex::new(HashMap::new()),
                calls: std::array::from_fn(|_| AtomicU64::new(0)),
                request_ids: AtomicU64::new(0),
                lost_answers: AtomicU64::new(0),
            }),
        }
    }

    /// Creates the emulator, listens on `127.0.0.1:0` and serves it until the handle is shut
    /// down or dropped.
    pub async fn start(config: CaspioConfig) -> std::io::Result<RunningCaspio> {
        let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
        CaspioEmulator::new(config).serve(listener)
    }

    /// Serves this emulator on `listener` until the handle is shut down or dropped.
    pub fn serve(self, listener: TcpListener) -> std::io::Result<RunningCaspio> {
        let address = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let router = api::router(self.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
        });
        Ok(RunningCaspio {
            emulator: self,
            address,
            stop: Some(stop),
            server: Some(server),
        })
    }

    /// The emulated clock.
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// Requests per route so far.
    pub fn calls(&self) -> CaspioCalls {
        CaspioCalls {
            per_route: CaspioRoute::ALL
                .into_iter()
                .map(|route| {
                    (
                        route,
                        self.inner.calls[route as usize].load(Ordering::Relaxed),
                    )
                })
                .collect(),
        }
    }

    /// Sets every count back to zero.
    pub fn reset_calls(&self) {
        for count in &self.inner.calls {
            count.store(0, Ordering::Relaxed);
        }
    }

    /// Injects `config`'s faults on `route` from now on (replacing what the route had).
    pub fn set_fault(&self, route: CaspioRoute, config: FaultConfig) {
        lock(&self.inner.faults).insert(route, config);
    }

    /// Removes every injected fault.
    pub fn clear_faults(&self) {
        lock(&self.inner.faults).clear();
    }

    /// Lifetime of tokens issued from now on (emulated time).
    pub fn set_token_lifetime(&self, lifetime: SignedDuration) {
        *lock(&self.inner.token_lifetime) = lifetime;
    }

    /// Makes every token issued so far invalid (as if all had expired now).
    pub fn expire_all_tokens(&self) {
        lock(&self.inner.tokens).clear();
    }

    /// The next `count` successful writes (insert, update) are performed, then answered 500:
    /// the client cannot tell whether they happened.
    pub fn lose_write_answers(&self, count: u64) {
        self.inner.lost_answers.store(count, Ordering::SeqCst);
    }

    /// Whether this successful write's answer is to be lost (counting it down).
    fn answer_lost(&self) -> bool {
        self.inner
            .lost_answers
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }

    /// Whether the profile may write to `table` (no: writes answer 403).
    pub fn set_writable(&self, table: &str, writable: bool) {
        if let Some(table) = lock(&self.inner.tables).get_mut(table) {
            table.def.writable = writable;
        }
    }

    /// Every row of `table`, in insertion order (empty for an unknown table).
    pub fn records(&self, table: &str) -> Vec<Map<String, Value>> {
        lock(&self.inner.tables)
            .get(table)
            .map(|table| table.rows.clone())
            .unwrap_or_default()
    }

    fn record_call(&self, route: CaspioRoute) {
        self.inner.calls[route as usize].fetch_add(1, Ordering::Relaxed);
    }

    fn fault(&self, route: CaspioRoute) -> FaultConfig {
        lock(&self.inner.faults)
            .get(&route)
            .cloned()
            .unwrap_or_default()
    }

    fn next_request_id(&self) -> String {
        let n = self.inner.request_ids.fetch_add(1, Ordering::Relaxed) + 1;
        format!("emu-{n:08}")
    }

    /// The emulated now as Caspio writes a TIMESTAMP: local to the account, no offset.
    fn local_now(&self) -> String {
        let now = self
            .inner
            .clock
            .now()
            .to_zoned_datetime(self.inner.time_zone.clone());
        table::format_local(now.datetime())
    }
}

/// A running emulator. Dropping it stops the server.
#[derive(Debug)]
pub struct RunningCaspio {
    emulator: CaspioEmulator,
    address: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl RunningCaspio {
    /// `http://127.0.0.1:<port>`: the stand-in for `https://<integration host>`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The address it listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The emulator's state.
    pub fn emulator(&self) -> &CaspioEmulator {
        &self.emulator
    }

    /// Stops the server and waits for it to end.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

impl std::ops::Deref for RunningCaspio {
    type Target = CaspioEmulator;

    fn deref(&self) -> &CaspioEmulator {
        &self.emulator
    }
}

impl Drop for RunningCaspio {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
