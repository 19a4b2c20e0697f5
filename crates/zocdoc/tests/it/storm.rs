//! Resilience under load: a resync through a 429 storm (30 % of all requests, token included,
//! some with `Retry-After`) with the token revoked midway returns every appointment, correct and
//! once; writes in a storm each take effect exactly once.

use std::collections::BTreeMap;
use std::time::Duration;

use deskbridge_zocdoc::api::{
    AppointmentId, AppointmentStatus, CancelReason, CancellationReasonType, ListQuery, TimeWindow,
    Written,
};
use jiff::SignedDuration;

use crate::support::{FakeZocdoc, Route, appointment_json, timestamp};

#[tokio::test]
async fn a_resync_through_a_429_storm_and_a_token_revocation_is_complete_and_correct() {
    let zocdoc = FakeZocdoc::start().await;
    let base = timestamp(1_760_000_000);
    for n in 0..1_500i64 {
        let statuses = ["confirmed", "cancelled", "rescheduled", "pending_booking"];
        zocdoc.insert(appointment_json(
            &format!("s-{n:04}"),
            statuses[usize::try_from(n % 4).unwrap()],
            timestamp(1_900_000_000) + SignedDuration::from_mins(n * 7),
            base + SignedDuration::from_secs(n * 60),
        ));
    }
    zocdoc.storm(30, 0x5eed);
    zocdoc.revoke_at_api_call(5);
    let (client, clock) = zocdoc.client();

    // The resync: one window over everything; a window that hits the cap is split in two.
    let mut windows = vec![TimeWindow::between(
        base,
        base + SignedDuration::from_hours(36),
    )];
    let mut got = BTreeMap::new();
    let mut splits = 0;
    while let Some(window) = windows.pop() {
        let listing = client
            .list_all_appointments(&ListQuery::modified_within(window))
            .await
            .unwrap();
        if listing.capped {
            let (min, max) = (window.min.unwrap(), window.max.unwrap());
            let middle = min + min.duration_until(max) / 2;
            windows.push(TimeWindow::between(min, middle));
            windows.push(TimeWindow::between(middle, max));
            splits += 1;
            continue;
        }
        for appointment in listing.appointments {
            got.insert(appointment.appointment_id.to_string(), appointment);
        }
    }
    assert_eq!(
        splits, 2,
        "36 h split, then its first 18 h (1,081 appointments) split"
    );
    let expected = zocdoc
        .all_ids()
        .into_iter()
        .filter(|id| id.starts_with("s-"));
    assert!(
        got.keys().cloned().eq(expected),
        "every appointment, each once"
    );
    for (id, appointment) in &got {
        let stored = zocdoc.stored(id);
        assert_eq!(
            appointment.appointment_status.as_str(),
            stored["appointment_status"]
        );
        assert_eq!(appointment.start_time.to_string(), stored["start_time"]);
        assert_eq!(
            appointment.last_modified_time_utc.unwrap().to_string(),
            stored["last_modified_time_utc"]
        );
    }

    // Then each changed appointment is fetched, as processing does.
    for n in (0..1_500).step_by(50) {
        let id = AppointmentId::new(format!("s-{n:04}"));
        let appointment = client.appointment(&id).await.unwrap();
        assert_eq!(appointment.appointment_id, id);
        let participants = client.participants(&id).await.unwrap();
        assert_eq!(participants.patient.last_name, "Doe");
    }

    let refusals = zocdoc.storm_refusals();
    let requests = u64::try_from(zocdoc.seen().len()).unwrap();
    assert!(
        (requests * 2 / 10..=requests * 4 / 10).contains(&refusals),
        "{refusals} of {requests} refused"
    );
    assert_eq!(
        zocdoc.tokens_issued(),
        2,
        "one refresh after the revocation"
    );
    assert!(
        zocdoc
            .seen()
            .iter()
            .any(|s| s.route != Route::Token && s.answered == 401),
        "the revocation happened"
    );
    assert!(
        clock.sleeps().contains(&Duration::from_secs(1)),
        "Retry-After was honoured"
    );
}

#[tokio::test]
async fn writes_in_a_429_storm_each_take_effect_once() {
    let zocdoc = FakeZocdoc::start().await;
    let future = jiff::Timestamp::now() + SignedDuration::from_hours(72);
    let ids: Vec<AppointmentId> = (0..40)
        .map(|n| {
            let id = format!("c-{n:02}");
            zocdoc.insert(appointment_json(
                &id,
                "confirmed",
                future,
                timestamp(1_700_000_000),
            ));
            AppointmentId::new(id)
        })
        .collect();
    zocdoc.storm(30, 0xfeed);
    let (client, _clock) = zocdoc.client();
    for id in &ids {
        let written = client
            .cancel(
                id,
                &CancelReason::new(CancellationReasonType::ProviderNotAvailable),
            )
            .await
            .unwrap();
        let Written::Answered(change) = written else {
            panic!("{written:?}");
        };
        assert_eq!(change.appointment_status, AppointmentStatus::Cancelled);
        assert_eq!(zocdoc.applied(id.as_str()), 1);
    }
    assert!(zocdoc.storm_refusals() > 0);
    assert_eq!(zocdoc.count(Route::Get), 0, "a 429 needs no read-back");
}
