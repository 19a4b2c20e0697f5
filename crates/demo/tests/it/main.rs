//! A demo day through the real paths: the emulator's signed webhooks go through the in-process
//! relay and the tunnel into an encrypted store, processing and the start-up resync fill the
//! board, the demo's front desk marks arrivals, and several lanes fill as the day plays.

use std::collections::BTreeSet;
use std::time::Duration;

use deskbridge_core::board::Lane;
use deskbridge_core::environment::Environment;
use deskbridge_core::random::OsRandom;
use deskbridge_core::secrets::MemorySecrets;
use deskbridge_core::store::Store;
use deskbridge_demo::{Demo, DemoConfig};
use deskbridge_service::DeskService;
use jiff::ToSpan as _;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_demo_day_fills_several_lanes_through_the_relay() {
    let demo = Demo::start(DemoConfig {
        day_length: Duration::from_secs(20),
        ..DemoConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::TempDir::new().unwrap();
    let store = Store::open(
        dir.path(),
        Environment::Sandbox,
        &MemorySecrets::new(),
        &OsRandom,
    )
    .unwrap();
    let reader = store.try_clone().unwrap();
    let clock = demo.clock();
    let time_zone = demo.time_zone();
    let arrivals = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = arrivals.clone();
    demo.start_front_desk(store.try_clone().unwrap(), move |_| {
        counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    });
    let service = DeskService::start(demo.service_config(store))
        .await
        .unwrap();

    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let lanes = loop {
        let today = clock.now().to_zoned_datetime(time_zone.clone()).date();
        let from = today.to_zoned_datetime(time_zone.clone()).unwrap();
        let to = from.checked_add(1.day()).unwrap();
        let cards = reader.board(from.timestamp(), to.timestamp()).unwrap();
        let lanes: BTreeSet<Lane> = cards.iter().map(|card| card.lane).collect();
        let received = reader.list_received(1000).unwrap();
        assert!(
            received.iter().all(|row| row.skew_seconds.is_none()),
            "the demo's webhooks are signed on its own clock, never stale"
        );
        let verified = received
            .iter()
            .filter(|row| row.appointment_id.is_some())
            .count();
        if lanes.len() >= 3 && verified >= 5 && lanes.contains(&Lane::Arrived) {
            break lanes;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "after a minute: lanes {lanes:?}, {verified} verified webhooks, status {:?}",
            service.status()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert!(lanes.contains(&Lane::Upcoming), "{lanes:?}");
    assert!(
        arrivals.load(std::sync::atomic::Ordering::Relaxed) > 0,
        "the demo's front desk marked arrivals through the staff-action path"
    );
    assert!(
        reader.appointments().unwrap().len() > 50,
        "history and days ahead were resynced"
    );
    service.stop().await;
    demo.stop().await;
}
