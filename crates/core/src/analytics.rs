//! The manager's figures on no-shows, cancellations, reschedules and rebookings, for a range of
//! days in the practice's time zone.
//!
//! Two halves: [`Facts::load`] reads the few facts per appointment the figures need (three
//! queries on indexed times, see [`facts`]), and [`Patterns::compute`] turns them into every
//! figure without touching the database or the clock ("now" is a parameter). The unit tests drive
//! the pure half with hand-computed answers. [`Store::patterns`] does both.
//!
//! Each figure is defined in words once, in [`DEFINITIONS`]: the UI shows those words as help
//! text, and the fields of [`Patterns`] link to them.
//!
//! Nothing here logs, and nothing in [`Patterns`] identifies a patient: the developer patient id
//! is only used to match rebookings and never leaves this module.

mod facts;
#[cfg(test)]
mod tests;

use foldhash::HashMap;
use jiff::civil::{Date, DateTime};
use jiff::tz::{Offset, TimeZone};
use jiff::{SignedDuration, Timestamp, ToSpan as _};
use serde::Serialize;

pub use facts::{AppointmentFacts, Booking, Facts, Outcome, PatientKey, PatientKind, Reschedule};

use crate::store::{Store, StoreError};

/// A rate whose denominator is below this is marked [`Rate::too_few`] ("too few to judge").
pub const TOO_FEW_BELOW: u32 = 20;

/// How long after a cancellation or a missed start a new booking counts as a rebooking.
pub const REBOOK_WITHIN: SignedDuration = SignedDuration::from_hours(14 * 24);

/// One figure's definition in plain words, as the UI shows it for help.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Definition {
    /// Stable id of the figure (the UI looks the words up by it).
    pub id: &'static str,
    /// What the figure counts, in plain words.
    pub words: &'static str,
}

/// Defines a figure's words once: a constant (whose rustdoc shows the words) for [`DEFINITIONS`].
macro_rules! definition {
    ($name:ident, $id:literal, $words:literal) => {
        #[doc = $words]
        pub const $name: Definition = Definition {
            id: $id,
            words: $words,
        };
    };
}

definition!(
    APPOINTMENTS,
    "appointments",
    "Appointments counted: those whose start time falls on a day of the range (in the practice's \
     time zone) and has already passed, that were booked (confirmed, rescheduled, marked a \
     no-show, cancelled or waiting for a new time). Failed bookings, bookings never confirmed and \
     unknown statuses are left out. A rescheduled appointment counts once, at its current time."
);
definition!(
    NO_SHOW_RATE,
    "no_show_rate",
    "No-show rate: appointments marked a no-show, divided by the appointments whose start has \
     passed and that were not cancelled or rescheduled away (moved to another time, where they \
     count instead, or waiting for a new time)."
);
definition!(
    CANCELLATION_RATE,
    "cancellation_rate",
    "Cancellation rate: cancelled appointments, divided by all appointments counted."
);
definition!(
    RESCHEDULE_RATE,
    "reschedule_rate",
    "Reschedule rate: appointments moved to another time at least once (or waiting for a new \
     time), divided by all appointments counted. Each counts once, however often it moved."
);
definition!(
    CANCELLATION_NOTICE,
    "cancellation_notice",
    "How late cancellations came: the time from the cancellation to the appointment's start, as \
     less than 24 hours (or after the start), 1 to 3 days (24 to 72 hours), or more than 3 days. \
     The time of a cancellation is when Deskbridge first saw it, by Zocdoc's last-modified time. \
     Each share is of all cancellations."
);
definition!(
    RESCHEDULE_NOTICE,
    "reschedule_notice",
    "How late reschedules came: the time from the first move to the start time it gave up, in \
     the same bands as cancellations. Unknown when Deskbridge first saw the appointment already \
     rescheduled. Each share is of all rescheduled appointments."
);
definition!(
    REBOOK_RATE,
    "rebook_rate",
    "Rebook rate: cancelled and no-show appointments whose patient booked another appointment \
     within 14 days after the cancellation (or the missed start), divided by those cancelled and \
     no-show appointments. Patients are matched by the developer patient id, so appointments \
     without one are left out (and counted apart), as are those whose 14 days have not yet \
     passed. The new booking may be with any provider or location."
);
definition!(
    BY_WEEKDAY_HOUR,
    "by_weekday_hour",
    "By weekday and hour: the figures for the appointments starting on that weekday, in that \
     hour of the practice's clock (an appointment at 01:30 on the night clocks go back counts in \
     the 1 o'clock hour, whichever of the two it was)."
);
definition!(
    BY_PROVIDER,
    "by_provider",
    "By provider: the provider part of Zocdoc's provider-location id (before the '|'); none when \
     the id has no such part."
);
definition!(
    BY_LOCATION,
    "by_location",
    "By location: the location part of Zocdoc's provider-location id (after the '|'); none when \
     the id has no such part."
);
definition!(
    BY_VISIT_REASON,
    "by_visit_reason",
    "By visit reason: Zocdoc's visit reason id of the appointment."
);
definition!(
    BY_PATIENT_TYPE,
    "by_patient_type",
    "By patient type: new or existing patient, as Zocdoc reports it; none when it did not say."
);
definition!(
    BY_LEAD_TIME,
    "by_lead_time",
    "By booking lead time: calendar days in the practice's time zone from the day the \
     appointment was booked to the day it starts: same day, 1-2 days, 3-7, 8-14, 15-30, more than \
     30; unknown when Zocdoc gave no booking time."
);
definition!(
    BY_WEEK,
    "by_week",
    "Week by week: the figures for the appointments of each week, Monday to Sunday in the \
     practice's time zone, named by its Monday (which may fall before the range's first day)."
);
definition!(
    TOO_FEW,
    "too_few",
    "Too few to judge: the rate rests on fewer than 20 appointments, so chance alone can move it \
     a lot."
);

