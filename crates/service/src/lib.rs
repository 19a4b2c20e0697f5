//! The receiving desk as one running service: ingest behind its entry points (the direct listener,
//! the relay tunnel), processing of every stored webhook, and resync with gap recovery (at start-up,
//! on every tunnel reconnection, and when staff press Resync), with live events for the board.
//!
//! The desktop app and `deskbridge-cli serve` both run a [`DeskService`]. Each worker holds its own
//! database connection; [`DeskService::stop`] waits for all of them, so no connection outlives the
//! service (a process must not exit under a connection that is still encrypting pages).

pub mod credentials;

use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use deskbridge_core::clock::Clock;
use deskbridge_core::directory::{DirectoryIds, fill_missing};
use deskbridge_core::ingest::{Ingest, Notice, Outcome};
use deskbridge_core::processing::{Backoff, ProcessReport, Processor};
use deskbridge_core::resync::{
    CancelToken, Progress, Resync, ResyncConfig, ResyncError, ResyncSummary,
};
use deskbridge_core::store::{OpenError, Store};
use deskbridge_relay::client::{ClientError, Connected, TunnelClient, TunnelConfig, TunnelState};
use deskbridge_relay::direct;
use deskbridge_relay::http_server::Server;
use deskbridge_zocdoc::api::Client;
use deskbridge_zocdoc::webhook::WebhookKey;
use jiff::Timestamp;
use tokio::net::TcpListener;
use tokio::sync::{Notify, broadcast, mpsc, watch};
use tokio::task::JoinHandle;

/// How many events a slow subscriber may fall behind before it misses some (it is told so, and
/// reloads what it shows).
const EVENT_CAPACITY: usize = 1024;

/// What the service runs.
pub struct ServiceConfig {
    /// The encrypted store; the workers open their own connections from it.
    pub store: Store,
    /// The shared webhook key; `None`: every authentic webhook fails unanswered (Zocdoc retries).
    pub webhook_key: Option<WebhookKey>,
    /// The Zocdoc API client; `None`: webhooks are stored and wait until credentials are set.
    pub zocdoc: Option<Client>,
    /// A bound listener for the direct `POST /webhooks/zocdoc` endpoint.
    pub direct: Option<TcpListener>,
    /// The relay tunnel to connect.
    pub tunnel: Option<TunnelConfig>,
    /// The time source of every worker.
    pub clock: Arc<dyn Clock>,
    /// What a resync covers.
    pub resync: ResyncConfig,
    /// When failed processing is tried again.
    pub backoff: Backoff,
}

impl ServiceConfig {
    /// Receiving into `store` with no entry point, key or API client yet; set the fields needed.
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> ServiceConfig {
        ServiceConfig {
            store,
            webhook_key: None,
            zocdoc: None,
            direct: None,
            tunnel: None,
            clock,
            resync: ResyncConfig::default(),
            backoff: Backoff::default(),
        }
    }
}

impl fmt::Debug for ServiceConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceConfig")
            .field("store", &self.store)
            .field("webhook_key", &self.webhook_key.is_some())
            .field("zocdoc", &self.zocdoc.is_some())
            .field("direct", &self.direct)
            .field("tunnel", &self.tunnel.is_some())
            .finish_non_exhaustive()
    }
}

/// Why a resync ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResyncReason {
    /// The service started: events missed while it was not running.
    StartUp,
    /// The relay tunnel came back: events missed while it was down.
    Reconnected,
    /// Staff pressed Resync.
    Staff,
}

/// The Zocdoc API as processing last found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiHealth {
    /// No API credentials: webhooks are stored and wait.
    NotSetUp,
    /// No failure since the last success.
    Ok,
    /// The last fetch failed and will be retried: why, in plain words.
    Failing(String),
}

/// Where resync stands, for the Resync button and its progress bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResyncState {
    /// No run yet.
    Idle,
    /// A run is under way.
    Running {
        /// Why it runs.
        reason: ResyncReason,
        /// Its progress.
        progress: Progress,
    },
    /// The last run completed.
    Done {
        /// Why it ran.
        reason: ResyncReason,
        /// What it did ("N changes recovered" is `summary.changed`).
        summary: ResyncSummary,
        /// When it ended.
        at: Timestamp,
    },
    /// The last run stopped early.
    Failed {
        /// Why it ran.
        reason: ResyncReason,
        /// What happened, in plain words.
        message: String,
        /// Whether staff cancelled it.
        cancelled: bool,
        /// When it ended.
        at: Timestamp,
    },
}

