//! The figures on constructed facts with hand-computed answers (New York's DST days included),
//! and once through a real store seeded by the appointments module's own upserts.

use deskbridge_zocdoc::api::{AppointmentStatus, OffsetTime, PatientType, StatusChange};
use jiff::civil::date;
use jiff::tz::{Offset, TimeZone};

use super::*;
use crate::testing::{appointment, store};

fn new_york() -> TimeZone {
    TimeZone::get("America/New_York").unwrap()
}

fn utc(text: &str) -> Timestamp {
    text.parse().unwrap()
}

/// An appointment of `outcome` starting at `start` (RFC 3339), with nothing else known.
fn fact(id: &str, outcome: Outcome, start: &str) -> AppointmentFacts {
    AppointmentFacts {
        id: id.to_owned(),
        outcome,
        start: utc(start),
        created: None,
        provider_location_id: "pr_a|lo_x".into(),
        visit_reason_id: "pc_1".into(),
        patient_type: None,
        patient: None,
        cancelled_at: None,
        rescheduled: None,
    }
}

fn facts(appointments: Vec<AppointmentFacts>) -> Facts {
    Facts {
        appointments,
        other_bookings: Vec::new(),
    }
}

/// March 2026 in New York (DST starts Sunday 8 March), as of 1 April.
fn march() -> Query {
    Query::new(date(2026, 3, 1), date(2026, 3, 31), new_york())
}

const APRIL_FIRST: &str = "2026-04-01T12:00:00Z";

fn compute(facts: &Facts, query: &Query, now: &str) -> Patterns {
    Patterns::compute(facts, query, utc(now)).unwrap()
}

fn cell(patterns: &Patterns, weekday: i8, hour: i8) -> Figures {
    let cell = patterns
        .by_weekday_hour
        .iter()
        .find(|cell| cell.weekday == weekday && cell.hour == hour)
        .unwrap();
    cell.figures
}

#[test]
fn rates_carry_their_counts_and_the_too_few_mark() {
    assert_eq!(
        Rate::new(3, 19),
        Rate {
            numerator: 3,
            denominator: 19,
            value: Some(3.0 / 19.0),
            too_few: true
        }
    );
    assert!(!Rate::new(5, 20).too_few);
    assert_eq!(Rate::new(5, 20).value, Some(0.25));
    assert_eq!(Rate::new(0, 0).value, None);
    assert!(Rate::new(0, 0).too_few);
}

#[test]
fn no_show_rate_leaves_out_cancelled_rescheduled_away_future_and_unbooked() {
    let moved_in = AppointmentFacts {
        rescheduled: Some(Reschedule {
            at: Some(utc("2026-03-01T15:00:00Z")),
            from_start: utc("2026-03-20T15:00:00Z"),
        }),
        ..fact("moved-in", Outcome::Booked, "2026-03-10T15:00:00Z")
    };
    let moved_away = AppointmentFacts {
        rescheduled: Some(Reschedule {
            at: Some(utc("2026-03-01T15:00:00Z")),
            from_start: utc("2026-03-10T16:00:00Z"),
        }),
        ..fact("moved-away", Outcome::Booked, "2026-04-20T15:00:00Z")
    };
    let awaiting = AppointmentFacts {
        rescheduled: Some(Reschedule {
            at: None,
            from_start: utc("2026-03-11T15:00:00Z"),
        }),
        ..fact("awaiting", Outcome::AwaitingNewTime, "2026-03-11T15:00:00Z")
    };
    let all = facts(vec![
        fact("b1", Outcome::Booked, "2026-03-02T15:00:00Z"),
        fact("b2", Outcome::Booked, "2026-03-03T15:00:00Z"),
        fact("b3", Outcome::Booked, "2026-03-04T15:00:00Z"),
        fact("ns", Outcome::NoShow, "2026-03-05T15:00:00Z"),
        fact("cx", Outcome::Cancelled, "2026-03-06T15:00:00Z"),
        moved_in,
        moved_away,
        awaiting,
        // Not yet started on 1 April at noon UTC (8:00 in New York), though in the range.
        fact("future", Outcome::Booked, "2026-03-31T23:00:00Z"),
        fact("failed", Outcome::BookingFailed, "2026-03-12T15:00:00Z"),
        fact(
            "pending",
            Outcome::AwaitingConfirmation,
            "2026-03-12T16:00:00Z",
        ),
        fact("odd", Outcome::Unrecognised, "2026-03-12T17:00:00Z"),
    ]);
    let patterns = compute(&all, &march(), "2026-03-31T22:00:00Z");
    // Counted: b1 b2 b3 ns cx moved-in awaiting = 7.
    assert_eq!(patterns.overall.appointments, 7);
    // No-show: ns out of b1 b2 b3 ns moved-in (cancelled and awaiting left out).
    assert_eq!(patterns.overall.no_show, Rate::new(1, 5));
    assert_eq!(patterns.overall.cancellation, Rate::new(1, 7));
    // Rescheduled: moved-in and awaiting (moved-away counts in April, where it went).
    assert_eq!(patterns.overall.reschedule, Rate::new(2, 7));
    assert_eq!(patterns.left_out, 3);
    assert_eq!(patterns.reschedule_notice.unknown, Rate::new(1, 2));
    // The reschedule of moved-in came 19 days before the start it gave up.
    assert_eq!(patterns.reschedule_notice.over_three_days, Rate::new(1, 2));
}