/// Every figure's definition, for the UI's help text.
pub const DEFINITIONS: &[Definition] = &[
    APPOINTMENTS,
    NO_SHOW_RATE,
    CANCELLATION_RATE,
    RESCHEDULE_RATE,
    CANCELLATION_NOTICE,
    RESCHEDULE_NOTICE,
    REBOOK_RATE,
    BY_WEEKDAY_HOUR,
    BY_PROVIDER,
    BY_LOCATION,
    BY_VISIT_REASON,
    BY_PATIENT_TYPE,
    BY_LEAD_TIME,
    BY_WEEK,
    TOO_FEW,
];

/// What to compute the figures for.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// First day of the range, in the practice's time zone.
    pub from: Date,
    /// Last day of the range (included).
    pub to: Date,
    /// The practice's time zone: days, weekdays, hours and weeks are its.
    pub time_zone: TimeZone,
    /// Only these providers (the part of `provider_location_id` before the `|`), when given.
    pub providers: Option<Vec<String>>,
    /// Only these locations (the part of `provider_location_id` after the `|`), when given.
    pub locations: Option<Vec<String>>,
}

impl Query {
    /// The range's days, all providers and locations.
    pub fn new(from: Date, to: Date, time_zone: TimeZone) -> Query {
        Query {
            from,
            to,
            time_zone,
            providers: None,
            locations: None,
        }
    }

    /// The instants the range covers: from the start of its first day to the start of the day
    /// after its last (23, 24 or 25 hours a day, as the time zone has them).
    pub fn utc_bounds(&self) -> Result<(Timestamp, Timestamp), AnalyticsError> {
        if self.from > self.to {
            return Err(AnalyticsError::EmptyRange {
                from: self.from,
                to: self.to,
            });
        }
        let start_of = |day: Date| {
            day.to_zoned_datetime(self.time_zone.clone())
                .and_then(|zoned| zoned.start_of_day())
                .map(|zoned| zoned.timestamp())
        };
        let out_of_range = |source| AnalyticsError::OutOfRange {
            from: self.from,
            to: self.to,
            source,
        };
        let start = start_of(self.from).map_err(out_of_range)?;
        let end = self
            .to
            .tomorrow()
            .and_then(start_of)
            .map_err(out_of_range)?;
        Ok((start, end))
    }