/// Everything the board's health lights and panels show, as of now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceStatus {
    /// The direct listener's address, when there is one.
    pub direct: Option<SocketAddr>,
    /// The relay tunnel's state, when there is one.
    pub tunnel: Option<TunnelState>,
    /// The Zocdoc API.
    pub zocdoc: ApiHealth,
    /// Resync.
    pub resync: ResyncState,
    /// The clock skew of the last stale webhook (webhook timestamp − receipt, seconds).
    pub last_stale_skew: Option<i64>,
}

/// A live change, pushed to whoever follows the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceEvent {
    /// A webhook request was handled (ids and types only).
    Webhook(Notice),
    /// These appointments are new or changed locally; empty: reload everything shown (names or
    /// many appointments changed).
    AppointmentsChanged(Vec<String>),
    /// [`ServiceStatus`] changed.
    Status(ServiceStatus),
}

/// Why the service did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A worker's database connection could not be opened.
    #[error("the database could not be opened for {worker}: {source}")]
    Store {
        /// Which worker.
        worker: &'static str,
        /// Why.
        source: OpenError,
    },
    /// The database writer could not be started.
    #[error("the database writer could not be started: {0}")]
    Writer(std::io::Error),
    /// The relay tunnel's settings are not valid.
    #[error(transparent)]
    Tunnel(#[from] ClientError),
    /// The direct listener's address could not be read.
    #[error("the direct listener's address could not be read: {0}")]
    Listener(std::io::Error),
}

/// Why a resync cannot be started now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResyncRequestError {
    /// No Zocdoc API credentials are set.
    #[error("Resync needs the practice's Zocdoc API credentials: add them in Settings.")]
    NotSetUp,
    /// The service is stopping.
    #[error("Deskbridge is shutting down.")]
    Stopping,
}

