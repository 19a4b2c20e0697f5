//! The tunnel client: the desk app's end of the relay tunnel.
//!
//! It connects out to the relay (`wss://…/tunnel/{endpoint_id}`, token in `Authorization`), says
//! hello, and waits for the relay's welcome, which means the relay will now deliver to it. Each
//! delivered webhook goes to the same [`Ingest::ingest`] as the direct listener, and its outcome
//! goes back only when `ingest` returns — after the commit. When the link drops it reconnects,
//! forever, with exponential backoff and jitter (30 s at most). Its state is published on a
//! `watch` channel for the link-health light, and every (re)connection calls the gap-recovery
//! hook, so the app can look for events it missed while it was away.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use deskbridge_core::clock::{Clock, SystemClock};
use deskbridge_core::ingest::{IncomingWebhook, Ingest};
use deskbridge_core::random::{OsRandom, RandomSource};
use deskbridge_core::secrets::SecretValue;
use futures_util::{SinkExt as _, StreamExt as _};
use http::{HeaderValue, Uri, header};
use jiff::Timestamp;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_rustls::TlsConnector;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};

use crate::backoff::Backoff;
use crate::frame::{CloseReason, Frame, MAX_FRAME_LEN, OutcomeKind};
use crate::http_server::raised;
use crate::server::{REFUSAL_HEADER, TAKE_OVER_HEADER, TUNNEL_PREFIX};
use crate::tls::{self, TlsError, Trust};

/// How the client connects and how patient it is.
#[derive(Debug, Clone)]
pub struct TunnelConfig {
    /// The tunnel URL, `wss://relay.example.com/tunnel/{endpoint_id}` (`ws://` only to this
    /// computer, for tests and a relay on the same host).
    pub url: String,
    /// The endpoint's token, from the keyring. Its `Debug` shows nothing.
    pub token: SecretValue,
    /// A name for the relay's logs, e.g. "Deskbridge 0.1.0" (its first 64 characters are sent).
    pub app_name: String,
    /// Which certificates to trust for `wss://`.
    pub trust: Trust,
    /// How long connecting may take: TCP, TLS, upgrade, hello and welcome.
    pub connect_timeout: Duration,
    /// How often the client pings the relay.
    pub ping_interval: Duration,
    /// A relay silent for this long is taken for dead, and the client reconnects.
    pub peer_timeout: Duration,
    /// The waits between attempts.
    pub backoff: Backoff,
    /// Deliveries ingested at once; beyond it a delivery fails at once (Zocdoc retries it).
    pub max_concurrent_deliveries: usize,
    /// The clock for the state's timestamps.
    pub clock: Arc<dyn Clock>,
    /// The randomness for the backoff's jitter.
    pub random: Arc<dyn RandomSource>,
}

impl TunnelConfig {
    /// The defaults: 10 s to connect, pings every 10 s, a relay silent for 25 s is dead, backoff
    /// from 0.5 s to 30 s, 256 deliveries at once, public CA roots.
    pub fn new(url: impl Into<String>, token: SecretValue, app_name: impl Into<String>) -> Self {
        TunnelConfig {
            url: url.into(),
            token,
            app_name: app_name.into(),
            trust: Trust::PublicRoots,
            connect_timeout: Duration::from_secs(10),
            ping_interval: Duration::from_secs(10),
            peer_timeout: Duration::from_secs(25),
            backoff: Backoff::default(),
            max_concurrent_deliveries: 256,
            clock: Arc::new(SystemClock),
            random: Arc::new(OsRandom),
        }
    }
}

/// The link as the health light shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TunnelState {
    /// The first attempt is under way.
    Connecting {
        /// When the client started.
        since: Timestamp,
    },
    /// The relay will deliver webhooks to this app.
    Connected {
        /// Since when.
        since: Timestamp,
    },
    /// Not connected; trying again.
    Reconnecting {
        /// When the link went down (or the client started, if it never came up).
        since: Timestamp,
        /// Failed attempts so far.
        attempt: u32,
        /// The last failure, in words.
        error: String,
    },
    /// The relay refused this app; the client still retries (with the longest waits reached
    /// quickly), so that it recovers when the cause goes away.
    Refused {
        /// Since when the link has been down.
        since: Timestamp,
        /// Why.
        reason: Refusal,
    },
    /// The client was stopped.
    Stopped,
}