    /// Whether the provider and location filters let `provider_location_id` through.
    fn admits(&self, provider_location_id: &str) -> bool {
        let (provider, location) = split_provider_location(provider_location_id);
        let passes = |filter: &Option<Vec<String>>, part: Option<&str>| {
            filter
                .as_ref()
                .is_none_or(|wanted| part.is_some_and(|part| wanted.iter().any(|w| w == part)))
        };
        passes(&self.providers, provider) && passes(&self.locations, location)
    }
}

/// A range of days the manager's view offers, each ending on the practice's today.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RangePreset {
    /// The 28 days up to today.
    LastFourWeeks,
    /// The three months up to today.
    LastQuarter,
    /// The twelve months up to today.
    LastYear,
}

impl RangePreset {
    /// Every preset, shortest first.
    pub const ALL: [RangePreset; 3] = [
        RangePreset::LastFourWeeks,
        RangePreset::LastQuarter,
        RangePreset::LastYear,
    ];

    /// The first and last day (both included) of the preset ending on `today`: 28 days, or the
    /// day after the same day three or twelve months before (a shorter month's last day when it
    /// has no such day) to today. `today` itself when the calendar runs out.
    pub fn days(self, today: Date) -> (Date, Date) {
        let first = match self {
            RangePreset::LastFourWeeks => today.checked_sub(27.days()),
            RangePreset::LastQuarter => today
                .checked_sub(3.months())
                .and_then(|day| day.checked_add(1.day())),
            RangePreset::LastYear => today
                .checked_sub(1.year())
                .and_then(|day| day.checked_add(1.day())),
        };
        (first.unwrap_or(today), today)
    }
}

/// Why the figures could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    /// The range's last day comes before its first.
    #[error("the range ends on {to}, before it starts on {from}")]
    EmptyRange {
        /// First day asked for.
        from: Date,
        /// Last day asked for.
        to: Date,
    },
    /// The range's days cannot be placed in the time zone (outside the supported years).
    #[error("the days {from} to {to} cannot be placed in the practice's time zone: {source}")]
    OutOfRange {
        /// First day asked for.
        from: Date,
        /// Last day asked for.
        to: Date,
        /// jiff's reason.
        source: jiff::Error,
    },
    /// Reading the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored time could not be read.
    #[error("appointment {appointment_id} has an unreadable {column}")]
    UnreadableTime {
        /// Zocdoc's appointment id (not patient data).
        appointment_id: String,
        /// The column or history value.
        column: &'static str,
    },
}

impl From<rusqlite::Error> for AnalyticsError {
    fn from(error: rusqlite::Error) -> Self {
        AnalyticsError::Store(StoreError::Database(error))
    }
}

impl From<rusqlite::types::FromSqlError> for AnalyticsError {
    fn from(error: rusqlite::types::FromSqlError) -> Self {
        rusqlite::Error::from(error).into()
    }
}

/// A share with the counts it rests on.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rate {
    /// How many have the property.
    pub numerator: u32,
    /// Out of how many ("n").
    pub denominator: u32,
    /// `numerator / denominator`; `None` when the denominator is 0.
    pub value: Option<f64>,
    /// The denominator is below [`TOO_FEW_BELOW`]: too few to judge ([`TOO_FEW`]).
    pub too_few: bool,
}

impl Rate {
    /// `numerator` out of `denominator`.
    pub fn new(numerator: u32, denominator: u32) -> Rate {
        Rate {
            numerator,
            denominator,
            value: (denominator > 0).then(|| f64::from(numerator) / f64::from(denominator)),
            too_few: denominator < TOO_FEW_BELOW,
        }
    }
}

/// The three rates of one group of appointments.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Figures {
    /// Appointments counted ([`APPOINTMENTS`]).
    pub appointments: u32,
    /// [`NO_SHOW_RATE`].
    pub no_show: Rate,
    /// [`CANCELLATION_RATE`].
    pub cancellation: Rate,
    /// [`RESCHEDULE_RATE`].
    pub reschedule: Rate,
}

