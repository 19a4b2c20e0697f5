//! Staff actions against the Zocdoc emulator: each write reaches Zocdoc, local state follows
//! Zocdoc's answer, and what Zocdoc does not allow is refused before any call.

use deskbridge_core::staff_actions::{ActionError, StaffAction, perform};
use deskbridge_core::store::Store;
use deskbridge_sandbox::zocdoc::{AppointmentStatus, BulkLoad, RunningZocdoc};
use deskbridge_zocdoc::api::{AppointmentId, Client};
use jiff::{SignedDuration, Timestamp};

use crate::emulated::{client, config, start, store};

/// Puts one emulator appointment in `status`, starting `start` from now, and stores it locally as
/// the API answers it. Returns its id.
async fn appointment(
    running: &RunningZocdoc,
    client: &Client,
    store: &mut Store,
    index: usize,
    status: AppointmentStatus,
    start: SignedDuration,
) -> String {
    let emulator = running.emulator();
    let mut remote = emulator.appointments().swap_remove(index);
    remote.status = status;
    remote.start_time = Timestamp::now() + start;
    let id = remote.appointment_id.clone();
    emulator.insert_appointment(remote);
    let fetched = client
        .appointment(&AppointmentId::new(id.clone()))
        .await
        .unwrap();
    store
        .record_appointment(&fetched, Timestamp::now())
        .unwrap();
    id
}

#[tokio::test]
async fn each_action_reaches_zocdoc_and_local_state_follows_its_answer() {
    let running = start(config()).await;
    let now = Timestamp::now();
    running.emulator().load_bulk(&BulkLoad::new(
        5,
        now - SignedDuration::from_hours(5),
        now,
        11,
    ));
    let client = client(&running);
    let (_dir, mut store) = store();
    let hour = SignedDuration::from_hours(1);

    let later = appointment(
        &running,
        &client,
        &mut store,
        0,
        AppointmentStatus::Confirmed,
        hour,
    )
    .await;
    let done = perform(
        &mut store,
        &client,
        &later,
        StaffAction::MarkArrived,
        Timestamp::now(),
    )
    .await
    .unwrap();
    assert!(running.emulator().appointment(&later).unwrap().arrived);
    let facts = store.action_facts(&later).unwrap().unwrap();
    assert!(facts.arrived_at.is_some());
    let history = store.appointment_history(&later).unwrap();
    assert_eq!(history.last().unwrap().1.kind.as_str(), "arrived");
    assert_eq!(done.changes.len(), 1);
    let again = perform(
        &mut store,
        &client,
        &later,
        StaffAction::MarkNoShow,
        Timestamp::now(),
    )
    .await;
    assert!(
        matches!(again, Err(ActionError::NotAllowed(_))),
        "{again:?}"
    );

    let missed = appointment(
        &running,
        &client,
        &mut store,
        1,
        AppointmentStatus::Confirmed,
        -hour,
    )
    .await;
    perform(
        &mut store,
        &client,
        &missed,
        StaffAction::MarkNoShow,
        Timestamp::now(),
    )
    .await
    .unwrap();
    assert_eq!(
        running.emulator().appointment(&missed).unwrap().status,
        AppointmentStatus::NoShow
    );
    assert_eq!(
        store.appointment(&missed).unwrap().unwrap().status,
        "no_show"
    );

    let pending = appointment(
        &running,
        &client,
        &mut store,
        2,
        AppointmentStatus::PendingBooking,
        hour,
    )
    .await;
    perform(
        &mut store,
        &client,
        &pending,
        StaffAction::Confirm,
        Timestamp::now(),
    )
    .await
    .unwrap();
    assert_eq!(
        running.emulator().appointment(&pending).unwrap().status,
        AppointmentStatus::Confirmed
    );
    let history = store.appointment_history(&pending).unwrap();
    let last = &history.last().unwrap().1;
    assert_eq!(
        (last.old_value.as_deref(), last.new_value.as_deref()),
        (Some("pending_booking"), Some("confirmed"))
    );
}

#[tokio::test]
async fn what_zocdoc_refuses_is_reported_in_plain_words_and_changes_nothing() {
    let running = start(config()).await;
    let now = Timestamp::now();
    running.emulator().load_bulk(&BulkLoad::new(
        3,
        now - SignedDuration::from_hours(5),
        now,
        12,
    ));
    let client = client(&running);
    let (_dir, mut store) = store();

    // Stored here as confirmed, but cancelled at Zocdoc since: Zocdoc answers 409.
    let id = appointment(
        &running,
        &client,
        &mut store,
        0,
        AppointmentStatus::Confirmed,
        SignedDuration::from_hours(2),
    )
    .await;
    let mut remote = running.emulator().appointment(&id).unwrap();
    remote.status = AppointmentStatus::Cancelled;
    running.emulator().insert_appointment(remote);
    let calls_before = running.emulator().calls().api_calls();
    let refused = perform(
        &mut store,
        &client,
        &id,
        StaffAction::MarkArrived,
        Timestamp::now(),
    )
    .await
    .unwrap_err();
    assert!(matches!(refused, ActionError::Zocdoc(_)), "{refused:?}");
    assert!(!refused.to_string().is_empty());
    assert!(running.emulator().calls().api_calls() > calls_before);
    let facts = store.action_facts(&id).unwrap().unwrap();
    assert_eq!(
        facts.arrived_at, None,
        "nothing recorded for a refused action"
    );

    // Not allowed by the rules: refused before any call.
    let calls_before = running.emulator().calls().api_calls();
    let early = perform(
        &mut store,
        &client,
        &id,
        StaffAction::MarkNoShow,
        Timestamp::now(),
    )
    .await;
    assert!(
        matches!(early, Err(ActionError::NotAllowed(_))),
        "{early:?}"
    );
    assert_eq!(running.emulator().calls().api_calls(), calls_before);

    let unknown = perform(
        &mut store,
        &client,
        "not-here",
        StaffAction::Confirm,
        Timestamp::now(),
    )
    .await;
    assert!(matches!(unknown, Err(ActionError::UnknownAppointment)));
}
