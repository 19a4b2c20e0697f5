//! Ingest benchmark: `deskbridge-cli serve` in its own process, driven over loopback by this one.
//!
//! Measures, in one run: 2xx latency p50/p99 at a steady 50 events/s (a new connection per
//! webhook, as Zocdoc sends them); saturation throughput with many concurrent senders (group commit
//! at work); and the same saturation against a plain (unencrypted) SQLite database, to show what
//! SQLCipher costs. Writes the figures into BENCHMARKS.md between the `ingest` markers.
//!
//! Run with `cargo xtask bench` (it provides the keyring session and the `plaintext-benchmark`
//! feature that the comparison needs).

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use deskbridge_zocdoc::webhook::{self, WebhookKey};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

const KEY_BASE64: &str = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// Steady-rate phase: events per second and how many.
const RATE: u32 = 50;
const STEADY_EVENTS: u32 = 1000;
/// Saturation phases: concurrent senders (each on its own keep-alive connection), the length of
/// one phase, and how many phases each database gets. The phases alternate between the encrypted
/// and the plain database so that the machine's noise falls on both alike; medians are reported.
const SENDERS: usize = 64;
const SATURATION: Duration = Duration::from_secs(3);
const PHASES: usize = 5;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::args().any(|arg| arg == "--list") {
        // `cargo test --benches` lists targets; nothing to list here.
        return;
    }
    let folder = tempfile::tempdir().unwrap();
    let service = format!("Deskbridge-bench-{}", std::process::id());

    let encrypted = Server::start(folder.path().join("encrypted"), &service, false).await;
    let plain = Server::start(folder.path().join("plain"), &service, true).await;
    let steady = steady_rate(encrypted.address).await;
    let mut encrypted_rates = Vec::new();
    let mut plain_rates = Vec::new();
    for phase in 0..PHASES {
        encrypted_rates.push(saturation(encrypted.address, &format!("enc{phase}")).await);
        plain_rates.push(saturation(plain.address, &format!("plain{phase}")).await);
    }
    encrypted.stop().await;
    plain.stop().await;
    let saturated = median(&mut encrypted_rates);
    let plain_saturated = median(&mut plain_rates);

    // Throughput lost to encryption, relative to plain SQLite.
    let overhead = (1.0 - saturated / plain_saturated) * 100.0;
    let report = format!(
        "| figure | result | goal |\n| --- | --- | --- |\n\
         | 2xx latency at {RATE} events/s, p50 ({STEADY_EVENTS} events, new connection each) | {:.2} ms | |\n\
         | 2xx latency at {RATE} events/s, p99 | {:.2} ms | ≤ 25 ms |\n\
         | saturation, SQLCipher, {SENDERS} concurrent senders (median of {PHASES}) | {saturated:.0} events/s | ≥ 2,000 events/s |\n\
         | saturation, plain SQLite, same load (median of {PHASES}, alternating) | {plain_saturated:.0} events/s | |\n\
         | SQLCipher's cost at saturation (throughput lost) | {overhead:.1} % | ≤ 15 % |\n",
        steady.p50, steady.p99
    );
    println!("{report}");
    let measured = format!(
        "Measured {} on {} cores by `cargo xtask bench`:\n\n{report}",
        jiff::Timestamp::now().strftime("%Y-%m-%d"),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
    );
    let path = deskbridge_bench_report::write(
        &deskbridge_bench_report::Section {
            name: "ingest",
            heading: "Ingest",
            intro: "`deskbridge-cli serve` (release build, direct listener, SQLCipher with \
                    `synchronous=FULL`) in its own process; the load comes from the benchmark \
                    process over loopback (`crates/cli/benches/ingest.rs`).",
        },
        &measured,
    )
    .unwrap();
    println!("wrote the Ingest section of {}", path.display());
}

struct Server {
    child: Child,
    address: SocketAddr,
}

impl Server {
    async fn start(data_dir: std::path::PathBuf, service: &str, plaintext: bool) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_deskbridge-cli"));
        command
            .env("DESKBRIDGE_DATA_DIR", &data_dir)
            .env("DESKBRIDGE_KEYRING_SERVICE", service)
            .env("DESKBRIDGE_WEBHOOK_KEY", KEY_BASE64)
            .env("DESKBRIDGE_LOG", "error")
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .kill_on_drop(true);
        if plaintext {
            command.arg("--plaintext-benchmark");
        }
        let mut child = command.spawn().expect("could not start deskbridge-cli");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .await
            .unwrap();
        let address = line
            .trim()
            .strip_prefix("listening on http://")
            .and_then(|rest| rest.strip_suffix("/webhooks/zocdoc"))
            .unwrap_or_else(|| panic!("serve did not start: {line:?}"))
            .parse()
            .unwrap();
        Server { child, address }
    }

    async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}

