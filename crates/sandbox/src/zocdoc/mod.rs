//! The Zocdoc emulator: one environment (sandbox or production) of Zocdoc's developer API (its
//! appointment routes and the directory reads of provider locations and visit reasons), its
//! token server, its webhooks, and the scenario engine that plays a practice's day.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use deskbridge_sandbox::zocdoc::{Environment, ZocdocConfig, ZocdocEmulator};
//!
//! let running = ZocdocEmulator::start(ZocdocConfig::new(Environment::Sandbox, "desk", "secret")).await?;
//! let api = running.base_url(); // also the token server: POST {api}/oauth/token
//! # let _ = api;
//! let list_calls = running.emulator().calls();
//! # let _ = list_calls;
//! running.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod admin;
mod api;
mod auth;
mod directory;
mod faults;
mod fixtures;
mod ids;
mod model;
mod practice;
mod scenario;
mod store;
mod webhooks;

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::clock::Clock;

pub use api::DEFAULT_PAGE_SIZE;
pub use auth::{SCOPE_READ, SCOPE_WRITE};
pub use faults::{CallCounts, FaultConfig, Route};
pub use fixtures::{
    FIXED, FIXTURE_PRACTICE_ID, NOT_FOUND_ID, SERVER_ERROR_ID, WITH_ATTACHMENTS_ID,
};
pub use model::{
    Appointment, AppointmentStatus, Attachment, AttachmentType, CancellationReasonType,
    ConfirmationType, DocumentSide, Patient, PatientAddress, PatientInsurance, PatientType, Sex,
    VisitType, format_instant, format_offset_date_time, format_webhook_instant,
};
pub use practice::{Location, Practice, Provider, StreetAddress, VisitReason};
pub use scenario::{
    BulkLoad, DayScenario, EventKind, PlannedEvent, ScenarioPlan, ScenarioReport, ScenarioRun,
    ScenarioSummary,
};
pub use store::{Change, ChangeError, MAX_RESULTS_PER_QUERY, NO_SHOW_WINDOW};
pub use webhooks::{
    AttemptOutcome, ChangedAttribute, Delivery, DeliveryAttempt, DeliveryLog, DeliveryPolicy,
    DeliveryState, SigningTime, TargetError, UpdateType, WebhookEvent, WebhookTarget,
};

/// Which Zocdoc environment an emulator plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Environment {
    /// `api-developer-sandbox.zocdoc.com`: fixed test appointments, magic ids, mock webhooks.
    Sandbox,
    /// `api-developer.zocdoc.com`.
    Production,
}

impl Environment {
    /// The `audience` a token request names, and the `aud` of the tokens.
    pub fn audience(self) -> &'static str {
        match self {
            Environment::Sandbox => "https://api-developer-sandbox.zocdoc.com/",
            Environment::Production => "https://api-developer.zocdoc.com/",
        }
    }

    /// The issuer of the environment's tokens (its token server).
    pub fn issuer(self) -> &'static str {
        match self {
            Environment::Sandbox => "https://auth-api-developer-sandbox.zocdoc.com/",
            Environment::Production => "https://auth.zocdoc.com/",
        }
    }
}

/// How to start a Zocdoc emulator. `Debug` never shows the client secret.
#[derive(Clone)]
pub struct ZocdocConfig {
    /// The environment played.
    pub environment: Environment,
    /// The one client the token server knows.
    pub client_id: String,
    /// Its secret.
    pub client_secret: String,
    /// The scopes its tokens carry (default: appointment read and write).
    pub scopes: Vec<String>,
    /// Lifetime of issued tokens (Zocdoc: 60 minutes), in emulated time.
    pub token_lifetime: SignedDuration,
    /// Emulated time.
    pub clock: Clock,
    /// Seed of every random choice (practice, ids, faults): same seed, same run.
    pub seed: u64,
    /// Where provider-side changes are sent as webhooks (none: no webhooks are sent).
    pub webhook: Option<WebhookTarget>,
    /// Delivery rules for those webhooks.
    pub delivery: DeliveryPolicy,
}

impl ZocdocConfig {
    /// An emulator of `environment` for one client, on the system clock, seed 0, no webhooks.
    pub fn new(
        environment: Environment,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> ZocdocConfig {
        ZocdocConfig {
            environment,
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            scopes: vec![SCOPE_READ.to_owned(), SCOPE_WRITE.to_owned()],
            token_lifetime: SignedDuration::from_mins(60),
            clock: Clock::system(),
            seed: 0,
            webhook: None,
            delivery: DeliveryPolicy::default(),
        }
    }
}

impl fmt::Debug for ZocdocConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZocdocConfig")
            .field("environment", &self.environment)
            .field("client_id", &self.client_id)
            .field("scopes", &self.scopes)
            .field("token_lifetime", &self.token_lifetime)
            .field("clock", &self.clock)
            .field("seed", &self.seed)
            .field("webhook", &self.webhook.as_ref().map(WebhookTarget::url))
            .field("delivery", &self.delivery)
            .finish_non_exhaustive()
    }
}

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The practice's time zone is not in the bundled database.
    #[error("unknown time zone {0}")]
    TimeZone(String),
    /// Binding or reading the listening address failed.
    #[error("cannot listen: {0}")]
    Listen(#[from] std::io::Error),
}

