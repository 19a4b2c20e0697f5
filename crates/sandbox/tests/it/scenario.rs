//! The scenario engine played against a receiver: a compressed day yields the planned mix of
//! bookings, reschedules, cancellations, arrivals and no-shows as signed webhooks, the stored
//! state follows, the same seed gives the same day, and a stopped clock plays only what is due.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use deskbridge_sandbox::zocdoc::{
    AppointmentStatus, DayScenario, DeliveryState, Environment, EventKind, ScenarioPlan,
};
use deskbridge_zocdoc::webhook::{self, UpdateType};
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};

use crate::common::{Behaviour, Harness, Receiver, config, fetch_token, key};

fn day() -> Date {
    Date::new(2025, 3, 12).unwrap()
}

/// Plays `seed`'s day in about a second and waits for every webhook to be answered.
pub(crate) async fn play_compressed(seed: u64) -> (Harness, Receiver, ScenarioPlan) {
    let mut harness = Harness::start(config(Environment::Sandbox)).await;
    let receiver = Receiver::start(vec![Behaviour::Answer(200)]).await;
    harness.send_webhooks_to(&receiver);
    let emulator = harness.emulator();
    let plan = emulator.plan(&DayScenario::new(day(), seed));
    emulator.clock().set(plan.start);
    emulator
        .clock()
        .set_rate(plan.rate_for(Duration::from_millis(1_000)));
    let started = Instant::now();
    let report = tokio::time::timeout(
        Duration::from_secs(30),
        emulator.play(plan.clone()).finished(),
    )
    .await
    .expect("the compressed day ends within seconds");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    // The day is over: stop the clock so that later steps of a test see a steady time.
    emulator.clock().set_rate(0.0);
    assert_eq!(report.skipped, 0);
    assert_eq!(report.applied, plan.summary());
    let expected = plan.events.len();
    assert!(
        emulator
            .deliveries()
            .wait_until(Duration::from_secs(20), |d| d.len() == expected
                && d.iter()
                    .all(|d| d.state == DeliveryState::Answered { status: 200 }))
            .await,
        "every event is delivered and answered"
    );
    // Twelve emulated hours outlive the 60-minute token, as they would for a real client.
    assert_eq!(harness.get("/v1/appointments").await.status, 401);
    harness.token = fetch_token(&harness.running.base_url(), Environment::Sandbox.audience()).await;
    (harness, receiver, plan)
}

#[tokio::test]
async fn a_compressed_day_sends_the_planned_mix_as_signed_webhooks() {
    let (harness, receiver, plan) = play_compressed(7).await;
    let summary = plan.summary();
    for kind in [
        EventKind::Booked,
        EventKind::Rescheduled,
        EventKind::Cancelled,
        EventKind::Arrived,
        EventKind::NoShow,
    ] {
        assert!(summary.get(kind) > 0, "{kind:?}: {summary:?}");
    }
    let received = receiver
        .wait_for(plan.events.len(), Duration::from_secs(5))
        .await;
    assert_eq!(received.len(), plan.events.len());
    let mut per_type = BTreeMap::<String, usize>::new();
    let mut start_time_changes = 0;
    let mut attachments = 0;
    for request in &received {
        webhook::verify(&key(), &request.headers, &request.body, Timestamp::now()).unwrap();
        let event = webhook::parse_event(&request.body).unwrap();
        *per_type
            .entry(event.update_type.as_str().to_owned())
            .or_default() += 1;
        for attribute in &event.changed_attributes {
            match attribute.attribute_path.as_str() {
                "appointment.start_time" => start_time_changes += 1,
                "patient.uploaded_attachments" => {
                    assert!(attribute.attachment_type.is_some());
                    attachments += 1;
                }
                other => panic!("unexpected attribute {other}"),
            }
        }
        if event.update_type == UpdateType::Created {
            assert!(event.changed_attributes.is_empty());
        }
    }
    assert_eq!(per_type["created"], summary.get(EventKind::Booked));
    assert_eq!(per_type["cancelled"], summary.get(EventKind::Cancelled));
    assert_eq!(
        per_type["updated"],
        summary.total() - summary.get(EventKind::Booked) - summary.get(EventKind::Cancelled)
    );
    assert_eq!(start_time_changes, summary.get(EventKind::Rescheduled));
    assert_eq!(attachments, summary.get(EventKind::AttachmentUploaded));

    // The stored state follows the events, and the API answers it.
    let emulator = harness.emulator();
    for event in &plan.events {
        let stored = emulator.appointment(&event.appointment_id).unwrap();
        match event.kind {
            EventKind::NoShow => assert_eq!(stored.status, AppointmentStatus::NoShow),
            EventKind::Cancelled => {
                assert_eq!(stored.status, AppointmentStatus::Cancelled);
                assert!(stored.cancellation_reason.is_some());
            }
            EventKind::Arrived => assert!(stored.arrived),
            _ => {}
        }
    }
    let no_show = plan
        .events
        .iter()
        .find(|e| e.kind == EventKind::NoShow)
        .unwrap();
    let reply = harness
        .get(&format!("/v1/appointments/{}", no_show.appointment_id))
        .await
        .json();
    assert_eq!(reply["data"]["appointment_status"], "no_show");
    let modified: Timestamp = reply["data"]["last_modified_time_utc"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        modified, no_show.at,
        "last_modified_time_utc is the event's time"
    );
}

