//! Analytics benchmark: 100,000 appointments over a year, seeded through the appointments
//! module's own upsert (so rows and history are as processing writes them) into a real SQLCipher
//! store (`synchronous = FULL`); then every figure for the year (`Store::patterns`: load the facts
//! and compute) is timed over several runs, with the load and the computation also timed apart.
//! Rewrites the Analytics section of the workspace's BENCHMARKS.md (between its
//! `<!-- analytics:start -->` and `<!-- analytics:end -->` markers; appended when missing).
//!
//! Run: `cargo bench -p deskbridge-core --bench analytics`.

use std::time::{Duration, Instant};

use deskbridge_core::analytics::{Facts, Patterns, Query};
use deskbridge_core::environment::Environment;
use deskbridge_core::random::OsRandom;
use deskbridge_core::secrets::MemorySecrets;
use deskbridge_core::store::Store;
use deskbridge_zocdoc::api::{
    Appointment, AppointmentId, AppointmentStatus, ConfirmationType, OffsetTime, PatientType,
};
use jiff::civil::date;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

const N: u64 = 100_000;
const RUNS: usize = 11;
const GOAL: Duration = Duration::from_millis(200);

/// A small deterministic generator (SplitMix64): the same data on every run.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Time this thread has spent on a CPU (Linux `schedstat`): on a shared, oversubscribed machine
/// it says what the work costs, where wall time also counts the waits for a core.
fn on_cpu() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

fn hours(h: i64) -> SignedDuration {
    SignedDuration::from_hours(h)
}

/// The copies of appointment `i` to record, in order: booked, then perhaps moved, then perhaps
/// cancelled or marked a no-show. About 10 % no-shows, 12 % cancelled, 8 % rescheduled.
fn copies(i: u64, year_start: Timestamp, now: Timestamp, rng: &mut SplitMix) -> Vec<Appointment> {
    let day = rng.below(365) as i64;
    let hour = 8 + rng.below(10) as i64;
    let start = year_start + hours(24 * day + hour + 5);
    let lead = hours(1 + rng.below(24 * 45) as i64);
    let created = start - lead;
    let provider = rng.below(12);
    let mut booked = Appointment {
        appointment_id: AppointmentId::new(format!("ap-{i:06}")),
        appointment_status: AppointmentStatus::Confirmed,
        developer_patient_id: (rng.below(10) < 8)
            .then(|| format!("patient-{}", rng.below(40_000)).into()),
        is_provider_resource: false,
        location_phone_number: Some("2125550100".to_owned()),
        location_phone_extension: None,
        waiting_room_path: None,
        confirmation_type: ConfirmationType::Auto,
        start_time: OffsetTime::new(start, jiff::tz::Offset::constant(-5)),
        created_time_utc: Some(created),
        last_modified_time_utc: Some(created),
        provider_location_id: format!("pr_{provider:02}|lo_{}", provider % 3).into(),
        practice_id: Some("pt_bench".into()),
        visit_reason_id: format!("pc_reason{}", rng.below(25)).into(),
        visit_type: None,
        patient_type: Some(if rng.below(3) == 0 {
            PatientType::New
        } else {
            PatientType::Existing
        }),
        notes: Some("follow-up on knee pain".to_owned()),
        cancellation_reason: None,
        source: Some("Zocdoc Marketplace".to_owned()),
    };
    let mut copies = vec![booked.clone()];
    let roll = rng.below(100);
    let changed_at = created + hours(rng.below(lead.as_hours().max(1) as u64) as i64);
    if roll < 8 {
        let moved = start + hours(24 * (1 + rng.below(10) as i64));
        booked.appointment_status = AppointmentStatus::Rescheduled;
        booked.start_time = OffsetTime::new(moved, jiff::tz::Offset::constant(-5));
        booked.last_modified_time_utc = Some(changed_at);
        copies.push(booked.clone());
    } else if roll < 20 {
        booked.appointment_status = AppointmentStatus::Cancelled;
        booked.cancellation_reason = Some("patient no longer available".to_owned());
        booked.last_modified_time_utc = Some(changed_at);
        copies.push(booked.clone());
    } else if roll < 30 && start < now {
        booked.appointment_status = AppointmentStatus::NoShow;
        booked.last_modified_time_utc = Some(start + hours(2));
        copies.push(booked.clone());
    }
    copies
}

