//! The relay server: a public HTTPS endpoint for Zocdoc that forwards each webhook over a tunnel
//! to the desk app and answers with the app's outcome — or hangs up without a word.
//!
//! - `POST /hooks/{endpoint_id}`: reads the body (1 MiB cap, 413 beyond), forwards the raw bytes
//!   and the headers that matter to the endpoint's connected app, and waits for its outcome until
//!   the deadline (4 s by default). Stored, duplicate or stale → 200 `{"received":true}`;
//!   rejected → 401; failed, no app connected, a full queue or no outcome in time → the
//!   connection is closed with no response at all, so Zocdoc retries (for up to 48 hours).
//!   Unknown or revoked endpoint → 404.
//! - `GET /tunnel/{endpoint_id}`: the desk app's WebSocket upgrade, with `Authorization: Bearer
//!   <token>`. The token's SHA-256 is compared in constant time with the registry's. One app per
//!   endpoint: a second one is refused (409, `deskbridge-refusal: in_use`) unless it asks to take
//!   over (`deskbridge-take-over: 1`), which closes the first with `Closing{Replaced}`.
//! - `GET /health`: `{"status":"ok"}`.
//!
//! The relay holds no patient data: a body lives only while its request is in flight, and the
//! logs carry the endpoint id, the size, the outcome and the latency — never a body, a token or a
//! signature.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use crate::body::{BodyBudget, BodyError, read_body};
use crate::config::{ConfigError, RelayConfig, ms};
use crate::direct::answer_status;
use crate::frame::{
    CloseReason, DecodeError, Frame, MAX_APP_FRAME_LEN, MAX_HEADER_VALUE_LEN, MAX_HEADERS,
    OutcomeKind,
};
use crate::http_server::{Server, close_without_answer, raised};
use crate::registry::{AuthError, Endpoints, LiveRegistry, Registry, RegistryError};
use crate::tls::{self, TlsError};
use crate::token::EndpointId;

/// The path prefix of public webhook URLs.
pub const HOOKS_PREFIX: &str = "/hooks/";

/// The path prefix of tunnel URLs.
pub const TUNNEL_PREFIX: &str = "/tunnel/";

/// The request header with which an app asks to replace the app already connected.
pub const TAKE_OVER_HEADER: &str = "deskbridge-take-over";

/// The response header that says why a tunnel upgrade was refused.
pub const REFUSAL_HEADER: &str = "deskbridge-refusal";

/// Why the relay could not run.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The configuration is not valid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The endpoint registry could not be loaded.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The TLS certificate or key could not be loaded.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The listener failed.
    #[error("the relay's listener failed: {0}")]
    Io(#[from] io::Error),
}

/// Runs the relay on `listener` until `shutdown` resolves, then stops accepting, lets webhooks
/// in flight get their answer (up to the shutdown grace), and closes every tunnel with
/// `Closing{ShuttingDown}`.
pub async fn run(
    listener: TcpListener,
    config: RelayConfig,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), RelayError> {
    config.validate()?;
    let tls = match &config.tls {
        Some(files) => Some(tls::server_config(&files.cert, &files.key)?),
        None => None,
    };
    let registry = LiveRegistry::open(Registry::new(&config.registry))?;
    let endpoints = registry.snapshot().list().len();
    let (stopping, stop_rx) = watch::channel(false);
    let relay = Arc::new(Relay {
        registry,
        hub: Hub::default(),
        deadline: config.deadline(),
        budget: BodyBudget::new(config.limits.max_buffered_body_bytes),
        ping_interval: ms(config.tunnel.ping_interval_ms),
        peer_timeout: ms(config.tunnel.peer_timeout_ms),
        hello_timeout: ms(config.tunnel.hello_timeout_ms),
        queue_len: config.tunnel.queue_len,
        stopping: stop_rx,
    });
    let poller = tokio::spawn(poll_registry(
        Arc::clone(&relay),
        ms(config.registry_poll_ms),
    ));
    let limits = config.server_limits();
    let grace = limits.shutdown_grace;
    let mut server = Server::new(router(Arc::clone(&relay))).limits(limits);
    if let Some(tls) = tls {
        server = server.tls(tls);
    }
    tracing::info!(
        addr = %listener.local_addr()?,
        tls = config.tls.is_some(),
        endpoints,
        deadline_ms = config.limits.deadline_ms,
        "relay listening"
    );
    let served = server.run(listener, shutdown).await;
    // Webhooks in flight have had their grace; now the tunnels go.
    stopping.send_replace(true);
    relay.hub.wait_until_idle(grace).await;
    poller.abort();
    tracing::info!("relay stopped");
    Ok(served?)
}

