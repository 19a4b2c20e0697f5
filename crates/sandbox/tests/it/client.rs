//! The deskbridge-zocdoc API client against the emulator, over real HTTP on 127.0.0.1: every
//! operation (results checked against the emulator's own state), every error class (400, 401,
//! 403, 404, 409, 429, 5xx, on reads and writes), a 429 storm at 30 % and a 401 in the middle of a
//! resync with complete and correct results, the sandbox's fixed ids, and staff messages in plain
//! words without patient data.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use deskbridge_sandbox::zocdoc::{
    self as emulated, BulkLoad, Change, Environment, FIXED, FIXTURE_PRACTICE_ID, FaultConfig,
    NOT_FOUND_ID, Route, SCOPE_READ, SERVER_ERROR_ID, WITH_ATTACHMENTS_ID, ZocdocEmulator,
};
use deskbridge_zocdoc::api::{
    Appointment, AppointmentId, AppointmentStatus, AuthFailure, CancelReason,
    CancellationReasonType, Client, ClientBuilder, ClientId, ClientSecret, Clock,
    Environment as ApiEnvironment, Error, ErrorType, Jitter, ListQuery, OffsetTime, ReadBack,
    RequestProblem, RetryPolicy, SortBy, SortDirection, StatusUpdate, TimeWindow, Written,
};
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::common::{CLIENT_ID, CLIENT_SECRET, Harness, config, t0};

// Harness

/// Short delays, so that retries cost milliseconds; generous counts, so that a storm at 30 % is
/// ridden out.
fn policy() -> RetryPolicy {
    RetryPolicy {
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(16),
        rate_limit_retries: 10,
        server_retries: 3,
        max_retry_after: Duration::from_secs(30),
    }
}

/// A client of the sandbox emulator behind `harness`, with the right credentials.
fn builder(harness: &Harness) -> ClientBuilder {
    builder_with(harness, ApiEnvironment::Sandbox, CLIENT_SECRET)
}

fn builder_with(harness: &Harness, environment: ApiEnvironment, secret: &str) -> ClientBuilder {
    Client::builder(
        environment,
        ClientId::new(CLIENT_ID),
        ClientSecret::new(secret.to_owned()),
    )
    .base_url(harness.running.base_url())
    .retry_policy(policy())
    .timeout(Duration::from_secs(10))
}

fn client(harness: &Harness) -> Client {
    builder(harness).build().unwrap()
}

/// A sandbox emulator (stopped clock at [`t0`], seed 1) with its call counts at zero.
async fn sandbox() -> Harness {
    let harness = Harness::sandbox().await;
    harness.emulator().reset_calls();
    harness
}

type SleepHook = Box<dyn FnMut(usize) + Send>;

/// The client's clock in tests: sleeps return at once and are recorded, time moves only when a
/// test (or a sleep) advances it, and a hook can act at the n-th sleep (e.g. end a fault), which
/// makes "fails twice, then answers" exact.
struct ScriptedClock {
    start: Instant,
    start_utc: Timestamp,
    elapsed: Mutex<Duration>,
    sleeps: Mutex<Vec<Duration>>,
    on_sleep: Mutex<Option<SleepHook>>,
}

impl fmt::Debug for ScriptedClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScriptedClock")
            .field("sleeps", &self.sleeps())
            .finish_non_exhaustive()
    }
}

impl ScriptedClock {
    fn new() -> Arc<ScriptedClock> {
        Arc::new(ScriptedClock {
            start: Instant::now(),
            start_utc: Timestamp::now(),
            elapsed: Mutex::new(Duration::ZERO),
            sleeps: Mutex::new(Vec::new()),
            on_sleep: Mutex::new(None),
        })
    }

    /// A clock that calls `hook(n)` at the n-th sleep (from 1).
    fn with_hook(hook: impl FnMut(usize) + Send + 'static) -> Arc<ScriptedClock> {
        let clock = ScriptedClock::new();
        *clock.on_sleep.lock().unwrap() = Some(Box::new(hook));
        clock
    }

    fn advance(&self, by: Duration) {
        *self.elapsed.lock().unwrap() += by;
    }

    fn sleeps(&self) -> Vec<Duration> {
        self.sleeps.lock().unwrap().clone()
    }
}

impl Clock for ScriptedClock {
    fn now(&self) -> Instant {
        self.start + *self.elapsed.lock().unwrap()
    }

    fn now_utc(&self) -> Timestamp {
        self.start_utc + *self.elapsed.lock().unwrap()
    }

    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        let count = {
            let mut sleeps = self.sleeps.lock().unwrap();
            sleeps.push(duration);
            sleeps.len()
        };
        self.advance(duration);
        if let Some(hook) = self.on_sleep.lock().unwrap().as_mut() {
            hook(count);
        }
        Box::pin(std::future::ready(()))
    }
}

/// Always the same jitter fraction.
#[derive(Debug)]
struct FixedJitter(f64);

impl Jitter for FixedJitter {
    fn fraction(&self) -> f64 {
        self.0
    }
}

fn id(text: &str) -> AppointmentId {
    AppointmentId::new(text)
}

/// The wire name of an emulator enum (its serde name), to compare with the client's `as_str`.
fn wire(value: &impl Serialize) -> String {
    serde_json::to_value(value)
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned()
}

fn stored(emulator: &ZocdocEmulator, appointment_id: &str) -> emulated::Appointment {
    emulator
        .appointment(appointment_id)
        .expect("the appointment is stored")
}

/// The client's appointment matches the emulator's record, field by field.
fn assert_matches(got: &Appointment, want: &emulated::Appointment) {
    let id = &want.appointment_id;
    assert_eq!(got.appointment_id.as_str(), id);
    assert_eq!(
        got.appointment_status.as_str(),
        want.status.as_str(),
        "{id}"
    );
    assert_eq!(got.start_time.timestamp(), want.start_time, "{id}");
    assert_eq!(
        got.start_time.offset(),
        want.local_start().offset(),
        "{id}: start time in the location's offset"
    );
    assert_eq!(got.created_time_utc, Some(want.created), "{id}");
    assert_eq!(got.last_modified_time_utc, Some(want.last_modified), "{id}");
    assert_eq!(
        got.provider_location_id.as_str(),
        want.provider_location_id()
    );
    assert_eq!(
        got.practice_id.as_ref().map(|p| p.as_str().to_owned()),
        want.practice_id
    );
    assert_eq!(got.visit_reason_id.as_str(), want.visit_reason_id);
    assert_eq!(
        got.visit_type.as_ref().map(|v| v.as_str().to_owned()),
        Some(wire(&want.visit_type))
    );
    assert_eq!(
        got.patient_type.as_ref().map(|p| p.as_str().to_owned()),
        Some(wire(&want.patient_type))
    );
    assert_eq!(
        got.confirmation_type.as_str(),
        wire(&want.confirmation_type)
    );
    assert_eq!(got.source, want.source);
    assert_eq!(got.location_phone_number, want.location_phone_number);
    assert_eq!(got.is_provider_resource, want.is_provider_resource);
    assert!(
        got.cancellation_reason == want.cancellation_reason,
        "{id}: cancellation reason differs"
    );
}

