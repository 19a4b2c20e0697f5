//! Caspio push benchmark: 1,000 appointments in a real SQLCipher store (`synchronous = FULL`)
//! pushed to the Caspio emulator (in-process, over loopback) three ways — all new (inserts),
//! all changed (updates), nothing changed — counting the calls the emulator saw per route.
//! Three runs, each into a new store and a new emulator; the median by insert time is reported,
//! and the Caspio section of the workspace's BENCHMARKS.md is rewritten (between its
//! `<!-- caspio:start -->` and `<!-- caspio:end -->` markers; appended when missing).
//!
//! Run: `cargo bench -p deskbridge-core --bench caspio_push`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use deskbridge_caspio::{Account, Client, ClientId, ClientSecret, IntegrationHost};
use deskbridge_core::caspio_push::{CaspioPush, Mapping, PushReport};
use deskbridge_core::clock::SystemClock;
use deskbridge_core::environment::Environment;
use deskbridge_core::random::OsRandom;
use deskbridge_core::resync::CancelToken;
use deskbridge_core::secrets::MemorySecrets;
use deskbridge_core::store::Store;
use deskbridge_sandbox::caspio::{
    CaspioCalls, CaspioConfig, CaspioEmulator, CaspioRoute, RunningCaspio,
};
use deskbridge_zocdoc::api::{
    Appointment, AppointmentId, AppointmentStatus, ConfirmationType, OffsetTime,
};
use jiff::Timestamp;
use jiff::tz::Offset;

const N: usize = 1_000;
const RUNS: usize = 3;

fn appointment(i: usize, status: AppointmentStatus, modified: i64) -> Appointment {
    let at = |second: i64| Timestamp::from_second(1_767_225_600 + second).unwrap();
    Appointment {
        appointment_id: AppointmentId::new(format!("bench-{i:05}")),
        appointment_status: status,
        developer_patient_id: None,
        is_provider_resource: false,
        location_phone_number: None,
        location_phone_extension: None,
        waiting_room_path: None,
        confirmation_type: ConfirmationType::Auto,
        start_time: OffsetTime::new(at(86_400 + i as i64 * 900), Offset::UTC),
        created_time_utc: Some(at(0)),
        last_modified_time_utc: Some(at(modified)),
        provider_location_id: "pr_a|lo_b".into(),
        practice_id: Some("pt_c".into()),
        visit_reason_id: "pc_d".into(),
        visit_type: None,
        patient_type: None,
        notes: None,
        cancellation_reason: None,
        source: None,
    }
}

/// One session's figures.
struct Session {
    report: PushReport,
    calls: CaspioCalls,
    elapsed: Duration,
}

impl Session {
    /// Calls that depend on the rows: lookups and writes.
    fn row_calls(&self) -> u64 {
        self.calls.get(CaspioRoute::GetRecords)
            + self.calls.get(CaspioRoute::InsertRecord)
            + self.calls.get(CaspioRoute::UpdateRecords)
    }

    /// Calls made once per session: token and fields.
    fn session_calls(&self) -> u64 {
        self.calls.get(CaspioRoute::Token) + self.calls.get(CaspioRoute::GetFields)
    }

    fn per_row(&self) -> f64 {
        self.row_calls() as f64 / N as f64
    }
}