/// What every request handler shares.
#[derive(Debug)]
struct Relay {
    registry: LiveRegistry,
    hub: Hub,
    deadline: Duration,
    budget: BodyBudget,
    ping_interval: Duration,
    peer_timeout: Duration,
    hello_timeout: Duration,
    queue_len: usize,
    /// Becomes true when the relay shuts down its tunnels.
    stopping: watch::Receiver<bool>,
}

impl Relay {
    /// The endpoints, reloaded first if the registry file changed (closing revoked tunnels).
    fn fresh_endpoints(&self) -> Arc<Endpoints> {
        match self.registry.refresh() {
            Ok(Some(endpoints)) => {
                self.hub.close_inactive(&endpoints);
                endpoints
            }
            Ok(None) => self.registry.snapshot(),
            Err(error) => {
                tracing::error!(%error, "endpoint registry not reloaded: keeping the last good one");
                self.registry.snapshot()
            }
        }
    }

    /// True when the endpoint exists and is not revoked, as the registry file says now (one
    /// `stat` per request; the file is re-read only when it changed), so that an endpoint added
    /// a moment ago works and one revoked a moment ago answers 404.
    fn is_active(&self, id: &EndpointId) -> bool {
        self.fresh_endpoints().is_active(id)
    }
}

async fn poll_registry(relay: Arc<Relay>, every: Duration) {
    loop {
        tokio::time::sleep(every).await;
        relay.fresh_endpoints();
    }
}

fn router(relay: Arc<Relay>) -> Router {
    Router::new()
        .route("/hooks/{endpoint_id}", post(hook))
        .route("/tunnel/{endpoint_id}", get(tunnel))
        .route("/health", get(health))
        .with_state(relay)
}

async fn health() -> Response {
    axum::Json(serde_json::json!({ "status": "ok" })).into_response()
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(serde_json::json!({ "error": "no such endpoint" })),
    )
        .into_response()
}