/// The emulator's state (cheap to clone: clones share it). Serve it with [`run`] or
/// [`ZocdocEmulator::start`]; drive it from tests through its methods.
#[derive(Clone, Debug)]
pub struct ZocdocEmulator {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    environment: Environment,
    client: auth::Client,
    clock: Clock,
    practice: Practice,
    time_zone: TimeZone,
    rng: Mutex<ChaCha8Rng>,
    store: Mutex<store::Store>,
    faults: faults::Faults,
    calls: faults::CallCounter,
    token_lifetime: Mutex<SignedDuration>,
    tokens_not_before: Mutex<Option<Timestamp>>,
    webhook: Mutex<Option<WebhookTarget>>,
    deliverer: webhooks::Deliverer,
    shutdown: watch::Sender<bool>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl ZocdocEmulator {
    /// A new emulator: a practice drawn from the seed and, in the sandbox, Zocdoc's fixed
    /// test appointments. No appointment history yet (see [`ZocdocEmulator::seed_history`]).
    pub fn new(config: ZocdocConfig) -> Result<ZocdocEmulator, StartError> {
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let practice = Practice::generate(&mut rng);
        let time_zone = TimeZone::get(&practice.time_zone)
            .map_err(|_| StartError::TimeZone(practice.time_zone.clone()))?;
        let mut store = store::Store::default();
        if config.environment == Environment::Sandbox {
            for appointment in fixtures::fixed_appointments(config.clock.now(), &time_zone) {
                store.insert_fixed(appointment);
            }
        }
        let (shutdown, shutdown_rx) = watch::channel(false);
        let deliverer = webhooks::Deliverer {
            policy: config.delivery,
            clock: config.clock.clone(),
            log: DeliveryLog::default(),
            shutdown: shutdown_rx,
        };
        Ok(ZocdocEmulator {
            inner: Arc::new(Inner {
                environment: config.environment,
                client: auth::Client {
                    client_id: config.client_id,
                    client_secret: config.client_secret,
                    scopes: config.scopes,
                },
                clock: config.clock,
                practice,
                time_zone,
                rng: Mutex::new(rng),
                store: Mutex::new(store),
                faults: faults::Faults::default(),
                calls: faults::CallCounter::default(),
                token_lifetime: Mutex::new(config.token_lifetime),
                tokens_not_before: Mutex::new(None),
                webhook: Mutex::new(config.webhook),
                deliverer,
                shutdown,
            }),
        })
    }

    /// Creates the emulator, listens on `127.0.0.1:0` and serves it until the handle is shut
    /// down or dropped.
    pub async fn start(config: ZocdocConfig) -> Result<RunningZocdoc, StartError> {
        let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await?;
        ZocdocEmulator::new(config)?.serve(listener)
    }

    /// Serves this emulator on `listener` until the handle is shut down or dropped.
    pub fn serve(self, listener: TcpListener) -> Result<RunningZocdoc, StartError> {
        let address = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(run(listener, self.clone(), async move {
            let _ = stopped.await;
        }));
        Ok(RunningZocdoc {
            emulator: self,
            address,
            stop: Some(stop),
            server: Some(server),
        })
    }

    /// The environment played.
    pub fn environment(&self) -> Environment {
        self.inner.environment
    }

    /// The emulated clock (tests set and advance it).
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// The practice.
    pub fn practice(&self) -> &Practice {
        &self.inner.practice
    }

    /// The practice's time zone.
    pub fn time_zone(&self) -> &TimeZone {
        &self.inner.time_zone
    }

    /// Requests per route so far.
    pub fn calls(&self) -> CallCounts {
        self.inner.calls.snapshot()
    }

    /// Sets every count back to zero.
    pub fn reset_calls(&self) {
        self.inner.calls.reset();
    }

    /// Injects `config`'s faults on `route` from now on (replacing what the route had).
    pub fn set_fault(&self, route: Route, config: FaultConfig) {
        self.inner.faults.set(route, config);
    }

    /// Removes every injected fault.
    pub fn clear_faults(&self) {
        self.inner.faults.clear();
    }

    /// The injected faults, per route.
    pub fn faults(&self) -> BTreeMap<Route, FaultConfig> {
        self.inner.faults.all()
    }

    /// Lifetime of tokens issued from now on (emulated time).
    pub fn set_token_lifetime(&self, lifetime: SignedDuration) {
        *lock(&self.inner.token_lifetime) = lifetime;
    }

    /// Makes every token issued so far invalid (as if all had expired now).
    pub fn expire_all_tokens(&self) {
        // Tokens carry whole seconds; refusing everything issued up to this second, included.
        let now = self.inner.clock.now();
        *lock(&self.inner.tokens_not_before) = Some(now + SignedDuration::from_secs(1));
    }

    /// Where provider-side changes are sent from now on.
    pub fn set_webhook_target(&self, target: Option<WebhookTarget>) {
        *lock(&self.inner.webhook) = target;
    }

    /// Every webhook sent and each attempt to deliver it.
    pub fn deliveries(&self) -> &DeliveryLog {
        &self.inner.deliverer.log
    }

    /// One appointment as stored.
    pub fn appointment(&self, appointment_id: &str) -> Option<Appointment> {
        lock(&self.inner.store).get(appointment_id).cloned()
    }

    /// Every stored appointment, in no particular order.
    pub fn appointments(&self) -> Vec<Appointment> {
        lock(&self.inner.store).all().cloned().collect()
    }

    /// How many appointments are stored.
    pub fn appointment_count(&self) -> usize {
        lock(&self.inner.store).len()
    }

    /// Stores an appointment as it is, sending no webhook (history, test setup).
    pub fn insert_appointment(&self, appointment: Appointment) {
        lock(&self.inner.store).insert(appointment);
    }

    /// A provider-side booking: stores it and sends a `created` webhook.
    pub fn book_by_provider(&self, appointment: Appointment) {
        let event = WebhookEvent {
            appointment_id: appointment.appointment_id.clone(),
            update_type: UpdateType::Created,
            updated_at: appointment.last_modified,
            changed_attributes: Vec::new(),
        };
        tracing::info!(appointment_id = %appointment.appointment_id, "provider booked");
        self.insert_appointment(appointment);
        self.notify(&event);
    }

    /// A provider-side change at the clock's time: applies it and sends the matching webhook.
    pub fn change_by_provider(
        &self,
        appointment_id: &str,
        change: Change,
    ) -> Result<Appointment, ChangeError> {
        let now = self.inner.clock.now();
        self.change_by_provider_at(appointment_id, change, now)
    }

    pub(crate) fn change_by_provider_at(
        &self,
        appointment_id: &str,
        change: Change,
        at: Timestamp,
    ) -> Result<Appointment, ChangeError> {
        let (update_type, changed_attributes) = match &change {
            Change::Cancel { .. } => (UpdateType::Cancelled, Vec::new()),
            Change::Reschedule { .. } => {
                (UpdateType::Updated, vec![ChangedAttribute::start_time()])
            }
            Change::UploadAttachment(attachment) => (
                UpdateType::Updated,
                vec![ChangedAttribute::uploaded_attachment(
                    attachment.attachment_type.as_str(),
                )],
            ),
            Change::Confirm | Change::FailBooking | Change::Arrive | Change::NoShow => {
                (UpdateType::Updated, Vec::new())
            }
        };
        let changed = lock(&self.inner.store).apply(appointment_id, change, at)?;
        tracing::info!(
            appointment_id,
            ?update_type,
            "provider changed an appointment"
        );
        self.notify(&WebhookEvent {
            appointment_id: appointment_id.to_owned(),
            update_type,
            updated_at: changed.last_modified,
            changed_attributes,
        });
        Ok(changed)
    }

    /// Sends `event` to the configured target (if any); returns the delivery's id.
    pub fn notify(&self, event: &WebhookEvent) -> Option<u64> {
        let target = lock(&self.inner.webhook).clone()?;
        Some(self.inner.deliverer.deliver(&target, event).0)
    }

    /// Stops pending webhook retries (the server itself stops with its [`RunningZocdoc`]).
    pub fn stop_deliveries(&self) {
        self.inner.shutdown.send_replace(true);
    }

    pub(crate) fn with_rng<T>(&self, draw: impl FnOnce(&mut ChaCha8Rng) -> T) -> T {
        draw(&mut lock(&self.inner.rng))
    }

    pub(crate) fn with_store<T>(&self, work: impl FnOnce(&mut store::Store) -> T) -> T {
        work(&mut lock(&self.inner.store))
    }
}

/// Serves `emulator` on `listener` until `shutdown` completes (mini-redis style); pending webhook
/// retries stop with it.
pub async fn run(
    listener: TcpListener,
    emulator: ZocdocEmulator,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = api::router(emulator.clone()).merge(admin::router(emulator.clone()));
    let result = axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await;
    emulator.stop_deliveries();
    result
}

/// A running emulator. Dropping it stops the server.
#[derive(Debug)]
pub struct RunningZocdoc {
    emulator: ZocdocEmulator,
    address: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl RunningZocdoc {
    /// `http://127.0.0.1:<port>`: the API base and, with `/oauth/token`, the token server.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// `<base_url>/oauth/token`.
    pub fn token_url(&self) -> String {
        format!("{}/oauth/token", self.base_url())
    }

    /// The address it listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The emulator's state.
    pub fn emulator(&self) -> &ZocdocEmulator {
        &self.emulator
    }

    /// Stops the server and pending webhook retries, and waits for the server to end.
    pub async fn shutdown(mut self) {
        self.emulator.stop_deliveries();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
    }
}

impl std::ops::Deref for RunningZocdoc {
    type Target = ZocdocEmulator;

    fn deref(&self) -> &ZocdocEmulator {
        &self.emulator
    }
}

impl Drop for RunningZocdoc {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            self.emulator.stop_deliveries();
            let _ = stop.send(());
        }
    }
}
