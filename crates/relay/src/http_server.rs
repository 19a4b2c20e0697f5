//! An HTTP/1.1 server in which "no answer" is an answer: a handler can ask for the connection to be
//! closed without a single byte of response, so that a webhook sender that retries only on
//! transport failures (Zocdoc) retries.
//!
//! Built on hyper's per-connection API because `axum::serve` always writes a response. It also
//! bounds what a hostile client can hold: a cap on concurrent connections, a header read timeout,
//! a TLS handshake timeout, and a graceful shutdown that waits a bounded time for requests in
//! flight. With [`Server::tls`] every connection is TLS (rustls); the handshake runs inside the
//! connection's own task, so a slow or silent client never holds up the accept loop.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::response::Response;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;

/// The marker a handler puts on its response to have the connection closed unanswered.
#[derive(Debug, Clone, Copy)]
struct CloseUnanswered;

/// The service error that makes hyper drop the connection without writing a response.
#[derive(Debug, thiserror::Error)]
#[error("connection closed without an answer, so the sender retries")]
struct ClosedUnanswered;

/// A response that is never sent: the server closes the connection instead, with no status line,
/// so the sender sees a transport failure (and Zocdoc retries).
pub fn close_without_answer() -> Response {
    let mut response = Response::new(Body::empty());
    response.extensions_mut().insert(CloseUnanswered);
    response
}

/// What one server may hold and how long it waits.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Connections served at once; further ones wait in the kernel's accept queue.
    pub max_connections: usize,
    /// How long a client may take to send its request line and headers.
    pub header_read_timeout: Duration,
    /// How long shutdown waits for requests in flight before dropping them.
    pub shutdown_grace: Duration,
    /// How long a client may take to complete the TLS handshake (TLS servers only).
    pub tls_handshake_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 1024,
            header_read_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(5),
            tls_handshake_timeout: Duration::from_secs(10),
        }
    }
}

/// An HTTP/1.1 server for one router.
#[derive(Clone)]
pub struct Server {
    router: Router,
    limits: Limits,
    tls: Option<TlsAcceptor>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("limits", &self.limits)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

impl Server {
    pub fn new(router: Router) -> Server {
        Server {
            router,
            limits: Limits::default(),
            tls: None,
        }
    }

    pub fn limits(mut self, limits: Limits) -> Server {
        self.limits = limits;
        self
    }

    /// Serves every connection over TLS with this configuration (HTTP/1.1 only: its ALPN list
    /// should be empty or `http/1.1`).
    pub fn tls(mut self, config: Arc<rustls::ServerConfig>) -> Server {
        self.tls = Some(TlsAcceptor::from(config));
        self
    }

