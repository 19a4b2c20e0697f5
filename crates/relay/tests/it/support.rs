//! Shared fixtures: a desk (a real `Ingest` over a real SQLCipher store in a temporary folder),
//! a relay run in this process on 127.0.0.1, a tunnel client, and a raw HTTP/1.1 sender that
//! reports every byte the server wrote.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use deskbridge_core::clock::SystemClock;
use deskbridge_core::environment::Environment;
use deskbridge_core::ingest::Ingest;
use deskbridge_core::random::OsRandom;
use deskbridge_core::secrets::{
    MemorySecrets, SecretName, SecretPurpose, SecretStore as _, SecretValue,
};
use deskbridge_core::store::{self, ReceivedSummary, RejectedSummary, Store};
use deskbridge_relay::backoff::Backoff;
use deskbridge_relay::client::{GapRecovery, TunnelClient, TunnelConfig, TunnelState};
use deskbridge_relay::config::RelayConfig;
use deskbridge_relay::registry::Registry;
use deskbridge_relay::server::{self, RelayError};
use deskbridge_relay::token::EndpointId;
use deskbridge_zocdoc::webhook::{WebhookKey, sign};
use tempfile::TempDir;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

/// How long a test waits for something that should happen at once.
pub(crate) const WAIT: Duration = Duration::from_secs(10);

/// A desk app's data: the encrypted store and the ingest pipeline over it.
pub(crate) struct Desk {
    dir: TempDir,
    pub(crate) secrets: MemorySecrets,
    pub(crate) key: WebhookKey,
    pub(crate) ingest: Ingest,
}

impl Desk {
    pub(crate) fn new() -> Desk {
        let dir = TempDir::new().unwrap();
        let secrets = MemorySecrets::new();
        let store = Store::open(dir.path(), Environment::Sandbox, &secrets, &OsRandom).unwrap();
        let key = WebhookKey::from_bytes(b"the practice's shared webhook key".to_vec());
        let ingest = Ingest::start(store, Some(key.clone()), Arc::new(SystemClock)).unwrap();
        Desk {
            dir,
            secrets,
            key,
            ingest,
        }
    }

    /// A desk whose store could not be opened: authentic webhooks fail.
    pub(crate) fn without_store() -> Desk {
        let desk = Desk::new();
        Desk {
            ingest: Ingest::without_store(Some(desk.key.clone()), Arc::new(SystemClock)),
            ..desk
        }
    }

    /// A new connection to the encrypted store, for reading what was committed.
    pub(crate) fn reader(&self) -> Store {
        Store::open(
            self.dir.path(),
            Environment::Sandbox,
            &self.secrets,
            &OsRandom,
        )
        .unwrap()
    }

    pub(crate) fn received(&self) -> Vec<ReceivedSummary> {
        self.reader().list_received(10_000).unwrap()
    }

    pub(crate) fn received_for(&self, appointment_id: &str) -> Option<ReceivedSummary> {
        self.received()
            .into_iter()
            .find(|row| row.appointment_id.as_deref() == Some(appointment_id))
    }

    pub(crate) fn rejected(&self) -> Vec<RejectedSummary> {
        self.reader().list_rejected(10_000).unwrap()
    }

    /// Holds the database's write lock from another connection, so that the ingest writer
    /// stalls (for its 5 s busy timeout) until the returned connection is dropped.
    pub(crate) fn stall_writer(&self) -> rusqlite::Connection {
        let key = self
            .secrets
            .get(&SecretName::new(
                Environment::Sandbox,
                SecretPurpose::DatabaseKey,
            ))
            .unwrap()
            .unwrap();
        let path = Environment::Sandbox
            .data_dir(self.dir.path())
            .join(store::DATABASE_FILE_NAME);
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.execute_batch(&format!(
            "PRAGMA key = \"x'{}'\"; {} BEGIN IMMEDIATE;",
            key.expose_text().unwrap(),
            store::CIPHER_SETTINGS
        ))
        .unwrap();
        conn
    }
}

/// A webhook payload about `appointment_id`.
pub(crate) fn payload(appointment_id: &str) -> Vec<u8> {
    format!(
        r#"{{"data":{{"appointment_data":{{"appointment_id":"{appointment_id}","appointment_updated_timestamp":"2026-06-14T17:06:54.9430804Z","appointment_update_type":"created"}},"data_type":"appointment_data"}},"event_type":"appointment_updated","webhook_timestamp":"2026-06-14T17:08:54.9430839Z"}}"#
    )
    .into_bytes()
}