/// How long before the start a cancellation or reschedule came ([`CANCELLATION_NOTICE`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Notice {
    /// Less than 24 hours before the start, or after it.
    pub under_24_hours: Rate,
    /// 24 to 72 hours before (both included).
    pub one_to_three_days: Rate,
    /// More than 72 hours before.
    pub over_three_days: Rate,
    /// When it happened is not known.
    pub unknown: Rate,
}

/// Rebookings after cancellations and no-shows ([`REBOOK_RATE`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rebook {
    /// Cancelled and no-show appointments together.
    pub all: Rate,
    /// Cancelled appointments only.
    pub after_cancellation: Rate,
    /// No-show appointments only.
    pub after_no_show: Rate,
    /// Cancelled or no-show appointments left out for want of a developer patient id.
    pub without_patient_id: u32,
    /// Cancelled or no-show appointments left out because their 14 days have not passed.
    pub window_open: u32,
}

/// One cell of the weekday × hour grid ([`BY_WEEKDAY_HOUR`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct WeekdayHour {
    /// 1 = Monday … 7 = Sunday.
    pub weekday: i8,
    /// 0 … 23, on the practice's clock.
    pub hour: i8,
    /// The figures of the cell.
    #[serde(flatten)]
    pub figures: Figures,
}

/// One group of a breakdown by an id ([`BY_PROVIDER`], [`BY_LOCATION`], [`BY_VISIT_REASON`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    /// The id; `None` when the appointments do not say.
    pub key: Option<String>,
    /// The figures of the group.
    #[serde(flatten)]
    pub figures: Figures,
}

/// One group of the breakdown by patient type ([`BY_PATIENT_TYPE`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PatientTypeGroup {
    /// New or existing; `None` when Zocdoc did not say.
    pub patient_type: Option<PatientKind>,
    /// The figures of the group.
    #[serde(flatten)]
    pub figures: Figures,
}

/// Booking lead time bands ([`BY_LEAD_TIME`]), in calendar days of the practice's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LeadTime {
    /// Booked on the day of the appointment (or, oddly, after it).
    SameDay,
    /// 1 or 2 days ahead.
    Days1To2,
    /// 3 to 7 days ahead.
    Days3To7,
    /// 8 to 14 days ahead.
    Days8To14,
    /// 15 to 30 days ahead.
    Days15To30,
    /// More than 30 days ahead.
    Over30Days,
    /// Zocdoc gave no booking time.
    Unknown,
}

impl LeadTime {
    /// Every band, in order.
    pub const ALL: [LeadTime; 7] = [
        LeadTime::SameDay,
        LeadTime::Days1To2,
        LeadTime::Days3To7,
        LeadTime::Days8To14,
        LeadTime::Days15To30,
        LeadTime::Over30Days,
        LeadTime::Unknown,
    ];

