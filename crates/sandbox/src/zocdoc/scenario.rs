//! The scenario engine: a practice's realistic day (bookings, confirmations, reschedules,
//! cancellations, arrivals, no-shows, uploaded documents) planned from a seed, played on the
//! emulator's clock with every change sent as a signed webhook; a few weeks of history before it;
//! and bulk loads of thousands of appointments for resync tests.
//!
//! Planning is pure: the same practice, day and seed give the same plan, event for event. Playing
//! applies each event at its planned time (so the stored data does not depend on how fast the
//! clock ran) and skips an event that a test's own API calls made impossible.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use tokio::task::JoinHandle;

use super::model::{
    Appointment, AppointmentStatus, Attachment, AttachmentType, CancellationReasonType,
    ConfirmationType, DocumentSide, Patient, PatientType, VisitType,
};
use super::practice::{Practice, Provider, fake_patient};
use super::store::Change;
use super::webhooks::UpdateType;
use super::{ZocdocEmulator, ids};

/// The part of the day the practice is open to changes: 07:00 to 19:00 local time.
const DAY_OPENS: (i8, i8) = (7, 0);
const DAY_CLOSES: (i8, i8) = (19, 0);
/// Appointments run from 08:00 to 17:00 with a lunch break from 12:00 to 13:00.
const FIRST_SLOT_HOUR: i8 = 8;
const LAST_SLOT_HOUR: i8 = 17;
const LUNCH_HOUR: i8 = 12;

/// One practice day to play.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayScenario {
    /// The day, in the practice's time zone.
    pub day: Date,
    /// Seed of every choice in the plan.
    pub seed: u64,
    /// Weeks of finished appointments before the day (for analytics).
    pub history_weeks: u32,
    /// Days after the day that already hold bookings (some of them change during the day).
    pub days_ahead: u32,
    /// New bookings each provider receives during the day.
    pub new_bookings_per_provider: usize,
}

impl DayScenario {
    /// `day` with three weeks of history, two weeks of future bookings and four new bookings per
    /// provider.
    pub fn new(day: Date, seed: u64) -> DayScenario {
        DayScenario {
            day,
            seed,
            history_weeks: 3,
            days_ahead: 14,
            new_bookings_per_provider: 4,
        }
    }
}

/// What a planned event does, as the practice sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A new appointment (webhook `created`).
    Booked,
    /// The provider confirmed a pending booking (`updated`).
    Confirmed,
    /// The provider could not take a pending booking (`updated`).
    BookingFailed,
    /// The appointment moved (`updated`, `appointment.start_time`).
    Rescheduled,
    /// Cancelled, with a reason (`cancelled`).
    Cancelled,
    /// The practice marked the patient arrived (`updated`).
    Arrived,
    /// The practice marked a no-show (`updated`).
    NoShow,
    /// The patient uploaded a document (`updated`, `patient.uploaded_attachments`).
    AttachmentUploaded,
}

impl EventKind {
    /// The webhook's `appointment_update_type` for this kind of event.
    pub fn update_type(self) -> UpdateType {
        match self {
            EventKind::Booked => UpdateType::Created,
            EventKind::Cancelled => UpdateType::Cancelled,
            EventKind::Confirmed
            | EventKind::BookingFailed
            | EventKind::Rescheduled
            | EventKind::Arrived
            | EventKind::NoShow
            | EventKind::AttachmentUploaded => UpdateType::Updated,
        }
    }
}

/// What happens to the store when a planned event is played.
#[derive(Debug, Clone, PartialEq)]
enum Action {
    Book(Box<Appointment>),
    Change(Change),
}

/// One event of the day.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedEvent {
    /// When it happens (emulated time).
    pub at: Timestamp,
    /// The appointment concerned.
    pub appointment_id: String,
    /// What it is.
    pub kind: EventKind,
    action: Action,
}

/// A day's plan: the appointments that exist before it starts, and its events in time order.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioPlan {
    /// 07:00 local on the day: set the clock here before playing.
    pub start: Timestamp,
    /// 19:00 local on the day: the last event is before this.
    pub end: Timestamp,
    /// Stored before the day starts, without webhooks: history, the day's and coming days'
    /// bookings.
    pub initial: Vec<Appointment>,
    /// The day's events, ordered by time.
    pub events: Vec<PlannedEvent>,
}

/// How many events of each kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ScenarioSummary {
    counts: BTreeMap<EventKind, usize>,
}