/// The headers an app needs: the signature headers (every `webhook-*`), the content type and the
/// user agent. `None` when they exceed what a frame carries (no Zocdoc request does).
fn forwarded_headers(headers: &HeaderMap) -> Option<HeaderMap> {
    let mut forwarded = HeaderMap::new();
    for (name, value) in headers {
        let wanted = name.as_str().starts_with("webhook-")
            || name == header::CONTENT_TYPE
            || name == header::USER_AGENT;
        if wanted {
            if value.len() > MAX_HEADER_VALUE_LEN || forwarded.len() == MAX_HEADERS {
                return None;
            }
            forwarded.append(name.clone(), value.clone());
        }
    }
    Some(forwarded)
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

async fn hook(
    State(relay): State<Arc<Relay>>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let deadline = started + relay.deadline;
    let Some(endpoint) = path.ok().and_then(|Path(id)| id.parse::<EndpointId>().ok()) else {
        return not_found();
    };
    if !relay.is_active(&endpoint) {
        tracing::info!(%endpoint, "webhook for an unknown or revoked endpoint");
        return not_found();
    }
    let body = match read_body(&headers, body, relay.deadline, Some(&relay.budget)).await {
        Ok(body) => body,
        Err(error) => {
            let latency_ms = millis(started.elapsed());
            match &error {
                BodyError::TooLarge => {
                    tracing::warn!(%endpoint, latency_ms, "webhook body too large: 413");
                }
                _ => tracing::warn!(
                    %endpoint,
                    %error,
                    latency_ms,
                    "webhook body not received: closing unanswered"
                ),
            }
            return error.answer();
        }
    };
    let size = body.bytes.len();
    let result = match (relay.hub.get(&endpoint), forwarded_headers(&headers)) {
        (None, _) => Err(Undelivered::NoApp),
        (Some(_), None) => Err(Undelivered::HeadersTooLarge),
        (Some(session), Some(forwarded)) => {
            session
                .deliver(forwarded, body.bytes.clone(), deadline)
                .await
        }
    };
    drop(body);
    let latency_ms = millis(started.elapsed());
    match result {
        Ok(kind) => {
            tracing::info!(%endpoint, size, outcome = kind.as_str(), latency_ms, "webhook relayed");
            answer_status(kind.http_status())
        }
        Err(why) => {
            tracing::warn!(
                %endpoint,
                size,
                outcome = "unanswered",
                reason = why.as_str(),
                latency_ms,
                "webhook not acknowledged: closing unanswered so Zocdoc retries"
            );
            close_without_answer()
        }
    }
}

fn refuse(status: StatusCode, reason: &'static str, message: &'static str) -> Response {
    (
        status,
        [(
            HeaderName::from_static(REFUSAL_HEADER),
            HeaderValue::from_static(reason),
        )],
        axum::Json(serde_json::json!({ "error": message, "reason": reason })),
    )
        .into_response()
}

fn bearer(headers: &HeaderMap) -> Option<&[u8]> {
    let value = headers.get(header::AUTHORIZATION)?.as_bytes();
    let scheme = value.get(..7)?;
    scheme
        .eq_ignore_ascii_case(b"bearer ")
        .then(|| value.get(7..))
        .flatten()
}

async fn tunnel(
    State(relay): State<Arc<Relay>>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    const UNAUTHORIZED: &str = "the endpoint or its token is not valid";
    let endpoint = path.ok().and_then(|Path(id)| id.parse::<EndpointId>().ok());
    let (Some(endpoint), Some(token)) = (endpoint, bearer(&headers)) else {
        return refuse(StatusCode::UNAUTHORIZED, "unauthorized", UNAUTHORIZED);
    };
    match relay.fresh_endpoints().authenticate(&endpoint, token) {
        Ok(_) => {}
        Err(AuthError::Unauthorized) => {
            tracing::warn!(%endpoint, "tunnel refused: bad endpoint or token");
            return refuse(StatusCode::UNAUTHORIZED, "unauthorized", UNAUTHORIZED);
        }
        Err(AuthError::Revoked) => {
            tracing::warn!(%endpoint, "tunnel refused: endpoint revoked");
            return refuse(
                StatusCode::FORBIDDEN,
                "revoked",
                "this endpoint has been revoked on the relay",
            );
        }
    }
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    if *relay.stopping.borrow() {
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting_down",
            "the relay is shutting down",
        );
    }
    let take_over = headers
        .get(TAKE_OVER_HEADER)
        .is_some_and(|value| value.as_bytes() == b"1" || value.as_bytes() == b"true");
    if !take_over && relay.hub.get(&endpoint).is_some() {
        tracing::info!(%endpoint, "tunnel refused: another app is connected");
        return refuse(
            StatusCode::CONFLICT,
            "in_use",
            "another desk app is already receiving for this endpoint; take over to replace it",
        );
    }
    upgrade
        .max_message_size(4 * MAX_APP_FRAME_LEN)
        .max_frame_size(4 * MAX_APP_FRAME_LEN)
        .on_upgrade(move |socket| serve_tunnel(relay, endpoint, take_over, socket))
}

/// Why a webhook was not answered by the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Undelivered {
    NoApp,
    HeadersTooLarge,
    QueueFull,
    Disconnected,
    TimedOut,
}

impl Undelivered {
    fn as_str(self) -> &'static str {
        match self {
            Undelivered::NoApp => "no_app_connected",
            Undelivered::HeadersTooLarge => "headers_too_large",
            Undelivered::QueueFull => "app_queue_full",
            Undelivered::Disconnected => "app_disconnected",
            Undelivered::TimedOut => "deadline_passed",
        }
    }
}

/// The connected apps, one per endpoint, and a count of live tunnel tasks.
#[derive(Debug)]
struct Hub {
    sessions: Mutex<HashMap<EndpointId, Arc<Session>>>,
    live: watch::Sender<usize>,
}

impl Default for Hub {
    fn default() -> Self {
        Hub {
            sessions: Mutex::new(HashMap::new()),
            live: watch::Sender::new(0),
        }
    }
}

/// Counts one live tunnel task while it exists.
struct LiveTunnel<'a>(&'a watch::Sender<usize>);

impl Drop for LiveTunnel<'_> {
    fn drop(&mut self) {
        self.0.send_modify(|live| *live = live.saturating_sub(1));
    }
}

impl Hub {
    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<EndpointId, Arc<Session>>> {
        self.sessions.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn track(&self) -> LiveTunnel<'_> {
        self.live.send_modify(|live| *live += 1);
        LiveTunnel(&self.live)
    }

    fn get(&self, endpoint: &EndpointId) -> Option<Arc<Session>> {
        self.sessions().get(endpoint).cloned()
    }

