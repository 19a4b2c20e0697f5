//! Crash test: `serve` is killed with SIGKILL at random moments while signed webhooks pour in.
//! Every request that got a 2xx must be in the database after restart, and the database must pass
//! SQLCipher's integrity check. Rounds: 20, or `DESKBRIDGE_CRASH_ROUNDS` (`cargo xtask crash-test`
//! runs 200); the kill timings come from `DESKBRIDGE_CRASH_SEED` (printed, so a failure replays).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::{Rng as _, SeedableRng as _, rngs::StdRng};

use crate::support::{Answer, TestDesk, event_body, send, signed_request};

/// Concurrent senders per round.
const SENDERS: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_acknowledged_webhook_survives_sigkill() {
    let rounds: usize = env_or("DESKBRIDGE_CRASH_ROUNDS", 20);
    let seed: u64 = env_or("DESKBRIDGE_CRASH_SEED", rand::random());
    println!("crash test: {rounds} rounds, DESKBRIDGE_CRASH_SEED={seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let desk = TestDesk::new();
    let acknowledged = Arc::new(Mutex::new(BTreeSet::new()));
    let mut unanswered = 0usize;

    for round in 0..rounds {
        let mut serving = desk.serve().await;
        let address = serving.address;
        let senders: Vec<_> = (0..SENDERS)
            .map(|sender| {
                let acknowledged = Arc::clone(&acknowledged);
                tokio::spawn(async move {
                    let mut unanswered = 0usize;
                    for sequence in 0.. {
                        let id = format!("crash-{round:03}-{sender}-{sequence:05}");
                        let request = signed_request(&event_body(&id, "created"), false);
                        match send(address, &request).await {
                            Answer::Status(200) => {
                                acknowledged.lock().unwrap().insert(id);
                            }
                            Answer::Status(other) => panic!("{id} got HTTP {other}"),
                            // The process is gone: this sender's round is over.
                            Answer::Nothing => {
                                unanswered += 1;
                                break;
                            }
                        }
                    }
                    unanswered
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(rng.random_range(20..400))).await;
        serving.child.start_kill().unwrap();
        serving.child.wait().await.unwrap();
        for sender in senders {
            unanswered += sender.await.unwrap();
        }
    }

    let acknowledged = acknowledged.lock().unwrap().clone();
    let store = desk.open_store();
    let problems = store.integrity_check().unwrap();
    assert!(
        problems.is_empty(),
        "integrity check after {rounds} kills: {problems:?}"
    );
    let stored: BTreeSet<String> = store
        .list_received(u32::MAX)
        .unwrap()
        .into_iter()
        .filter_map(|row| row.appointment_id)
        .collect();
    let lost: Vec<&String> = acknowledged.difference(&stored).collect();
    println!(
        "crash test: {rounds} kills, {} acknowledged, {} stored, {unanswered} left unanswered, {} lost",
        acknowledged.len(),
        stored.len(),
        lost.len()
    );
    assert!(
        acknowledged.len() > rounds,
        "too few requests were acknowledged ({}) for the test to mean anything",
        acknowledged.len()
    );
    assert!(lost.is_empty(), "acknowledged but not stored: {lost:?}");
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}