/// A staff message is plain words (sentences, no JSON, no code names, no secret) and carries no
/// patient data of any appointment the emulator holds.
fn assert_staff_message(error: &Error, emulator: &ZocdocEmulator) {
    let message = error.staff_message();
    let code = error.code();
    assert!(!message.trim().is_empty(), "{code}: empty staff message");
    assert!(
        message.starts_with(|c: char| c.is_uppercase()),
        "{code}: not a sentence: {message}"
    );
    for artefact in [
        "{",
        "}",
        "Error",
        "reqwest",
        "None",
        "Some(",
        "::",
        "_id",
        CLIENT_SECRET,
    ] {
        assert!(
            !message.contains(artefact),
            "{code}: {artefact:?} in the staff message: {message}"
        );
    }
    let words: BTreeSet<&str> = message
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .collect();
    for appointment in emulator.appointments() {
        let patient = &appointment.patient;
        // Not printed: the message is checked against patient data, never shown with it.
        let leaked = words.contains(patient.first_name.as_str())
            || words.contains(patient.last_name.as_str())
            || message.contains(&patient.phone_number)
            || message.contains(&patient.email_address)
            || message.contains(&patient.patient_address.address1)
            || message.contains(&patient.date_of_birth.to_string());
        assert!(
            !leaked,
            "{code}: the staff message holds patient data of {}",
            appointment.appointment_id
        );
    }
}