    /// Registers `session` for its endpoint; with `take_over`, replaces (and returns) the one
    /// there, otherwise fails if there is one.
    fn register(
        &self,
        session: &Arc<Session>,
        take_over: bool,
    ) -> Result<Option<Arc<Session>>, ()> {
        let mut sessions = self.sessions();
        if !take_over && sessions.contains_key(&session.endpoint) {
            return Err(());
        }
        Ok(sessions.insert(session.endpoint.clone(), Arc::clone(session)))
    }

    /// Removes `session` if it is still the one registered for its endpoint.
    fn remove(&self, session: &Arc<Session>) {
        let mut sessions = self.sessions();
        if sessions
            .get(&session.endpoint)
            .is_some_and(|current| Arc::ptr_eq(current, session))
        {
            sessions.remove(&session.endpoint);
        }
    }

    fn close_inactive(&self, endpoints: &Endpoints) {
        for session in self.sessions().values() {
            if !endpoints.is_active(&session.endpoint) {
                session.close(CloseReason::Revoked);
            }
        }
    }

    async fn wait_until_idle(&self, grace: Duration) {
        let mut live = self.live.subscribe();
        if tokio::time::timeout(grace, live.wait_for(|live| *live == 0))
            .await
            .is_err()
        {
            tracing::warn!("tunnels still open after the shutdown grace were dropped");
        }
    }
}

/// One connected app.
struct Session {
    endpoint: EndpointId,
    outgoing: mpsc::Sender<Bytes>,
    pending: Mutex<HashMap<u64, oneshot::Sender<OutcomeKind>>>,
    next_id: AtomicU64,
    close: watch::Sender<Option<CloseReason>>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

/// Removes a delivery's waiter when its request gives up (deadline, or the sender went away).
struct PendingGuard<'a> {
    session: &'a Session,
    id: u64,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        self.session.pending().remove(&self.id);
    }
}

impl Session {
    fn pending(&self) -> std::sync::MutexGuard<'_, HashMap<u64, oneshot::Sender<OutcomeKind>>> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Forwards one webhook and waits for its outcome until `deadline`.
    async fn deliver(
        &self,
        headers: HeaderMap,
        body: Bytes,
        deadline: Instant,
    ) -> Result<OutcomeKind, Undelivered> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let frame = Frame::Deliver { id, headers, body }
            .encode()
            .map_err(|_| Undelivered::HeadersTooLarge)?;
        let (reply, outcome) = oneshot::channel();
        self.pending().insert(id, reply);
        let _guard = PendingGuard { session: self, id };
        self.outgoing.try_send(frame).map_err(|error| match error {
            mpsc::error::TrySendError::Full(_) => Undelivered::QueueFull,
            mpsc::error::TrySendError::Closed(_) => Undelivered::Disconnected,
        })?;
        match tokio::time::timeout_at(deadline, outcome).await {
            Ok(Ok(kind)) => Ok(kind),
            Ok(Err(_)) => Err(Undelivered::Disconnected),
            Err(_) => Err(Undelivered::TimedOut),
        }
    }

    /// Hands an outcome to the request waiting for it (if it still waits).
    fn complete(&self, id: u64, kind: OutcomeKind) {
        match self.pending().remove(&id) {
            Some(reply) => drop(reply.send(kind)),
            None => tracing::debug!(endpoint = %self.endpoint, id, "outcome after the deadline"),
        }
    }

    fn close(&self, reason: CloseReason) {
        self.close.send_replace(Some(reason));
    }
}

/// How a tunnel ended, for the log.
#[derive(Debug)]
enum Ended {
    Closed(CloseReason),
    AppClosed,
    Broken(String),
}

impl fmt::Display for Ended {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ended::Closed(reason) => write!(f, "closed by the relay: {reason}"),
            Ended::AppClosed => f.write_str("closed by the app"),
            Ended::Broken(error) => write!(f, "connection lost: {error}"),
        }
    }
}

/// One message from the app, classified.
enum Incoming {
    Frame(Frame),
    Undecodable(DecodeError),
    Text,
    Control,
    Closed,
    Broken(String),
}