impl ScenarioSummary {
    fn add(&mut self, kind: EventKind) {
        *self.counts.entry(kind).or_default() += 1;
    }

    /// Events of one kind.
    pub fn get(&self, kind: EventKind) -> usize {
        self.counts.get(&kind).copied().unwrap_or(0)
    }

    /// Events of every kind.
    pub fn total(&self) -> usize {
        self.counts.values().sum()
    }

    /// Each kind with its count.
    pub fn counts(&self) -> &BTreeMap<EventKind, usize> {
        &self.counts
    }
}

impl ScenarioPlan {
    /// How many events of each kind the plan holds.
    pub fn summary(&self) -> ScenarioSummary {
        let mut summary = ScenarioSummary::default();
        for event in &self.events {
            summary.add(event.kind);
        }
        summary
    }

    /// The clock rate that plays the whole day in `real` time (e.g. two minutes).
    pub fn rate_for(&self, real: Duration) -> f64 {
        let emulated = (self.end - self.start).as_secs_f64();
        emulated / real.as_secs_f64().max(0.001)
    }
}

/// Where a played scenario stands.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ScenarioReport {
    /// Events applied, per kind.
    pub applied: ScenarioSummary,
    /// Events the state no longer allowed (e.g. a test cancelled the appointment first).
    pub skipped: usize,
}

/// A scenario being played on an emulator's clock.
#[derive(Debug)]
pub struct ScenarioRun {
    task: JoinHandle<ScenarioReport>,
}

impl ScenarioRun {
    /// Waits until every event has been played (as fast as the clock lets it).
    pub async fn finished(self) -> ScenarioReport {
        self.task.await.unwrap_or_default()
    }

    /// Stops playing; events not yet played are dropped.
    pub fn abort(&self) {
        self.task.abort();
    }

    /// Whether every event has been played.
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

impl ZocdocEmulator {
    /// Plans `scenario` for this emulator's practice.
    pub fn plan(&self, scenario: &DayScenario) -> ScenarioPlan {
        plan(scenario, self.practice(), self.time_zone())
    }

    /// Stores the plan's initial appointments (no webhooks).
    pub fn load(&self, plan: &ScenarioPlan) {
        self.with_store(|store| {
            for appointment in &plan.initial {
                store.insert(appointment.clone());
            }
        });
    }

    /// Loads the plan and plays its events on the emulator's clock, each at its time, each sent
    /// as a webhook to the configured target. Set the clock (time and rate) before calling.
    pub fn play(&self, plan: ScenarioPlan) -> ScenarioRun {
        self.load(&plan);
        let emulator = self.clone();
        let task = tokio::spawn(async move {
            let mut report = ScenarioReport::default();
            for event in plan.events {
                emulator.clock().sleep_until(event.at).await;
                let outcome = match event.action {
                    Action::Book(mut appointment) => {
                        appointment.created = event.at;
                        appointment.last_modified = event.at;
                        emulator.book_by_provider(*appointment);
                        Ok(())
                    }
                    Action::Change(change) => emulator
                        .change_by_provider_at(&event.appointment_id, change, event.at)
                        .map(|_| ()),
                };
                match outcome {
                    Ok(()) => report.applied.add(event.kind),
                    Err(error) => {
                        tracing::info!(
                            appointment_id = %event.appointment_id,
                            kind = ?event.kind,
                            %error,
                            "scenario event skipped"
                        );
                        report.skipped += 1;
                    }
                }
            }
            report
        });
        ScenarioRun { task }
    }

    /// Stores `bulk.count` appointments for resync tests (no webhooks); returns how many.
    pub fn load_bulk(&self, bulk: &BulkLoad) -> usize {
        let appointments = bulk_appointments(bulk, self.practice(), self.time_zone());
        let count = appointments.len();
        self.with_store(|store| {
            for appointment in appointments {
                store.insert(appointment);
            }
        });
        count
    }
}

/// Many appointments whose `last_modified_time_utc` is spread unevenly over a period: part of
/// them uniformly, the rest packed into a few short bursts, so that a resync walking time
/// windows meets windows over the 1,000-per-query cap and must split them.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkLoad {
    /// How many appointments.
    pub count: usize,
    /// Earliest `last_modified_time_utc`.
    pub from: Timestamp,
    /// Latest `last_modified_time_utc`.
    pub to: Timestamp,
    /// Seed of every choice.
    pub seed: u64,
    /// Share (0..=1) of the appointments packed into bursts.
    pub burst_share: f64,
    /// How many bursts, each 1% of the period wide.
    pub bursts: usize,
}