/// Why the relay will not deliver to this app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The endpoint or token is not valid.
    Unauthorized,
    /// The endpoint has been revoked on the relay.
    Revoked,
    /// Another desk app receives for this endpoint (take over to replace it).
    InUse,
    /// Another desk app took over this endpoint.
    Replaced,
    /// The relay does not speak this app's protocol version.
    UnsupportedVersion,
}

impl Refusal {
    /// A stable snake_case code for the UI.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Unauthorized => "unauthorized",
            Refusal::Revoked => "revoked",
            Refusal::InUse => "in_use",
            Refusal::Replaced => "replaced",
            Refusal::UnsupportedVersion => "unsupported_version",
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Refusal::Unauthorized => "the relay does not accept this endpoint's token",
            Refusal::Revoked => "this endpoint has been revoked on the relay",
            Refusal::InUse => "another desk is receiving this endpoint's webhooks",
            Refusal::Replaced => "another desk took over this endpoint",
            Refusal::UnsupportedVersion => "the relay needs a newer Deskbridge",
        })
    }
}

/// What the gap-recovery hook learns on every (re)connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Connected {
    /// When the link came up.
    pub at: Timestamp,
    /// When the link last went down; `None` on this client's first connection.
    pub disconnected_since: Option<Timestamp>,
}

/// Called on every (re)connection, so that events missed while away are recovered (resync).
/// Called on the client's task: it must return at once (spawn the work).
pub trait GapRecovery: Send + Sync + 'static {
    /// The link is up.
    fn connected(&self, event: Connected);
}

impl<F> GapRecovery for F
where
    F: Fn(Connected) + Send + Sync + 'static,
{
    fn connected(&self, event: Connected) {
        self(event);
    }
}

/// Why a client could not be started.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The URL is not a tunnel URL.
    #[error("the relay tunnel URL is not valid: {0}")]
    InvalidUrl(String),
    /// `ws://` to another computer would send the token and webhooks in clear.
    #[error("the relay tunnel URL must start with wss:// (ws:// is only allowed to this computer)")]
    InsecureUrl,
    /// The token cannot be sent in a header.
    #[error("the relay token is not valid: it must be printable text")]
    InvalidToken,
    /// TLS could not be set up.
    #[error(transparent)]
    Tls(#[from] TlsError),
}