#[test]
fn range_days_are_the_practice_days_of_23_and_25_hours() {
    let spring = Query::new(date(2026, 3, 8), date(2026, 3, 8), new_york());
    assert_eq!(
        spring.utc_bounds().unwrap(),
        (utc("2026-03-08T05:00:00Z"), utc("2026-03-09T04:00:00Z"))
    );
    let autumn = Query::new(date(2026, 11, 1), date(2026, 11, 1), new_york());
    assert_eq!(
        autumn.utc_bounds().unwrap(),
        (utc("2026-11-01T04:00:00Z"), utc("2026-11-02T05:00:00Z"))
    );
    let edges = facts(vec![
        // 23:59 on 7 March (EST): the day before.
        fact("before", Outcome::Booked, "2026-03-08T04:59:00Z"),
        // 00:00 EST, the first minute of 8 March.
        fact("first", Outcome::Booked, "2026-03-08T05:00:00Z"),
        // 23:59 EDT, the last minute of 8 March.
        fact("last", Outcome::NoShow, "2026-03-09T03:59:00Z"),
        // 00:00 EDT on 9 March.
        fact("after", Outcome::Booked, "2026-03-09T04:00:00Z"),
    ]);
    let patterns = compute(&edges, &spring, APRIL_FIRST);
    assert_eq!(patterns.overall.appointments, 2);
    assert_eq!(patterns.overall.no_show, Rate::new(1, 2));
    let both = facts(vec![
        fact("first", Outcome::Booked, "2026-11-01T04:00:00Z"),
        fact("last", Outcome::Booked, "2026-11-02T04:59:00Z"),
        fact("after", Outcome::Booked, "2026-11-02T05:00:00Z"),
    ]);
    let patterns = compute(&both, &autumn, "2026-12-01T00:00:00Z");
    assert_eq!(patterns.overall.appointments, 2);
}

#[test]
fn an_empty_range_is_refused() {
    let backwards = Query::new(date(2026, 3, 2), date(2026, 3, 1), new_york());
    assert!(matches!(
        Patterns::compute(&Facts::default(), &backwards, utc(APRIL_FIRST)),
        Err(AnalyticsError::EmptyRange { .. })
    ));
}

