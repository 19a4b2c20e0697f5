//! A practice's day end to end: the Zocdoc emulator plays a scenario day and sends signed
//! webhooks to the real direct listener, ingest commits them, processing fetches each
//! appointment; after a start-up resync and the day, the local appointments equal the
//! emulator's, field by field. Then events Zocdoc answers 404 and 500 to are given up and
//! retried (both visible), and an uploaded ID card lands in the history.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use deskbridge_core::appointments::{ChangeKind, StoredAppointment};
use deskbridge_core::clock::Clock as CoreClock;
use deskbridge_core::ingest::Ingest;
use deskbridge_core::processing::Processor;
use deskbridge_core::resync::{CancelToken, Resync, ResyncConfig};
use deskbridge_relay::direct::{self, WEBHOOK_PATH};
use deskbridge_relay::http_server::Server;
use deskbridge_sandbox::clock::Clock;
use deskbridge_sandbox::zocdoc::{
    Appointment, ChangedAttribute, DayScenario, DeliveryState, FIXTURE_PRACTICE_ID, NOT_FOUND_ID,
    SERVER_ERROR_ID, UpdateType, WebhookEvent, WebhookTarget, ZocdocEmulator,
};
use deskbridge_zocdoc::webhook::WebhookKey;
use jiff::Timestamp;
use jiff::civil::Date;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::emulated::{client, config, start, store, system_clock};

/// The emulator's time, as `deskbridge-core` takes a clock: the resync's first-run range is
/// then around the scenario's day.
#[derive(Debug)]
struct Emulated(Clock);

impl CoreClock for Emulated {
    fn now(&self) -> Timestamp {
        self.0.now()
    }
}

/// The emulator's appointments, fixtures left out, by id.
fn emulator_state(emulator: &ZocdocEmulator) -> BTreeMap<String, Appointment> {
    emulator
        .appointments()
        .into_iter()
        .filter(|a| a.practice_id.as_deref() != Some(FIXTURE_PRACTICE_ID))
        .map(|a| (a.appointment_id.clone(), a))
        .collect()
}

fn text<T: serde::Serialize>(value: &T) -> Option<String> {
    serde_json::to_value(value)
        .ok()
        .and_then(|value| value.as_str().map(str::to_owned))
}

fn time(text: Option<&str>) -> Option<Timestamp> {
    text.and_then(|text| text.parse().ok())
}

/// Asserts `local` equals `remote` in every field the API answers.
fn assert_same(local: &StoredAppointment, remote: &Appointment) {
    let id = &remote.appointment_id;
    assert_eq!(local.id, *id);
    assert_eq!(local.status, remote.status.as_str(), "{id}: status");
    assert_eq!(
        time(Some(&local.start_time)),
        Some(remote.start_time),
        "{id}: start"
    );
    assert_eq!(
        time(local.created_time_utc.as_deref()),
        Some(remote.created),
        "{id}: created"
    );
    assert_eq!(
        time(local.last_modified_time_utc.as_deref()),
        Some(remote.last_modified),
        "{id}: last modified"
    );
    assert_eq!(
        local.provider_location_id,
        format!("{}|{}", remote.provider_id, remote.location_id),
        "{id}: provider and location"
    );
    assert_eq!(local.practice_id, remote.practice_id, "{id}: practice");
    assert_eq!(
        local.visit_reason_id, remote.visit_reason_id,
        "{id}: visit reason"
    );
    assert_eq!(
        local.visit_type,
        text(&remote.visit_type),
        "{id}: visit type"
    );
    assert_eq!(
        local.patient_type,
        text(&remote.patient_type),
        "{id}: patient type"
    );
    assert_eq!(
        local.cancellation_reason, remote.cancellation_reason,
        "{id}: cancellation reason"
    );
    assert_eq!(local.source, remote.source, "{id}: source");
    assert_eq!(local.notes, remote.notes, "{id}: notes");
}