pub(crate) fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// A raw HTTP/1.1 request (with `Connection: close` and its `Content-Length`).
pub(crate) fn request(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut text = format!("{method} {path} HTTP/1.1\r\nHost: relay.test\r\nConnection: close\r\n");
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    if method != "GET" || !body.is_empty() {
        text.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    text.push_str("\r\n");
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// A signed Zocdoc webhook about `appointment_id`, posted to `path`.
pub(crate) fn webhook(path: &str, key: &WebhookKey, appointment_id: &str) -> Vec<u8> {
    let body = payload(appointment_id);
    let timestamp = now();
    let signature = sign(key, timestamp, &body);
    request(
        "POST",
        path,
        &[
            ("Content-Type", "application/json"),
            ("User-Agent", "Zocdoc-Webhooks/1.0"),
            ("webhook-timestamp", &timestamp.to_string()),
            ("webhook-signature", &signature),
        ],
        &body,
    )
}

/// A webhook signed with the wrong key.
pub(crate) fn forged(path: &str, appointment_id: &str) -> Vec<u8> {
    webhook(
        path,
        &WebhookKey::from_bytes(b"not the key".to_vec()),
        appointment_id,
    )
}

/// Writes `request` and returns every byte the server wrote before it closed (a reset counts
/// as a close). Fails the test if the server neither answers nor closes in time.
pub(crate) async fn exchange_on<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    request: &[u8],
) -> Vec<u8> {
    // The server may close before taking the whole request: that is its answer, not an error.
    let _ = stream.write_all(request).await;
    let mut answer = Vec::new();
    let mut buffer = [0u8; 8192];
    let read = async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buffer[..n]),
            }
        }
    };
    tokio::time::timeout(WAIT, read)
        .await
        .expect("the server neither answered nor closed the connection");
    answer
}

pub(crate) async fn exchange(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    exchange_on(TcpStream::connect(addr).await.unwrap(), request).await
}

/// The head of a POST that declares `len` body bytes (its body is not sent: an oversized one is
/// refused on its declared length, before it is read).
pub(crate) fn declared_head(path: &str, len: usize) -> Vec<u8> {
    format!("POST {path} HTTP/1.1\r\nHost: relay.test\r\nConnection: close\r\nContent-Length: {len}\r\n\r\n")
        .into_bytes()
}

/// A chunked POST carrying one byte more than the limit, and no closing chunk: the server must
/// count its way past the limit, and nothing is left unread when it answers.
pub(crate) fn chunked_over_limit(path: &str) -> Vec<u8> {
    let mut bytes = format!(
        "POST {path} HTTP/1.1\r\nHost: relay.test\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    .into_bytes();
    let chunk = vec![b'z'; 0x10000];
    for _ in 0..deskbridge_relay::direct::MAX_BODY_BYTES / chunk.len() {
        bytes.extend_from_slice(b"10000\r\n");
        bytes.extend_from_slice(&chunk);
        bytes.extend_from_slice(b"\r\n");
    }
    bytes.extend_from_slice(b"1\r\nz\r\n");
    bytes
}

/// The status code of a raw answer.
pub(crate) fn status(answer: &[u8]) -> Option<u16> {
    let text = std::str::from_utf8(answer.get(..12)?).ok()?;
    text.strip_prefix("HTTP/1.1 ")?.parse().ok()
}

/// The body of a raw answer.
pub(crate) fn answer_body(answer: &[u8]) -> String {
    let text = String::from_utf8_lossy(answer);
    text.split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default()
}

/// A relay configuration for tests: plain HTTP on loopback, quick to notice changes.
pub(crate) fn relay_config(dir: &TempDir) -> RelayConfig {
    let mut config = RelayConfig {
        plain_http: true,
        registry: dir.path().join("endpoints.json"),
        registry_poll_ms: 100,
        ..RelayConfig::default()
    };
    config.tunnel.ping_interval_ms = 500;
    config.tunnel.peer_timeout_ms = 2_000;
    config.tunnel.hello_timeout_ms = 2_000;
    config
}

/// A relay run in this process, with one endpoint.
pub(crate) struct TestRelay {
    pub(crate) addr: SocketAddr,
    _dir: TempDir,
    pub(crate) registry: Registry,
    pub(crate) endpoint: EndpointId,
    pub(crate) token: SecretValue,
    pub(crate) config: RelayConfig,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), RelayError>>>,
}

impl TestRelay {
    pub(crate) async fn start() -> TestRelay {
        TestRelay::start_with(|_| {}).await
    }

    pub(crate) async fn start_with(tweak: impl FnOnce(&mut RelayConfig)) -> TestRelay {
        let dir = TempDir::new().unwrap();
        let mut config = relay_config(&dir);
        tweak(&mut config);
        let registry = Registry::new(&config.registry);
        let (endpoint, token) = registry
            .add("Main St", &OsRandom, jiff::Timestamp::now())
            .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut relay = TestRelay {
            addr,
            _dir: dir,
            registry,
            endpoint: endpoint.id,
            token,
            config,
            stop: None,
            task: None,
        };
        relay.serve(listener);
        relay
    }

    fn serve(&mut self, listener: TcpListener) {
        let (stop, stopped) = oneshot::channel::<()>();
        self.stop = Some(stop);
        self.task = Some(tokio::spawn(server::run(
            listener,
            self.config.clone(),
            async {
                let _ = stopped.await;
            },
        )));
    }