/// A running tunnel client. Dropping it stops the client, like [`TunnelClient::stop`].
#[derive(Debug)]
pub struct TunnelClient {
    state: watch::Receiver<TunnelState>,
    take_over: watch::Sender<()>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl TunnelClient {
    /// Starts connecting, on a task of the current tokio runtime (call it from inside one).
    /// Deliveries go to `ingest`; `recovery` is called on every (re)connection.
    pub fn start(
        config: TunnelConfig,
        ingest: Ingest,
        recovery: impl GapRecovery,
    ) -> Result<TunnelClient, ClientError> {
        let target = Target::parse(&config.url)?;
        let token = config
            .token
            .expose_text()
            .filter(|token| !token.is_empty())
            .ok_or(ClientError::InvalidToken)?;
        let mut authorization = HeaderValue::try_from(format!("Bearer {token}"))
            .map_err(|_| ClientError::InvalidToken)?;
        authorization.set_sensitive(true);
        let tls = if target.secure {
            Some(TlsConnector::from(tls::client_config(&config.trust)?))
        } else {
            None
        };
        let started = config.clock.now();
        let (state_tx, state) = watch::channel(TunnelState::Connecting { since: started });
        let (stop, stop_rx) = watch::channel(false);
        let (take_over, take_over_rx) = watch::channel(());
        let worker = Worker {
            target,
            authorization,
            tls,
            config,
            ingest,
            recovery: Box::new(recovery),
            state: state_tx,
            take_over: take_over_rx,
            stop: stop_rx,
        };
        let task = tokio::spawn(worker.run(started));
        Ok(TunnelClient {
            state,
            take_over,
            stop,
            task,
        })
    }

    /// The link's state, for the health light.
    pub fn state(&self) -> watch::Receiver<TunnelState> {
        self.state.clone()
    }

    /// Asks the relay to make this app the receiver, replacing the one connected: the next
    /// attempt (made at once) carries the take-over request. Only while not connected (e.g.
    /// refused as in use): a request made while connected is dropped, so that it cannot displace
    /// another desk at some later reconnection.
    pub fn take_over(&self) {
        self.take_over.send_replace(());
    }

    /// Closes the tunnel and waits for the client to finish. Deliveries already handed to
    /// `ingest` still complete (their rows are committed), but their outcomes are not sent.
    pub async fn stop(self) {
        self.stop.send_replace(true);
        let _ = self.task.await;
    }
}

/// Where to connect.
#[derive(Debug, Clone)]
struct Target {
    uri: Uri,
    secure: bool,
    host: String,
    port: u16,
}

impl Target {
    fn parse(url: &str) -> Result<Target, ClientError> {
        let invalid = |problem: &str| ClientError::InvalidUrl(format!("{url:?}: {problem}"));
        let uri: Uri = url.parse().map_err(|_| invalid("not a URL"))?;
        let secure = match uri.scheme_str() {
            Some("wss") => true,
            Some("ws") => false,
            _ => return Err(invalid("it must start with wss://")),
        };
        let host = uri
            .host()
            .filter(|host| !host.is_empty())
            .ok_or_else(|| invalid("it has no host"))?;
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        if !uri.path().starts_with(TUNNEL_PREFIX) || uri.path().len() == TUNNEL_PREFIX.len() {
            return Err(invalid("its path must be /tunnel/<endpoint id>"));
        }
        let loopback = host.eq_ignore_ascii_case("localhost")
            || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
        if !secure && !loopback {
            return Err(ClientError::InsecureUrl);
        }
        let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
        Ok(Target {
            uri,
            secure,
            host,
            port,
        })
    }
}

/// Anything a WebSocket can run over: a TCP or a TLS stream.
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

type Socket = WebSocketStream<Box<dyn Io>>;

/// Why an attempt failed.
enum AttemptError {
    Refused(Refusal),
    Failed(String),
}

/// How a working connection ended.
enum Disconnect {
    Stopped,
    Closed(CloseReason),
    Broken(String),
}

struct Worker {
    target: Target,
    authorization: HeaderValue,
    tls: Option<TlsConnector>,
    config: TunnelConfig,
    ingest: Ingest,
    recovery: Box<dyn GapRecovery>,
    state: watch::Sender<TunnelState>,
    take_over: watch::Receiver<()>,
    stop: watch::Receiver<bool>,
}

fn encode(frame: &Frame) -> Bytes {
    // Only small fixed-size frames are encoded here; they are always within every limit.
    frame.encode().unwrap_or_default()
}

impl Worker {
    async fn run(mut self, started: Timestamp) {
        let mut attempt: u32 = 0;
        let mut take_over = false;
        let mut down_since: Option<Timestamp> = None;
        loop {
            if *self.stop.borrow() {
                break;
            }
            let mut stop = self.stop.clone();
            let connecting =
                tokio::time::timeout(self.config.connect_timeout, self.connect(take_over));
            let result = tokio::select! {
                result = connecting => result,
                () = raised(&mut stop) => break,
            };
            let since = down_since.unwrap_or(started);
            match result {
                Ok(Ok(socket)) => {
                    tracing::info!(take_over, "relay tunnel connected");
                    attempt = 0;
                    take_over = false;
                    let now = self.config.clock.now();
                    self.state
                        .send_replace(TunnelState::Connected { since: now });
                    self.recovery.connected(Connected {
                        at: now,
                        disconnected_since: down_since,
                    });
                    let ended = self.serve(socket).await;
                    // Take-over requests made while connected are void.
                    self.take_over.mark_unchanged();
                    let now = self.config.clock.now();
                    down_since = Some(now);
                    let state = match ended {
                        Disconnect::Stopped => break,
                        Disconnect::Closed(CloseReason::Replaced) => TunnelState::Refused {
                            since: now,
                            reason: Refusal::Replaced,
                        },
                        Disconnect::Closed(CloseReason::Revoked) => TunnelState::Refused {
                            since: now,
                            reason: Refusal::Revoked,
                        },
                        Disconnect::Closed(reason) => TunnelState::Reconnecting {
                            since: now,
                            attempt,
                            error: format!("the relay closed the tunnel ({reason})"),
                        },
                        Disconnect::Broken(error) => TunnelState::Reconnecting {
                            since: now,
                            attempt,
                            error,
                        },
                    };
                    tracing::warn!(?state, "relay tunnel down");
                    self.state.send_replace(state);
                }
                Ok(Err(AttemptError::Refused(reason))) => {
                    attempt += 1;
                    tracing::warn!(reason = reason.as_str(), "relay tunnel refused");
                    self.state
                        .send_replace(TunnelState::Refused { since, reason });
                }
                Ok(Err(AttemptError::Failed(error))) => {
                    attempt += 1;
                    tracing::debug!(attempt, %error, "relay tunnel attempt failed");
                    self.state.send_replace(TunnelState::Reconnecting {
                        since,
                        attempt,
                        error,
                    });
                }
                Err(_) => {
                    attempt += 1;
                    self.state.send_replace(TunnelState::Reconnecting {
                        since,
                        attempt,
                        error: "connecting to the relay timed out".to_owned(),
                    });
                }
            }
            let wait = self
                .config
                .backoff
                .delay(attempt.max(1), self.config.random.as_ref());
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                Ok(()) = self.take_over.changed() => take_over = true,
                () = raised(&mut self.stop) => break,
            }
        }
        self.state.send_replace(TunnelState::Stopped);
        tracing::info!("relay tunnel stopped");
    }