impl BulkLoad {
    /// `count` appointments over `from..=to`, half of them in three bursts.
    pub fn new(count: usize, from: Timestamp, to: Timestamp, seed: u64) -> BulkLoad {
        BulkLoad {
            count,
            from,
            to,
            seed,
            burst_share: 0.5,
            bursts: 3,
        }
    }
}

/// A practice-local time on a day, as an instant.
fn local(day: Date, hour: i8, minute: i8, time_zone: &TimeZone) -> Timestamp {
    day.to_datetime(Time::new(hour, minute, 0, 0).unwrap_or(Time::midnight()))
        .to_zoned_datetime(time_zone.clone())
        .map(|zoned| zoned.timestamp())
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

/// A uniformly drawn instant in `from..to` (whole seconds); `None` when the range is empty.
fn between(rng: &mut impl Rng, from: Timestamp, to: Timestamp) -> Option<Timestamp> {
    let (from, to) = (from.as_second(), to.as_second());
    (from < to)
        .then(|| rng.random_range(from..to))
        .and_then(|second| Timestamp::from_second(second).ok())
}

fn minutes(count: i64) -> SignedDuration {
    SignedDuration::from_mins(count)
}

fn is_weekday(day: Date) -> bool {
    day.weekday().to_monday_one_offset() <= 5
}

/// Builds appointments and keeps each provider's taken slots.
struct Builder<'a> {
    practice: &'a Practice,
    time_zone: &'a TimeZone,
    rng: ChaCha8Rng,
    taken: BTreeSet<(String, Timestamp)>,
    patients: Vec<Patient>,
}