    /// The band of an appointment booked on `booked` for `starts` (both local days).
    pub fn between(booked: Date, starts: Date) -> LeadTime {
        match booked.duration_until(starts).as_hours() / 24 {
            ..=0 => LeadTime::SameDay,
            1..=2 => LeadTime::Days1To2,
            3..=7 => LeadTime::Days3To7,
            8..=14 => LeadTime::Days8To14,
            15..=30 => LeadTime::Days15To30,
            _ => LeadTime::Over30Days,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// One band of the breakdown by lead time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LeadTimeGroup {
    /// The band.
    pub lead_time: LeadTime,
    /// The figures of the band.
    #[serde(flatten)]
    pub figures: Figures,
}

/// One week of the trend ([`BY_WEEK`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Week {
    /// The week's Monday.
    pub monday: Date,
    /// The figures of the week.
    #[serde(flatten)]
    pub figures: Figures,
}

/// Every figure for one query.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Patterns {
    /// First day of the range.
    pub from: Date,
    /// Last day of the range (included).
    pub to: Date,
    /// The IANA name of the time zone used, when it has one.
    pub time_zone: Option<String>,
    /// The threshold of "too few to judge" ([`TOO_FEW`]).
    pub too_few_below: u32,
    /// All appointments counted ([`APPOINTMENTS`], [`NO_SHOW_RATE`], [`CANCELLATION_RATE`],
    /// [`RESCHEDULE_RATE`]).
    pub overall: Figures,
    /// Appointments of the range whose start passed but that are not counted (failed or never
    /// confirmed bookings, unknown statuses).
    pub left_out: u32,
    /// [`CANCELLATION_NOTICE`].
    pub cancellation_notice: Notice,
    /// [`RESCHEDULE_NOTICE`].
    pub reschedule_notice: Notice,
    /// [`REBOOK_RATE`].
    pub rebook: Rebook,
    /// [`BY_WEEKDAY_HOUR`]: 168 cells, Monday 0:00 first, hour by hour.
    pub by_weekday_hour: Vec<WeekdayHour>,
    /// [`BY_PROVIDER`], most appointments first.
    pub by_provider: Vec<Group>,
    /// [`BY_LOCATION`], most appointments first.
    pub by_location: Vec<Group>,
    /// [`BY_VISIT_REASON`], most appointments first.
    pub by_visit_reason: Vec<Group>,
    /// [`BY_PATIENT_TYPE`]: new, existing, not said.
    pub by_patient_type: Vec<PatientTypeGroup>,
    /// [`BY_LEAD_TIME`]: every band, shortest first, then unknown.
    pub by_lead_time: Vec<LeadTimeGroup>,
    /// [`BY_WEEK`]: every week touching the range, oldest first.
    pub by_week: Vec<Week>,
    /// Every provider with appointments counted or left out on the range's days, whatever the
    /// filters (the filter's choices), by id.
    pub providers: Vec<String>,
    /// Every location likewise.
    pub locations: Vec<String>,
}

/// Counts behind one group's [`Figures`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Tally {
    attended_or_pending: u32,
    no_show: u32,
    cancelled: u32,
    awaiting_new_time: u32,
    rescheduled: u32,
}

impl Tally {
    fn add(&mut self, outcome: Outcome, rescheduled: bool) {
        match outcome {
            Outcome::Booked => self.attended_or_pending += 1,
            Outcome::NoShow => self.no_show += 1,
            Outcome::Cancelled => self.cancelled += 1,
            Outcome::AwaitingNewTime => self.awaiting_new_time += 1,
            Outcome::AwaitingConfirmation | Outcome::BookingFailed | Outcome::Unrecognised => {
                return;
            }
        }
        self.rescheduled += u32::from(rescheduled);
    }

    fn figures(self) -> Figures {
        let appointments =
            self.attended_or_pending + self.no_show + self.cancelled + self.awaiting_new_time;
        Figures {
            appointments,
            no_show: Rate::new(self.no_show, self.attended_or_pending + self.no_show),
            cancellation: Rate::new(self.cancelled, appointments),
            reschedule: Rate::new(self.rescheduled, appointments),
        }
    }
}

/// Counts behind a [`Notice`].
#[derive(Debug, Clone, Copy, Default)]
struct NoticeTally {
    bands: [u32; 4],
}

impl NoticeTally {
    /// Counts one event that came at `at` (when known) for a start at `start`.
    fn add(&mut self, at: Option<Timestamp>, start: Timestamp) {
        let band = match at.map(|at| at.duration_until(start)) {
            None => 3,
            Some(ahead) if ahead < SignedDuration::from_hours(24) => 0,
            Some(ahead) if ahead <= SignedDuration::from_hours(72) => 1,
            Some(_) => 2,
        };
        self.bands[band] += 1;
    }

    fn notice(self) -> Notice {
        let total = self.bands.iter().sum();
        Notice {
            under_24_hours: Rate::new(self.bands[0], total),
            one_to_three_days: Rate::new(self.bands[1], total),
            over_three_days: Rate::new(self.bands[2], total),
            unknown: Rate::new(self.bands[3], total),
        }
    }
}

/// The part of a `provider_location_id` before and after its `|`, as
/// `deskbridge_zocdoc::api::ProviderLocationId` splits it; both `None` without a `|`.
fn split_provider_location(id: &str) -> (Option<&str>, Option<&str>) {
    match id.split_once('|') {
        Some((provider, location)) => (Some(provider), Some(location)),
        None => (None, None),
    }
}