    /// One attempt: TCP, TLS, upgrade, hello, welcome.
    async fn connect(&self, take_over: bool) -> Result<Socket, AttemptError> {
        let failed =
            |what: &str, error: &dyn fmt::Display| AttemptError::Failed(format!("{what}: {error}"));
        let tcp = TcpStream::connect((self.target.host.as_str(), self.target.port))
            .await
            .map_err(|error| failed("could not reach the relay", &error))?;
        let _ = tcp.set_nodelay(true);
        let stream: Box<dyn Io> =
            match &self.tls {
                Some(connector) => {
                    let name = ServerName::try_from(self.target.host.clone())
                        .map_err(|error| failed("the relay's host name is not valid", &error))?;
                    Box::new(connector.connect(name, tcp).await.map_err(|error| {
                        failed("the TLS handshake with the relay failed", &error)
                    })?)
                }
                None => Box::new(tcp),
            };
        let mut request = self
            .target
            .uri
            .clone()
            .into_client_request()
            .map_err(|error| failed("the tunnel request could not be made", &error))?;
        request
            .headers_mut()
            .insert(header::AUTHORIZATION, self.authorization.clone());
        if take_over {
            request
                .headers_mut()
                .insert(TAKE_OVER_HEADER, HeaderValue::from_static("1"));
        }
        let ws_config = WebSocketConfig::default()
            .max_message_size(Some(MAX_FRAME_LEN))
            .max_frame_size(Some(MAX_FRAME_LEN));
        let (mut socket, _) =
            tokio_tungstenite::client_async_with_config(request, stream, Some(ws_config))
                .await
                .map_err(refusal_or_failure)?;
        let hello = Frame::Hello {
            app_name: self.config.app_name.chars().take(64).collect(),
        };
        socket
            .send(Message::Binary(encode(&hello)))
            .await
            .map_err(|error| failed("the relay did not take the hello", &error))?;
        loop {
            let message = socket
                .next()
                .await
                .ok_or_else(|| AttemptError::Failed("the relay closed the tunnel".to_owned()))?
                .map_err(|error| failed("the tunnel broke", &error))?;
            let Message::Binary(bytes) = message else {
                continue;
            };
            match Frame::decode(bytes) {
                Ok(Frame::Welcome) => return Ok(socket),
                Ok(Frame::Ping { nonce }) => {
                    let _ = socket
                        .send(Message::Binary(encode(&Frame::Pong { nonce })))
                        .await;
                }
                Ok(Frame::Closing { reason }) => {
                    return Err(match reason {
                        CloseReason::InUse => AttemptError::Refused(Refusal::InUse),
                        CloseReason::Revoked => AttemptError::Refused(Refusal::Revoked),
                        CloseReason::UnsupportedVersion => {
                            AttemptError::Refused(Refusal::UnsupportedVersion)
                        }
                        other => {
                            AttemptError::Failed(format!("the relay closed the tunnel ({other})"))
                        }
                    });
                }
                Ok(frame) => {
                    return Err(AttemptError::Failed(format!(
                        "the relay sent {frame:?} before its welcome"
                    )));
                }
                Err(error) => return Err(failed("the relay sent an invalid frame", &error)),
            }
        }
    }