/// Every appointment modified within `window`, as a resync reads it: a window whose listing is
/// capped is halved until each part fits. Returns the appointments (each once), the pages read
/// and the number of splits.
async fn resync(client: &Client, window: TimeWindow) -> (BTreeMap<String, Appointment>, u64, u32) {
    let mut windows = vec![window];
    let mut got = BTreeMap::new();
    let (mut pages, mut splits) = (0, 0);
    while let Some(window) = windows.pop() {
        let listing = client
            .list_all_appointments(&ListQuery::modified_within(window))
            .await
            .unwrap();
        pages += u64::from(listing.pages);
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
    (got, pages, splits)
}

/// The emulator's appointments modified within `from..=to`, by id.
fn modified_between(
    emulator: &ZocdocEmulator,
    from: Timestamp,
    to: Timestamp,
) -> BTreeMap<String, emulated::Appointment> {
    emulator
        .appointments()
        .into_iter()
        .filter(|a| (from..=to).contains(&a.last_modified))
        .map(|a| (a.appointment_id.clone(), a))
        .collect()
}

/// Loads `count` appointments modified over the 30 days before [`t0`]; returns that period.
fn bulk(emulator: &ZocdocEmulator, count: usize, seed: u64) -> (Timestamp, Timestamp) {
    let from = t0() - SignedDuration::from_hours(24 * 30);
    let to = t0() - SignedDuration::from_hours(1);
    emulator.load_bulk(&BulkLoad::new(count, from, to, seed));
    (from, to)
}

/// `when` in the practice's offset, as a front desk sends a new start time.
fn local(emulator: &ZocdocEmulator, when: Timestamp) -> OffsetTime {
    OffsetTime::new(when, emulator.time_zone().to_offset(when))
}

// Every operation

#[tokio::test]
async fn listing_pages_through_every_filter_and_sort_and_matches_the_emulator() {
    let harness = sandbox().await;
    let emulator = harness.emulator();
    let (from, to) = bulk(emulator, 250, 21);
    let mut tagged = harness.add_appointment(
        emulated::AppointmentStatus::Confirmed,
        SignedDuration::from_hours(30),
    );
    tagged.patient.developer_patient_id = Some("mrn-4711".to_owned());
    emulator.insert_appointment(tagged.clone());
    let client = client(&harness);
    let all = emulator.appointments();
    let practice = emulator.practice();
    let provider = &practice.providers[0];
    let location = &provider.location_ids[0];

    let key = |a: &Appointment, sort: Option<SortBy>| match sort {
        Some(SortBy::CreatedTimeUtc) => a.created_time_utc.unwrap(),
        Some(SortBy::LastModifiedTimeUtc) => a.last_modified_time_utc.unwrap(),
        _ => a.start_time.timestamp(),
    };
    let start_window = TimeWindow::between(t0() - SignedDuration::from_hours(24 * 10), t0());
    let created_window = TimeWindow::between(from - SignedDuration::from_hours(24 * 20), to);
    let in_window = |window: &TimeWindow, time: Timestamp| {
        window.min.is_none_or(|min| time >= min) && window.max.is_none_or(|max| time <= max)
    };
    type Filter<'a> = Box<dyn Fn(&emulated::Appointment) -> bool + 'a>;
    let cases: Vec<(&str, ListQuery, Filter<'_>)> = vec![
        (
            "everything, Zocdoc's default order",
            ListQuery {
                page_size: Some(40),
                ..ListQuery::default()
            },
            Box::new(|_| true),
        ),
        (
            "modified within the bulk's period, oldest change first",
            ListQuery {
                page_size: Some(30),
                ..ListQuery::modified_within(TimeWindow::between(from, to))
            },
            Box::new(|a| (from..=to).contains(&a.last_modified)),
        ),
        (
            "two statuses of one provider, newest booking first",
            ListQuery {
                statuses: vec![AppointmentStatus::Confirmed, AppointmentStatus::Cancelled],
                provider_ids: vec![provider.provider_id.as_str().into()],
                sort_by: Some(SortBy::CreatedTimeUtc),
                sort_direction: Some(SortDirection::Descending),
                page_size: Some(15),
                ..ListQuery::default()
            },
            Box::new(|a| {
                a.provider_id == provider.provider_id
                    && matches!(
                        a.status,
                        emulated::AppointmentStatus::Confirmed
                            | emulated::AppointmentStatus::Cancelled
                    )
            }),
        ),
        (
            "one location and the practice, start and creation windows, earliest start first",
            ListQuery {
                location_ids: vec![location.as_str().into()],
                practice_ids: vec![practice.practice_id.as_str().into()],
                start_time_utc: start_window,
                created_time_utc: created_window,
                sort_by: Some(SortBy::StartTimeUtc),
                sort_direction: Some(SortDirection::Ascending),
                page_size: Some(7),
                ..ListQuery::default()
            },
            Box::new(|a| {
                &a.location_id == location
                    && a.practice_id.as_ref() == Some(&practice.practice_id)
                    && in_window(&start_window, a.start_time)
                    && in_window(&created_window, a.created)
            }),
        ),
        (
            "the practice's own patient id",
            ListQuery {
                developer_patient_id: Some("mrn-4711".into()),
                ..ListQuery::default()
            },
            Box::new(|a| a.patient.developer_patient_id.as_deref() == Some("mrn-4711")),
        ),
    ];
    for (name, query, filter) in cases {
        let expected: BTreeMap<&str, &emulated::Appointment> = all
            .iter()
            .filter(|a| filter(a))
            .map(|a| (a.appointment_id.as_str(), a))
            .collect();
        emulator.reset_calls();
        let listing = client.list_all_appointments(&query).await.unwrap();
        let got: Vec<&str> = listing
            .appointments
            .iter()
            .map(|a| a.appointment_id.as_str())
            .collect();
        assert!(
            got.iter().copied().collect::<BTreeSet<_>>() == expected.keys().copied().collect(),
            "{name}: the listing is not the emulator's matches"
        );
        assert_eq!(got.len(), expected.len(), "{name}: each once");
        assert!(!expected.is_empty(), "{name}: the case selects something");
        for appointment in &listing.appointments {
            assert_matches(appointment, expected[appointment.appointment_id.as_str()]);
        }
        let ascending = query.sort_direction == Some(SortDirection::Ascending);
        let keys: Vec<Timestamp> = listing
            .appointments
            .iter()
            .map(|a| key(a, query.sort_by))
            .collect();
        assert!(
            keys.windows(2).all(|pair| if ascending {
                pair[0] <= pair[1]
            } else {
                pair[0] >= pair[1]
            }),
            "{name}: sorted as asked"
        );
        let page_size = usize::try_from(query.page_size.unwrap_or(100)).unwrap();
        let pages = expected.len().div_ceil(page_size);
        assert_eq!(usize::try_from(listing.pages).unwrap(), pages, "{name}");
        assert_eq!(
            usize::try_from(emulator.calls().get(Route::ListAppointments)).unwrap(),
            pages,
            "{name}: one request per page"
        );
        assert_eq!(
            listing.total_count,
            u64::try_from(expected.len()).unwrap(),
            "{name}"
        );
        assert!(!listing.capped, "{name}");
    }
    assert!(
        client
            .list_all_appointments(&ListQuery {
                page_size: Some(40),
                ..ListQuery::default()
            })
            .await
            .unwrap()
            .pages
            > 1,
        "more than one page"
    );
}

#[tokio::test]
async fn the_thousand_cap_is_reported_as_capped_and_a_split_resync_reads_everything() {
    let harness = sandbox().await;
    let emulator = harness.emulator();
    let (from, to) = bulk(emulator, 1_200, 8);
    let client = client(&harness);

    let listing = client
        .list_all_appointments(&ListQuery::default())
        .await
        .unwrap();
    assert!(
        listing.capped,
        "1,210 appointments exceed one query's reach"
    );
    assert_eq!(listing.appointments.len(), 1_000);
    assert_eq!(listing.pages, 10);
    assert_eq!(listing.total_count, 1_000);
    assert_eq!(
        emulator.calls().get(Route::ListAppointments),
        10,
        "no page 11 asked for"
    );
    let reached: BTreeSet<&str> = listing
        .appointments
        .iter()
        .map(|a| a.appointment_id.as_str())
        .collect();
    let earliest_reached = listing
        .appointments
        .iter()
        .map(|a| a.start_time.timestamp())
        .min()
        .unwrap();
    for appointment in emulator.appointments() {
        if !reached.contains(appointment.appointment_id.as_str()) {
            assert!(
                appointment.start_time <= earliest_reached,
                "the cap keeps the latest starts (default order)"
            );
        }
    }

    // Small pages reach the page limit (page 10) before 1,000: capped there as well.
    emulator.reset_calls();
    let listing = client
        .list_all_appointments(&ListQuery {
            page_size: Some(25),
            ..ListQuery::default()
        })
        .await
        .unwrap();
    assert!(listing.capped);
    assert_eq!((listing.pages, listing.appointments.len()), (11, 275));
    assert_eq!(emulator.calls().get(Route::ListAppointments), 11);

    let (got, _, splits) = resync(&client, TimeWindow::between(from, to)).await;
    assert!(splits >= 1, "the period was split at the cap");
    let expected = modified_between(emulator, from, to);
    assert_eq!(expected.len(), 1_200);
    assert!(got.keys().eq(expected.keys()), "every appointment, once");
    for (appointment_id, appointment) in &got {
        assert_matches(appointment, &expected[appointment_id]);
    }
}

#[tokio::test]
async fn one_appointment_and_its_participants_are_read_as_stored() {
    let harness = sandbox().await;
    let emulator = harness.emulator();
    bulk(emulator, 20, 4);
    let client = client(&harness);
    for want in emulator.appointments() {
        let got = client.appointment(&id(&want.appointment_id)).await.unwrap();
        assert_matches(&got, &want);
    }

    let want = stored(emulator, WITH_ATTACHMENTS_ID);
    let participants = client.participants(&id(WITH_ATTACHMENTS_ID)).await.unwrap();
    assert_eq!(participants.provider_id.as_str(), want.provider_id);
    assert_eq!(participants.location_id.as_str(), want.location_id);
    let (got, patient) = (&participants.patient, &want.patient);
    // Compared without printing: this is patient data.
    assert!(got.first_name == patient.first_name, "first name differs");
    assert!(got.last_name == patient.last_name, "last name differs");
    assert!(
        got.date_of_birth == patient.date_of_birth,
        "birth date differs"
    );
    assert!(
        got.sex_at_birth.as_str() == wire(&patient.sex_at_birth),
        "sex differs"
    );
    assert!(got.phone_number == patient.phone_number, "phone differs");
    assert!(got.email_address == patient.email_address, "email differs");
    assert!(
        got.address.address1 == patient.patient_address.address1
            && got.address.city == patient.patient_address.city
            && got.address.state == patient.patient_address.state
            && got.address.zip_code == patient.patient_address.zip_code,
        "address differs"
    );
    assert!(
        got.insurance
            .as_ref()
            .map(|i| i.insurance_member_id.clone())
            == patient
                .insurance
                .as_ref()
                .map(|i| i.insurance_member_id.clone()),
        "insurance differs"
    );
    let types: Vec<String> = got
        .uploaded_attachments
        .iter()
        .map(|a| a.attachment_type.as_str().to_owned())
        .collect();
    let wanted: Vec<String> = want
        .attachments
        .iter()
        .map(|a| a.attachment_type.as_str().to_owned())
        .collect();
    assert_eq!(types, wanted, "every attachment, in order");
    assert!(
        got.uploaded_attachments
            .iter()
            .all(|a| !a.attachment_url.is_empty())
    );
}

#[tokio::test]
async fn confirm_cancel_reschedule_arrived_and_no_show_change_the_emulators_record() {
    let harness = sandbox().await;
    let emulator = harness.emulator();
    let client = client(&harness);
    let hours = SignedDuration::from_hours;

    // Confirm a booking waiting for the practice.
    let pending = harness.add_appointment(emulated::AppointmentStatus::PendingBooking, hours(26));
    let Written::Answered(change) = client.confirm(&id(&pending.appointment_id)).await.unwrap()
    else {
        panic!("confirm was answered");
    };
    assert_eq!(change.appointment_status, AppointmentStatus::Confirmed);
    assert!(change.request_id.is_some());
    let now = stored(emulator, &pending.appointment_id);
    assert_eq!(now.status, emulated::AppointmentStatus::Confirmed);
    assert_eq!(now.last_modified, t0());

    // Cancel with a reason type and no note.
    let confirmed = harness.add_appointment(emulated::AppointmentStatus::Confirmed, hours(50));
    let reason = CancelReason::new(CancellationReasonType::PatientNoLongerAvailable);
    let Written::Answered(change) = client
        .cancel(&id(&confirmed.appointment_id), &reason)
        .await
        .unwrap()
    else {
        panic!("cancel was answered");
    };
    assert_eq!(change.appointment_status, AppointmentStatus::Cancelled);
    let now = stored(emulator, &confirmed.appointment_id);
    assert_eq!(now.status, emulated::AppointmentStatus::Cancelled);
    assert_eq!(
        now.cancellation_reason_type,
        Some(emulated::CancellationReasonType::PatientNoLongerAvailable)
    );
    assert_eq!(now.cancellation_reason, None);

    // Cancel with an `other_*` reason and its note.
    let other = harness.add_appointment(emulated::AppointmentStatus::Rescheduled, hours(75));
    let reason = CancelReason::new(CancellationReasonType::OtherProviderReason)
        .with_note("Provider on leave that week");
    client
        .cancel(&id(&other.appointment_id), &reason)
        .await
        .unwrap();
    let now = stored(emulator, &other.appointment_id);
    assert_eq!(now.status, emulated::AppointmentStatus::Cancelled);
    assert_eq!(
        now.cancellation_reason_type,
        Some(emulated::CancellationReasonType::OtherProviderReason)
    );
    assert_eq!(
        now.cancellation_reason.as_deref(),
        Some("Provider on leave that week")
    );
    assert_eq!(
        client
            .appointment(&id(&other.appointment_id))
            .await
            .unwrap()
            .cancellation_reason
            .as_deref(),
        Some("Provider on leave that week"),
        "the note is read back"
    );

    // A note with a reason that is not `other_*` is never sent.
    let calls = emulator.calls().get(Route::Cancel);
    let kept = harness.add_appointment(emulated::AppointmentStatus::Confirmed, hours(80));
    let error = client
        .cancel(
            &id(&kept.appointment_id),
            &CancelReason::new(CancellationReasonType::ProviderNotAvailable).with_note("x"),
        )
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        Error::InvalidRequest {
            problem: RequestProblem::BadCancellationNote,
            ..
        }
    ));
    assert_eq!(emulator.calls().get(Route::Cancel), calls);
    assert_staff_message(&error, emulator);

    // Reschedule an auto-confirming provider's appointment.
    let moving = harness.add_appointment(emulated::AppointmentStatus::Confirmed, hours(48));
    let new_start = local(emulator, t0() + hours(96));
    let Written::Answered(moved) = client
        .reschedule(&id(&moving.appointment_id), &new_start)
        .await
        .unwrap()
    else {
        panic!("reschedule was answered");
    };
    assert_eq!(moved.appointment_status, AppointmentStatus::Rescheduled);
    let now = stored(emulator, &moving.appointment_id);
    assert_eq!(now.status, emulated::AppointmentStatus::Rescheduled);
    assert_eq!(now.start_time, new_start.timestamp());
    let read = client
        .appointment(&id(&moving.appointment_id))
        .await
        .unwrap();
    assert_eq!(
        read.start_time, new_start,
        "the new time, in the same offset"
    );

    // The patient arrived: the status stays, the arrival is recorded.
    let here = harness.add_appointment(
        emulated::AppointmentStatus::Confirmed,
        SignedDuration::from_mins(10),
    );
    let Written::Answered(change) = client
        .update_status(&id(&here.appointment_id), StatusUpdate::Arrived)
        .await
        .unwrap()
    else {
        panic!("arrived was answered");
    };
    assert_eq!(change.appointment_status, AppointmentStatus::Confirmed);
    let now = stored(emulator, &here.appointment_id);
    assert!(now.arrived);
    assert_eq!(now.status, emulated::AppointmentStatus::Confirmed);

    // A no-show three hours after the start.
    let missed = harness.add_appointment(emulated::AppointmentStatus::Confirmed, hours(-3));
    let Written::Answered(change) = client
        .update_status(&id(&missed.appointment_id), StatusUpdate::NoShow)
        .await
        .unwrap()
    else {
        panic!("no-show was answered");
    };
    assert_eq!(change.appointment_status, AppointmentStatus::NoShow);
    assert_eq!(
        stored(emulator, &missed.appointment_id).status,
        emulated::AppointmentStatus::NoShow
    );

    let calls = emulator.calls();
    assert_eq!(calls.get(Route::Confirm), 1);
    assert_eq!(calls.get(Route::Cancel), 2);
    assert_eq!(calls.get(Route::Reschedule), 1);
    assert_eq!(calls.get(Route::UpdateStatus), 2);
    assert_eq!(calls.get(Route::Token), 1, "one token for every call");
}