impl Builder<'_> {
    /// The slots of `provider` on `day`, with the location the provider works at that day.
    fn slots(&self, provider: &Provider, day: Date) -> Vec<(Timestamp, String)> {
        if !is_weekday(day) || provider.location_ids.is_empty() {
            return Vec::new();
        }
        let weekday = usize::from(day.weekday().to_monday_zero_offset().unsigned_abs());
        let location = provider.location_ids[weekday % provider.location_ids.len()].clone();
        let step = i64::from(provider.slot_minutes.max(5));
        let mut slots = Vec::new();
        let mut minute = i64::from(FIRST_SLOT_HOUR) * 60;
        while minute < i64::from(LAST_SLOT_HOUR) * 60 {
            let hour = i8::try_from(minute / 60).unwrap_or(0);
            if hour != LUNCH_HOUR {
                let start = local(
                    day,
                    hour,
                    i8::try_from(minute % 60).unwrap_or(0),
                    self.time_zone,
                );
                slots.push((start, location.clone()));
            }
            minute += step;
        }
        slots
    }

    fn take(&mut self, provider: &Provider, start: Timestamp) -> bool {
        self.taken.insert((provider.provider_id.clone(), start))
    }

    /// A free slot of `provider` within `days` after `day`.
    fn free_slot(
        &mut self,
        provider: &Provider,
        day: Date,
        days: std::ops::RangeInclusive<i32>,
    ) -> Option<(Timestamp, String)> {
        for _ in 0..50 {
            let offset = self.rng.random_range(days.clone());
            let Ok(candidate_day) = day.checked_add(jiff::Span::new().days(offset)) else {
                continue;
            };
            let slots = self.slots(provider, candidate_day);
            let Some((start, location)) = slots.choose(&mut self.rng).cloned() else {
                continue;
            };
            if self.take(provider, start) {
                return Some((start, location));
            }
        }
        None
    }

    /// A patient: someone from the pool (an existing patient) or someone new, who joins it.
    fn patient(&mut self) -> (Patient, PatientType) {
        if !self.patients.is_empty() && self.rng.random_bool(0.7) {
            let index = self.rng.random_range(0..self.patients.len());
            (self.patients[index].clone(), PatientType::Existing)
        } else {
            let patient = fake_patient(&mut self.rng);
            self.patients.push(patient.clone());
            (patient, PatientType::New)
        }
    }

    fn appointment(
        &mut self,
        provider: &Provider,
        location_id: &str,
        start_time: Timestamp,
        created: Timestamp,
        status: AppointmentStatus,
    ) -> Appointment {
        let appointment_id = ids::uuid_v4(&mut self.rng);
        let location = self.practice.location(location_id);
        let visit_type = location.map_or(VisitType::InPerson, |location| location.visit_type());
        let (patient, patient_type) = self.patient();
        let notes = self.rng.random_bool(0.2).then(|| {
            [
                "Prefers a text reminder",
                "First visit in a while",
                "Asks for a morning slot",
            ]
            .choose(&mut self.rng)
            .copied()
            .unwrap_or_default()
            .to_owned()
        });
        Appointment {
            waiting_room_path: (visit_type == VisitType::ZocdocVideoService)
                .then(|| format!("https://www.zocdoc.com/wr/{appointment_id}")),
            appointment_id,
            status,
            arrived: false,
            start_time,
            time_zone: self.time_zone.clone(),
            created,
            last_modified: created,
            provider_id: provider.provider_id.clone(),
            location_id: location_id.to_owned(),
            practice_id: Some(self.practice.practice_id.clone()),
            visit_reason_id: provider
                .visit_reason_ids
                .choose(&mut self.rng)
                .cloned()
                .unwrap_or_default(),
            visit_type,
            patient_type,
            confirmation_type: provider.confirmation_type,
            is_provider_resource: self.rng.random_bool(0.05),
            location_phone_number: location.map(|location| location.phone_number.clone()),
            notes,
            cancellation_reason: None,
            cancellation_reason_type: None,
            source: Some("Zocdoc Marketplace".to_owned()),
            patient,
            booked_by_another_patient: self.rng.random_bool(0.05),
            attachments: Vec::new(),
        }
    }

    fn cancellation_reason(&mut self) -> CancellationReasonType {
        *CancellationReasonType::ALL
            .choose(&mut self.rng)
            .unwrap_or(&CancellationReasonType::PatientNoLongerAvailable)
    }

    fn cancellation(&mut self) -> Change {
        let reason_type = self.cancellation_reason();
        Change::Cancel {
            reason_type: Some(reason_type),
            reason: Some(reason_type.describe().to_owned()),
        }
    }

    fn attachment(&mut self) -> Attachment {
        let attachment_type = *[
            AttachmentType::InsuranceCardMedical,
            AttachmentType::IdCard,
            AttachmentType::IntakeForm,
        ]
        .choose(&mut self.rng)
        .unwrap_or(&AttachmentType::Other);
        Attachment {
            attachment_id: ids::uuid_v4(&mut self.rng),
            attachment_type,
            side: attachment_type.has_sides().then_some(DocumentSide::Front),
        }
    }

    /// A time some days before `start` at which the appointment was booked.
    fn booked_before(&mut self, start: Timestamp) -> Timestamp {
        start
            - SignedDuration::from_hours(self.rng.random_range(24..24 * 30))
            - minutes(self.rng.random_range(0..60))
    }
}

