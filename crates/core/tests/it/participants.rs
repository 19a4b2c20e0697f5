//! Patient details fetched on demand from the Zocdoc emulator: stored in the encrypted database
//! (the file and its write-ahead log never hold them in clear), and a 404 stores nothing.

use std::sync::Arc;

use deskbridge_core::clock::{Clock, SystemClock};
use deskbridge_core::participants::{ParticipantsError, fetch_participants};
use deskbridge_sandbox::zocdoc::{BulkLoad, NOT_FOUND_ID};
use deskbridge_zocdoc::api::{AppointmentId, Error};
use jiff::{SignedDuration, Timestamp};

use crate::emulated::{client, config, start, store};

#[tokio::test]
async fn patient_details_are_fetched_on_demand_and_kept_encrypted() {
    let running = start(config()).await;
    let emulator = running.emulator().clone();
    let to = Timestamp::now();
    emulator.load_bulk(&BulkLoad::new(3, to - SignedDuration::from_hours(2), to, 4));
    let remote = emulator
        .appointments()
        .into_iter()
        .find(|a| a.practice_id.as_deref() != Some(deskbridge_sandbox::zocdoc::FIXTURE_PRACTICE_ID))
        .unwrap();
    let (_dir, store) = store();
    let client = client(&running);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);

    let id = AppointmentId::new(remote.appointment_id.clone());
    let fetched = fetch_participants(&store, &client, &id, clock.now())
        .await
        .unwrap();
    assert_eq!(fetched.patient.last_name, remote.patient.last_name);
    let (stored, _) = store.stored_participants(id.as_str()).unwrap().unwrap();
    assert_eq!(
        stored["patient"]["last_name"],
        remote.patient.last_name.as_str()
    );
    assert_eq!(
        stored["patient"]["email_address"],
        remote.patient.email_address.as_str()
    );

    for suffix in ["", "-wal"] {
        let path = format!("{}{suffix}", store.path().display());
        let bytes = std::fs::read(&path).unwrap_or_default();
        let email = remote.patient.email_address.as_bytes();
        assert!(
            !bytes.windows(email.len()).any(|window| window == email),
            "{path} holds patient data in clear"
        );
    }

    let missing = fetch_participants(
        &store,
        &client,
        &AppointmentId::new(NOT_FOUND_ID),
        clock.now(),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(missing, ParticipantsError::Api(Error::NotFound { .. })),
        "{missing:?}"
    );
    assert!(store.stored_participants(NOT_FOUND_ID).unwrap().is_none());
}