// 400, 404, 409

#[tokio::test]
async fn bad_requests_keep_zocdocs_error_result_and_invalid_pages_are_never_sent() {
    let harness = sandbox().await;
    let emulator = harness.emulator();
    let client = client(&harness);

    // An unknown status is kept and sent as it is; the spec's enum does not have it: 400.
    let error = client
        .list_appointments(&ListQuery {
            statuses: vec![AppointmentStatus::Other("arrived".to_owned())],
            ..ListQuery::default()
        })
        .await
        .unwrap_err();
    let Error::BadRequest { body, .. } = &error else {
        panic!("400 expected, got {error}");
    };
    let body = body
        .as_ref()
        .expect("the list's 400 carries an ErrorResult");
    assert!(body.request_id.is_some());
    assert_eq!(body.error_type, Some(ErrorType::InvalidRequest));
    assert_eq!(body.errors.len(), 1);
    assert_eq!(body.errors[0].field.as_deref(), Some("statuses"));
    assert!(body.errors[0].message.contains("arrived"));
    let message = error.staff_message();
    assert!(message.contains("Zocdoc said"), "{message}");
    assert!(
        message.contains(body.request_id.as_ref().unwrap().as_str()),
        "the reference for Zocdoc support: {message}"
    );
    assert_staff_message(&error, emulator);

    // Pages the spec forbids never leave the client.
    for query in [
        ListQuery::default().with_page(11),
        ListQuery {
            page_size: Some(101),
            ..ListQuery::default()
        },
        ListQuery {
            page_size: Some(0),
            ..ListQuery::default()
        },
    ] {
        let error = client.list_appointments(&query).await.unwrap_err();
        assert!(matches!(error, Error::InvalidRequest { .. }), "{error}");
        assert_staff_message(&error, emulator);
    }
    assert_eq!(emulator.calls().get(Route::ListAppointments), 1);

    // A reschedule into the past: 400 with the field named.
    let moving = harness.add_appointment(
        emulated::AppointmentStatus::Confirmed,
        SignedDuration::from_hours(30),
    );
    let past = local(emulator, t0() - SignedDuration::from_hours(2));
    let error = client
        .reschedule(&id(&moving.appointment_id), &past)
        .await
        .unwrap_err();
    let Error::BadRequest {
        body: Some(body),
        appointment_id,
        ..
    } = &error
    else {
        panic!("400 with a body expected, got {error}");
    };
    assert_eq!(
        appointment_id.as_ref().unwrap().as_str(),
        moving.appointment_id
    );
    assert_eq!(body.errors[0].field.as_deref(), Some("start_time"));
    assert!(
        error
            .staff_message()
            .contains("free time from the provider's availability")
    );
    assert_staff_message(&error, emulator);
    assert_eq!(emulator.calls().get(Route::Reschedule), 1, "not retried");
    assert_eq!(
        stored(emulator, &moving.appointment_id).start_time,
        moving.start_time
    );
}