/// The plan of `scenario` for `practice`.
fn plan(scenario: &DayScenario, practice: &Practice, time_zone: &TimeZone) -> ScenarioPlan {
    let day = scenario.day;
    let start = local(day, DAY_OPENS.0, DAY_OPENS.1, time_zone);
    let end = local(day, DAY_CLOSES.0, DAY_CLOSES.1, time_zone);
    let mut builder = Builder {
        practice,
        time_zone,
        rng: ChaCha8Rng::seed_from_u64(scenario.seed),
        taken: BTreeSet::new(),
        patients: Vec::new(),
    };
    let mut initial = Vec::new();
    let mut events = Vec::new();
    let event =
        |at: Timestamp, appointment: &Appointment, kind: EventKind, action: Action| PlannedEvent {
            at,
            appointment_id: appointment.appointment_id.clone(),
            kind,
            action,
        };

    // History: finished appointments of the past weeks.
    let history_days = i32::try_from(scenario.history_weeks.saturating_mul(7)).unwrap_or(0);
    for back in (1..=history_days).rev() {
        let Ok(past_day) = day.checked_sub(jiff::Span::new().days(back)) else {
            continue;
        };
        for provider in &practice.providers {
            for (slot, location) in builder.slots(provider, past_day) {
                if !builder.rng.random_bool(0.7) || !builder.take(provider, slot) {
                    continue;
                }
                let created = builder.booked_before(slot);
                let mut appointment = builder.appointment(
                    provider,
                    &location,
                    slot,
                    created,
                    AppointmentStatus::Confirmed,
                );
                let roll: f64 = builder.rng.random();
                if roll < 0.09 {
                    let reason_type = builder.cancellation_reason();
                    appointment.status = AppointmentStatus::Cancelled;
                    appointment.cancellation_reason_type = Some(reason_type);
                    appointment.cancellation_reason = Some(reason_type.describe().to_owned());
                    appointment.last_modified =
                        slot - SignedDuration::from_hours(builder.rng.random_range(2..48));
                } else if roll < 0.16 {
                    appointment.status = AppointmentStatus::NoShow;
                    appointment.last_modified = slot + minutes(builder.rng.random_range(20..90));
                } else {
                    appointment.arrived = true;
                    appointment.last_modified = slot - minutes(builder.rng.random_range(0..15));
                }
                appointment.last_modified = appointment.last_modified.max(created);
                initial.push(appointment);
            }
        }
    }

    // The day's bookings, made before it, and their fates during the day.
    for provider in &practice.providers {
        for (slot, location) in builder.slots(provider, day) {
            if !builder.rng.random_bool(0.75) || !builder.take(provider, slot) {
                continue;
            }
            let created = builder.booked_before(slot);
            let appointment = builder.appointment(
                provider,
                &location,
                slot,
                created,
                AppointmentStatus::Confirmed,
            );
            let roll: f64 = builder.rng.random();
            let fate_at = if roll < 0.07 {
                between(&mut builder.rng, start, slot - minutes(30)).inspect(|&at| {
                    let cancel = builder.cancellation();
                    events.push(event(
                        at,
                        &appointment,
                        EventKind::Cancelled,
                        Action::Change(cancel),
                    ));
                })
            } else if roll < 0.12 {
                let moved = builder.free_slot(provider, day, 1..=14);
                match (between(&mut builder.rng, start, slot - minutes(60)), moved) {
                    (Some(at), Some((new_start, _))) => {
                        let change = Change::Reschedule {
                            start_time: new_start,
                            by_partner: false,
                        };
                        events.push(event(
                            at,
                            &appointment,
                            EventKind::Rescheduled,
                            Action::Change(change),
                        ));
                        Some(at)
                    }
                    _ => None,
                }
            } else if roll < 0.20 {
                let at = slot + minutes(builder.rng.random_range(20..40));
                (at < end).then(|| {
                    events.push(event(
                        at,
                        &appointment,
                        EventKind::NoShow,
                        Action::Change(Change::NoShow),
                    ));
                    at
                })
            } else {
                let at = (slot - minutes(builder.rng.random_range(-5..15))).max(start);
                (at < end).then(|| {
                    events.push(event(
                        at,
                        &appointment,
                        EventKind::Arrived,
                        Action::Change(Change::Arrive),
                    ));
                    at
                })
            };
            if builder.rng.random_bool(0.12) {
                let latest = fate_at.unwrap_or(slot).min(slot) - minutes(5);
                if let Some(at) = between(&mut builder.rng, start, latest) {
                    let attachment = builder.attachment();
                    events.push(event(
                        at,
                        &appointment,
                        EventKind::AttachmentUploaded,
                        Action::Change(Change::UploadAttachment(attachment)),
                    ));
                }
            }
            initial.push(appointment);
        }
    }

    // Bookings of the coming days, made before the day; a few change during it.
    for ahead in 1..=i32::try_from(scenario.days_ahead).unwrap_or(0) {
        let Ok(future_day) = day.checked_add(jiff::Span::new().days(ahead)) else {
            continue;
        };
        for provider in &practice.providers {
            for (slot, location) in builder.slots(provider, future_day) {
                let fill = 0.6 - f64::from(ahead) * 0.03;
                if !builder.rng.random_bool(fill.clamp(0.05, 1.0)) || !builder.take(provider, slot)
                {
                    continue;
                }
                let created = (slot - SignedDuration::from_hours(24 * 30))
                    .max(start - SignedDuration::from_hours(24 * 20))
                    + minutes(builder.rng.random_range(0..600));
                let created = created.min(start - minutes(30));
                let appointment = builder.appointment(
                    provider,
                    &location,
                    slot,
                    created,
                    AppointmentStatus::Confirmed,
                );
                let roll: f64 = builder.rng.random();
                if roll < 0.04 {
                    if let Some(at) = between(&mut builder.rng, start, end) {
                        let cancel = builder.cancellation();
                        events.push(event(
                            at,
                            &appointment,
                            EventKind::Cancelled,
                            Action::Change(cancel),
                        ));
                    }
                } else if roll < 0.07 {
                    let moved = builder.free_slot(provider, day, 1..=21);
                    if let (Some(at), Some((new_start, _))) =
                        (between(&mut builder.rng, start, end), moved)
                    {
                        let change = Change::Reschedule {
                            start_time: new_start,
                            by_partner: false,
                        };
                        events.push(event(
                            at,
                            &appointment,
                            EventKind::Rescheduled,
                            Action::Change(change),
                        ));
                    }
                } else if roll < 0.10
                    && let Some(at) = between(&mut builder.rng, start, end)
                {
                    let attachment = builder.attachment();
                    events.push(event(
                        at,
                        &appointment,
                        EventKind::AttachmentUploaded,
                        Action::Change(Change::UploadAttachment(attachment)),
                    ));
                }
                initial.push(appointment);
            }
        }
    }

    // New bookings during the day, for the coming weeks; a manual provider confirms later.
    for provider in &practice.providers {
        for _ in 0..scenario.new_bookings_per_provider {
            let Some(at) = between(&mut builder.rng, start, end - minutes(30)) else {
                continue;
            };
            let Some((slot, location)) = builder.free_slot(provider, day, 1..=21) else {
                continue;
            };
            let status = match provider.confirmation_type {
                ConfirmationType::Auto => AppointmentStatus::Confirmed,
                ConfirmationType::Manual | ConfirmationType::PendingEvaluation => {
                    AppointmentStatus::PendingBooking
                }
            };
            let appointment = builder.appointment(provider, &location, slot, at, status);
            events.push(event(
                at,
                &appointment,
                EventKind::Booked,
                Action::Book(Box::new(appointment.clone())),
            ));
            if status == AppointmentStatus::PendingBooking {
                let decided = at + minutes(builder.rng.random_range(20..240));
                if decided < end {
                    let (kind, change) = if builder.rng.random_bool(0.85) {
                        (EventKind::Confirmed, Change::Confirm)
                    } else {
                        (EventKind::BookingFailed, Change::FailBooking)
                    };
                    events.push(event(decided, &appointment, kind, Action::Change(change)));
                }
            }
        }
    }

    events.sort_by(|a, b| {
        a.at.cmp(&b.at)
            .then_with(|| a.appointment_id.cmp(&b.appointment_id))
    });
    ScenarioPlan {
        start,
        end,
        initial,
        events,
    }
}