#[test]
fn weekday_and_hour_follow_the_practice_clock_across_dst() {
    let autumn = Query::new(date(2026, 10, 26), date(2026, 11, 8), new_york());
    let fall_back = facts(vec![
        // 01:30 EDT and, an hour later, 01:30 EST on Sunday 1 November: both the 1 o'clock hour.
        fact("first-0130", Outcome::Booked, "2026-11-01T05:30:00Z"),
        fact("second-0130", Outcome::NoShow, "2026-11-01T06:30:00Z"),
        // 02:30 EST.
        fact("0230", Outcome::Booked, "2026-11-01T07:30:00Z"),
    ]);
    let patterns = compute(&fall_back, &autumn, "2026-12-01T00:00:00Z");
    assert_eq!(patterns.by_weekday_hour.len(), 168);
    assert_eq!(
        (
            patterns.by_weekday_hour[0].weekday,
            patterns.by_weekday_hour[0].hour
        ),
        (1, 0)
    );
    assert_eq!(cell(&patterns, 7, 1).appointments, 2);
    assert_eq!(cell(&patterns, 7, 1).no_show, Rate::new(1, 2));
    assert_eq!(cell(&patterns, 7, 2).appointments, 1);
    // 05:30 and 06:30 UTC would be the 5 and 6 o'clock hours.
    assert_eq!(cell(&patterns, 7, 5).appointments, 0);

    let spring_forward = facts(vec![
        // 01:30 EST, then 03:30 EDT: the clock skips the 2 o'clock hour.
        fact("0130", Outcome::Booked, "2026-03-08T06:30:00Z"),
        fact("0330", Outcome::Booked, "2026-03-08T07:30:00Z"),
        // Monday 03:30 UTC is still Sunday 23:30 in New York.
        fact("sunday-late", Outcome::NoShow, "2026-03-09T03:30:00Z"),
    ]);
    let patterns = compute(&spring_forward, &march(), APRIL_FIRST);
    assert_eq!(cell(&patterns, 7, 1).appointments, 1);
    assert_eq!(cell(&patterns, 7, 2).appointments, 0);
    assert_eq!(cell(&patterns, 7, 3).appointments, 1);
    assert_eq!(cell(&patterns, 7, 23).no_show, Rate::new(1, 1));
    assert_eq!(cell(&patterns, 1, 3).appointments, 0);
}

#[test]
fn weeks_run_monday_to_sunday_on_the_practice_calendar() {
    // Wednesday 4 March to Tuesday 10 March: the weeks of Monday 2 and Monday 9 March.
    let query = Query::new(date(2026, 3, 4), date(2026, 3, 10), new_york());
    let week = facts(vec![
        // Sunday 8 March, 23:30 EDT (Monday in UTC): the first week.
        fact("sunday", Outcome::NoShow, "2026-03-09T03:30:00Z"),
        fact("wednesday", Outcome::Booked, "2026-03-04T15:00:00Z"),
        // Monday 9 March, 00:30 EDT: the second week.
        fact("monday", Outcome::Cancelled, "2026-03-09T04:30:00Z"),
    ]);
    let patterns = compute(&week, &query, APRIL_FIRST);
    let weeks: Vec<(Date, u32)> = patterns
        .by_week
        .iter()
        .map(|week| (week.monday, week.figures.appointments))
        .collect();
    assert_eq!(weeks, [(date(2026, 3, 2), 2), (date(2026, 3, 9), 1)]);
    assert_eq!(patterns.by_week[0].figures.no_show, Rate::new(1, 2));
    assert_eq!(patterns.by_week[1].figures.cancellation, Rate::new(1, 1));
    assert_eq!(patterns.by_week[1].figures.no_show, Rate::new(0, 0));
}