#[tokio::test]
async fn not_found_for_the_sandboxs_missing_id_and_for_unknown_ids() {
    let harness = sandbox().await;
    let emulator = harness.emulator();
    let client = client(&harness);
    let unknown = "00000000-0000-4000-8000-000000000000";
    for appointment_id in [NOT_FOUND_ID, unknown] {
        let error = client.appointment(&id(appointment_id)).await.unwrap_err();
        let Error::NotFound {
            body: Some(body),
            appointment_id: Some(asked),
            ..
        } = &error
        else {
            panic!("404 with a body expected, got {error}");
        };
        assert_eq!(asked.as_str(), appointment_id);
        assert!(body.request_id.is_some());
        assert_eq!(body.errors[0].field.as_deref(), Some("appointment_id"));
        assert_staff_message(&error, emulator);

        let error = client.participants(&id(appointment_id)).await.unwrap_err();
        assert!(matches!(error, Error::NotFound { .. }), "{error}");
        let error = client
            .cancel(
                &id(appointment_id),
                &CancelReason::new(CancellationReasonType::PatientNoLongerNeedsAppointment),
            )
            .await
            .unwrap_err();
        assert!(matches!(error, Error::NotFound { .. }), "{error}");
        assert_staff_message(&error, emulator);
        // update-status's 404 has no body in the spec.
        let error = client
            .update_status(&id(appointment_id), StatusUpdate::Arrived)
            .await
            .unwrap_err();
        assert!(
            matches!(error, Error::NotFound { body: None, .. }),
            "{error}"
        );
        assert_staff_message(&error, emulator);
    }
    let calls = emulator.calls();
    assert_eq!(
        (
            calls.get(Route::GetAppointment),
            calls.get(Route::GetParticipants),
            calls.get(Route::Cancel),
            calls.get(Route::UpdateStatus)
        ),
        (2, 2, 2, 2),
        "a 404 is final: no retry, no read-back"
    );
}

#[tokio::test]
async fn conflicts_are_final_and_change_nothing() {
    let harness = sandbox().await;
    let emulator = harness.emulator();
    let client = client(&harness);

    // A no-show before the start.
    let upcoming = harness.add_appointment(
        emulated::AppointmentStatus::Confirmed,
        SignedDuration::from_hours(2),
    );
    let error = client
        .update_status(&id(&upcoming.appointment_id), StatusUpdate::NoShow)
        .await
        .unwrap_err();
    let Error::Conflict {
        body: Some(body), ..
    } = &error
    else {
        panic!("409 with a body expected, got {error}");
    };
    assert!(body.errors[0].message.contains("in the past"));
    assert!(error.staff_message().contains("within 2 days"));
    assert_staff_message(&error, emulator);
    assert_eq!(
        stored(emulator, &upcoming.appointment_id),
        upcoming,
        "unchanged"
    );

    // A no-show more than two days after the start.
    let old = harness.add_appointment(
        emulated::AppointmentStatus::Confirmed,
        SignedDuration::from_hours(-49),
    );
    let error = client
        .update_status(&id(&old.appointment_id), StatusUpdate::NoShow)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Conflict { .. }), "{error}");

    // Confirming a confirmed appointment, cancelling a cancelled one (the sandbox's fixed ids).
    let confirmed = FIXED[1].0;
    let error = client.confirm(&id(confirmed)).await.unwrap_err();
    assert!(matches!(error, Error::Conflict { .. }), "{error}");
    assert!(error.staff_message().contains("confirming"));
    assert_staff_message(&error, emulator);
    let cancelled = FIXED[4].0;
    let error = client
        .cancel(
            &id(cancelled),
            &CancelReason::new(CancellationReasonType::ReschedulingPatient),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Conflict { .. }), "{error}");
    assert!(error.staff_message().contains("already cancelled"));
    assert_staff_message(&error, emulator);

    // Moving a cancelled appointment.
    let gone = harness.add_appointment(
        emulated::AppointmentStatus::Cancelled,
        SignedDuration::from_hours(40),
    );
    let error = client
        .reschedule(
            &id(&gone.appointment_id),
            &local(emulator, t0() + SignedDuration::from_hours(60)),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Conflict { .. }), "{error}");
    assert_staff_message(&error, emulator);
    assert_eq!(stored(emulator, &gone.appointment_id), gone);

    let calls = emulator.calls();
    assert_eq!(calls.get(Route::UpdateStatus), 2);
    assert_eq!(calls.get(Route::Confirm), 1);
    assert_eq!(calls.get(Route::Cancel), 1);
    assert_eq!(calls.get(Route::Reschedule), 1);
    assert_eq!(
        calls.get(Route::GetAppointment),
        0,
        "a 409 is not read back"
    );
}

// 401 and 403

#[tokio::test]
async fn a_wrong_secret_or_the_other_environment_is_refused_at_the_token_server() {
    let harness = sandbox().await;
    let emulator = harness.emulator();
    let wrong = builder_with(&harness, ApiEnvironment::Sandbox, "not-the-secret")
        .build()
        .unwrap();
    let error = wrong.appointment(&id(FIXED[0].0)).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::Unauthorized {
                cause: AuthFailure::CredentialsRefused { status: 401 },
                ..
            }
        ),
        "{error}"
    );
    assert!(error.staff_message().contains("Settings"));
    assert!(!error.to_string().contains("not-the-secret"));
    assert!(!format!("{error:?}").contains("not-the-secret"));
    assert_staff_message(&error, emulator);

    // Production credentials against the sandbox: the audience is refused (401, no body).
    let production = builder_with(&harness, ApiEnvironment::Production, CLIENT_SECRET)
        .build()
        .unwrap();
    let error = production.appointment(&id(FIXED[0].0)).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::Unauthorized {
                cause: AuthFailure::CredentialsRefused { status: 401 },
                ..
            }
        ),
        "{error}"
    );
    assert_staff_message(&error, emulator);
    let calls = emulator.calls();
    assert_eq!(calls.get(Route::Token), 2, "a refusal is not retried");
    assert_eq!(calls.api_calls(), 0, "no API call without a token");
}