/// The appointments of a bulk load.
fn bulk_appointments(
    bulk: &BulkLoad,
    practice: &Practice,
    time_zone: &TimeZone,
) -> Vec<Appointment> {
    let mut rng = ChaCha8Rng::seed_from_u64(bulk.seed);
    let span = (bulk.to - bulk.from).max(SignedDuration::from_secs(1));
    let burst_width = span / 100;
    let burst_starts: Vec<Timestamp> = (0..bulk.bursts)
        .map(|_| between(&mut rng, bulk.from, bulk.to - burst_width).unwrap_or(bulk.from))
        .collect();
    let statuses = [
        (AppointmentStatus::Confirmed, 0.70),
        (AppointmentStatus::Cancelled, 0.12),
        (AppointmentStatus::NoShow, 0.06),
        (AppointmentStatus::PendingBooking, 0.05),
        (AppointmentStatus::Rescheduled, 0.05),
        (AppointmentStatus::BookingFailed, 0.02),
    ];
    let mut appointments = Vec::with_capacity(bulk.count);
    for _ in 0..bulk.count {
        let last_modified = match burst_starts.choose(&mut rng) {
            Some(burst) if rng.random_bool(bulk.burst_share.clamp(0.0, 1.0)) => {
                between(&mut rng, *burst, *burst + burst_width).unwrap_or(*burst)
            }
            _ => between(&mut rng, bulk.from, bulk.to).unwrap_or(bulk.from),
        };
        let created = last_modified - SignedDuration::from_hours(rng.random_range(0..24 * 30));
        let start_time = created + SignedDuration::from_mins(15 * rng.random_range(4..4 * 24 * 60));
        let Some(provider) = practice.providers.choose(&mut rng) else {
            break;
        };
        let location_id = provider
            .location_ids
            .choose(&mut rng)
            .cloned()
            .unwrap_or_default();
        let draw: f64 = rng.random();
        let mut cumulative = 0.0;
        let status = statuses
            .iter()
            .find(|(_, share)| {
                cumulative += share;
                draw < cumulative
            })
            .map_or(AppointmentStatus::Confirmed, |(status, _)| *status);
        let appointment_id = ids::uuid_v4(&mut rng);
        let visit_type = practice
            .location(&location_id)
            .map_or(VisitType::InPerson, |location| location.visit_type());
        appointments.push(Appointment {
            waiting_room_path: (visit_type == VisitType::ZocdocVideoService)
                .then(|| format!("https://www.zocdoc.com/wr/{appointment_id}")),
            appointment_id,
            status,
            arrived: false,
            start_time,
            time_zone: time_zone.clone(),
            created,
            last_modified,
            provider_id: provider.provider_id.clone(),
            location_id,
            practice_id: Some(practice.practice_id.clone()),
            visit_reason_id: provider
                .visit_reason_ids
                .choose(&mut rng)
                .cloned()
                .unwrap_or_default(),
            visit_type,
            patient_type: if rng.random_bool(0.3) {
                PatientType::New
            } else {
                PatientType::Existing
            },
            confirmation_type: provider.confirmation_type,
            is_provider_resource: false,
            location_phone_number: None,
            notes: None,
            cancellation_reason: (status == AppointmentStatus::Cancelled).then(|| {
                CancellationReasonType::PatientNoLongerAvailable
                    .describe()
                    .to_owned()
            }),
            cancellation_reason_type: (status == AppointmentStatus::Cancelled)
                .then_some(CancellationReasonType::PatientNoLongerAvailable),
            source: Some("Zocdoc Marketplace".to_owned()),
            patient: fake_patient(&mut rng),
            booked_by_another_patient: false,
            attachments: Vec::new(),
        });
    }
    appointments
}