#[test]
fn lead_time_bands_are_calendar_days_with_exact_edges() {
    let day = |d| date(2026, 3, d);
    for (booked, starts, band) in [
        (day(10), day(10), LeadTime::SameDay),
        (day(11), day(10), LeadTime::SameDay),
        (day(9), day(10), LeadTime::Days1To2),
        (day(8), day(10), LeadTime::Days1To2),
        (day(7), day(10), LeadTime::Days3To7),
        (day(3), day(10), LeadTime::Days3To7),
        (day(2), day(10), LeadTime::Days8To14),
        (date(2026, 2, 24), day(10), LeadTime::Days8To14),
        (date(2026, 2, 23), day(10), LeadTime::Days15To30),
        (date(2026, 2, 8), day(10), LeadTime::Days15To30),
        (date(2026, 2, 7), day(10), LeadTime::Over30Days),
    ] {
        assert_eq!(
            LeadTime::between(booked, starts),
            band,
            "{booked} → {starts}"
        );
    }

    let booked = |id, outcome, created: &str, start| AppointmentFacts {
        created: Some(utc(created)),
        ..fact(id, outcome, start)
    };
    let leads = facts(vec![
        // Booked 23:59 on Monday 2 March for 00:01 Tuesday (EST): 2 minutes, but the next day.
        booked(
            "night",
            Outcome::NoShow,
            "2026-03-03T04:59:00Z",
            "2026-03-03T05:01:00Z",
        ),
        // Booked 00:01 for 23:59 the same day: almost 24 hours, the same day.
        booked(
            "day",
            Outcome::Booked,
            "2026-03-04T05:01:00Z",
            "2026-03-05T04:59:00Z",
        ),
        // Noon Saturday 7 March (EST) for noon Sunday 8 March (EDT): 23 hours, one day.
        booked(
            "dst",
            Outcome::Booked,
            "2026-03-07T17:00:00Z",
            "2026-03-08T16:00:00Z",
        ),
        // 10:00 on Monday 2 March (EST) for 10:00 on 10 March (EDT): 8 calendar days.
        booked(
            "week",
            Outcome::Booked,
            "2026-03-02T15:00:00Z",
            "2026-03-10T14:00:00Z",
        ),
        fact("unknown", Outcome::NoShow, "2026-03-12T15:00:00Z"),
    ]);
    let patterns = compute(&leads, &march(), APRIL_FIRST);
    let bands: Vec<(LeadTime, u32, u32)> = patterns
        .by_lead_time
        .iter()
        .map(|group| {
            (
                group.lead_time,
                group.figures.appointments,
                group.figures.no_show.numerator,
            )
        })
        .collect();
    assert_eq!(
        bands,
        [
            (LeadTime::SameDay, 1, 0),
            (LeadTime::Days1To2, 2, 1),
            (LeadTime::Days3To7, 0, 0),
            (LeadTime::Days8To14, 1, 0),
            (LeadTime::Days15To30, 0, 0),
            (LeadTime::Over30Days, 0, 0),
            (LeadTime::Unknown, 1, 1),
        ]
    );
}

#[test]
fn notice_bands_split_at_exactly_24_and_72_hours() {
    let start = "2026-03-20T15:00:00Z";
    let cancelled = |id, at: Option<&str>| AppointmentFacts {
        cancelled_at: at.map(utc),
        ..fact(id, Outcome::Cancelled, start)
    };
    let moved = |id, at: &str| AppointmentFacts {
        rescheduled: Some(Reschedule {
            at: Some(utc(at)),
            from_start: utc(start),
        }),
        ..fact(id, Outcome::Booked, "2026-03-25T15:00:00Z")
    };
    let all = facts(vec![
        cancelled("after-start", Some("2026-03-20T16:00:00Z")),
        cancelled("23h59", Some("2026-03-19T15:01:00Z")),
        cancelled("24h", Some("2026-03-19T15:00:00Z")),
        cancelled("72h", Some("2026-03-17T15:00:00Z")),
        cancelled("72h+1s", Some("2026-03-17T14:59:59Z")),
        cancelled("unknown", None),
        moved("moved-23h", "2026-03-19T16:00:00Z"),
        moved("moved-24h", "2026-03-19T15:00:00Z"),
        moved("moved-4d", "2026-03-16T15:00:00Z"),
    ]);
    let patterns = compute(&all, &march(), APRIL_FIRST);
    assert_eq!(
        patterns.cancellation_notice,
        Notice {
            under_24_hours: Rate::new(2, 6),
            one_to_three_days: Rate::new(2, 6),
            over_three_days: Rate::new(1, 6),
            unknown: Rate::new(1, 6),
        }
    );
    assert_eq!(
        patterns.reschedule_notice,
        Notice {
            under_24_hours: Rate::new(1, 3),
            one_to_three_days: Rate::new(1, 3),
            over_three_days: Rate::new(1, 3),
            unknown: Rate::new(0, 3),
        }
    );
    assert_eq!(patterns.overall.cancellation, Rate::new(6, 9));
    assert_eq!(patterns.overall.reschedule, Rate::new(3, 9));
}

