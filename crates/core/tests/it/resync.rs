//! Resync against the Zocdoc emulator: 10,000 appointments whose changes are bunched so that
//! windows must split, read once each within the API-call budget; and a run that meets a 429
//! storm and an expired token still completes with every appointment.

use std::collections::BTreeSet;
use std::time::Instant;

use deskbridge_core::resync::{CancelToken, Resync, ResyncConfig};
use deskbridge_sandbox::clock::Clock;
use deskbridge_sandbox::zocdoc::{BulkLoad, FIXTURE_PRACTICE_ID, FaultConfig, Route};
use jiff::{SignedDuration, Timestamp};

use crate::emulated::{client, config, start, store, system_clock};

/// First-run range wide enough for every bulk appointment (they start up to 30 days before and
/// 60 days after their last change).
fn wide() -> ResyncConfig {
    ResyncConfig {
        first_run_back: SignedDuration::from_hours(24 * 120),
        first_run_ahead: SignedDuration::from_hours(24 * 120),
        ..ResyncConfig::default()
    }
}

fn bulk(count: usize, seed: u64) -> BulkLoad {
    let to = Timestamp::now() - SignedDuration::from_hours(1);
    BulkLoad::new(count, to - SignedDuration::from_hours(24 * 20), to, seed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_appointments_are_read_once_within_the_call_budget() {
    const N: usize = 10_000;
    let running = start(config()).await;
    let emulator = running.emulator().clone();
    assert_eq!(emulator.load_bulk(&bulk(N, 11)), N);
    let expected: BTreeSet<String> = emulator
        .appointments()
        .into_iter()
        .filter(|a| a.practice_id.as_deref() != Some(FIXTURE_PRACTICE_ID))
        .map(|a| a.appointment_id)
        .collect();
    assert_eq!(expected.len(), N);
    emulator.reset_calls();

    let (_dir, store) = store();
    let mut resync = Resync::new(
        store.try_clone().unwrap(),
        client(&running),
        system_clock(),
        wide(),
    );
    let started = Instant::now();
    let summary = resync.run(&CancelToken::new()).await.unwrap();
    let elapsed = started.elapsed();

    let stored: BTreeSet<String> = store
        .appointments()
        .unwrap()
        .into_iter()
        .map(|a| a.id)
        .filter(|id| expected.contains(id))
        .collect();
    assert_eq!(stored, expected, "every appointment present once");
    let calls = emulator.calls().get(Route::ListAppointments);
    let bound = (1.05 * N.div_ceil(100) as f64).floor() as u64 + u64::from(summary.windows);
    assert!(summary.windows > 10, "windows had to split: {summary:?}");
    assert_eq!(calls, u64::from(summary.api_calls));
    assert!(
        calls <= bound,
        "{calls} list calls > bound {bound} ({summary:?})"
    );
    assert!(elapsed.as_secs() < 60, "{elapsed:?}");
    println!(
        "10,000 appointments: {calls} calls (bound {bound}), {} windows, {elapsed:?}",
        summary.windows
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_storm_and_an_expired_token_mid_run_still_complete() {
    const N: usize = 2_500;
    // Emulated time stands still, so that the token fetched after the expiry is issued in a later
    // second than the expiry (the emulator refuses tokens of the expiry's own second).
    let mut config = config();
    config.clock = Clock::manual(Timestamp::now());
    let running = start(config).await;
    let emulator = running.emulator().clone();
    emulator.load_bulk(&bulk(N, 12));
    let ids: BTreeSet<String> = emulator
        .appointments()
        .into_iter()
        .filter(|a| a.practice_id.as_deref() != Some(FIXTURE_PRACTICE_ID))
        .map(|a| a.appointment_id)
        .collect();
    assert_eq!(ids.len(), N);
    emulator.set_fault(
        Route::ListAppointments,
        FaultConfig {
            rate_429: 0.3,
            ..FaultConfig::default()
        },
    );

    let (_dir, store) = store();
    let mut resync = Resync::new(
        store.try_clone().unwrap(),
        client(&running),
        system_clock(),
        wide(),
    );
    let mut progress = resync.subscribe();
    let expirer = {
        let emulator = emulator.clone();
        tokio::spawn(async move {
            while progress.changed().await.is_ok() {
                if progress.borrow().done >= 1_000 {
                    emulator.expire_all_tokens();
                    emulator.clock().advance(SignedDuration::from_secs(2));
                    return true;
                }
            }
            false
        })
    };
    let summary = resync.run(&CancelToken::new()).await.unwrap();
    assert!(expirer.await.unwrap(), "the token was expired mid-run");
    assert!(
        emulator.calls().get(Route::Token) >= 2,
        "a new token was fetched"
    );
    assert!(
        emulator.calls().get(Route::ListAppointments) > u64::from(summary.api_calls),
        "429s were answered and retried"
    );
    let stored: BTreeSet<String> = store
        .appointments()
        .unwrap()
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert!(stored.is_superset(&ids), "every bulk appointment was read");
    assert_eq!(summary.fetched as usize, stored.len());
}