fn assert_all_same(local: Vec<StoredAppointment>, remote: &BTreeMap<String, Appointment>) {
    let local: BTreeMap<String, StoredAppointment> = local
        .into_iter()
        .filter(|a| a.practice_id.as_deref() != Some(FIXTURE_PRACTICE_ID))
        .map(|a| (a.id.clone(), a))
        .collect();
    assert_eq!(
        local.keys().collect::<Vec<_>>(),
        remote.keys().collect::<Vec<_>>(),
        "the same appointments"
    );
    for (id, remote) in remote {
        assert_same(&local[id], remote);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scenario_day_ends_with_the_local_appointments_equal_to_zocdocs() {
    let key = WebhookKey::from_base64("g9Y9hjTUk9KKH7ffBRbtRmJYo2OISsdMK4flbfDa3zR=").unwrap();
    let (_dir, store) = store();
    let ingest = Ingest::start(
        store.try_clone().unwrap(),
        Some(key.clone()),
        system_clock(),
    )
    .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(
        Server::new(direct::router(ingest.clone())).run(listener, async {
            let _ = stopped.await;
        }),
    );

    let mut config = config();
    config.clock = Clock::manual(Timestamp::now());
    let running = start(config).await;
    let emulator = running.emulator().clone();
    let plan = emulator.plan(&DayScenario::new(Date::new(2025, 3, 12).unwrap(), 21));
    emulator.clock().set(plan.start);
    emulator.load(&plan);

    // Start-up: the resync reads the practice's appointments around the day.
    let clock: Arc<dyn CoreClock> = Arc::new(Emulated(emulator.clock().clone()));
    let mut resync = Resync::new(
        store.try_clone().unwrap(),
        client(&running),
        clock,
        ResyncConfig::default(),
    );
    let summary = resync.run(&CancelToken::new()).await.unwrap();
    assert!(summary.first_run && summary.fetched > 500, "{summary:?}");
    assert_all_same(store.appointments().unwrap(), &emulator_state(&emulator));

    // The day, compressed into about a second, as signed webhooks to the direct listener.
    emulator.set_webhook_target(Some(
        WebhookTarget::new(&format!("http://{address}{WEBHOOK_PATH}"), key).unwrap(),
    ));
    emulator
        .clock()
        .set_rate(plan.rate_for(Duration::from_millis(1_000)));
    let events = plan.events.len();
    let report = tokio::time::timeout(Duration::from_secs(30), emulator.play(plan).finished())
        .await
        .expect("the compressed day ends within seconds");
    emulator.clock().set_rate(0.0);
    assert_eq!(report.skipped, 0);
    assert!(
        emulator
            .deliveries()
            .wait_until(Duration::from_secs(20), |d| d.len() == events
                && d.iter()
                    .all(|d| d.state == DeliveryState::Answered { status: 200 }))
            .await,
        "every event is delivered and answered 200"
    );

    // Processing: each stored webhook fetches its appointment.
    let mut processor =
        Processor::new(store.try_clone().unwrap(), client(&running), system_clock());
    let processed = processor.process_all_due().await.unwrap();
    assert_eq!(processed.processed as usize, events, "{processed:?}");
    assert!(processor.problems().unwrap().is_empty());
    assert_all_same(store.appointments().unwrap(), &emulator_state(&emulator));

    // Events Zocdoc cannot answer, and an uploaded ID card: a 404 is given up (visibly), a 500
    // waits for its retry, the upload lands in the appointment's history.
    let uploaded = emulator_state(&emulator).into_keys().next().unwrap();
    let now = emulator.clock().now();
    for (appointment_id, changed_attributes) in [
        (NOT_FOUND_ID.to_owned(), Vec::new()),
        (SERVER_ERROR_ID.to_owned(), Vec::new()),
        (
            uploaded.clone(),
            vec![ChangedAttribute::uploaded_attachment(
                "insurance_card_front",
            )],
        ),
    ] {
        emulator.notify(&WebhookEvent {
            appointment_id,
            update_type: UpdateType::Updated,
            updated_at: now,
            changed_attributes,
        });
    }
    assert!(
        emulator
            .deliveries()
            .wait_until(Duration::from_secs(20), |d| d.len() == events + 3
                && d.iter()
                    .all(|d| d.state == DeliveryState::Answered { status: 200 }))
            .await
    );
    let processed = processor.process_all_due().await.unwrap();
    assert_eq!(
        (processed.processed, processed.retrying, processed.gave_up),
        (1, 1, 1),
        "{processed:?}"
    );
    let problems = processor.problems().unwrap();
    let by_id = |id: &str| {
        problems
            .iter()
            .find(|p| p.appointment_id.as_deref() == Some(id))
    };
    assert!(by_id(NOT_FOUND_ID).is_some_and(|p| p.gave_up && p.next_attempt_at.is_none()));
    assert!(by_id(SERVER_ERROR_ID).is_some_and(|p| !p.gave_up && p.next_attempt_at.is_some()));
    let history = store.appointment_history(&uploaded).unwrap();
    let (_, last) = history.last().unwrap();
    assert_eq!(last.kind, ChangeKind::AttachmentUploaded);
    assert_eq!(last.new_value.as_deref(), Some("insurance_card_front"));

    let _ = stop.send(());
    server.await.unwrap().unwrap();
    ingest.shutdown().await;
}