#[test]
fn rebookings_match_the_patient_within_14_days_after_the_loss() {
    let patient = |name: &str| Some(PatientKey::new(name));
    let lost = |id, outcome, who: &str, start, cancelled_at: Option<&str>| AppointmentFacts {
        patient: patient(who),
        cancelled_at: cancelled_at.map(utc),
        ..fact(id, outcome, start)
    };
    let booking = |id: &str, who: &str, created| Booking {
        appointment_id: id.to_owned(),
        patient: PatientKey::new(who),
        created: utc(created),
    };
    let mut all = facts(vec![
        // A cancels on 2 March; books again 13 days later: rebooked.
        lost(
            "a",
            Outcome::Cancelled,
            "a",
            "2026-03-05T15:00:00Z",
            Some("2026-03-02T15:00:00Z"),
        ),
        // B misses 3 March 15:00 and books exactly 14 days later: rebooked.
        lost("b", Outcome::NoShow, "b", "2026-03-03T15:00:00Z", None),
        // C cancels; books 14 days and a second later: not rebooked.
        lost(
            "c",
            Outcome::Cancelled,
            "c",
            "2026-03-06T15:00:00Z",
            Some("2026-03-04T15:00:00Z"),
        ),
        // D misses; had booked another before the miss, and the one after fails: not rebooked.
        lost("d", Outcome::NoShow, "d", "2026-03-04T15:00:00Z", None),
        AppointmentFacts {
            patient: patient("d"),
            created: Some(utc("2026-03-05T15:00:00Z")),
            ..fact("d-failed", Outcome::BookingFailed, "2026-03-09T15:00:00Z")
        },
        // No developer patient id: left out.
        fact("anonymous", Outcome::NoShow, "2026-03-05T15:00:00Z"),
        // Missed on 25 March: its 14 days are still running on 1 April.
        lost("e", Outcome::NoShow, "e", "2026-03-25T15:00:00Z", None),
    ]);
    all.other_bookings = vec![
        booking("a-again", "a", "2026-03-15T15:00:00Z"),
        booking("b-again", "b", "2026-03-17T15:00:00Z"),
        booking("c-again", "c", "2026-03-18T15:00:01Z"),
        booking("d-before", "d", "2026-03-01T15:00:00Z"),
        booking("e-again", "e", "2026-03-26T15:00:00Z"),
    ];
    let patterns = compute(&all, &march(), APRIL_FIRST);
    assert_eq!(
        patterns.rebook,
        Rebook {
            all: Rate::new(2, 4),
            after_cancellation: Rate::new(1, 2),
            after_no_show: Rate::new(1, 2),
            without_patient_id: 1,
            window_open: 1,
        }
    );
}