#[tokio::test]
async fn the_same_seed_plays_the_same_day() {
    fn events(receiver: &Receiver) -> Vec<(String, String, Option<String>, usize)> {
        let mut events: Vec<_> = receiver
            .received()
            .iter()
            .map(|request| {
                let event = webhook::parse_event(&request.body).unwrap();
                (
                    event.appointment_id,
                    event.update_type.as_str().to_owned(),
                    event.appointment_updated_timestamp,
                    event.changed_attributes.len(),
                )
            })
            .collect();
        events.sort();
        events
    }
    let (_first_harness, first, first_plan) = play_compressed(21).await;
    let (_second_harness, second, second_plan) = play_compressed(21).await;
    assert_eq!(first_plan, second_plan);
    assert_eq!(events(&first), events(&second));
    let (_, other, _) = play_compressed(22).await;
    assert_ne!(events(&first), events(&other));
}

#[tokio::test]
async fn a_stopped_clock_plays_only_what_is_due() {
    let harness = Harness::start(config(Environment::Sandbox)).await;
    let receiver = Receiver::start(vec![Behaviour::Answer(200)]).await;
    harness.send_webhooks_to(&receiver);
    let emulator = harness.emulator();
    let plan = emulator.plan(&DayScenario::new(day(), 3));
    emulator.clock().set(plan.start);
    let run = emulator.play(plan.clone());
    let noon = plan.start + SignedDuration::from_hours(5);
    emulator.clock().set(noon);
    let due = plan.events.iter().filter(|e| e.at <= noon).count();
    assert!(due > 0 && due < plan.events.len());
    assert!(
        emulator
            .deliveries()
            .wait_until(Duration::from_secs(10), |d| d.len() == due)
            .await
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        emulator.deliveries().deliveries().len(),
        due,
        "nothing after noon yet"
    );
    assert!(!run.is_finished());
    emulator.clock().set(plan.end);
    let report = tokio::time::timeout(Duration::from_secs(10), run.finished())
        .await
        .unwrap();
    assert_eq!(report.applied.total(), plan.events.len());
}

#[tokio::test]
async fn the_plan_brings_weeks_of_history_and_a_two_minute_pace() {
    let harness = Harness::sandbox().await;
    let plan = harness.emulator().plan(&DayScenario::new(day(), 5));
    let rate = plan.rate_for(Duration::from_secs(120));
    assert!((rate - 360.0).abs() < 1e-9, "12 hours in 2 minutes: {rate}");
    harness.emulator().load(&plan);
    let three_weeks_ago = plan.start - SignedDuration::from_hours(24 * 21);
    let history = harness
        .emulator()
        .appointments()
        .iter()
        .filter(|a| a.start_time < plan.start && a.start_time >= three_weeks_ago)
        .count();
    assert!(history > 500, "{history}");
    let statuses: std::collections::HashSet<_> = harness
        .emulator()
        .appointments()
        .iter()
        .filter(|a| a.start_time < plan.start)
        .map(|a| a.status)
        .collect();
    for status in [
        AppointmentStatus::Confirmed,
        AppointmentStatus::Cancelled,
        AppointmentStatus::NoShow,
    ] {
        assert!(statuses.contains(&status), "{status} in the history");
    }
}