struct Run {
    insert: Session,
    update: Session,
    unchanged: Session,
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut runs: Vec<Run> = (0..RUNS).map(|_| runtime.block_on(run())).collect();
    runs.sort_by_key(|run| run.insert.elapsed);
    let median = &runs[RUNS / 2];
    for session in [&median.insert, &median.update, &median.unchanged] {
        assert!(
            session.per_row() <= 2.0,
            "{} calls per row",
            session.per_row()
        );
        assert_eq!(
            session.session_calls(),
            2,
            "token and fields once per session"
        );
    }
    let date = Timestamp::now().to_string();
    let intro = "1,000 appointments in a SQLCipher store (`synchronous=FULL`) pushed to the Caspio emulator\n\
(in-process, over loopback) by `CaspioPush`: first all new, then all changed, then nothing\n\
changed; the emulator counts the calls (`crates/core/benches/caspio_push.rs`). Goal: at most 2\n\
calls per pushed row plus 2 per session (token, fields).\n";
    let line = |name: &str, session: &Session| {
        format!(
            "| {name} | {:.2} s | {:.0} | {} + {} | {:.3} | {} / {} / {} |\n",
            session.elapsed.as_secs_f64(),
            N as f64 / session.elapsed.as_secs_f64(),
            session.row_calls(),
            session.session_calls(),
            session.per_row(),
            session.calls.get(CaspioRoute::GetRecords),
            session.calls.get(CaspioRoute::InsertRecord),
            session.calls.get(CaspioRoute::UpdateRecords),
        )
    };
    let measured = format!(
        "Measured {} on 2 cores by `cargo bench -p deskbridge-core --bench caspio_push` (median of \
{RUNS} runs by insert time, each into a new store and emulator; lookups batch 40 ids per GET):\n\n\
| 1,000 rows | wall time | rows per second | calls: rows + session | calls per row (goal ≤ 2) | GET / POST / PUT |\n\
| --- | --- | --- | --- | --- | --- |\n\
{}{}{}",
        &date[..10],
        line("all new (insert)", &median.insert),
        line("all changed (update)", &median.update),
        line("nothing changed", &median.unchanged),
    );
    print!("{measured}");
    let path = deskbridge_bench_report::write(
        &deskbridge_bench_report::Section {
            name: "caspio",
            heading: "Caspio push",
            intro,
        },
        &measured,
    )
    .unwrap();
    println!("wrote the Caspio section of {}", path.display());
}

async fn run() -> Run {
    let running = CaspioEmulator::start(CaspioConfig::new("bench", "bench-secret"))
        .await
        .unwrap();
    let desk = tempfile::TempDir::new().unwrap();
    let mut store = Store::open(
        desk.path(),
        Environment::Sandbox,
        &MemorySecrets::new(),
        &OsRandom,
    )
    .unwrap();
    let now = Timestamp::now();
    for i in 0..N {
        store
            .record_appointment(&appointment(i, AppointmentStatus::Confirmed, 10), now)
            .unwrap();
    }
    let mut push = new_push(&store, &running);
    let insert = session(&running, &mut push, None).await;
    assert_eq!(insert.report.inserted, N as u64);
    drop(push);
    for i in 0..N {
        store
            .record_appointment(&appointment(i, AppointmentStatus::Cancelled, 20), now)
            .unwrap();
    }
    let mut push = new_push(&store, &running);
    let update = session(&running, &mut push, None).await;
    assert_eq!(update.report.updated, N as u64);
    let mut push = new_push(&store, &running);
    let ids: Vec<String> = (0..N).map(|i| format!("bench-{i:05}")).collect();
    let unchanged = session(&running, &mut push, Some(&ids)).await;
    assert_eq!(unchanged.report.unchanged, N as u64);
    println!(
        "insert {:.2} s, update {:.2} s, unchanged {:.2} s",
        insert.elapsed.as_secs_f64(),
        update.elapsed.as_secs_f64(),
        unchanged.elapsed.as_secs_f64()
    );
    assert_eq!(running.records("Appointments").len(), N);
    running.shutdown().await;
    Run {
        insert,
        update,
        unchanged,
    }
}

/// One push session: every changed appointment, or `ids` when given.
async fn session(
    running: &RunningCaspio,
    push: &mut CaspioPush,
    ids: Option<&[String]>,
) -> Session {
    running.reset_calls();
    let started = Instant::now();
    let cancel = CancelToken::new();
    let mut quiet = |_: &PushReport| {};
    let report = match ids {
        Some(ids) => push.push_selected(ids, &mut quiet, &cancel).await,
        None => push.push_changed_since_last(&mut quiet, &cancel).await,
    }
    .unwrap();
    Session {
        report,
        calls: running.calls(),
        elapsed: started.elapsed(),
    }
}

/// A push on its own connection with a new client (so each session fetches its own token, as
/// a new app session would).
fn new_push(store: &Store, running: &RunningCaspio) -> CaspioPush {
    let client = Client::builder(Account {
        host: IntegrationHost::parse("bench.caspio.com").unwrap(),
        client_id: ClientId::new("bench"),
        client_secret: ClientSecret::new("bench-secret".to_owned()),
    })
    .base_url(running.base_url())
    .build()
    .unwrap();
    CaspioPush::new(
        store.try_clone().unwrap(),
        client,
        Mapping::default_appointments("America/New_York"),
        Arc::new(SystemClock),
    )
}
