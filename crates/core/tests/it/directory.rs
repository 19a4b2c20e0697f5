//! Directory names from the Zocdoc emulator: each id of the practice's appointments is fetched
//! once, a second round makes no call, and the cached names are the practice's.

use std::collections::BTreeSet;

use deskbridge_core::appointments::StoredAppointment;
use deskbridge_core::directory::{DirectoryIds, Filled, fill_missing, names_for};
use deskbridge_sandbox::zocdoc::{BulkLoad, FIXTURE_PRACTICE_ID, Route};
use deskbridge_zocdoc::api::{Appointment, AppointmentId, ProviderLocationId, VisitReasonId};
use jiff::{SignedDuration, Timestamp};

use crate::emulated::{client, config, start, store};

#[tokio::test]
async fn fill_missing_fetches_each_id_once_and_a_second_call_makes_none() {
    let running = start(config()).await;
    let emulator = running.emulator().clone();
    let to = Timestamp::now();
    emulator.load_bulk(&BulkLoad::new(
        40,
        to - SignedDuration::from_hours(48),
        to,
        9,
    ));
    let client = client(&running);
    let mut appointments: Vec<Appointment> = Vec::new();
    for remote in emulator
        .appointments()
        .into_iter()
        .filter(|a| a.practice_id.as_deref() != Some(FIXTURE_PRACTICE_ID))
    {
        let id = AppointmentId::new(remote.appointment_id);
        appointments.push(client.appointment(&id).await.unwrap());
    }
    let stored: Vec<StoredAppointment> = appointments
        .iter()
        .map(StoredAppointment::from_api)
        .collect();
    let ids = DirectoryIds::of(&stored);
    let distinct_places: BTreeSet<&str> = appointments
        .iter()
        .map(|a| a.provider_location_id.as_str())
        .collect();
    assert!(distinct_places.len() > 1, "the load spreads over providers");
    assert_eq!(ids.provider_locations.len(), distinct_places.len());
    emulator.reset_calls();

    let (_dir, mut store) = store();
    let filled = fill_missing(&mut store, &client, &ids, Timestamp::now())
        .await
        .unwrap();
    assert_eq!(
        filled,
        Filled {
            named: ids.provider_locations.len() + ids.visit_reasons.len(),
            not_found: 0,
            failed: 0,
        }
    );
    let calls = emulator.calls();
    assert_eq!(
        calls.get(Route::GetProviderLocation),
        ids.provider_locations.len() as u64
    );
    assert_eq!(
        calls.get(Route::GetVisitReason),
        ids.visit_reasons.len() as u64
    );

    let again = fill_missing(&mut store, &client, &ids, Timestamp::now())
        .await
        .unwrap();
    assert_eq!(again, Filled::default());
    assert_eq!(
        emulator.calls().api_calls(),
        calls.api_calls(),
        "no call the second time"
    );

    let names = names_for(&store, &ids).unwrap();
    let practice = emulator.practice();
    for id in &ids.provider_locations {
        let (provider_id, location_id) = id.as_str().split_once('|').unwrap();
        let provider = practice.provider(provider_id).unwrap();
        let location = practice.location(location_id).unwrap();
        let named = &names.provider_locations[id];
        assert_eq!(
            named.provider_name.as_deref(),
            Some(provider.full_name().as_str())
        );
        assert_eq!(
            named.location_name.as_deref(),
            Some(location.name.as_str()),
            "{id}"
        );
    }
    for reason in &practice.visit_reasons {
        let id = VisitReasonId::new(reason.visit_reason_id.as_str());
        if ids.visit_reasons.contains(&id) {
            assert_eq!(names.visit_reasons[&id], reason.name);
        }
    }
}

#[tokio::test]
async fn ids_the_sandbox_does_not_know_leave_cards_with_their_ids() {
    let running = start(config()).await;
    let client = client(&running);
    let (_dir, mut store) = store();
    let ids = DirectoryIds {
        provider_locations: [ProviderLocationId::new("pr_confirmed|lo_confirmed")].into(),
        visit_reasons: [VisitReasonId::new("pc_FRO-18leckytNKtruw5dLR")].into(),
    };
    let filled = fill_missing(&mut store, &client, &ids, Timestamp::now())
        .await
        .unwrap();
    assert_eq!(filled.not_found, 2);
    let names = names_for(&store, &ids).unwrap();
    assert!(names.provider_locations.is_empty() && names.visit_reasons.is_empty());
    fill_missing(&mut store, &client, &ids, Timestamp::now())
        .await
        .unwrap();
    let calls = running.emulator().calls();
    assert_eq!(calls.get(Route::GetProviderLocation), 1, "a 404 is cached");
    assert_eq!(calls.get(Route::GetVisitReason), 1, "a 404 is cached");
}