#[tokio::test]
async fn the_token_is_reused_then_replaced_shortly_before_it_expires() {
    let harness = sandbox().await;
    let emulator = harness.emulator();
    emulator.set_token_lifetime(SignedDuration::from_mins(10));
    let clock = ScriptedClock::new();
    let client = builder(&harness).clock(clock.clone()).build().unwrap();
    for _ in 0..5 {
        client.appointment(&id(FIXED[1].0)).await.unwrap();
    }
    assert_eq!(emulator.calls().get(Route::Token), 1, "cached");
    // Nine minutes and one second later: within a minute of expiry, a new token first.
    clock.advance(Duration::from_secs(9 * 60 + 1));
    emulator
        .clock()
        .advance(SignedDuration::from_secs(9 * 60 + 1));
    client.appointment(&id(FIXED[1].0)).await.unwrap();
    let calls = emulator.calls();
    assert_eq!(calls.get(Route::Token), 2);
    assert_eq!(
        calls.get(Route::GetAppointment),
        6,
        "replaced before use: no 401"
    );
}

#[tokio::test]
async fn a_token_that_expires_in_use_is_refreshed_once_and_the_call_succeeds() {
    let harness = sandbox().await;
    let emulator = harness.emulator();
    let client = client(&harness);
    let pending = harness.add_appointment(
        emulated::AppointmentStatus::PendingBooking,
        SignedDuration::from_hours(30),
    );
    client.appointment(&id(FIXED[1].0)).await.unwrap();
    // Zocdoc's hour passes for the token while the client still trusts it.
    emulator.clock().advance(SignedDuration::from_mins(61));
    let got = client.appointment(&id(FIXED[1].0)).await.unwrap();
    assert_matches(&got, &stored(emulator, FIXED[1].0));
    let calls = emulator.calls();
    assert_eq!(calls.get(Route::Token), 2);
    assert_eq!(
        calls.get(Route::GetAppointment),
        3,
        "the refused call, once more"
    );

    // A write refused with 401 was not performed: refreshed and sent again, done once.
    emulator.expire_all_tokens();
    emulator.clock().advance(SignedDuration::from_secs(2));
    let written = client.confirm(&id(&pending.appointment_id)).await.unwrap();
    assert!(matches!(written, Written::Answered(_)));
    assert_eq!(
        stored(emulator, &pending.appointment_id).status,
        emulated::AppointmentStatus::Confirmed
    );
    let calls = emulator.calls();
    assert_eq!(calls.get(Route::Token), 3);
    assert_eq!(calls.get(Route::Confirm), 2);
}

#[tokio::test]
async fn a_second_401_after_a_fresh_token_is_token_rejected() {
    let harness = sandbox().await;
    let emulator = harness.emulator();
    let client = client(&harness);
    emulator.set_fault(
        Route::GetParticipants,
        FaultConfig {
            expired_token_rate: 1.0,
            ..FaultConfig::default()
        },
    );
    let error = client.participants(&id(FIXED[1].0)).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::Unauthorized {
                cause: AuthFailure::TokenRejected,
                ..
            }
        ),
        "{error}"
    );
    assert_staff_message(&error, emulator);
    let calls = emulator.calls();
    assert_eq!(
        (calls.get(Route::Token), calls.get(Route::GetParticipants)),
        (2, 2),
        "one refresh, one retry"
    );
}

#[tokio::test]
async fn a_missing_write_scope_is_forbidden() {
    let mut config = config(Environment::Sandbox);
    config.scopes = vec![SCOPE_READ.to_owned()];
    let harness = Harness::start(config).await;
    let emulator = harness.emulator();
    emulator.reset_calls();
    let client = client(&harness);
    client.appointment(&id(FIXED[0].0)).await.unwrap();
    let error = client.confirm(&id(FIXED[0].0)).await.unwrap_err();
    assert!(matches!(error, Error::Forbidden { .. }), "{error}");
    assert!(error.staff_message().contains("external.appointment.write"));
    assert_staff_message(&error, emulator);
    assert_eq!(emulator.calls().get(Route::Confirm), 1);
}

// 429

#[tokio::test]
async fn a_resync_and_writes_through_a_429_storm_at_30_percent_are_complete_and_correct() {
    let harness = sandbox().await;
    let emulator = harness.emulator();
    let (from, to) = bulk(emulator, 1_500, 7);
    let hours = SignedDuration::from_hours;
    let to_confirm: Vec<_> = (0..3)
        .map(|n| {
            harness.add_appointment(emulated::AppointmentStatus::PendingBooking, hours(30 + n))
        })
        .collect();
    let to_cancel: Vec<_> = (0..3)
        .map(|n| harness.add_appointment(emulated::AppointmentStatus::Confirmed, hours(40 + n)))
        .collect();
    for route in Route::ALL {
        emulator.set_fault(
            route,
            FaultConfig {
                rate_429: 0.3,
                ..FaultConfig::default()
            },
        );
    }
    let clock = ScriptedClock::new();
    let client = builder(&harness).clock(clock.clone()).build().unwrap();

    let (got, pages, splits) = resync(&client, TimeWindow::between(from, to)).await;
    let expected = modified_between(emulator, from, to);
    assert_eq!(expected.len(), 1_506, "the bulk and the six to write");
    assert!(splits >= 1, "1,506 in one window: split at the cap");
    assert!(got.keys().eq(expected.keys()), "every appointment, once");
    for (appointment_id, appointment) in &got {
        assert_matches(appointment, &expected[appointment_id]);
    }

    for appointment in &to_confirm {
        client
            .confirm(&id(&appointment.appointment_id))
            .await
            .unwrap();
    }
    let reason = CancelReason::new(CancellationReasonType::PatientNoLongerNeedsAppointment);
    for appointment in &to_cancel {
        client
            .cancel(&id(&appointment.appointment_id), &reason)
            .await
            .unwrap();
    }
    for appointment in &to_confirm {
        assert_eq!(
            stored(emulator, &appointment.appointment_id).status,
            emulated::AppointmentStatus::Confirmed
        );
    }
    for appointment in &to_cancel {
        assert_eq!(
            stored(emulator, &appointment.appointment_id).status,
            emulated::AppointmentStatus::Cancelled
        );
    }

    // Every request was either answered or refused with 429 and retried once after a backoff.
    let calls = emulator.calls();
    let sleeps = clock.sleeps();
    let answered = pages + 1 + 6;
    let refused = u64::try_from(sleeps.len()).unwrap();
    assert_eq!(calls.total(), answered + refused);
    assert_eq!(
        calls.get(Route::GetAppointment),
        0,
        "a 429 needs no read-back"
    );
    let share = f64::from(u32::try_from(refused).unwrap())
        / f64::from(u32::try_from(calls.total()).unwrap());
    assert!((0.2..=0.4).contains(&share), "429 share {share}");
    let policy = policy();
    assert!(
        sleeps
            .iter()
            .all(|sleep| *sleep >= policy.base_delay / 2 && *sleep <= policy.max_delay),
        "bounded backoff: {sleeps:?}"
    );
    assert!(
        sleeps.iter().any(|sleep| *sleep > policy.base_delay),
        "the backoff grows on consecutive 429s: {sleeps:?}"
    );
}