#[cfg(test)]
mod tests {
    use super::*;

    fn practice() -> (Practice, TimeZone) {
        let practice = Practice::generate(&mut ChaCha8Rng::seed_from_u64(1));
        let tz = TimeZone::get(&practice.time_zone).unwrap();
        (practice, tz)
    }

    #[test]
    fn the_same_seed_gives_the_same_plan() {
        let (practice, tz) = practice();
        let day = Date::new(2025, 3, 12).unwrap();
        let first = plan(&DayScenario::new(day, 42), &practice, &tz);
        let second = plan(&DayScenario::new(day, 42), &practice, &tz);
        let other = plan(&DayScenario::new(day, 43), &practice, &tz);
        assert_eq!(first, second);
        assert_ne!(first.events, other.events);
    }

    #[test]
    fn a_day_has_every_kind_of_event_in_order_and_inside_the_day() {
        let (practice, tz) = practice();
        let plan = plan(
            &DayScenario::new(Date::new(2025, 3, 12).unwrap(), 42),
            &practice,
            &tz,
        );
        let summary = plan.summary();
        for kind in [
            EventKind::Booked,
            EventKind::Rescheduled,
            EventKind::Cancelled,
            EventKind::Arrived,
            EventKind::NoShow,
        ] {
            assert!(summary.get(kind) > 0, "{kind:?} missing: {summary:?}");
        }
        assert!(summary.get(EventKind::Arrived) > summary.get(EventKind::NoShow));
        assert!(plan.events.windows(2).all(|pair| pair[0].at <= pair[1].at));
        assert!(
            plan.events
                .iter()
                .all(|e| e.at >= plan.start && e.at < plan.end)
        );
        let history = plan
            .initial
            .iter()
            .filter(|a| a.start_time < plan.start)
            .count();
        assert!(history > 500, "three weeks of history: {history}");
    }

    #[test]
    fn bulk_loads_pack_some_windows_over_the_cap() {
        let (practice, tz) = practice();
        let from: Timestamp = "2025-01-01T00:00:00Z".parse().unwrap();
        let to = from + SignedDuration::from_hours(24 * 30);
        let appointments = bulk_appointments(&BulkLoad::new(10_000, from, to, 9), &practice, &tz);
        assert_eq!(appointments.len(), 10_000);
        let mut per_day = BTreeMap::<i64, usize>::new();
        for appointment in &appointments {
            assert!(appointment.last_modified >= from && appointment.last_modified <= to);
            *per_day
                .entry((appointment.last_modified - from).as_hours() / 24)
                .or_default() += 1;
        }
        assert!(per_day.values().any(|&count| count > 1_000), "{per_day:?}");
        assert!(per_day.values().any(|&count| count < 1_000), "{per_day:?}");
    }
}