/// Civil times on the practice's clock for many instants, remembering the offset until the next
/// transition: most instants come in start order, and a time zone lookup each is the dearest
/// step of the figures otherwise.
struct PracticeClock<'z> {
    zone: &'z TimeZone,
    /// From, until (excluded), and the offset between.
    known: Option<(Timestamp, Timestamp, Offset)>,
}

impl<'z> PracticeClock<'z> {
    fn new(zone: &'z TimeZone) -> Self {
        Self { zone, known: None }
    }

    fn local(&mut self, at: Timestamp) -> DateTime {
        let offset = match self.known {
            Some((from, until, offset)) if from <= at && at < until => offset,
            _ => {
                let offset = self.zone.to_offset(at);
                let from = self
                    .zone
                    .preceding(at)
                    .next()
                    .map(|transition| transition.timestamp())
                    .filter(|&from| self.zone.to_offset(from) == offset)
                    .unwrap_or(at);
                let until = self
                    .zone
                    .following(at)
                    .next()
                    .map_or(Timestamp::MAX, |transition| transition.timestamp());
                self.known = Some((from, until, offset));
                offset
            }
        };
        offset.to_datetime(at)
    }
}

/// The Monday of `day`'s week.
fn monday_of(day: Date) -> Date {
    let back = i64::from(day.weekday().to_monday_zero_offset());
    day.checked_sub(SignedDuration::from_hours(24 * back))
        .unwrap_or(day)
}

/// The tallies of a breakdown by id ([`BY_PROVIDER`], [`BY_LOCATION`], [`BY_VISIT_REASON`]):
/// each id gets a slot the first time it is seen, so an appointment costs one hash lookup (or
/// none, through [`Place`]) instead of an ordered-map walk.
#[derive(Default)]
struct Breakdown<'f> {
    slots: HashMap<Option<&'f str>, usize>,
    tallies: Vec<(Option<&'f str>, Tally)>,
}

impl<'f> Breakdown<'f> {
    /// The slot of `key`, made when new.
    fn slot(&mut self, key: Option<&'f str>) -> usize {
        let tallies = &mut self.tallies;
        *self.slots.entry(key).or_insert_with(|| {
            tallies.push((key, Tally::default()));
            tallies.len() - 1
        })
    }

    fn tally(&mut self, slot: usize) -> &mut Tally {
        &mut self.tallies[slot].1
    }

    /// Every id seen, counted or not, in order.
    fn ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .tallies
            .iter()
            .filter_map(|(key, _)| key.map(str::to_owned))
            .collect();
        ids.sort_unstable();
        ids
    }

    /// The groups with appointments, most appointments first, then by id (none first).
    fn groups(self) -> Vec<Group> {
        let mut groups: Vec<Group> = self
            .tallies
            .into_iter()
            .filter(|(_, tally)| *tally != Tally::default())
            .map(|(key, tally)| Group {
                key: key.map(str::to_owned),
                figures: tally.figures(),
            })
            .collect();
        groups.sort_by(|a, b| {
            b.figures
                .appointments
                .cmp(&a.figures.appointments)
                .then_with(|| a.key.cmp(&b.key))
        });
        groups
    }
}

/// What one `provider_location_id` means for the figures, worked out once per id.
#[derive(Debug, Clone, Copy)]
struct Place {
    /// The query's provider and location filters let it through.
    admitted: bool,
    /// Its provider's slot in the breakdown by provider.
    provider: usize,
    /// Its location's slot in the breakdown by location.
    location: usize,
}

