//! Resync benchmark: 10,000 appointments in the Zocdoc emulator (in-process, over loopback),
//! their changes bunched into bursts so that windows must split, read by a first-run resync into
//! a real SQLCipher store (`synchronous = FULL`). Measures the wall time and the list calls the
//! emulator counted against the budget `1.05 × ⌈N/100⌉ + windows`, over three runs (each into a
//! new store), and rewrites the Resync section of the workspace's BENCHMARKS.md (between its
//! `<!-- resync:start -->` and `<!-- resync:end -->` markers; appended when missing).
//!
//! Run: `cargo bench -p deskbridge-core --bench resync`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use deskbridge_core::clock::SystemClock;
use deskbridge_core::environment::Environment;
use deskbridge_core::random::OsRandom;
use deskbridge_core::resync::{CancelToken, Resync, ResyncConfig, ResyncSummary};
use deskbridge_core::secrets::MemorySecrets;
use deskbridge_core::store::Store;
use deskbridge_sandbox::zocdoc::{self, BulkLoad, Route, ZocdocConfig, ZocdocEmulator};
use deskbridge_zocdoc::api::{Client, ClientId, ClientSecret};
use jiff::{SignedDuration, Timestamp};

const N: usize = 10_000;
const RUNS: usize = 3;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run());
}

struct Measured {
    summary: ResyncSummary,
    calls: u64,
    elapsed: Duration,
}

async fn run() {
    let running = ZocdocEmulator::start(ZocdocConfig::new(
        zocdoc::Environment::Sandbox,
        "bench",
        "bench-secret",
    ))
    .await
    .unwrap();
    let emulator = running.emulator().clone();
    let to = Timestamp::now() - SignedDuration::from_hours(1);
    let from = to - SignedDuration::from_hours(24 * 20);
    assert_eq!(emulator.load_bulk(&BulkLoad::new(N, from, to, 11)), N);
    let client = Client::builder(
        deskbridge_zocdoc::api::Environment::Sandbox,
        ClientId::new("bench"),
        ClientSecret::new("bench-secret".to_owned()),
    )
    .base_url(running.base_url())
    .token_url(running.token_url())
    .build()
    .unwrap();
    let config = ResyncConfig {
        first_run_back: SignedDuration::from_hours(24 * 120),
        first_run_ahead: SignedDuration::from_hours(24 * 120),
        ..ResyncConfig::default()
    };

    let mut runs = Vec::new();
    for _ in 0..RUNS {
        let desk = tempfile::TempDir::new().unwrap();
        let store = Store::open(
            desk.path(),
            Environment::Sandbox,
            &MemorySecrets::new(),
            &OsRandom,
        )
        .unwrap();
        let mut resync = Resync::new(
            store.try_clone().unwrap(),
            client.clone(),
            Arc::new(SystemClock),
            config,
        );
        emulator.reset_calls();
        let started = Instant::now();
        let summary = resync.run(&CancelToken::new()).await.unwrap();
        let elapsed = started.elapsed();
        let calls = emulator.calls().get(Route::ListAppointments);
        assert!(store.appointments().unwrap().len() >= N);
        println!(
            "resync of {N}: {calls} list calls, {} windows, {:.2} s",
            summary.windows,
            elapsed.as_secs_f64()
        );
        runs.push(Measured {
            summary,
            calls,
            elapsed,
        });
    }
    runs.sort_by_key(|run| run.elapsed);
    let median = &runs[RUNS / 2];
    let pages = N.div_ceil(100) as u64;
    let bound = (1.05 * pages as f64).floor() as u64 + u64::from(median.summary.windows);
    assert!(
        median.calls <= bound,
        "{} calls > bound {bound}",
        median.calls
    );
    let date = Timestamp::now().to_string();
    let intro = "A first-run resync of 10,000 appointments from the Zocdoc emulator (in-process, over\n\
loopback) into a SQLCipher store (`synchronous=FULL`), their last changes bunched into three\n\
bursts so that windows must split; the sandbox's fixed appointments come along\n\
(`crates/core/benches/resync.rs`).\n";
    let measured = format!(
        "Measured {} on 2 cores by `cargo bench -p deskbridge-core --bench resync` (median of \
{RUNS} runs, each into a new store):\n\n\
| figure | result | goal |\n\
| --- | --- | --- |\n\
| appointments read (distinct) | {} | {N} + the sandbox's fixed ones, each once |\n\
| windows walked (first + splits) | {} | |\n\
| list calls counted by the emulator | {} | ≤ {bound} (1.05 × {pages} + windows) |\n\
| calls over the minimum ⌈N/100⌉ | +{} | |\n\
| wall time | {:.2} s | seconds, not minutes |\n\
| appointments per second | {:.0} | |\n",
        &date[..10],
        median.summary.fetched,
        median.summary.windows,
        median.calls,
        median.calls.saturating_sub(pages),
        median.elapsed.as_secs_f64(),
        median.summary.fetched as f64 / median.elapsed.as_secs_f64(),
    );
    print!("{measured}");
    let path = deskbridge_bench_report::write(
        &deskbridge_bench_report::Section {
            name: "resync",
            heading: "Resync",
            intro,
        },
        &measured,
    )
    .unwrap();
    println!("wrote the Resync section of {}", path.display());
    running.shutdown().await;
}