#[test]
fn provider_and_location_come_from_the_provider_location_id() {
    let at = |id, provider_location_id: &str, outcome| AppointmentFacts {
        provider_location_id: provider_location_id.into(),
        ..fact(id, outcome, "2026-03-10T15:00:00Z")
    };
    let all = facts(vec![
        at("1", "pr_a|lo_x", Outcome::NoShow),
        at("2", "pr_a|lo_y", Outcome::Booked),
        at("3", "pr_a|lo_y", Outcome::Booked),
        at("4", "pr_b|lo_x", Outcome::Booked),
        at("5", "unsplittable", Outcome::Booked),
    ]);
    let patterns = compute(&all, &march(), APRIL_FIRST);
    let keys = |groups: &[Group]| -> Vec<(Option<String>, u32)> {
        groups
            .iter()
            .map(|group| (group.key.clone(), group.figures.appointments))
            .collect()
    };
    assert_eq!(
        keys(&patterns.by_provider),
        [
            (Some("pr_a".to_owned()), 3),
            (None, 1),
            (Some("pr_b".to_owned()), 1),
        ]
    );
    assert_eq!(
        keys(&patterns.by_location),
        [
            (Some("lo_x".to_owned()), 2),
            (Some("lo_y".to_owned()), 2),
            (None, 1),
        ]
    );
    assert_eq!(patterns.by_provider[0].figures.no_show, Rate::new(1, 3));

    let only = |providers: Option<&[&str]>, locations: Option<&[&str]>| {
        let owned = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect();
        let query = Query {
            providers: providers.map(owned),
            locations: locations.map(owned),
            ..march()
        };
        compute(&all, &query, APRIL_FIRST).overall
    };
    assert_eq!(only(Some(&["pr_a"]), None).appointments, 3);
    assert_eq!(only(None, Some(&["lo_x"])).no_show, Rate::new(1, 2));
    assert_eq!(only(Some(&["pr_a"]), Some(&["lo_y"])).appointments, 2);
    assert_eq!(only(Some(&["pr_c"]), None).appointments, 0);
}

#[test]
fn visit_reason_and_patient_type_breakdowns() {
    let seen = |id, reason: &str, kind, outcome| AppointmentFacts {
        visit_reason_id: reason.into(),
        patient_type: kind,
        ..fact(id, outcome, "2026-03-10T15:00:00Z")
    };
    let all = facts(vec![
        seen("1", "pc_2", Some(PatientKind::New), Outcome::NoShow),
        seen("2", "pc_2", Some(PatientKind::New), Outcome::Booked),
        seen("3", "pc_1", Some(PatientKind::Existing), Outcome::Booked),
        seen("4", "pc_2", None, Outcome::Cancelled),
    ]);
    let patterns = compute(&all, &march(), APRIL_FIRST);
    let reasons: Vec<_> = patterns
        .by_visit_reason
        .iter()
        .map(|g| (g.key.as_deref(), g.figures.appointments))
        .collect();
    assert_eq!(reasons, [(Some("pc_2"), 3), (Some("pc_1"), 1)]);
    let types: Vec<_> = patterns
        .by_patient_type
        .iter()
        .map(|g| (g.patient_type, g.figures.no_show, g.figures.cancellation))
        .collect();
    assert_eq!(
        types,
        [
            (Some(PatientKind::New), Rate::new(1, 2), Rate::new(0, 2)),
            (
                Some(PatientKind::Existing),
                Rate::new(0, 1),
                Rate::new(0, 1)
            ),
            (None, Rate::new(0, 0), Rate::new(1, 1)),
        ]
    );
}

#[test]
fn definitions_are_unique_and_the_output_names_no_patient() {
    let mut ids: Vec<&str> = DEFINITIONS.iter().map(|d| d.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), DEFINITIONS.len());
    assert!(DEFINITIONS.iter().all(|d| d.words.len() > 40));

    let lost = AppointmentFacts {
        patient: Some(PatientKey::new("patient-secret-7")),
        ..fact("x", Outcome::NoShow, "2026-03-03T15:00:00Z")
    };
    assert!(!format!("{lost:?}").contains("patient-secret-7"));
    let patterns = compute(&facts(vec![lost]), &march(), APRIL_FIRST);
    let json = serde_json::to_value(&patterns).unwrap();
    assert!(!json.to_string().contains("patient-secret-7"));
    assert_eq!(json["time_zone"], "America/New_York");
    assert_eq!(json["overall"]["no_show"]["denominator"], 1);
    assert_eq!(json["by_week"][0]["monday"], "2026-02-23");
    assert_eq!(json["by_lead_time"][6]["lead_time"], "unknown");
    assert_eq!(json["by_weekday_hour"][0]["no_show"]["too_few"], true);
}