impl Patterns {
    /// Every figure of `query` from `facts`, as of `now`. Pure: no database, no clock.
    pub fn compute(
        facts: &Facts,
        query: &Query,
        now: Timestamp,
    ) -> Result<Patterns, AnalyticsError> {
        query.utc_bounds()?;
        let zone = &query.time_zone;
        let first_monday = monday_of(query.from);
        let week_count = monday_of(query.to).duration_since(first_monday).as_hours() / (24 * 7);
        let week_count = usize::try_from(week_count).unwrap_or(0) + 1;
        let mut start_clock = PracticeClock::new(zone);
        let mut booking_clock = PracticeClock::new(zone);

        let mut overall = Tally::default();
        let mut left_out = 0;
        let mut cancellation_notice = NoticeTally::default();
        let mut reschedule_notice = NoticeTally::default();
        let mut grid = [[Tally::default(); 24]; 7];
        let mut places: HashMap<&str, Place> = HashMap::default();
        let mut by_provider = Breakdown::default();
        let mut by_location = Breakdown::default();
        let mut by_visit_reason = Breakdown::default();
        let mut by_patient_type = [Tally::default(); 3];
        let mut by_lead_time = [Tally::default(); LeadTime::ALL.len()];
        let mut by_week = vec![Tally::default(); week_count];
        let mut losses = Vec::new();

        for appointment in &facts.appointments {
            let local = start_clock.local(appointment.start);
            let day = local.date();
            if day < query.from || day > query.to || appointment.start >= now {
                continue;
            }
            let id = &*appointment.provider_location_id;
            let place = *places.entry(id).or_insert_with(|| {
                let (provider, location) = split_provider_location(id);
                Place {
                    admitted: query.admits(id),
                    provider: by_provider.slot(provider),
                    location: by_location.slot(location),
                }
            });
            if !place.admitted {
                continue;
            }
            let outcome = appointment.outcome;
            if !outcome.is_counted() {
                left_out += 1;
                continue;
            }
            let rescheduled = appointment.rescheduled.is_some();
            let add = |tally: &mut Tally| tally.add(outcome, rescheduled);
            add(&mut overall);
            let weekday = usize::try_from(day.weekday().to_monday_zero_offset()).unwrap_or(0);
            let hour = usize::try_from(local.hour()).unwrap_or(0);
            add(&mut grid[weekday][hour]);
            add(by_provider.tally(place.provider));
            add(by_location.tally(place.location));
            let visit_reason = by_visit_reason.slot(Some(&appointment.visit_reason_id));
            add(by_visit_reason.tally(visit_reason));
            let patient_type = match appointment.patient_type {
                Some(PatientKind::New) => 0,
                Some(PatientKind::Existing) => 1,
                None => 2,
            };
            add(&mut by_patient_type[patient_type]);
            let lead_time = appointment.created.map_or(LeadTime::Unknown, |created| {
                LeadTime::between(booking_clock.local(created).date(), day)
            });
            add(&mut by_lead_time[lead_time.index()]);
            let week = first_monday.duration_until(day).as_hours() / (24 * 7);
            if let Some(tally) = usize::try_from(week).ok().and_then(|w| by_week.get_mut(w)) {
                add(tally);
            }

            if outcome == Outcome::Cancelled {
                cancellation_notice.add(appointment.cancelled_at, appointment.start);
            }
            if let Some(reschedule) = &appointment.rescheduled {
                reschedule_notice.add(reschedule.at, reschedule.from_start);
            }
            if matches!(outcome, Outcome::Cancelled | Outcome::NoShow) {
                losses.push(appointment);
            }
        }

        Ok(Patterns {
            from: query.from,
            to: query.to,
            time_zone: zone.iana_name().map(str::to_owned),
            too_few_below: TOO_FEW_BELOW,
            overall: overall.figures(),
            left_out,
            cancellation_notice: cancellation_notice.notice(),
            reschedule_notice: reschedule_notice.notice(),
            rebook: rebook(facts, &losses, now),
            by_weekday_hour: (0..7)
                .flat_map(|weekday| (0..24).map(move |hour| (weekday, hour)))
                .map(|(weekday, hour)| WeekdayHour {
                    weekday: i8::try_from(weekday + 1).unwrap_or(i8::MAX),
                    hour: i8::try_from(hour).unwrap_or(i8::MAX),
                    figures: grid[weekday][hour].figures(),
                })
                .collect(),
            providers: by_provider.ids(),
            locations: by_location.ids(),
            by_provider: by_provider.groups(),
            by_location: by_location.groups(),
            by_visit_reason: by_visit_reason.groups(),
            by_patient_type: [Some(PatientKind::New), Some(PatientKind::Existing), None]
                .into_iter()
                .zip(by_patient_type)
                .map(|(patient_type, tally)| PatientTypeGroup {
                    patient_type,
                    figures: tally.figures(),
                })
                .collect(),
            by_lead_time: LeadTime::ALL
                .into_iter()
                .zip(by_lead_time)
                .map(|(lead_time, tally)| LeadTimeGroup {
                    lead_time,
                    figures: tally.figures(),
                })
                .collect(),
            by_week: by_week
                .into_iter()
                .enumerate()
                .map(|(index, tally)| Week {
                    monday: first_monday
                        .checked_add(SignedDuration::from_hours(
                            24 * 7 * i64::try_from(index).unwrap_or(0),
                        ))
                        .unwrap_or(first_monday),
                    figures: tally.figures(),
                })
                .collect(),
        })
    }
}