/// A signed webhook for appointment `id`, updated now: like Zocdoc's, every update carries its own
/// `appointment_updated_timestamp` (100 ns precision, as Zocdoc writes it).
fn request(id: &str, keep_alive: bool) -> Vec<u8> {
    let updated = jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%S%.7fZ");
    let body = format!(
        r#"{{"data":{{"appointment_data":{{"appointment_id":"{id}","appointment_updated_timestamp":"{updated}","appointment_update_type":"created"}},"data_type":"appointment_data"}},"event_type":"appointment_updated"}}"#
    );
    let timestamp = jiff::Timestamp::now().as_second();
    let key = WebhookKey::from_base64(KEY_BASE64).unwrap();
    let signature = webhook::sign(&key, timestamp, body.as_bytes());
    let connection = if keep_alive { "keep-alive" } else { "close" };
    format!(
        "POST /webhooks/zocdoc HTTP/1.1\r\nHost: desk\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nwebhook-timestamp: {timestamp}\r\nwebhook-signature: {signature}\r\n\
         Connection: {connection}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

struct Latency {
    p50: f64,
    p99: f64,
}

/// One webhook every 1/RATE s, each on a new connection; latency from connect to the full answer.
async fn steady_rate(address: SocketAddr) -> Latency {
    let mut ticker = tokio::time::interval(Duration::from_secs(1) / RATE);
    let mut pending = Vec::new();
    for n in 0..STEADY_EVENTS {
        ticker.tick().await;
        pending.push(tokio::spawn(async move {
            let request = request(&format!("steady-{n}"), false);
            let started = Instant::now();
            let mut stream = TcpStream::connect(address).await.unwrap();
            stream.set_nodelay(true).unwrap();
            stream.write_all(&request).await.unwrap();
            let mut answer = Vec::new();
            stream.read_to_end(&mut answer).await.unwrap();
            assert!(answer.starts_with(b"HTTP/1.1 200"), "not acknowledged");
            started.elapsed()
        }));
    }
    let mut samples = Vec::new();
    for task in pending {
        samples.push(task.await.unwrap().as_secs_f64() * 1000.0);
    }
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    Latency {
        p50: at(0.50),
        p99: at(0.99),
    }
}

/// Concurrent senders on keep-alive connections for a fixed time: acknowledged events per second.
async fn saturation(address: SocketAddr, label: &str) -> f64 {
    let acknowledged = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + SATURATION;
    let senders: Vec<_> = (0..SENDERS)
        .map(|sender| {
            let acknowledged = Arc::clone(&acknowledged);
            let label = label.to_owned();
            tokio::spawn(async move {
                let stream = TcpStream::connect(address).await.unwrap();
                stream.set_nodelay(true).unwrap();
                let mut stream = BufReader::new(stream);
                let mut n = 0u64;
                while Instant::now() < deadline {
                    let request = request(&format!("{label}-{sender}-{n}"), true);
                    stream.get_mut().write_all(&request).await.unwrap();
                    read_answer(&mut stream).await;
                    acknowledged.fetch_add(1, Ordering::Relaxed);
                    n += 1;
                }
            })
        })
        .collect();
    let started = Instant::now();
    for sender in senders {
        sender.await.unwrap();
    }
    acknowledged.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Reads one HTTP/1.1 answer with a Content-Length body and checks it is a 200.
async fn read_answer(stream: &mut BufReader<TcpStream>) {
    let mut status = String::new();
    stream.read_line(&mut status).await.unwrap();
    assert!(
        status.starts_with("HTTP/1.1 200"),
        "not acknowledged: {status:?}"
    );
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        stream.read_line(&mut line).await.unwrap();
        if line == "\r\n" {
            break;
        }
        if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = value.trim().parse().unwrap();
        }
    }
    let mut body = vec![0; length];
    stream.read_exact(&mut body).await.unwrap();
}