    /// Shuts the relay down (gracefully) and waits until it has stopped.
    pub(crate) async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            tokio::time::timeout(WAIT, task)
                .await
                .expect("the relay stops in time")
                .unwrap()
                .unwrap();
        }
    }

    /// Starts the relay again on the same address, with the same registry.
    pub(crate) async fn restart(&mut self) {
        self.stop().await;
        let listener = TcpListener::bind(self.addr).await.unwrap();
        self.serve(listener);
    }

    pub(crate) fn hook_path(&self) -> String {
        format!("/hooks/{}", self.endpoint)
    }

    pub(crate) fn tunnel_url(&self) -> String {
        format!("ws://{}/tunnel/{}", self.addr, self.endpoint)
    }

    pub(crate) fn app_config(&self) -> TunnelConfig {
        app_config(self.tunnel_url(), self.token.clone())
    }
}

/// A tunnel client configuration for tests: quick retries and pings.
pub(crate) fn app_config(url: String, token: SecretValue) -> TunnelConfig {
    let mut config = TunnelConfig::new(url, token, "Deskbridge test desk");
    config.backoff = Backoff {
        initial: Duration::from_millis(50),
        max: Duration::from_millis(400),
    };
    config.connect_timeout = Duration::from_secs(5);
    config.ping_interval = Duration::from_millis(500);
    config.peer_timeout = Duration::from_secs(2);
    config
}

/// Waits until the state satisfies `wanted`; fails the test with the last state otherwise.
pub(crate) async fn wait_for_state(
    state: &mut watch::Receiver<TunnelState>,
    wanted: impl Fn(&TunnelState) -> bool,
) -> TunnelState {
    let waited = tokio::time::timeout(WAIT, state.wait_for(|now| wanted(now)))
        .await
        .map(|reached| reached.map(|state| state.clone()));
    match waited {
        Ok(Ok(reached)) => reached,
        _ => panic!(
            "the tunnel never reached the state wanted; it is {:?}",
            *state.borrow()
        ),
    }
}

pub(crate) fn is_connected(state: &TunnelState) -> bool {
    matches!(state, TunnelState::Connected { .. })
}

/// Starts a tunnel client for `desk` and waits until the relay has welcomed it.
pub(crate) async fn connect(
    config: TunnelConfig,
    desk: &Desk,
    recovery: impl GapRecovery,
) -> TunnelClient {
    let client = TunnelClient::start(config, desk.ingest.clone(), recovery).unwrap();
    wait_for_state(&mut client.state(), is_connected).await;
    client
}

/// The `deskbridge-relay` binary, run as a separate process on 127.0.0.1.
pub(crate) struct RelayProcess {
    child: std::process::Child,
    pub(crate) addr: SocketAddr,
    logs: Arc<std::sync::Mutex<String>>,
}

/// The binary with a clean environment: only the settings given.
pub(crate) fn relay_command(
    registry: &std::path::Path,
    env: &[(&str, &str)],
) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_deskbridge-relay"));
    command
        .env_clear()
        .env("DESKBRIDGE_RELAY_REGISTRY", registry)
        .env("DESKBRIDGE_RELAY_PLAIN_HTTP", "true")
        .env("DESKBRIDGE_RELAY_REGISTRY_POLL_MS", "100")
        .env("DESKBRIDGE_RELAY_TUNNEL_PING_INTERVAL_MS", "500")
        .env("DESKBRIDGE_RELAY_TUNNEL_PEER_TIMEOUT_MS", "2000");
    for (name, value) in env {
        command.env(name, value);
    }
    command
}

impl RelayProcess {
    /// Starts `deskbridge-relay serve` on `listen` and waits until it listens.
    pub(crate) fn spawn(
        registry: &std::path::Path,
        listen: &str,
        env: &[(&str, &str)],
    ) -> RelayProcess {
        use std::io::{BufRead as _, Read as _};
        let mut child = relay_command(registry, env)
            .env("DESKBRIDGE_RELAY_LISTEN", listen)
            .env("RUST_LOG", "trace")
            .arg("serve")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let logs = Arc::new(std::sync::Mutex::new(String::new()));
        let mut stderr = child.stderr.take().unwrap();
        let sink = Arc::clone(&logs);
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buffer[..n]));
            }
        });
        let stdout = child.stdout.take().unwrap();
        let (found, listening) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = line.strip_prefix("deskbridge-relay listening on ") {
                    let _ = found.send(addr.parse::<SocketAddr>().unwrap());
                }
            }
        });
        let addr = listening
            .recv_timeout(WAIT)
            .unwrap_or_else(|_| panic!("the relay did not start: {}", logs.lock().unwrap()));
        RelayProcess { child, addr, logs }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the relay logged so far.
    pub(crate) fn logs(&self) -> String {
        self.logs.lock().unwrap().clone()
    }

    /// A field of /proc/<pid>/status, in KiB (e.g. `VmHWM`, the peak resident memory).
    pub(crate) fn memory_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }

    pub(crate) fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Kills it outright (SIGKILL), as a crash would.
    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Asks it to stop (SIGTERM) and waits for its exit.
    pub(crate) async fn terminate(&mut self) -> std::process::ExitStatus {
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        self.terminate_wait().await
    }

    /// Waits for its exit (after a SIGTERM sent by the test).
    pub(crate) async fn terminate_wait(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the relay did not stop on SIGTERM"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
