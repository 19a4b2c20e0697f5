//! Pushing to Caspio against the Caspio emulator, with a real SQLCipher store: insert, update
//! and unchanged; 429, 5xx and expired tokens; two pushes racing on one appointment; 403 and 400
//! set aside with clear messages and retried; a push cut short resumed after a restart; a
//! hostile value round-tripping; a mapping that does not fit stopping before any write; and
//! the dry run.

use std::sync::Arc;
use std::time::Duration;

use deskbridge_caspio::{Account, Client, ClientId, ClientSecret, IntegrationHost, RetryPolicy};
use deskbridge_core::caspio_push::{
    CaspioPush, Mapping, MappingProblem, OutboxState, PushError, PushReport, Selection, Written,
};
use deskbridge_core::clock::{Clock, ManualClock};
use deskbridge_core::environment::Environment;
use deskbridge_core::random::OsRandom;
use deskbridge_core::resync::CancelToken;
use deskbridge_core::secrets::MemorySecrets;
use deskbridge_core::store::Store;
use deskbridge_sandbox::caspio::{CaspioConfig, CaspioEmulator, CaspioRoute, RunningCaspio};
use deskbridge_sandbox::zocdoc::FaultConfig;
use deskbridge_zocdoc::api::{
    Appointment, AppointmentId, AppointmentStatus, ConfirmationType, OffsetTime,
};
use jiff::tz::Offset;
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;
use tempfile::TempDir;

const TABLE: &str = "Appointments";
const KEY: &str = "ZocdocAppointmentId";

/// A desk: its data folder and keyring, so the store can be opened again as after a restart.
struct Desk {
    dir: TempDir,
    secrets: MemorySecrets,
    clock: Arc<ManualClock>,
}

impl Desk {
    fn new() -> Desk {
        Desk {
            dir: TempDir::new().unwrap(),
            secrets: MemorySecrets::new(),
            clock: Arc::new(ManualClock::new(at(0))),
        }
    }

    fn open(&self) -> Store {
        Store::open(
            self.dir.path(),
            Environment::Sandbox,
            &self.secrets,
            &OsRandom,
        )
        .unwrap()
    }

    fn push(&self, running: &RunningCaspio) -> CaspioPush {
        CaspioPush::new(
            self.open(),
            client(running),
            Mapping::default_appointments("America/New_York"),
            self.clock.clone(),
        )
    }
}

/// 2026-01-01T00:00:00Z plus `second`.
fn at(second: i64) -> Timestamp {
    Timestamp::from_second(1_767_225_600 + second).unwrap()
}