#[test]
fn facts_and_figures_through_the_real_store() {
    let (_dir, mut store) = store();
    let hours = |h: i64| SignedDuration::from_hours(h);
    // Starts in New York: 10 March 2026, 10:00 EDT = 14:00 UTC.
    let start = utc("2026-03-10T14:00:00Z");
    let booked_on = utc("2026-03-01T14:00:00Z");
    let copy = |id: &str, status, start: Timestamp, modified: Timestamp| {
        let mut copy = appointment(id, 0, 0);
        copy.appointment_status = status;
        copy.start_time = OffsetTime::new(start, Offset::constant(-4));
        copy.created_time_utc = Some(booked_on);
        copy.last_modified_time_utc = Some(modified);
        copy.patient_type = Some(PatientType::New);
        copy
    };
    let mut cancelled = copy("cx", AppointmentStatus::Confirmed, start, booked_on);
    cancelled.developer_patient_id = Some("patient-1".into());
    let mut cancelled_later = cancelled.clone();
    cancelled_later.appointment_status = AppointmentStatus::Cancelled;
    cancelled_later.last_modified_time_utc = Some(start - hours(48));
    // The same patient books again 3 days after cancelling, for April (outside the range).
    let mut rebooked = copy(
        "again",
        AppointmentStatus::Confirmed,
        utc("2026-04-02T14:00:00Z"),
        start + hours(24),
    );
    rebooked.developer_patient_id = Some("patient-1".into());
    rebooked.created_time_utc = Some(start + hours(24));
    let moved_from = start - hours(24 * 3);
    let original = copy("mv", AppointmentStatus::Confirmed, moved_from, booked_on);
    let moved = copy(
        "mv",
        AppointmentStatus::Rescheduled,
        start + hours(1),
        moved_from - hours(30),
    );
    store
        .record_appointments(
            &[
                cancelled,
                cancelled_later,
                rebooked,
                original,
                moved,
                copy("ok", AppointmentStatus::Confirmed, start, booked_on),
                copy("ns", AppointmentStatus::Confirmed, start, booked_on),
                copy("failed", AppointmentStatus::BookingFailed, start, booked_on),
            ],
            booked_on,
        )
        .unwrap();
    let no_show = StatusChange {
        request_id: None,
        appointment_id: "ns".into(),
        appointment_status: AppointmentStatus::NoShow,
        developer_patient_id: None,
    };
    store
        .record_status_change(&no_show, start + hours(2))
        .unwrap();

    let query = march();
    let facts = Facts::load(&store, &query).unwrap();
    let mut ids: Vec<&str> = facts.appointments.iter().map(|a| a.id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["cx", "failed", "mv", "ns", "ok"]);
    let by_id = |id: &str| facts.appointments.iter().find(|a| a.id == id).unwrap();
    assert_eq!(by_id("cx").outcome, Outcome::Cancelled);
    assert_eq!(by_id("cx").cancelled_at, Some(start - hours(48)));
    assert_eq!(by_id("cx").patient, Some(PatientKey::new("patient-1")));
    assert_eq!(by_id("cx").patient_type, Some(PatientKind::New));
    assert_eq!(
        by_id("mv").rescheduled,
        Some(Reschedule {
            at: Some(moved_from - hours(30)),
            from_start: moved_from,
        })
    );
    assert_eq!(by_id("ns").outcome, Outcome::NoShow);
    assert_eq!(by_id("ok").rescheduled, None);
    assert_eq!(
        facts.other_bookings,
        [Booking {
            appointment_id: "again".to_owned(),
            patient: PatientKey::new("patient-1"),
            created: start + hours(24),
        }]
    );

    let patterns = store.patterns(&query, utc(APRIL_FIRST)).unwrap();
    assert_eq!(patterns.overall.appointments, 4);
    assert_eq!(patterns.overall.no_show, Rate::new(1, 3));
    assert_eq!(patterns.overall.cancellation, Rate::new(1, 4));
    assert_eq!(patterns.overall.reschedule, Rate::new(1, 4));
    assert_eq!(patterns.left_out, 1);
    assert_eq!(
        patterns.cancellation_notice.one_to_three_days,
        Rate::new(1, 1)
    );
    assert_eq!(
        patterns.reschedule_notice.one_to_three_days,
        Rate::new(1, 1)
    );
    // The cancellation was rebooked; the no-show has no developer patient id.
    assert_eq!(patterns.rebook.after_cancellation, Rate::new(1, 1));
    assert_eq!(patterns.rebook.without_patient_id, 1);
    // 10:00 EDT on Tuesday 10 March; the moved one at 11:00.
    assert_eq!(cell(&patterns, 2, 10).appointments, 3);
    assert_eq!(cell(&patterns, 2, 11).reschedule, Rate::new(1, 1));
    assert_eq!(patterns.by_provider[0].key.as_deref(), Some("pr_a"));
}