    /// Serves connections from `listener` until `shutdown` resolves, then stops accepting and
    /// waits up to [`Limits::shutdown_grace`] for requests in flight.
    pub async fn run(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send,
    ) -> io::Result<()> {
        let Server {
            router,
            limits,
            tls,
        } = self;
        let slots = Arc::new(Semaphore::new(limits.max_connections));
        // Tells every connection to finish its request in flight and close.
        let (closing, _) = watch::channel(false);
        tokio::pin!(shutdown);
        loop {
            let slot = tokio::select! {
                slot = Arc::clone(&slots).acquire_owned() => slot.expect("the semaphore is never closed"),
                () = &mut shutdown => break,
            };
            let (stream, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        // Out of file descriptors and the like: back off, keep serving.
                        tracing::warn!(%error, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            // Answers are small and latency matters more than packet count.
            let _ = stream.set_nodelay(true);
            let router = router.clone();
            let limits = limits.clone();
            let closing = closing.subscribe();
            let tls = tls.clone();
            tokio::spawn(async move {
                match tls {
                    None => serve_connection(stream, peer, router, &limits, closing).await,
                    Some(acceptor) => {
                        match tokio::time::timeout(
                            limits.tls_handshake_timeout,
                            acceptor.accept(stream),
                        )
                        .await
                        {
                            Ok(Ok(stream)) => {
                                serve_connection(stream, peer, router, &limits, closing).await;
                            }
                            Ok(Err(error)) => {
                                tracing::debug!(%peer, %error, "TLS handshake failed");
                            }
                            Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                        }
                    }
                }
                drop(slot);
            });
        }
        drop(listener);
        let _ = closing.send(true);
        // Every connection holds a slot until it ends: all slots free means all have ended.
        let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
        if tokio::time::timeout(limits.shutdown_grace, slots.acquire_many(all))
            .await
            .is_err()
        {
            tracing::warn!(
                grace = ?limits.shutdown_grace,
                "requests still in flight at shutdown were dropped unanswered"
            );
        }
        Ok(())
    }
}

/// Resolves once `flag` is true, or its sender is gone (which means the same: stop).
pub(crate) async fn raised(flag: &mut watch::Receiver<bool>) {
    let _ = flag.wait_for(|raised| *raised).await;
}

/// Serves HTTP/1.1 on one (plain or TLS) connection until it ends.
async fn serve_connection<S>(
    stream: S,
    peer: SocketAddr,
    router: Router,
    limits: &Limits,
    mut closing: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let service = service_fn(move |request: hyper::Request<Incoming>| {
        let router = router.clone();
        async move {
            let response = router
                .oneshot(request.map(Body::new))
                .await
                .unwrap_or_else(|never: Infallible| match never {});
            if response.extensions().get::<CloseUnanswered>().is_some() {
                Err(ClosedUnanswered)
            } else {
                Ok(response)
            }
        }
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::pin!(connection);
    let ended = tokio::select! {
        ended = connection.as_mut() => ended,
        () = raised(&mut closing) => {
            // Finish the request in flight (if any), then close; idle connections close now.
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = ended {
        tracing::debug!(%peer, %error, "connection ended");
    }
}

#[cfg(test)]
mod tests {
    use axum::routing::get;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio::net::TcpStream;
    use tokio::sync::oneshot;

    use super::*;

    async fn start(router: Router, limits: Limits) -> (SocketAddr, oneshot::Sender<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(Server::new(router).limits(limits).run(listener, async {
            let _ = stopped.await;
        }));
        (addr, stop)
    }

    /// Sends raw bytes and reads everything the server writes until it closes.
    async fn exchange(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(request).await.unwrap();
        read_until_closed(&mut stream).await
    }

    /// Everything the server writes until it closes; fails when it holds the connection open.
    async fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer))
            .await
            .expect("the server neither answered nor closed the connection")
            .ok();
        answer
    }

    fn router() -> Router {
        Router::new()
            .route("/answer", get(|| async { "hello" }))
            .route("/silence", get(|| async { close_without_answer() }))
    }

    #[tokio::test]
    async fn an_unanswered_request_gets_zero_bytes_and_a_closed_connection() {
        let (addr, _stop) = start(router(), Limits::default()).await;
        for _ in 0..20 {
            let answer = exchange(addr, b"GET /silence HTTP/1.1\r\nHost: x\r\n\r\n").await;
            assert!(
                answer.is_empty(),
                "got {:?}",
                String::from_utf8_lossy(&answer)
            );
        }
    }

    #[tokio::test]
    async fn an_answered_request_gets_its_answer() {
        let (addr, _stop) = start(router(), Limits::default()).await;
        let answer = exchange(
            addr,
            b"GET /answer HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        let answer = String::from_utf8(answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
        assert!(answer.ends_with("hello"), "{answer}");
    }

    #[tokio::test]
    async fn a_keep_alive_connection_closes_unanswered_after_an_earlier_answer() {
        let (addr, _stop) = start(router(), Limits::default()).await;
        let answer = exchange(
            addr,
            b"GET /answer HTTP/1.1\r\nHost: x\r\n\r\nGET /silence HTTP/1.1\r\nHost: x\r\n\r\n",
        )
        .await;
        let answer = String::from_utf8(answer).unwrap();
        assert_eq!(answer.matches("HTTP/1.1").count(), 1, "{answer}");
        assert!(answer.ends_with("hello"), "{answer}");
    }

    #[tokio::test]
    async fn a_client_that_never_finishes_its_headers_is_cut_off() {
        let limits = Limits {
            header_read_timeout: Duration::from_millis(200),
            ..Limits::default()
        };
        let (addr, _stop) = start(router(), limits).await;
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET /answer HTTP/1.1\r\nHost:")
            .await
            .unwrap();
        let answer = read_until_closed(&mut stream).await;
        // hyper may answer 408 on a header timeout: a request that never arrived loses nothing.
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
            "{answer}"
        );
    }

    #[tokio::test]
    async fn an_idle_keep_alive_connection_is_cut_off_like_a_slow_one() {
        let limits = Limits {
            header_read_timeout: Duration::from_millis(200),
            ..Limits::default()
        };
        let (addr, _stop) = start(router(), limits).await;
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET /answer HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let started = std::time::Instant::now();
        let answer = read_until_closed(&mut stream).await;
        assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"));
        assert!(started.elapsed() >= Duration::from_millis(150));
    }

    #[tokio::test]
    async fn connections_beyond_the_cap_wait_their_turn() {
        let limits = Limits {
            max_connections: 1,
            header_read_timeout: Duration::from_millis(300),
            ..Limits::default()
        };
        let (addr, _stop) = start(router(), limits).await;
        // The first connection holds the only slot until its header timeout ends it.
        let _holder = TcpStream::connect(addr).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let started = std::time::Instant::now();
        let answer = exchange(
            addr,
            b"GET /answer HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .await;
        assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"));
        assert!(started.elapsed() >= Duration::from_millis(200));
    }

    #[tokio::test]
    async fn shutdown_stops_accepting() {
        let (addr, stop) = start(router(), Limits::default()).await;
        stop.send(()).unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(TcpStream::connect(addr).await.is_err());
    }
}