/// The rebook figures for the cancelled and no-show appointments `losses`, matched against
/// every booking in `facts`.
fn rebook(facts: &Facts, losses: &[&AppointmentFacts], now: Timestamp) -> Rebook {
    // Patients by small numbers, in order of first booking: sorting and searching the bookings
    // then compares integers, not ids.
    let mut patients: HashMap<&PatientKey, u32> = HashMap::default();
    let mut number = |patient| {
        let next = u32::try_from(patients.len()).unwrap_or(u32::MAX);
        *patients.entry(patient).or_insert(next)
    };
    let in_range = facts.appointments.iter().filter_map(|appointment| {
        let patient = appointment.patient.as_ref()?;
        let created = appointment.created?;
        (appointment.outcome != Outcome::BookingFailed).then_some((
            patient,
            created,
            appointment.id.as_str(),
        ))
    });
    let others = facts.other_bookings.iter().map(|booking| {
        (
            &booking.patient,
            booking.created,
            booking.appointment_id.as_str(),
        )
    });
    // Sorted by patient, then booking time: one patient's bookings in order are a slice.
    let mut bookings: Vec<(u32, Timestamp, &str)> = in_range
        .chain(others)
        .map(|(patient, created, id)| (number(patient), created, id))
        .collect();
    bookings.sort_unstable_by_key(|&(patient, created, _)| (patient, created));

    let (mut cancelled, mut no_show) = ([0u32; 2], [0u32; 2]);
    let (mut without_patient_id, mut window_open) = (0, 0);
    for loss in losses {
        let Some(patient) = &loss.patient else {
            without_patient_id += 1;
            continue;
        };
        let event = loss.loss_at();
        let Ok(window_end) = event.checked_add(REBOOK_WITHIN) else {
            window_open += 1;
            continue;
        };
        if window_end > now {
            window_open += 1;
            continue;
        }
        let rebooked = patients.get(patient).is_some_and(|&patient| {
            let first =
                bookings.partition_point(|&(who, created, _)| (who, created) < (patient, event));
            bookings[first..]
                .iter()
                .take_while(|&&(who, created, _)| who == patient && created <= window_end)
                .any(|&(_, _, id)| id != loss.id)
        });
        let counts = if loss.outcome == Outcome::Cancelled {
            &mut cancelled
        } else {
            &mut no_show
        };
        counts[0] += u32::from(rebooked);
        counts[1] += 1;
    }
    Rebook {
        all: Rate::new(cancelled[0] + no_show[0], cancelled[1] + no_show[1]),
        after_cancellation: Rate::new(cancelled[0], cancelled[1]),
        after_no_show: Rate::new(no_show[0], no_show[1]),
        without_patient_id,
        window_open,
    }
}

impl Store {
    /// Every figure of `query` as of `now`: [`Facts::load`], then [`Patterns::compute`].
    pub fn patterns(&self, query: &Query, now: Timestamp) -> Result<Patterns, AnalyticsError> {
        let facts = Facts::load(self, query)?;
        Patterns::compute(&facts, query, now)
    }
}