    /// Receives deliveries until the tunnel ends.
    async fn serve(&mut self, mut socket: Socket) -> Disconnect {
        let limit = self.config.max_concurrent_deliveries.max(1);
        let slots = Arc::new(Semaphore::new(limit));
        let (outcomes, mut finished) = mpsc::channel::<Bytes>(limit);
        let period = self.config.ping_interval;
        let mut ticker = tokio::time::interval_at(Instant::now() + period, period);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_heard = Instant::now();
        let mut nonce = 0u64;
        let timeout = self.config.peer_timeout;
        loop {
            let reply = tokio::select! {
                message = socket.next() => {
                    last_heard = Instant::now();
                    match message {
                        Some(Ok(Message::Binary(bytes))) => match Frame::decode(bytes) {
                            Ok(Frame::Deliver { id, headers, body }) => {
                                match Arc::clone(&slots).try_acquire_owned() {
                                    Ok(slot) => {
                                        let ingest = self.ingest.clone();
                                        let outcomes = outcomes.clone();
                                        tokio::spawn(async move {
                                            // Returns only after the commit that covers the row.
                                            let outcome = ingest.ingest(IncomingWebhook { headers, body }).await;
                                            let kind = OutcomeKind::from(&outcome);
                                            // A closed tunnel is no error: the relay has hung up
                                            // and Zocdoc retries (then it is a duplicate).
                                            let _ = outcomes.send(encode(&Frame::Outcome { id, kind })).await;
                                            drop(slot);
                                        });
                                        None
                                    }
                                    Err(_) => {
                                        tracing::warn!(limit, "too many deliveries at once: failing one so it is retried");
                                        Some(encode(&Frame::Outcome { id, kind: OutcomeKind::Failed }))
                                    }
                                }
                            }
                            Ok(Frame::Ping { nonce }) => Some(encode(&Frame::Pong { nonce })),
                            Ok(Frame::Pong { .. } | Frame::Welcome) => None,
                            Ok(Frame::Closing { reason }) => return Disconnect::Closed(reason),
                            Ok(frame) => {
                                let _ = socket.close(None).await;
                                return Disconnect::Broken(format!("the relay sent an unexpected {frame:?}"));
                            }
                            Err(error) => {
                                let _ = socket.close(None).await;
                                return Disconnect::Broken(format!("the relay sent an invalid frame: {error}"));
                            }
                        },
                        Some(Ok(Message::Text(_))) => {
                            let _ = socket.close(None).await;
                            return Disconnect::Broken("the relay sent a text message".to_owned());
                        }
                        Some(Ok(Message::Close(_))) | None => {
                            return Disconnect::Broken("the relay closed the connection".to_owned());
                        }
                        Some(Ok(_)) => None,
                        Some(Err(error)) => return Disconnect::Broken(format!("the tunnel broke: {error}")),
                    }
                }
                Some(frame) = finished.recv() => Some(frame),
                _ = ticker.tick() => {
                    if last_heard.elapsed() >= timeout {
                        return Disconnect::Broken("the relay stopped answering".to_owned());
                    }
                    nonce = nonce.wrapping_add(1);
                    Some(encode(&Frame::Ping { nonce }))
                }
                () = raised(&mut self.stop) => {
                    let _ = tokio::time::timeout(Duration::from_secs(1), socket.close(None)).await;
                    return Disconnect::Stopped;
                }
            };
            if let Some(frame) = reply {
                match tokio::time::timeout(timeout, socket.send(Message::Binary(frame))).await {
                    Ok(Ok(())) => {}
                    Ok(Err(error)) => {
                        return Disconnect::Broken(format!("the tunnel broke: {error}"));
                    }
                    Err(_) => return Disconnect::Broken("the relay stopped reading".to_owned()),
                }
            }
        }
    }
}