fn main() {
    let time_zone = TimeZone::get("America/New_York").unwrap();
    let year = (date(2025, 1, 1), date(2025, 12, 31));
    let year_start = year
        .0
        .to_zoned_datetime(time_zone.clone())
        .unwrap()
        .timestamp();
    let now = year
        .1
        .to_zoned_datetime(time_zone.clone())
        .unwrap()
        .timestamp()
        + hours(24 * 20);

    let desk = tempfile::TempDir::new().unwrap();
    let mut store = Store::open(
        desk.path(),
        Environment::Sandbox,
        &MemorySecrets::new(),
        &OsRandom,
    )
    .unwrap();
    let seeding = Instant::now();
    let mut rng = SplitMix(20_251_231);
    let mut batch = Vec::new();
    let mut versions = 0;
    for i in 0..N {
        batch.extend(copies(i, year_start, now, &mut rng));
        if batch.len() >= 5_000 || i + 1 == N {
            versions += batch.len();
            store.record_appointments(&batch, now).unwrap();
            batch.clear();
        }
    }
    println!(
        "seeded {N} appointments ({versions} copies) in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );

    let query = Query::new(year.0, year.1, time_zone);
    let mut totals = Vec::new();
    let mut cpu = Vec::new();
    let mut loads = Vec::new();
    let mut computes = Vec::new();
    let mut patterns = None;
    for _ in 0..RUNS {
        let (started, cpu_before) = (Instant::now(), on_cpu());
        let found = store.patterns(&query, now).unwrap();
        totals.push(started.elapsed());
        if let (Some(before), Some(after)) = (cpu_before, on_cpu()) {
            cpu.push(after - before);
        }
        patterns = Some(found);

        let started = Instant::now();
        let facts = Facts::load(&store, &query).unwrap();
        loads.push(started.elapsed());
        let started = Instant::now();
        let computed = Patterns::compute(&facts, &query, now).unwrap();
        computes.push(started.elapsed());
        assert_eq!(Some(&computed), patterns.as_ref());
    }
    let patterns = patterns.unwrap();
    assert!(patterns.overall.appointments > 95_000);
    for list in [&mut totals, &mut cpu, &mut loads, &mut computes] {
        list.sort();
    }
    let median = |list: &[Duration]| list[list.len() / 2];
    let p95 = |list: &[Duration]| list[(list.len() * 95).div_ceil(100) - 1];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "all figures for a year: median {:.1} ms, p95 {:.1} ms (load {:.1} ms, compute {:.1} ms)",
        ms(median(&totals)),
        ms(p95(&totals)),
        ms(median(&loads)),
        ms(median(&computes)),
    );
    let verdict = if median(&totals) <= GOAL {
        "met"
    } else {
        "NOT met"
    };

    let date = Timestamp::now().to_string();
    // The machine is shared: its load says how far to trust the times.
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned());
    let intro = "Every figure of the manager's view (`Store::patterns`) for one year of 100,000\n\
appointments in a SQLCipher store (`synchronous=FULL`), seeded through the appointments module's\n\
upsert so rows and history are as processing writes them: about 10 % no-shows, 12 % cancelled,\n\
8 % rescheduled, 80 % with a developer patient id (`crates/core/benches/analytics.rs`).\n";
    let overall = &patterns.overall;
    let measured = format!(
        "Measured {} on 2 cores by `cargo bench -p deskbridge-core --bench analytics` ({RUNS} runs \
on one connection, after seeding; load average {load} at the start):\n\n\
| figure | result | goal |\n\
| --- | --- | --- |\n\
| appointments counted (no-show / cancellation rate) | {} ({:.1} % / {:.1} %) | 100,000 seeded |\n\
| all figures for the year, median | {:.1} ms | ≤ {} ms ({verdict}) |\n\
| all figures for the year, p95 | {:.1} ms | |\n\
| all figures for the year, on-CPU time (median) | {} | |\n\
| of which loading the facts (median) | {:.1} ms | |\n\
| of which computing the figures (median) | {:.1} ms | |\n",
        &date[..10],
        overall.appointments,
        overall.no_show.value.unwrap_or(0.0) * 100.0,
        overall.cancellation.value.unwrap_or(0.0) * 100.0,
        ms(median(&totals)),
        GOAL.as_millis(),
        ms(p95(&totals)),
        if cpu.is_empty() {
            "not measured".to_owned()
        } else {
            format!("{:.1} ms", ms(median(&cpu)))
        },
        ms(median(&loads)),
        ms(median(&computes)),
    );
    print!("{measured}");
    let path = deskbridge_bench_report::write(
        &deskbridge_bench_report::Section {
            name: "analytics",
            heading: "Analytics",
            intro,
        },
        &measured,
    )
    .unwrap();
    println!("wrote the Analytics section of {}", path.display());
}
