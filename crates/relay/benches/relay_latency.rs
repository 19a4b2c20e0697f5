//! Relay latency benchmark: the same signed webhooks sent at 50 events/s, over loopback, to the
//! direct listener and through the relay (sender → relay → tunnel → app → ingest → commit →
//! outcome → relay → sender), with one real ingest over one real SQLCipher store
//! (`synchronous = FULL`: every commit is fsynced). Each webhook opens its own connection, as
//! Zocdoc's do; its latency runs from the connect to the last byte of the answer.
//!
//! Phases alternate (direct, relay, direct, relay) so that both see the same disk. Prints the
//! figures and rewrites the Relay section of the workspace's BENCHMARKS.md (between its
//! `<!-- relay:start -->` and `<!-- relay:end -->` markers; appended when missing).
//!
//! Run: `cargo bench -p deskbridge-relay`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use deskbridge_core::clock::SystemClock;
use deskbridge_core::environment::Environment;
use deskbridge_core::ingest::Ingest;
use deskbridge_core::random::OsRandom;
use deskbridge_core::secrets::MemorySecrets;
use deskbridge_core::store::Store;
use deskbridge_relay::client::{TunnelClient, TunnelConfig, TunnelState};
use deskbridge_relay::config::RelayConfig;
use deskbridge_relay::direct::{self, WEBHOOK_PATH};
use deskbridge_relay::http_server::Server;
use deskbridge_relay::registry::Registry;
use deskbridge_relay::server;
use deskbridge_zocdoc::webhook::{WebhookKey, sign};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

const RATE_PER_SECOND: u32 = 50;
const PER_PHASE: usize = 300;
const WARM_UP: usize = 25;
const PHASES: usize = 4;