async fn receive(socket: &mut WebSocket) -> Incoming {
    match socket.recv().await {
        Some(Ok(Message::Binary(bytes))) => match Frame::decode(bytes) {
            Ok(frame) => Incoming::Frame(frame),
            Err(error) => Incoming::Undecodable(error),
        },
        Some(Ok(Message::Text(_))) => Incoming::Text,
        Some(Ok(Message::Ping(_) | Message::Pong(_))) => Incoming::Control,
        Some(Ok(Message::Close(_))) | None => Incoming::Closed,
        Some(Err(error)) => Incoming::Broken(error.to_string()),
    }
}

/// Sends one frame, giving up when the app does not take it within `timeout`.
async fn send(socket: &mut WebSocket, frame: Bytes, timeout: Duration) -> Result<(), Ended> {
    match tokio::time::timeout(timeout, socket.send(Message::Binary(frame))).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(Ended::Broken(error.to_string())),
        Err(_) => Err(Ended::Broken("the app stopped reading".to_owned())),
    }
}

fn encode(frame: &Frame) -> Bytes {
    // Only fixed-size frames are encoded here; they are always within every limit.
    frame.encode().unwrap_or_default()
}

/// Says why, then closes the WebSocket (briefly waiting for the app to take the frames).
async fn close_with(socket: &mut WebSocket, reason: CloseReason) -> Ended {
    let frames = [
        Message::Binary(encode(&Frame::Closing { reason })),
        Message::Close(Some(CloseFrame {
            code: match reason {
                CloseReason::ProtocolError | CloseReason::UnsupportedVersion => 1002,
                CloseReason::ShuttingDown => 1001,
                _ => 1000,
            },
            reason: reason.as_str().into(),
        })),
    ];
    for message in frames {
        if tokio::time::timeout(Duration::from_secs(1), socket.send(message))
            .await
            .is_err()
        {
            break;
        }
    }
    Ended::Closed(reason)
}

async fn serve_tunnel(
    relay: Arc<Relay>,
    endpoint: EndpointId,
    take_over: bool,
    mut socket: WebSocket,
) {
    let _live = relay.hub.track();
    let mut stopping = relay.stopping.clone();
    let hello = tokio::select! {
        hello = tokio::time::timeout(relay.hello_timeout, receive(&mut socket)) => hello,
        () = raised(&mut stopping) => {
            close_with(&mut socket, CloseReason::ShuttingDown).await;
            return;
        }
    };
    let app_name = match hello {
        Ok(Incoming::Frame(Frame::Hello { app_name })) => app_name,
        Ok(Incoming::Undecodable(DecodeError::UnsupportedVersion(version))) => {
            tracing::warn!(%endpoint, version, "tunnel refused: unsupported protocol version");
            close_with(&mut socket, CloseReason::UnsupportedVersion).await;
            return;
        }
        Ok(Incoming::Closed | Incoming::Broken(_)) => return,
        Ok(_) => {
            tracing::warn!(%endpoint, "tunnel closed: the app did not start with hello");
            close_with(&mut socket, CloseReason::ProtocolError).await;
            return;
        }
        Err(_) => {
            tracing::warn!(%endpoint, "tunnel closed: no hello in time");
            close_with(&mut socket, CloseReason::TimedOut).await;
            return;
        }
    };
    if !relay.registry.snapshot().is_active(&endpoint) {
        close_with(&mut socket, CloseReason::Revoked).await;
        return;
    }
    let (outgoing, mut queue) = mpsc::channel(relay.queue_len);
    let (close, mut closing) = watch::channel(None);
    let session = Arc::new(Session {
        endpoint: endpoint.clone(),
        outgoing,
        pending: Mutex::new(HashMap::new()),
        next_id: AtomicU64::new(1),
        close,
    });
    match relay.hub.register(&session, take_over) {
        Ok(replaced) => {
            if let Some(replaced) = replaced {
                replaced.close(CloseReason::Replaced);
            }
        }
        Err(()) => {
            tracing::info!(%endpoint, "tunnel refused: another app connected first");
            close_with(&mut socket, CloseReason::InUse).await;
            return;
        }
    }
    tracing::info!(%endpoint, app = ?app_name, take_over, "app connected");
    let ended = match send(&mut socket, encode(&Frame::Welcome), relay.peer_timeout).await {
        Ok(()) => {
            tunnel_loop(
                &relay,
                &session,
                &mut socket,
                &mut queue,
                &mut closing,
                &mut stopping,
            )
            .await
        }
        Err(ended) => ended,
    };
    relay.hub.remove(&session);
    // Requests still waiting learn at once that their app is gone.
    session.pending().clear();
    tracing::info!(%endpoint, app = ?app_name, %ended, "app disconnected");
}