fn appointment(id: &str, modified: i64) -> Appointment {
    Appointment {
        appointment_id: AppointmentId::new(id),
        appointment_status: AppointmentStatus::Confirmed,
        developer_patient_id: None,
        is_provider_resource: false,
        location_phone_number: None,
        location_phone_extension: None,
        waiting_room_path: None,
        confirmation_type: ConfirmationType::Auto,
        start_time: OffsetTime::new(at(86_400), Offset::UTC),
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

fn store_appointments(store: &mut Store, appointments: &[Appointment]) {
    for appointment in appointments {
        store.record_appointment(appointment, at(1)).unwrap();
    }
}

fn ids(count: usize) -> Vec<String> {
    (0..count).map(|i| format!("appt-{i:04}")).collect()
}

async fn start() -> RunningCaspio {
    CaspioEmulator::start(CaspioConfig::new("desk", "desk-secret"))
        .await
        .unwrap()
}

fn client(running: &RunningCaspio) -> Client {
    Client::builder(Account {
        host: IntegrationHost::parse("c1abc.caspio.com").unwrap(),
        client_id: ClientId::new("desk"),
        client_secret: ClientSecret::new("desk-secret".to_owned()),
    })
    .base_url(running.base_url())
    .retry_policy(RetryPolicy {
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(4),
        rate_limit_retries: 30,
        server_retries: 30,
        max_retry_after: Duration::from_secs(1),
    })
    .build()
    .unwrap()
}

fn quiet() -> impl FnMut(&PushReport) + Send {
    |_: &PushReport| {}
}

/// The emulator's rows by key: each key must appear once.
fn rows_by_key(
    running: &RunningCaspio,
) -> std::collections::BTreeMap<String, serde_json::Map<String, Value>> {
    let rows = running.records(TABLE);
    let mut by_key = std::collections::BTreeMap::new();
    for row in rows {
        let key = row[KEY].as_str().unwrap().to_owned();
        assert!(
            by_key.insert(key.clone(), row).is_none(),
            "duplicate row for {key}"
        );
    }
    by_key
}

#[tokio::test]
async fn first_push_inserts_second_updates_and_an_unchanged_row_is_not_written() {
    let running = start().await;
    let desk = Desk::new();
    let mut push = desk.push(&running);
    let mut store = desk.open();
    let ids = ids(5);
    store_appointments(
        &mut store,
        &ids.iter().map(|id| appointment(id, 10)).collect::<Vec<_>>(),
    );

    let mut seen = Vec::new();
    let first = push
        .push_selected(
            &ids,
            &mut |report: &PushReport| seen.push(report.done),
            &CancelToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(
        (first.inserted, first.updated, first.unchanged, first.failed),
        (5, 0, 0, 0)
    );
    assert_eq!(seen, vec![0, 1, 2, 3, 4, 5], "progress after every row");
    let rows = rows_by_key(&running);
    assert_eq!(rows.len(), 5);
    let row = &rows["appt-0000"];
    assert_eq!(
        row["StartLocal"], "2026-01-01T19:00:00",
        "local time in New York"
    );
    assert_eq!(row["Status"], "confirmed");
    assert_eq!(row["Arrived"], false);
    assert_eq!(row["PK_ID"], 1, "generated columns are Caspio's");

    // One appointment is cancelled at Zocdoc; only it is written again.
    let mut cancelled = appointment("appt-0002", 20);
    cancelled.appointment_status = AppointmentStatus::Cancelled;
    cancelled.cancellation_reason = Some("Feeling better".to_owned());
    store_appointments(&mut store, &[cancelled]);
    running.reset_calls();
    let second = push
        .push_changed_since_last(&mut quiet(), &CancelToken::new())
        .await
        .unwrap();
    assert_eq!((second.total, second.updated, second.inserted), (1, 1, 0));
    let calls = running.calls();
    assert_eq!(calls.get(CaspioRoute::UpdateRecords), 1);
    assert_eq!(calls.get(CaspioRoute::InsertRecord), 0);
    let rows = rows_by_key(&running);
    assert_eq!(rows.len(), 5, "still one row per appointment");
    assert_eq!(rows["appt-0002"]["Status"], "cancelled");
    assert_eq!(rows["appt-0002"]["CancellationReason"], "Feeling better");
    assert_eq!(rows["appt-0002"]["PK_ID"], 3, "the same row, updated");

    // Pushed again by hand with nothing changed: read, not written.
    running.reset_calls();
    let third = push
        .push_selected(&ids, &mut quiet(), &CancelToken::new())
        .await
        .unwrap();
    assert_eq!((third.unchanged, third.updated, third.inserted), (5, 0, 0));
    let calls = running.calls();
    assert_eq!(
        calls.get(CaspioRoute::UpdateRecords) + calls.get(CaspioRoute::InsertRecord),
        0
    );
    assert_eq!(
        calls.get(CaspioRoute::GetFields),
        1,
        "fields once per session"
    );
    assert_eq!(
        calls.get(CaspioRoute::GetRecords),
        1,
        "one lookup for the batch"
    );

    let nothing = push
        .push_changed_since_last(&mut quiet(), &CancelToken::new())
        .await
        .unwrap();
    assert_eq!(nothing.total, 0);
    let outbox = push.outbox(100).unwrap();
    assert_eq!(
        (
            outbox.counts.pending,
            outbox.counts.failed,
            outbox.counts.pushed
        ),
        (0, 0, 11)
    );
}

#[tokio::test]
async fn injected_429s_5xxs_and_expired_tokens_still_complete_without_duplicates() {
    let running = start().await;
    let desk = Desk::new();
    let mut push = desk.push(&running).with_lookup_batch(7);
    let mut store = desk.open();
    let ids = ids(60);
    store_appointments(
        &mut store,
        &ids.iter().map(|id| appointment(id, 10)).collect::<Vec<_>>(),
    );
    let storm = FaultConfig {
        rate_429: 0.25,
        rate_5xx: 0.2,
        status_5xx: 503,
        ..FaultConfig::default()
    };
    for route in [
        CaspioRoute::Token,
        CaspioRoute::GetFields,
        CaspioRoute::GetRecords,
        CaspioRoute::InsertRecord,
        CaspioRoute::UpdateRecords,
    ] {
        running.set_fault(route, storm.clone());
    }
    let emulator = running.emulator().clone();
    let mut expired = false;
    let report = push
        .push_selected(
            &ids,
            &mut |report: &PushReport| {
                if report.done == 30 && !expired {
                    expired = true;
                    emulator.expire_all_tokens();
                }
            },
            &CancelToken::new(),
        )
        .await
        .unwrap();
    assert!(expired);
    assert_eq!((report.inserted, report.failed), (60, 0));
    assert_eq!(rows_by_key(&running).len(), 60, "every row once");
    let calls = running.calls();
    assert!(
        calls.get(CaspioRoute::Token) >= 2,
        "a new token after the expiry"
    );
    assert!(
        calls.get(CaspioRoute::InsertRecord) > 60,
        "faults were answered and retried"
    );
    assert_eq!(push.outbox(0).unwrap().counts.pushed, 60);
}

#[tokio::test]
async fn writes_whose_answer_was_lost_are_not_duplicated() {
    let running = start().await;
    let desk = Desk::new();
    let mut push = desk.push(&running);
    let mut store = desk.open();
    let ids = ids(4);
    store_appointments(
        &mut store,
        &ids.iter().map(|id| appointment(id, 10)).collect::<Vec<_>>(),
    );
    // Every insert lands but is answered 500: the client sends it again, Caspio refuses the
    // duplicate key, and the push reads the row back.
    running.lose_write_answers(4);
    let report = push
        .push_selected(&ids, &mut quiet(), &CancelToken::new())
        .await
        .unwrap();
    assert_eq!((report.unchanged, report.failed), (4, 0));
    assert_eq!(running.calls().get(CaspioRoute::InsertRecord), 8);
    assert_eq!(rows_by_key(&running).len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_pushes_racing_on_one_appointment_leave_one_row() {
    let running = start().await;
    // Both lookups are answered before either insert is handled.
    running.set_fault(
        CaspioRoute::InsertRecord,
        FaultConfig {
            latency: Duration::from_millis(150),
            ..FaultConfig::default()
        },
    );
    let (first_desk, second_desk) = (Desk::new(), Desk::new());
    for desk in [&first_desk, &second_desk] {
        store_appointments(&mut desk.open(), &[appointment("raced", 10)]);
    }
    let mut first = first_desk.push(&running);
    let mut second = second_desk.push(&running);
    let id = vec!["raced".to_owned()];
    let (cancel_a, cancel_b) = (CancelToken::new(), CancelToken::new());
    let (mut quiet_a, mut quiet_b) = (quiet(), quiet());
    let (a, b) = tokio::join!(
        first.push_selected(&id, &mut quiet_a, &cancel_a),
        second.push_selected(&id, &mut quiet_b, &cancel_b),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(
        running.calls().get(CaspioRoute::InsertRecord),
        2,
        "both tried to insert"
    );
    assert_eq!(rows_by_key(&running).len(), 1, "one row");
    assert_eq!(a.inserted + b.inserted, 1);
    assert_eq!(
        a.unchanged + b.unchanged,
        1,
        "the loser read the row back: same values"
    );
    assert_eq!(a.failed + b.failed, 0);
}

#[tokio::test]
async fn forbidden_and_refused_rows_are_set_aside_with_clear_messages_and_retried() {
    let running = start().await;
    let desk = Desk::new();
    let mut push = desk.push(&running);
    let mut store = desk.open();
    let mut too_long = appointment("too-long", 10);
    too_long.cancellation_reason = Some("x".repeat(300));
    store_appointments(&mut store, &[appointment("fine", 10), too_long]);

    running.set_writable(TABLE, false);
    let report = push
        .push_selected(&["fine".to_owned()], &mut quiet(), &CancelToken::new())
        .await
        .unwrap();
    assert_eq!(report.failed, 1);
    let outbox = push.outbox(10).unwrap();
    let failed = &outbox.rows[0];
    assert_eq!(failed.state, OutboxState::Failed);
    assert_eq!(failed.error_code.as_deref(), Some("caspio_forbidden"));
    let message = failed.last_error.as_deref().unwrap();
    assert!(
        message
            .starts_with("This Caspio web services profile may not write to table Appointments."),
        "{message}"
    );
    assert!(message.contains("Caspio reference emu-"), "{message}");

    let report = push
        .push_selected(&["too-long".to_owned()], &mut quiet(), &CancelToken::new())
        .await
        .unwrap();
    assert_eq!(report.failed, 1);
    assert_eq!(
        push.outbox(0).unwrap().counts.failed,
        2,
        "failed rows wait for Retry"
    );
    running.set_writable(TABLE, true);
    let report = push
        .retry_failed(&mut quiet(), &CancelToken::new())
        .await
        .unwrap();
    assert_eq!((report.inserted, report.failed), (1, 1));
    let outbox = push.outbox(10).unwrap();
    assert_eq!((outbox.counts.pushed, outbox.counts.failed), (1, 1));
    let refused = outbox
        .rows
        .iter()
        .find(|row| row.state == OutboxState::Failed)
        .unwrap();
    assert_eq!(refused.appointment_id, "too-long");
    assert_eq!(refused.error_code.as_deref(), Some("caspio_bad_request"));
    assert_eq!(refused.attempts, 2);
    let message = refused.last_error.as_deref().unwrap();
    assert!(
        message.contains("CancellationReason") && message.contains("255"),
        "{message}"
    );
    assert_eq!(rows_by_key(&running).len(), 1);
}

#[tokio::test]
async fn a_push_cut_short_resumes_after_a_restart_without_duplicates() {
    let running = start().await;
    let desk = Desk::new();
    let ids = ids(25);
    store_appointments(
        &mut desk.open(),
        &ids.iter().map(|id| appointment(id, 10)).collect::<Vec<_>>(),
    );
    {
        let mut push = desk.push(&running).with_lookup_batch(10);
        let cancel = CancelToken::new();
        let stop = cancel.clone();
        let error = push
            .push_selected(
                &ids,
                &mut |report: &PushReport| {
                    if report.done == 12 {
                        stop.cancel();
                    }
                },
                &cancel,
            )
            .await
            .unwrap_err();
        assert!(matches!(error, PushError::Cancelled), "{error:?}");
        assert_eq!(running.records(TABLE).len(), 12);
        let counts = push.outbox(0).unwrap().counts;
        assert_eq!((counts.pushed, counts.pending), (12, 13));
    }
    // The app restarts: a new connection, a new client, the same database.
    let mut push = desk.push(&running);
    let report = push
        .resume(&mut quiet(), &CancelToken::new())
        .await
        .unwrap();
    assert_eq!((report.total, report.inserted), (13, 13));
    assert_eq!(rows_by_key(&running).len(), 25);
    assert_eq!(push.outbox(0).unwrap().counts.pending, 0);
}

#[tokio::test]
async fn a_hostile_value_round_trips_unchanged() {
    const HOSTILE: &str = "O'Brien'); DROP --";
    let running = start().await;
    let desk = Desk::new();
    let mut push = desk.push(&running);
    let mut cancelled = appointment(HOSTILE, 10);
    cancelled.appointment_status = AppointmentStatus::Cancelled;
    cancelled.cancellation_reason = Some(HOSTILE.to_owned());
    store_appointments(&mut desk.open(), &[cancelled, appointment("other", 10)]);
    let both = vec![HOSTILE.to_owned(), "other".to_owned()];
    let first = push
        .push_selected(&both, &mut quiet(), &CancelToken::new())
        .await
        .unwrap();
    assert_eq!(first.inserted, 2);
    let rows = rows_by_key(&running);
    assert_eq!(rows[HOSTILE][KEY], HOSTILE);
    assert_eq!(rows[HOSTILE]["CancellationReason"], HOSTILE);
    // Looked up by the hostile key: found, and nothing else matched.
    let second = push
        .push_selected(&both, &mut quiet(), &CancelToken::new())
        .await
        .unwrap();
    assert_eq!(second.unchanged, 2);
    assert_eq!(running.records(TABLE).len(), 2);
}

#[tokio::test]
async fn a_mapping_that_does_not_fit_stops_before_any_write() {
    let running = start().await;
    let desk = Desk::new();
    store_appointments(&mut desk.open(), &[appointment("a", 10)]);
    let mut mapping = Mapping::default_appointments("America/New_York");
    mapping.columns[1].column = "Updated".to_owned();
    mapping.columns[2].column = "Missing".to_owned();
    let mut push = CaspioPush::new(desk.open(), client(&running), mapping, desk.clock.clone());
    let error = push
        .push_selected(&["a".to_owned()], &mut quiet(), &CancelToken::new())
        .await
        .unwrap_err();
    let PushError::Mapping(mapping_error) = &error else {
        panic!("{error:?}");
    };
    assert_eq!(mapping_error.problems.len(), 2);
    assert!(matches!(
        mapping_error.problems[0],
        MappingProblem::ReadOnly { .. }
    ));
    assert!(
        error
            .staff_message()
            .contains("column Updated cannot be written")
    );
    let calls = running.calls();
    assert_eq!(
        calls.get(CaspioRoute::InsertRecord) + calls.get(CaspioRoute::GetRecords),
        0
    );
    assert_eq!(push.outbox(0).unwrap().counts.pending, 0, "nothing queued");
}

#[tokio::test]
async fn the_dry_run_shows_each_row_and_its_values_and_writes_nothing() {
    let running = start().await;
    let desk = Desk::new();
    let mut push = desk.push(&running);
    let mut store = desk.open();
    store_appointments(
        &mut store,
        &[appointment("kept", 10), appointment("moved", 10)],
    );
    push.push_selected(
        &["kept".to_owned(), "moved".to_owned()],
        &mut quiet(),
        &CancelToken::new(),
    )
    .await
    .unwrap();
    let mut moved = appointment("moved", 20);
    moved.start_time = OffsetTime::new(at(90_000), Offset::UTC);
    store_appointments(&mut store, &[moved, appointment("new", 10)]);
    desk.clock.advance(SignedDuration::from_secs(60));
    running.reset_calls();

    let plan = push
        .dry_run(&Selection::ChangedSinceLastPush)
        .await
        .unwrap();
    let actions: Vec<(&str, Written)> = plan
        .rows
        .iter()
        .map(|row| (row.appointment_id.as_str(), row.action))
        .collect();
    assert_eq!(
        actions,
        vec![("moved", Written::Update), ("new", Written::Insert)]
    );
    let moved = &plan.rows[0];
    let mut changed = moved.changed_columns.clone();
    changed.sort();
    assert_eq!(
        changed,
        vec!["LastModifiedLocal".to_owned(), "StartLocal".to_owned()]
    );
    assert_eq!(moved.values["StartLocal"], "2026-01-01T20:00:00");
    assert!(
        !format!("{moved:?}").contains("2026-01-01T20"),
        "Debug leaves values out"
    );

    let selected = push
        .dry_run(&Selection::Ids(vec!["kept".to_owned(), "ghost".to_owned()]))
        .await
        .unwrap();
    assert_eq!(selected.rows[0].action, Written::Unchanged);
    assert_eq!(selected.not_stored, vec!["ghost".to_owned()]);

    let calls = running.calls();
    assert_eq!(
        calls.get(CaspioRoute::InsertRecord) + calls.get(CaspioRoute::UpdateRecords),
        0
    );
    assert_eq!(
        push.outbox(0).unwrap().counts.pending,
        0,
        "the outbox is untouched"
    );
    assert_eq!(desk.clock.now(), at(60));
}

#[tokio::test]
async fn patient_details_are_pushed_only_when_the_practice_includes_them() {
    use deskbridge_core::participants::fetch_participants;
    use deskbridge_sandbox::zocdoc::{BulkLoad, FIXTURE_PRACTICE_ID};

    let zocdoc = crate::emulated::start(crate::emulated::config()).await;
    let to = Timestamp::now();
    zocdoc.load_bulk(&BulkLoad::new(2, to - SignedDuration::from_hours(2), to, 5));
    let remote: Vec<_> = zocdoc
        .appointments()
        .into_iter()
        .filter(|a| a.practice_id.as_deref() != Some(FIXTURE_PRACTICE_ID))
        .collect();
    let zocdoc_client = crate::emulated::client(&zocdoc);
    let running = start().await;
    let desk = Desk::new();
    let mut store = desk.open();
    for appointment in &remote {
        let id = AppointmentId::new(appointment.appointment_id.clone());
        let fetched = zocdoc_client.appointment(&id).await.unwrap();
        store.record_appointment(&fetched, at(1)).unwrap();
    }
    // Staff opened the first appointment only, so only its patient's details are stored.
    let opened = AppointmentId::new(remote[0].appointment_id.clone());
    fetch_participants(&store, &zocdoc_client, &opened, at(2))
        .await
        .unwrap();
    let ids: Vec<String> = remote.iter().map(|a| a.appointment_id.clone()).collect();

    let mut push = desk.push(&running);
    push.push_selected(&ids, &mut quiet(), &CancelToken::new())
        .await
        .unwrap();
    let rows = rows_by_key(&running);
    assert!(
        rows.values().all(|row| row["PatientLastName"].is_null()),
        "off by default"
    );

    let mut mapping = Mapping::default_appointments("America/New_York");
    mapping.include_patient_details = true;
    push.set_mapping(mapping);
    let plan = push.dry_run(&Selection::Ids(ids.clone())).await.unwrap();
    assert!(!plan.rows[0].patient_details_missing && plan.rows[1].patient_details_missing);
    assert_eq!(plan.rows[0].action, Written::Update);
    assert_eq!(
        plan.rows[1].action,
        Written::Unchanged,
        "no details, nothing blanked"
    );
    push.push_selected(&ids, &mut quiet(), &CancelToken::new())
        .await
        .unwrap();
    let rows = rows_by_key(&running);
    let patient = &remote[0].patient;
    let row = &rows[&remote[0].appointment_id];
    assert_eq!(row["PatientLastName"], patient.last_name.as_str());
    assert_eq!(row["PatientFirstName"], patient.first_name.as_str());
    assert_eq!(
        row["PatientDateOfBirth"],
        format!("{}T00:00:00", patient.date_of_birth).as_str()
    );
    assert!(rows[&remote[1].appointment_id]["PatientLastName"].is_null());
}