fn request(path: &str, key: &WebhookKey, appointment_id: &str) -> Vec<u8> {
    let body = format!(
        r#"{{"data":{{"appointment_data":{{"appointment_id":"{appointment_id}","appointment_updated_timestamp":"2026-06-14T17:06:54.9430804Z","appointment_update_type":"created"}},"data_type":"appointment_data"}},"event_type":"appointment_updated","webhook_timestamp":"2026-06-14T17:08:54.9430839Z"}}"#
    );
    let timestamp = jiff::Timestamp::now().as_second();
    let signature = sign(key, timestamp, body.as_bytes());
    format!(
        "POST {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\nContent-Type: application/json\r\n\
         webhook-timestamp: {timestamp}\r\nwebhook-signature: {signature}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// One webhook on its own connection: the time to its complete answer, if it was a 200.
async fn send(addr: SocketAddr, request: Vec<u8>) -> Option<Duration> {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).await.ok()?;
    stream.set_nodelay(true).ok()?;
    stream.write_all(&request).await.ok()?;
    let mut answer = Vec::with_capacity(256);
    stream.read_to_end(&mut answer).await.ok()?;
    let took = started.elapsed();
    answer.starts_with(b"HTTP/1.1 200").then_some(took)
}

/// Sends `count` webhooks at the rate, each in its own task (an open-loop load: a slow answer
/// does not delay the next send), and returns the latencies of the 200s in order.
async fn phase(
    addr: SocketAddr,
    path: &str,
    key: &WebhookKey,
    tag: &str,
    count: usize,
) -> (Vec<Duration>, usize) {
    let mut ticker = tokio::time::interval(Duration::from_secs(1) / RATE_PER_SECOND);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut sends = Vec::with_capacity(count);
    for i in 0..count {
        ticker.tick().await;
        let request = request(path, key, &format!("bench-{tag}-{i}"));
        sends.push(tokio::spawn(send(addr, request)));
    }
    let mut latencies = Vec::with_capacity(count);
    let mut failures = 0;
    for send in sends {
        match send.await.ok().flatten() {
            Some(took) => latencies.push(took),
            None => failures += 1,
        }
    }
    (latencies, failures)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

#[derive(Debug)]
struct Figures {
    count: usize,
    failures: usize,
    p50: Duration,
    p99: Duration,
    max: Duration,
}

fn figures(mut latencies: Vec<Duration>, failures: usize) -> Figures {
    latencies.sort();
    Figures {
        count: latencies.len(),
        failures,
        p50: percentile(&latencies, 50.0),
        p99: percentile(&latencies, 99.0),
        max: *latencies.last().unwrap_or(&Duration::ZERO),
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run());
}

async fn run() {
    let desk = tempfile::TempDir::new().unwrap();
    let secrets = MemorySecrets::new();
    let store = Store::open(desk.path(), Environment::Sandbox, &secrets, &OsRandom).unwrap();
    let key = WebhookKey::from_bytes(b"benchmark webhook key".to_vec());
    let ingest = Ingest::start(store, Some(key.clone()), Arc::new(SystemClock)).unwrap();

    // The direct listener.
    let direct_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let direct_addr = direct_listener.local_addr().unwrap();
    tokio::spawn(
        Server::new(direct::router(ingest.clone())).run(direct_listener, std::future::pending()),
    );

    // The relay, and the app's tunnel into it.
    let relay_dir = tempfile::TempDir::new().unwrap();
    let config = RelayConfig {
        plain_http: true,
        registry: relay_dir.path().join("endpoints.json"),
        ..RelayConfig::default()
    };
    let (endpoint, token) = Registry::new(&config.registry)
        .add("Bench", &OsRandom, jiff::Timestamp::now())
        .unwrap();
    let relay_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let relay_addr = relay_listener.local_addr().unwrap();
    tokio::spawn(server::run(relay_listener, config, std::future::pending()));
    let app = TunnelClient::start(
        TunnelConfig::new(
            format!("ws://{relay_addr}/tunnel/{}", endpoint.id),
            token,
            "Deskbridge bench",
        ),
        ingest.clone(),
        |_| {},
    )
    .unwrap();
    tokio::time::timeout(
        Duration::from_secs(10),
        app.state()
            .wait_for(|state| matches!(state, TunnelState::Connected { .. })),
    )
    .await
    .unwrap()
    .unwrap();
    let hook = format!("/hooks/{}", endpoint.id);

    let mut direct_latencies = Vec::new();
    let mut relay_latencies = Vec::new();
    let (mut direct_failures, mut relay_failures) = (0, 0);
    for round in 0..PHASES / 2 {
        let (latencies, failures) = phase(
            direct_addr,
            WEBHOOK_PATH,
            &key,
            &format!("d{round}"),
            PER_PHASE,
        )
        .await;
        direct_latencies.extend(latencies.into_iter().skip(WARM_UP));
        direct_failures += failures;
        let (latencies, failures) =
            phase(relay_addr, &hook, &key, &format!("r{round}"), PER_PHASE).await;
        relay_latencies.extend(latencies.into_iter().skip(WARM_UP));
        relay_failures += failures;
    }
    let direct = figures(direct_latencies, direct_failures);
    let relay = figures(relay_latencies, relay_failures);
    let added_p50 = ms(relay.p50) - ms(direct.p50);
    let added_p99 = ms(relay.p99) - ms(direct.p99);
    println!("direct: {direct:?}");
    println!("relay:  {relay:?}");
    println!("added by the relay: p50 {added_p50:+.2} ms, p99 {added_p99:+.2} ms");

    let intro = format!(
        "The relay's added latency: signed webhooks at {RATE_PER_SECOND} events/s over loopback, each on \
         its own\nconnection (connect to the last byte of the answer), to the direct listener and \
         through the relay\n(sender → relay → WebSocket tunnel → app → ingest → commit → outcome → \
         relay → sender), in\nalternating phases, with one real ingest over one SQLCipher store \
         (`synchronous=FULL`). Relay,\ntunnel client and sender share one process \
         (`crates/relay/benches/relay_latency.rs`).\n"
    );
    let measured = format!(
        "Measured {date} on {cores} cores by `cargo bench -p deskbridge-relay` ({PHASES} alternating \
         phases\nof {PER_PHASE} events, the first {WARM_UP} of each not counted):\n\n\
         | figure | direct listener | through the relay | goal |\n\
         | --- | --- | --- | --- |\n\
         | 2xx answers (failures) | {dc} ({df}) | {rc} ({rf}) | no failures |\n\
         | 2xx latency at {RATE_PER_SECOND} events/s, p50 | {dp50:.2} ms | {rp50:.2} ms | |\n\
         | 2xx latency at {RATE_PER_SECOND} events/s, p99 | {dp99:.2} ms | {rp99:.2} ms | relay ≤ 25 ms |\n\
         | 2xx latency, max | {dmax:.2} ms | {rmax:.2} ms | |\n\
         | added by the relay, p50 | | {added_p50:+.2} ms | ≤ 1.5 ms |\n\
         | added by the relay, p99 | | {added_p99:+.2} ms | |\n",
        date = jiff::Timestamp::now().strftime("%Y-%m-%d"),
        cores = std::thread::available_parallelism().map_or(0, usize::from),
        dc = direct.count,
        df = direct.failures,
        dp50 = ms(direct.p50),
        dp99 = ms(direct.p99),
        dmax = ms(direct.max),
        rc = relay.count,
        rf = relay.failures,
        rp50 = ms(relay.p50),
        rp99 = ms(relay.p99),
        rmax = ms(relay.max),
    );
    let path = deskbridge_bench_report::write(
        &deskbridge_bench_report::Section {
            name: "relay",
            heading: "Relay",
            intro: &intro,
        },
        &measured,
    )
    .unwrap();
    println!("wrote the Relay section of {}", path.display());
    app.stop().await;
    ingest.shutdown().await;
}