/// Sorts a failed upgrade into a refusal (401, 403, 409) or a failure worth retrying.
fn refusal_or_failure(error: tungstenite::Error) -> AttemptError {
    match error {
        tungstenite::Error::Http(response) => {
            let said = response
                .headers()
                .get(REFUSAL_HEADER)
                .and_then(|value| value.to_str().ok());
            match (response.status().as_u16(), said) {
                (401, _) => AttemptError::Refused(Refusal::Unauthorized),
                (403, _) => AttemptError::Refused(Refusal::Revoked),
                (409, _) => AttemptError::Refused(Refusal::InUse),
                (status, Some(reason)) => {
                    AttemptError::Failed(format!("the relay answered {status} ({reason})"))
                }
                (status, None) => AttemptError::Failed(format!("the relay answered {status}")),
            }
        }
        other => AttemptError::Failed(format!("the tunnel upgrade failed: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tunnel_urls_must_be_wss_except_to_this_computer() {
        let id = "AAAAAAAAAAAAAAAAAAAAAA";
        let target = Target::parse(&format!("wss://relay.example.com/tunnel/{id}")).unwrap();
        assert!(target.secure);
        assert_eq!(
            (target.host.as_str(), target.port),
            ("relay.example.com", 443)
        );
        let target = Target::parse(&format!("ws://127.0.0.1:8080/tunnel/{id}")).unwrap();
        assert!(!target.secure);
        assert_eq!(target.port, 8080);
        assert!(Target::parse(&format!("ws://[::1]:9/tunnel/{id}")).is_ok());
        assert!(Target::parse(&format!("ws://localhost/tunnel/{id}")).is_ok());
        assert!(matches!(
            Target::parse(&format!("ws://relay.example.com/tunnel/{id}")),
            Err(ClientError::InsecureUrl)
        ));
        for bad in [
            "https://relay.example.com/tunnel/x",
            "wss://relay.example.com/hooks/x",
            "wss://relay.example.com/tunnel/",
            "not a url",
        ] {
            assert!(
                matches!(Target::parse(bad), Err(ClientError::InvalidUrl(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_config_never_prints_its_token() {
        let config = TunnelConfig::new(
            "wss://relay.example.com/tunnel/AAAAAAAAAAAAAAAAAAAAAA",
            SecretValue::from_text("dbr_TOPSECRET".to_owned()),
            "Deskbridge",
        );
        assert!(!format!("{config:?}").contains("TOPSECRET"));
    }

    #[tokio::test]
    async fn tokens_that_cannot_be_a_header_are_refused() {
        let ingest = Ingest::without_store(None, Arc::new(SystemClock));
        for token in ["", "dbr_\nx"] {
            let config = TunnelConfig::new(
                "ws://127.0.0.1:1/tunnel/AAAAAAAAAAAAAAAAAAAAAA",
                SecretValue::from_text(token.to_owned()),
                "Deskbridge",
            );
            assert!(matches!(
                TunnelClient::start(config, ingest.clone(), |_| {}),
                Err(ClientError::InvalidToken)
            ));
        }
    }

    #[test]
    fn refusals_are_told_apart_from_failures() {
        let response = |status: u16| {
            tungstenite::Error::Http(Box::new(
                http::Response::builder().status(status).body(None).unwrap(),
            ))
        };
        assert!(matches!(
            refusal_or_failure(response(401)),
            AttemptError::Refused(Refusal::Unauthorized)
        ));
        assert!(matches!(
            refusal_or_failure(response(403)),
            AttemptError::Refused(Refusal::Revoked)
        ));
        assert!(matches!(
            refusal_or_failure(response(409)),
            AttemptError::Refused(Refusal::InUse)
        ));
        assert!(matches!(
            refusal_or_failure(response(502)),
            AttemptError::Failed(_)
        ));
    }
}