#[tokio::test]
async fn retry_after_is_honoured_and_a_too_long_one_or_an_endless_429_ends_the_call() {
    let harness = sandbox().await;
    let emulator = harness.emulator().clone();
    let throttled = FaultConfig {
        rate_429: 1.0,
        retry_after_seconds: Some(7),
        ..FaultConfig::default()
    };

    // Two 429s with Retry-After: 7, then the limiter lets the call through.
    emulator.set_fault(Route::GetAppointment, throttled.clone());
    let hook_emulator = emulator.clone();
    let clock = ScriptedClock::with_hook(move |sleep| {
        if sleep == 2 {
            hook_emulator.clear_faults();
        }
    });
    let client = builder(&harness).clock(clock.clone()).build().unwrap();
    let got = client.appointment(&id(FIXED[2].0)).await.unwrap();
    assert_matches(&got, &stored(&emulator, FIXED[2].0));
    assert_eq!(clock.sleeps(), [Duration::from_secs(7); 2]);
    assert_eq!(emulator.calls().get(Route::GetAppointment), 3);

    // A Retry-After beyond what the policy waits for: one request, the wait handed back.
    emulator.reset_calls();
    emulator.set_fault(
        Route::ListAppointments,
        FaultConfig {
            retry_after_seconds: Some(600),
            ..throttled
        },
    );
    let error = client
        .list_appointments(&ListQuery::default())
        .await
        .unwrap_err();
    let Error::RateLimited {
        attempts,
        retry_after,
        ..
    } = &error
    else {
        panic!("rate limited expected, got {error}");
    };
    assert_eq!(
        (*attempts, *retry_after),
        (1, Some(Duration::from_secs(600)))
    );
    assert!(error.staff_message().contains("Wait 10 minutes"));
    assert_staff_message(&error, &emulator);
    assert_eq!(emulator.calls().get(Route::ListAppointments), 1);

    // 429 on every attempt, no Retry-After: exponential backoff, then RateLimited.
    emulator.reset_calls();
    emulator.set_fault(
        Route::Confirm,
        FaultConfig {
            rate_429: 1.0,
            ..FaultConfig::default()
        },
    );
    let clock = ScriptedClock::new();
    let client = builder(&harness)
        .clock(clock.clone())
        .jitter(Arc::new(FixedJitter(1.0)))
        .build()
        .unwrap();
    let error = client.confirm(&id(FIXED[0].0)).await.unwrap_err();
    let policy = policy();
    assert!(
        matches!(error, Error::RateLimited { attempts, retry_after: None, .. }
            if attempts == policy.rate_limit_retries + 1),
        "{error}"
    );
    assert_staff_message(&error, &emulator);
    let ms = |n: u64| Duration::from_millis(n);
    assert_eq!(
        clock.sleeps(),
        [
            ms(1),
            ms(2),
            ms(4),
            ms(8),
            ms(16),
            ms(16),
            ms(16),
            ms(16),
            ms(16),
            ms(16)
        ],
        "doubling from the base delay up to the cap"
    );
    let calls = emulator.calls();
    assert_eq!(
        calls.get(Route::Confirm),
        u64::from(policy.rate_limit_retries) + 1
    );
    assert_eq!(
        calls.get(Route::GetAppointment),
        0,
        "a 429 was not performed"
    );
}

// A 401 in the middle of a resync

#[tokio::test]
async fn a_401_in_the_middle_of_a_resync_is_refreshed_and_the_results_are_complete() {
    let harness = sandbox().await;
    let emulator = harness.emulator();
    let (from, to) = bulk(emulator, 450, 3);
    // Latency holds each page request long enough to revoke the token while page 3 is under way.
    emulator.set_fault(
        Route::ListAppointments,
        FaultConfig {
            latency: Duration::from_millis(100),
            ..FaultConfig::default()
        },
    );
    let client = client(&harness);
    let query = ListQuery::modified_within(TimeWindow::between(from, to));
    let (listing, ()) = tokio::join!(client.list_all_appointments(&query), async {
        while emulator.calls().get(Route::ListAppointments) < 3 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        emulator.expire_all_tokens();
        emulator.clock().advance(SignedDuration::from_secs(2));
    });
    let listing = listing.unwrap();
    let expected = modified_between(emulator, from, to);
    let got: BTreeMap<String, Appointment> = listing
        .appointments
        .into_iter()
        .map(|a| (a.appointment_id.to_string(), a))
        .collect();
    assert_eq!(got.len(), 450, "each once");
    assert!(got.keys().eq(expected.keys()), "every appointment");
    for (appointment_id, appointment) in &got {
        assert_matches(appointment, &expected[appointment_id]);
    }
    let calls = emulator.calls();
    assert_eq!(listing.pages, 5);
    assert_eq!(calls.get(Route::Token), 2, "one refresh");
    assert_eq!(
        calls.get(Route::ListAppointments),
        6,
        "five pages, one of them twice"
    );
}

// 5xx

#[tokio::test]
async fn server_errors_on_reads_are_retried_to_success_and_bounded() {
    let harness = sandbox().await;
    let emulator = harness.emulator().clone();

    // 503 twice, then the answer.
    emulator.set_fault(
        Route::GetParticipants,
        FaultConfig {
            rate_5xx: 1.0,
            status_5xx: 503,
            ..FaultConfig::default()
        },
    );
    let hook_emulator = emulator.clone();
    let clock = ScriptedClock::with_hook(move |sleep| {
        if sleep == 2 {
            hook_emulator.clear_faults();
        }
    });
    let client = builder(&harness).clock(clock.clone()).build().unwrap();
    let participants = client.participants(&id(FIXED[1].0)).await.unwrap();
    assert_eq!(
        participants.provider_id.as_str(),
        stored(&emulator, FIXED[1].0).provider_id
    );
    assert_eq!(emulator.calls().get(Route::GetParticipants), 3);
    assert_eq!(clock.sleeps().len(), 2);

    // 30 % of the list's answers are 502 (seeded): the listing is still complete and correct.
    let (from, to) = bulk(&emulator, 200, 12);
    emulator.reset_calls();
    emulator.set_fault(
        Route::ListAppointments,
        FaultConfig {
            rate_5xx: 0.3,
            status_5xx: 502,
            ..FaultConfig::default()
        },
    );
    let client = client_with_retries(&harness, 8);
    let listing = client
        .list_all_appointments(&ListQuery {
            page_size: Some(25),
            ..ListQuery::modified_within(TimeWindow::between(from, to))
        })
        .await
        .unwrap();
    let expected = modified_between(&emulator, from, to);
    let got: BTreeSet<&str> = listing
        .appointments
        .iter()
        .map(|a| a.appointment_id.as_str())
        .collect();
    assert!(got.iter().copied().eq(expected.keys().map(String::as_str)));
    assert_eq!(listing.appointments.len(), 200);
    assert_eq!(listing.pages, 8);
    assert!(
        emulator.calls().get(Route::ListAppointments) > u64::from(listing.pages),
        "some pages failed first"
    );

    // The sandbox's 500 id: the bounded retries, then Server.
    emulator.clear_faults();
    emulator.reset_calls();
    let error = builder(&harness)
        .build()
        .unwrap()
        .appointment(&id(SERVER_ERROR_ID))
        .await
        .unwrap_err();
    let policy = policy();
    assert!(
        matches!(error, Error::Server { status: 500, attempts, .. }
            if attempts == policy.server_retries + 1),
        "{error}"
    );
    assert_staff_message(&error, &emulator);
    assert_eq!(
        emulator.calls().get(Route::GetAppointment),
        u64::from(policy.server_retries) + 1
    );
}