/// The running desk. Clone-free: one owner, which calls [`DeskService::stop`] at the end.
#[derive(Debug)]
pub struct DeskService {
    ingest: Ingest,
    events: broadcast::Sender<ServiceEvent>,
    status: Arc<StatusCell>,
    resync_requests: Option<mpsc::UnboundedSender<ResyncReason>>,
    current_resync: Arc<Mutex<Option<CancelToken>>>,
    /// Wakes processing before its next retry time (staff's Re-process).
    process_now: Arc<Notify>,
    tunnel: Option<TunnelClient>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl DeskService {
    /// Starts receiving. Call from inside a tokio runtime. With an API client, a start-up resync
    /// runs at once (gap recovery for the time the service was not running).
    pub async fn start(config: ServiceConfig) -> Result<DeskService, StartError> {
        let ServiceConfig {
            store,
            webhook_key,
            zocdoc,
            direct,
            tunnel,
            clock,
            resync,
            backoff,
        } = config;
        let connection = |worker| {
            store
                .try_clone()
                .map_err(|source| StartError::Store { worker, source })
        };
        let worker_stores = match zocdoc {
            Some(_) => Some((
                connection("processing")?,
                connection("resync")?,
                connection("directory")?,
            )),
            None => None,
        };
        let direct_address = direct
            .as_ref()
            .map(TcpListener::local_addr)
            .transpose()
            .map_err(StartError::Listener)?;
        let ingest =
            Ingest::start(store, webhook_key, clock.clone()).map_err(StartError::Writer)?;
        let (events, _) = broadcast::channel(EVENT_CAPACITY);
        let status = Arc::new(StatusCell {
            current: Mutex::new(ServiceStatus {
                direct: direct_address,
                tunnel: None,
                zocdoc: if zocdoc.is_some() {
                    ApiHealth::Ok
                } else {
                    ApiHealth::NotSetUp
                },
                resync: ResyncState::Idle,
                last_stale_skew: None,
            }),
            events: events.clone(),
        });
        let (stop, stopped) = watch::channel(false);
        let mut tasks = Vec::new();
        let current_resync = Arc::new(Mutex::new(None));
        tasks.push(tokio::spawn(forward_notices(
            ingest.subscribe(),
            events.clone(),
            status.clone(),
            stopped.clone(),
        )));

        let mut resync_requests = None;
        let process_now = Arc::new(Notify::new());
        if let (Some(client), Some((processing_store, resync_store, directory_store))) =
            (zocdoc, worker_stores)
        {
            let names_wanted = Arc::new(Notify::new());
            tasks.push(tokio::spawn(run_directory(
                directory_store,
                client.clone(),
                names_wanted.clone(),
                clock.clone(),
                events.clone(),
                stopped.clone(),
            )));
            let processor = Processor::new(processing_store, client.clone(), clock.clone())
                .with_backoff(backoff);
            tasks.push(tokio::spawn(run_processing(
                processor,
                ingest.subscribe(),
                clock.clone(),
                events.clone(),
                status.clone(),
                ProcessingWakes {
                    names_wanted: names_wanted.clone(),
                    process_now: process_now.clone(),
                },
                stopped.clone(),
            )));
            let (requests, receiver) = mpsc::unbounded_channel();
            requests
                .send(ResyncReason::StartUp)
                .expect("the receiver is alive");
            tasks.push(tokio::spawn(run_resync(
                Resync::new(resync_store, client, clock.clone(), resync),
                receiver,
                current_resync.clone(),
                clock.clone(),
                status.clone(),
                names_wanted,
                stopped.clone(),
            )));
            resync_requests = Some(requests);
        }

        let tunnel = match tunnel {
            Some(tunnel) => {
                let requests = resync_requests.clone();
                let client =
                    TunnelClient::start(tunnel, ingest.clone(), move |link: Connected| {
                        tracing::info!(at = %link.at, "relay tunnel up");
                        // The first connection is covered by the start-up resync.
                        if link.disconnected_since.is_some()
                            && let Some(requests) = &requests
                        {
                            let _ = requests.send(ResyncReason::Reconnected);
                        }
                    })?;
                tasks.push(tokio::spawn(follow_tunnel(
                    client.state(),
                    status.clone(),
                    stopped.clone(),
                )));
                Some(client)
            }
            None => None,
        };

        if let Some(listener) = direct {
            let server = Server::new(direct::router(ingest.clone()));
            let mut stopped = stopped.clone();
            tasks.push(tokio::spawn(async move {
                let shutdown = async move {
                    let _ = stopped.wait_for(|stop| *stop).await;
                };
                if let Err(error) = server.run(listener, shutdown).await {
                    tracing::error!(%error, "the direct listener stopped");
                }
            }));
        }

        Ok(DeskService {
            ingest,
            events,
            status,
            resync_requests,
            current_resync,
            process_now,
            tunnel,
            stop,
            tasks,
        })
    }

    /// Follows live changes from now on. Read [`DeskService::status`] first for the current state.
    pub fn subscribe(&self) -> broadcast::Receiver<ServiceEvent> {
        self.events.subscribe()
    }

    /// Everything the health lights and panels show, as of now.
    pub fn status(&self) -> ServiceStatus {
        self.status.get()
    }

    /// The ingest pipeline (every entry point shares it).
    pub fn ingest(&self) -> &Ingest {
        &self.ingest
    }

    /// The direct listener's address, when there is one.
    pub fn direct_address(&self) -> Option<SocketAddr> {
        self.status.get().direct
    }

    /// Asks for a resync (the Resync button). A run already under way is followed by one more,
    /// so nothing changed meanwhile is missed.
    pub fn request_resync(&self) -> Result<(), ResyncRequestError> {
        let requests = self
            .resync_requests
            .as_ref()
            .ok_or(ResyncRequestError::NotSetUp)?;
        requests
            .send(ResyncReason::Staff)
            .map_err(|_| ResyncRequestError::Stopping)
    }

    /// Processes what is due now rather than at the next retry time (after staff's Re-process).
    pub fn process_now(&self) {
        self.process_now.notify_one();
    }

    /// Cancels the resync under way, if any; it stops before its next page.
    pub fn cancel_resync(&self) -> bool {
        let current = self
            .current_resync
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match &*current {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }

    /// Tells the relay this app takes over from another one holding the endpoint.
    pub fn take_over_tunnel(&self) {
        if let Some(tunnel) = &self.tunnel {
            tunnel.take_over();
        }
    }

    /// Stops receiving: the tunnel and listener close, workers finish their current step, the
    /// writer commits what is queued, and every database connection is closed before this returns.
    pub async fn stop(self) {
        let DeskService {
            ingest,
            tunnel,
            stop,
            tasks,
            current_resync,
            ..
        } = self;
        if let Some(token) = &*current_resync
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
        {
            token.cancel();
        }
        let _ = stop.send(true);
        if let Some(tunnel) = tunnel {
            tunnel.stop().await;
        }
        for task in tasks {
            if let Err(error) = task.await {
                tracing::error!(%error, "a service worker ended abnormally");
            }
        }
        ingest.shutdown().await;
        tracing::info!("stopped receiving");
    }
}

/// The current [`ServiceStatus`]; every change is also sent as [`ServiceEvent::Status`].
#[derive(Debug)]
struct StatusCell {
    current: Mutex<ServiceStatus>,
    events: broadcast::Sender<ServiceEvent>,
}

impl StatusCell {
    fn get(&self) -> ServiceStatus {
        self.current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn update(&self, change: impl FnOnce(&mut ServiceStatus)) {
        let snapshot = {
            let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
            let before = current.clone();
            change(&mut current);
            if *current == before {
                return;
            }
            current.clone()
        };
        let _ = self.events.send(ServiceEvent::Status(snapshot));
    }
}

/// Resolves when the service is told to stop.
async fn stopping(stopped: &mut watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}

/// Passes every ingest notice on, and notes the clock skew of stale webhooks.
async fn forward_notices(
    mut notices: broadcast::Receiver<Notice>,
    events: broadcast::Sender<ServiceEvent>,
    status: Arc<StatusCell>,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        let notice = tokio::select! {
            () = stopping(&mut stopped) => return,
            notice = notices.recv() => notice,
        };
        match notice {
            Ok(notice) => {
                if let Outcome::Stale { skew_seconds, .. } = notice.outcome {
                    status.update(|status| status.last_stale_skew = Some(skew_seconds));
                }
                let _ = events.send(ServiceEvent::Webhook(notice));
            }
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::warn!(missed, "webhook notices skipped: too many at once");
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// What processing wakes, and what wakes it besides webhooks and retry times.
struct ProcessingWakes {
    /// Told when appointments are new or changed: the directory names them.
    names_wanted: Arc<Notify>,
    /// Staff asked to process now (Re-process).
    process_now: Arc<Notify>,
}

/// Processes stored webhooks: at start (rows left from before), after every stored one, when
/// the next failed one is due, and when staff ask.
async fn run_processing(
    mut processor: Processor<Client>,
    mut notices: broadcast::Receiver<Notice>,
    clock: Arc<dyn Clock>,
    events: broadcast::Sender<ServiceEvent>,
    status: Arc<StatusCell>,
    wakes: ProcessingWakes,
    mut stopped: watch::Receiver<bool>,
) {
    let ProcessingWakes {
        names_wanted,
        process_now,
    } = wakes;
    loop {
        match processor.process_all_due().await {
            Ok(report) => {
                if !report.changed_ids.is_empty() {
                    names_wanted.notify_one();
                }
                publish_processing(&report, &events, &status);
            }
            Err(error) => tracing::error!(%error, "processing stopped on a database error"),
        }
        let wait = match processor.next_retry_at() {
            Ok(Some(next)) => {
                let now = clock.now();
                Some(
                    next.duration_since(now)
                        .max(jiff::SignedDuration::ZERO)
                        .unsigned_abs(),
                )
            }
            Ok(None) => None,
            Err(error) => {
                tracing::error!(%error, "could not read when failed webhooks are due");
                Some(std::time::Duration::from_secs(60))
            }
        };
        let retry = async {
            match wait {
                Some(wait) => tokio::time::sleep(wait).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = stopping(&mut stopped) => return,
            () = retry => {}
            () = process_now.notified() => {}
            notice = notices.recv() => {
                if matches!(notice, Err(broadcast::error::RecvError::Closed)) {
                    return;
                }
                // One pass serves every webhook stored by now.
                while !matches!(notices.try_recv(), Err(broadcast::error::TryRecvError::Empty | broadcast::error::TryRecvError::Closed)) {}
            }
        }
    }
}

fn publish_processing(
    report: &ProcessReport,
    events: &broadcast::Sender<ServiceEvent>,
    status: &StatusCell,
) {
    if !report.changed_ids.is_empty() {
        let _ = events.send(ServiceEvent::AppointmentsChanged(
            report.changed_ids.clone(),
        ));
    }
    if report.rows() == 0 {
        return;
    }
    let health = match (&report.last_failure, report.processed) {
        (Some(failure), 0) => ApiHealth::Failing(failure.clone()),
        _ => ApiHealth::Ok,
    };
    status.update(|status| status.zocdoc = health);
}

/// Runs resyncs one at a time as they are asked for; requests that arrive during a run are
/// served by one more run after it.
async fn run_resync(
    mut resync: Resync<Client>,
    mut requests: mpsc::UnboundedReceiver<ResyncReason>,
    current: Arc<Mutex<Option<CancelToken>>>,
    clock: Arc<dyn Clock>,
    status: Arc<StatusCell>,
    names_wanted: Arc<Notify>,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        let reason = tokio::select! {
            () = stopping(&mut stopped) => return,
            reason = requests.recv() => match reason {
                Some(reason) => reason,
                None => return,
            },
        };
        // Coalesce what queued up meanwhile: staff asking wins the label.
        let mut reason = reason;
        while let Ok(more) = requests.try_recv() {
            if more == ResyncReason::Staff {
                reason = more;
            }
        }
        let token = CancelToken::new();
        *current.lock().unwrap_or_else(PoisonError::into_inner) = Some(token.clone());
        let mut progress = resync.subscribe();
        status.update(|status| {
            status.resync = ResyncState::Running {
                reason,
                progress: Progress::default(),
            }
        });
        let outcome = {
            let run = resync.run(&token);
            tokio::pin!(run);
            loop {
                tokio::select! {
                    outcome = &mut run => break outcome,
                    Ok(()) = progress.changed() => {
                        let now = *progress.borrow_and_update();
                        status.update(|status| {
                            status.resync = ResyncState::Running { reason, progress: now }
                        });
                    }
                }
            }
        };
        *current.lock().unwrap_or_else(PoisonError::into_inner) = None;
        let at = clock.now();
        let state = match outcome {
            Ok(summary) => {
                tracing::info!(?reason, changes = summary.changed, "resync done");
                ResyncState::Done {
                    reason,
                    summary,
                    at,
                }
            }
            Err(error) => {
                tracing::warn!(?reason, %error, "resync stopped");
                ResyncState::Failed {
                    reason,
                    cancelled: matches!(error, ResyncError::Cancelled),
                    message: error.to_string(),
                    at,
                }
            }
        };
        status.update(|status| status.resync = state);
        names_wanted.notify_one();
    }
}

/// Names the providers, locations and visit reasons of stored appointments (once per id, cached)
/// whenever new appointments may have come in; the board reloads when names were added.
async fn run_directory(
    mut store: Store,
    client: Client,
    wanted: Arc<Notify>,
    clock: Arc<dyn Clock>,
    events: broadcast::Sender<ServiceEvent>,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            () = stopping(&mut stopped) => return,
            () = wanted.notified() => {}
        }
        let ids = match DirectoryIds::stored(&store) {
            Ok(ids) => ids,
            Err(error) => {
                tracing::error!(%error, "could not read which names are needed");
                continue;
            }
        };
        match fill_missing(&mut store, &client, &ids, clock.now()).await {
            Ok(filled) if filled.named > 0 => {
                let _ = events.send(ServiceEvent::AppointmentsChanged(Vec::new()));
            }
            Ok(_) => {}
            Err(error) => tracing::error!(%error, "names could not be stored"),
        }
    }
}

/// Mirrors the tunnel's state into the status.
async fn follow_tunnel(
    mut state: watch::Receiver<TunnelState>,
    status: Arc<StatusCell>,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        let now = state.borrow_and_update().clone();
        status.update(|status| status.tunnel = Some(now));
        tokio::select! {
            () = stopping(&mut stopped) => return,
            changed = state.changed() => if changed.is_err() { return },
        }
    }
}