async fn tunnel_loop(
    relay: &Relay,
    session: &Session,
    socket: &mut WebSocket,
    queue: &mut mpsc::Receiver<Bytes>,
    closing: &mut watch::Receiver<Option<CloseReason>>,
    stopping: &mut watch::Receiver<bool>,
) -> Ended {
    let endpoint = &session.endpoint;
    let mut ticker =
        tokio::time::interval_at(Instant::now() + relay.ping_interval, relay.ping_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_heard = Instant::now();
    let mut nonce = 0u64;
    loop {
        let result = tokio::select! {
            incoming = receive(socket) => {
                last_heard = Instant::now();
                match incoming {
                    Incoming::Frame(Frame::Outcome { id, kind }) => {
                        session.complete(id, kind);
                        Ok(())
                    }
                    Incoming::Frame(Frame::Ping { nonce }) => {
                        send(socket, encode(&Frame::Pong { nonce }), relay.peer_timeout).await
                    }
                    Incoming::Frame(Frame::Pong { .. }) | Incoming::Control => Ok(()),
                    Incoming::Frame(frame) => {
                        tracing::warn!(%endpoint, ?frame, "tunnel closed: unexpected frame from the app");
                        Err(close_with(socket, CloseReason::ProtocolError).await)
                    }
                    Incoming::Undecodable(error) => {
                        tracing::warn!(%endpoint, %error, "tunnel closed: undecodable frame from the app");
                        Err(close_with(socket, CloseReason::ProtocolError).await)
                    }
                    Incoming::Text => {
                        tracing::warn!(%endpoint, "tunnel closed: text message from the app");
                        Err(close_with(socket, CloseReason::ProtocolError).await)
                    }
                    Incoming::Closed => Err(Ended::AppClosed),
                    Incoming::Broken(error) => Err(Ended::Broken(error)),
                }
            }
            Some(frame) = queue.recv() => send(socket, frame, relay.peer_timeout).await,
            Ok(()) = closing.changed() => {
                let reason = (*closing.borrow()).unwrap_or(CloseReason::ShuttingDown);
                Err(close_with(socket, reason).await)
            }
            () = raised(stopping) => {
                Err(close_with(socket, CloseReason::ShuttingDown).await)
            }
            _ = ticker.tick() => {
                if last_heard.elapsed() >= relay.peer_timeout {
                    tracing::warn!(%endpoint, "tunnel closed: the app stopped answering pings");
                    Err(close_with(socket, CloseReason::TimedOut).await)
                } else {
                    nonce = nonce.wrapping_add(1);
                    send(socket, encode(&Frame::Ping { nonce }), relay.peer_timeout).await
                }
            }
        };
        if let Err(ended) = result {
            return ended;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_headers_that_matter_are_forwarded() {
        let mut headers = HeaderMap::new();
        headers.insert("webhook-timestamp", HeaderValue::from_static("1"));
        headers.insert("webhook-signature", HeaderValue::from_static("v1:x"));
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(header::USER_AGENT, HeaderValue::from_static("Zocdoc"));
        headers.insert(header::COOKIE, HeaderValue::from_static("secret"));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer x"));
        headers.insert("x-forwarded-for", HeaderValue::from_static("10.0.0.1"));
        let forwarded = forwarded_headers(&headers).unwrap();
        let mut names: Vec<_> = forwarded.keys().map(HeaderName::as_str).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "content-type",
                "user-agent",
                "webhook-signature",
                "webhook-timestamp"
            ]
        );
        let mut huge = HeaderMap::new();
        huge.insert(
            "webhook-signature",
            HeaderValue::from_bytes(&vec![b'a'; MAX_HEADER_VALUE_LEN + 1]).unwrap(),
        );
        assert!(forwarded_headers(&huge).is_none());
    }

    #[test]
    fn bearer_tokens_are_read_case_insensitively_and_nothing_else_is() {
        let with = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, HeaderValue::from_static(value));
            headers
        };
        assert_eq!(bearer(&with("Bearer dbr_x")), Some(&b"dbr_x"[..]));
        assert_eq!(bearer(&with("bearer dbr_x")), Some(&b"dbr_x"[..]));
        assert_eq!(bearer(&with("Basic dbr_x")), None);
        assert_eq!(bearer(&with("Bear")), None);
        assert_eq!(bearer(&HeaderMap::new()), None);
    }
}