fn client_with_retries(harness: &Harness, server_retries: u32) -> Client {
    builder(harness)
        .retry_policy(RetryPolicy {
            server_retries,
            ..policy()
        })
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_server_error_on_a_write_is_not_retried_and_the_read_back_shows_it_was_not_applied() {
    let harness = sandbox().await;
    let emulator = harness.emulator();
    let client = client(&harness);
    let appointment = harness.add_appointment(
        emulated::AppointmentStatus::Confirmed,
        SignedDuration::from_hours(30),
    );
    emulator.set_fault(
        Route::Cancel,
        FaultConfig {
            rate_5xx: 1.0,
            status_5xx: 503,
            ..FaultConfig::default()
        },
    );
    let error = client
        .cancel(
            &id(&appointment.appointment_id),
            &CancelReason::new(CancellationReasonType::PatientNoLongerAvailable),
        )
        .await
        .unwrap_err();
    let Error::NotApplied {
        appointment: read_back,
        cause,
        ..
    } = &error
    else {
        panic!("not applied expected, got {error}");
    };
    assert_matches(read_back, &stored(emulator, &appointment.appointment_id));
    assert!(matches!(
        **cause,
        Error::Server {
            status: 503,
            attempts: 1,
            ..
        }
    ));
    assert!(error.staff_message().contains("safe to try again"));
    assert_staff_message(&error, emulator);
    let calls = emulator.calls();
    assert_eq!(calls.get(Route::Cancel), 1, "never sent twice");
    assert_eq!(calls.get(Route::GetAppointment), 1, "read back once");
    assert_eq!(
        stored(emulator, &appointment.appointment_id).status,
        emulated::AppointmentStatus::Confirmed
    );
}

#[tokio::test]
async fn a_write_that_took_effect_but_lost_its_answer_is_settled_as_done_by_read_back() {
    let harness = sandbox().await;
    let emulator = harness.emulator();
    let client = client(&harness);
    let appointment = harness.add_appointment(
        emulated::AppointmentStatus::Confirmed,
        SignedDuration::from_hours(30),
    );
    // Zocdoc performs the cancel while its gateway answers 502: the change lands during the
    // request's latency, the answer is the injected 502.
    emulator.set_fault(
        Route::Cancel,
        FaultConfig {
            rate_5xx: 1.0,
            status_5xx: 502,
            latency: Duration::from_millis(100),
            ..FaultConfig::default()
        },
    );
    let reason = CancelReason::new(CancellationReasonType::PatientNoLongerAvailable);
    let appointment_id = id(&appointment.appointment_id);
    let (written, ()) = tokio::join!(client.cancel(&appointment_id, &reason), async {
        while emulator.calls().get(Route::Cancel) < 1 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        emulator
            .change_by_provider(
                &appointment.appointment_id,
                Change::Cancel {
                    reason_type: Some(emulated::CancellationReasonType::PatientNoLongerAvailable),
                    reason: None,
                },
            )
            .unwrap();
    });
    let Written::ReadBack(read_back) = written.unwrap() else {
        panic!("settled by read-back expected");
    };
    assert_eq!(read_back.appointment_status, AppointmentStatus::Cancelled);
    assert_matches(&read_back, &stored(emulator, &appointment.appointment_id));
    let calls = emulator.calls();
    assert_eq!(calls.get(Route::Cancel), 1, "never sent twice");
    assert_eq!(calls.get(Route::GetAppointment), 1);

    // An arrival cannot be read back: outcome unknown, and staff are told trying again is safe.
    let here = harness.add_appointment(
        emulated::AppointmentStatus::Confirmed,
        SignedDuration::from_mins(-5),
    );
    emulator.set_fault(
        Route::UpdateStatus,
        FaultConfig {
            rate_5xx: 1.0,
            ..FaultConfig::default()
        },
    );
    let error = client
        .update_status(&id(&here.appointment_id), StatusUpdate::Arrived)
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::Ambiguous {
                read_back: ReadBack::Inconclusive(_),
                ..
            }
        ),
        "{error}"
    );
    assert!(error.staff_message().contains("does no harm"));
    assert_staff_message(&error, emulator);
    let calls = emulator.calls();
    assert_eq!(calls.get(Route::UpdateStatus), 1);
    assert_eq!(calls.get(Route::GetAppointment), 2);
}

// The sandbox's fixed ids

#[tokio::test]
async fn the_sandboxs_fixed_ids_answer_as_documented_through_the_client() {
    let harness = sandbox().await;
    let emulator = harness.emulator();
    let client = client(&harness);

    let listing = client
        .list_all_appointments(&ListQuery {
            practice_ids: vec![FIXTURE_PRACTICE_ID.into()],
            ..ListQuery::default()
        })
        .await
        .unwrap();
    let listed: BTreeMap<&str, &Appointment> = listing
        .appointments
        .iter()
        .map(|a| (a.appointment_id.as_str(), a))
        .collect();
    assert_eq!(listed.len(), FIXED.len());
    for (appointment_id, status, _) in FIXED {
        let got = client.appointment(&id(appointment_id)).await.unwrap();
        assert_eq!(got.appointment_status.as_str(), status.as_str());
        let word = status.magic_word();
        assert_eq!(
            got.provider_location_id.as_str(),
            format!("pr_{word}|lo_{word}")
        );
        assert_eq!(listed[appointment_id], &got);
    }

    // The pending fixture: the confirm answers confirmed, and the fixture stays pending.
    let pending = FIXED[0].0;
    let written = client.confirm(&id(pending)).await.unwrap();
    let Written::Answered(change) = written else {
        panic!("answered");
    };
    assert_eq!(change.appointment_status, AppointmentStatus::Confirmed);
    assert_eq!(
        client
            .appointment(&id(pending))
            .await
            .unwrap()
            .appointment_status,
        AppointmentStatus::PendingBooking
    );

    // The 500 id on a write: sent once, the read-back fails too, so the outcome is unknown.
    emulator.reset_calls();
    let error = client.confirm(&id(SERVER_ERROR_ID)).await.unwrap_err();
    let Error::Ambiguous {
        read_back: ReadBack::Failed(read_error),
        ..
    } = &error
    else {
        panic!("ambiguous expected, got {error}");
    };
    assert!(matches!(**read_error, Error::Server { status: 500, .. }));
    assert!(
        error
            .staff_message()
            .contains("Check the appointment in Zocdoc")
    );
    assert_staff_message(&error, emulator);
    let calls = emulator.calls();
    assert_eq!(calls.get(Route::Confirm), 1, "never sent twice");
    assert_eq!(
        calls.get(Route::GetAppointment),
        u64::from(policy().server_retries) + 1
    );
}