#[test]
fn stored_times_read_by_position_agree_with_the_general_parser() {
    use crate::store::format_timestamp;

    for text in [
        "1970-01-01T00:00:00Z",
        "2026-03-08T06:59:59.999999Z",
        "2024-02-29T23:30:00.000001Z",
        "2026-11-01T05:30:00.5Z",
        "9999-12-30T21:59:59.999999Z",
    ] {
        let at = utc(text);
        let stored = format_timestamp(at);
        assert_eq!(
            facts::fixed_width_timestamp(stored.as_bytes()),
            Some(at),
            "{stored}"
        );
    }
    // Anything else is left to the general parser.
    for text in [
        "2026-03-08T06:59:59Z",
        "2026-02-30T00:00:00.000000Z",
        "2026-03-08T06:59:5x.000000Z",
        "2026-03-08 06:59:59.000000Z",
        "+2026-03-08T06:59:59.00000Z",
    ] {
        assert_eq!(
            facts::fixed_width_timestamp(text.as_bytes()),
            None,
            "{text}"
        );
    }
}

#[test]
fn presets_end_today_and_cover_whole_months() {
    let days = |preset: RangePreset, today| preset.days(today);
    assert_eq!(
        days(RangePreset::LastFourWeeks, date(2026, 3, 10)),
        (date(2026, 2, 11), date(2026, 3, 10))
    );
    assert_eq!(
        days(RangePreset::LastQuarter, date(2026, 3, 31)),
        (date(2026, 1, 1), date(2026, 3, 31))
    );
    // 31 May less three months is the last day of February; the range starts the day after.
    assert_eq!(
        days(RangePreset::LastQuarter, date(2026, 5, 31)),
        (date(2026, 3, 1), date(2026, 5, 31))
    );
    assert_eq!(
        days(RangePreset::LastYear, date(2026, 12, 31)),
        (date(2026, 1, 1), date(2026, 12, 31))
    );
    assert_eq!(
        days(RangePreset::LastYear, date(2028, 2, 29)),
        (date(2027, 3, 1), date(2028, 2, 29))
    );
}

#[test]
fn filter_choices_list_every_provider_and_location_whatever_the_filters() {
    let at = |id, provider_location_id: &str, outcome| AppointmentFacts {
        provider_location_id: provider_location_id.into(),
        ..fact(id, outcome, "2026-03-10T15:00:00Z")
    };
    let all = facts(vec![
        at("1", "pr_b|lo_y", Outcome::Booked),
        at("2", "pr_a|lo_x", Outcome::Booked),
        at("3", "pr_c|lo_z", Outcome::BookingFailed),
        at("4", "unsplittable", Outcome::Booked),
        // Outside the range: not a choice.
        AppointmentFacts {
            provider_location_id: "pr_d|lo_w".into(),
            ..fact("5", Outcome::Booked, "2026-04-10T15:00:00Z")
        },
    ]);
    let query = Query {
        providers: Some(vec!["pr_a".to_owned()]),
        ..march()
    };
    let patterns = compute(&all, &query, "2026-05-01T00:00:00Z");
    assert_eq!(patterns.providers, ["pr_a", "pr_b", "pr_c"]);
    assert_eq!(patterns.locations, ["lo_x", "lo_y", "lo_z"]);
    assert_eq!(patterns.overall.appointments, 1);
    assert_eq!(patterns.by_provider.len(), 1);
}
