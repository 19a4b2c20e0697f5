//! Listing: every filter and sort reaches Zocdoc in the spec's format and selects the right
//! appointments; all pages of a query are fetched; paging stops at the 1,000 cap and says so, so
//! a resync can split the window; invalid paging is refused before sending.

use std::collections::BTreeSet;

use deskbridge_zocdoc::api::{
    AppointmentStatus, Error, ListQuery, RequestProblem, SortBy, SortDirection, TimeWindow,
};
use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use crate::support::{FakeZocdoc, Route, appointment_json, timestamp};

/// Inserts `count` appointments `g-0000`…, modified one minute apart from `first_modified`,
/// starting one hour apart; statuses, providers and locations cycle.
fn seed(zocdoc: &FakeZocdoc, count: usize, first_modified: Timestamp) -> Vec<String> {
    let statuses = ["confirmed", "pending_booking", "cancelled"];
    (0..count)
        .map(|n| {
            let id = format!("g-{n:04}");
            let minutes = i64::try_from(n).unwrap();
            let mut appointment = appointment_json(
                &id,
                statuses[n % 3],
                timestamp(1_900_000_000) + SignedDuration::from_hours(minutes),
                first_modified + SignedDuration::from_mins(minutes),
            );
            appointment["provider_location_id"] = json!(format!("pr_{}|lo_{}", n % 2, n % 5));
            appointment["practice_id"] = json!(format!("pt_{}", n % 4));
            zocdoc.insert(appointment);
            id
        })
        .collect()
}

#[tokio::test]
async fn every_filter_and_sort_reaches_zocdoc_in_the_spec_format() {
    let zocdoc = FakeZocdoc::start().await;
    let base = timestamp(1_750_000_000);
    seed(&zocdoc, 60, base);
    let (client, _clock) = zocdoc.client();
    let query = ListQuery {
        statuses: vec![AppointmentStatus::Confirmed, AppointmentStatus::Cancelled],
        provider_ids: vec!["pr_0".into()],
        location_ids: vec!["lo_0".into(), "lo_2".into(), "lo_4".into()],
        practice_ids: vec!["pt_0".into(), "pt_2".into()],
        developer_patient_id: None,
        start_time_utc: TimeWindow {
            min: Some(timestamp(1_900_000_000)),
            max: None,
        },
        created_time_utc: TimeWindow {
            min: None,
            max: Some(base + SignedDuration::from_hours(24)),
        },
        last_modified_time_utc: TimeWindow::between(
            base + SignedDuration::from_mins(10),
            base + SignedDuration::from_mins(50),
        ),
        sort_by: Some(SortBy::LastModifiedTimeUtc),
        sort_direction: Some(SortDirection::Ascending),
        page: Some(0),
        page_size: Some(50),
    };
    let page = client.list_appointments(&query).await.unwrap();
    let sent = zocdoc
        .seen()
        .into_iter()
        .find(|s| s.route == Route::List)
        .unwrap();
    assert_eq!(
        sent.query.as_deref(),
        Some(
            "page=0&page_size=50&statuses=confirmed,cancelled&sort_by=last_modified_time_utc\
             &sort_direction=ascending&practice_ids=pt_0,pt_2&provider_ids=pr_0\
             &location_ids=lo_0,lo_2,lo_4&start_time_utc_min=2030-03-17%2017:46:40%2B00:00\
             &created_time_utc_max=2025-06-16%2015:06:40%2B00:00\
             &last_modified_time_utc_min=2025-06-15%2015:16:40%2B00:00\
             &last_modified_time_utc_max=2025-06-15%2015:56:40%2B00:00"
        )
    );
    let ids: Vec<&str> = page
        .appointments
        .iter()
        .map(|a| a.appointment_id.as_str())
        .collect();
    let expected: Vec<String> = (10..=50)
        .filter(|n| n % 3 != 1 && n % 2 == 0 && n % 5 % 2 == 0 && n % 4 % 2 == 0)
        .map(|n| format!("g-{n:04}"))
        .collect();
    assert_eq!(ids, expected);
    assert_eq!(page.total_count, u64::try_from(expected.len()).unwrap());
    assert_eq!(page.next_url, None);

    let by_patient = ListQuery {
        developer_patient_id: Some("mrn-g-0007".into()),
        ..ListQuery::default()
    };
    let page = client.list_appointments(&by_patient).await.unwrap();
    assert_eq!(page.appointments.len(), 1);
    assert_eq!(page.appointments[0].appointment_id.as_str(), "g-0007");
}

#[tokio::test]
async fn the_default_sort_is_newest_start_first_and_each_sort_is_honoured() {
    let zocdoc = FakeZocdoc::start().await;
    let ids = seed(&zocdoc, 5, timestamp(1_750_000_000));
    let (client, _clock) = zocdoc.client();
    let window = ListQuery {
        statuses: vec![
            AppointmentStatus::Confirmed,
            AppointmentStatus::PendingBooking,
            AppointmentStatus::Cancelled,
        ],
        start_time_utc: TimeWindow {
            min: Some(timestamp(1_900_000_000)),
            max: None,
        },
        ..ListQuery::default()
    };
    let order = |page: deskbridge_zocdoc::api::Page| -> Vec<String> {
        page.appointments
            .into_iter()
            .map(|a| a.appointment_id.into_string())
            .collect()
    };
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
    assert_eq!(
        order(client.list_appointments(&window).await.unwrap()),
        newest_first
    );
    for sort_by in SortBy::ALL {
        let ascending = ListQuery {
            sort_by: Some(*sort_by),
            sort_direction: Some(SortDirection::Ascending),
            ..window.clone()
        };
        assert_eq!(
            order(client.list_appointments(&ascending).await.unwrap()),
            ids
        );
    }
}

#[tokio::test]
async fn all_pages_of_a_query_are_fetched() {
    let zocdoc = FakeZocdoc::start().await;
    let base = timestamp(1_750_000_000);
    let ids = seed(&zocdoc, 250, base);
    let (client, _clock) = zocdoc.client();
    let query = ListQuery::modified_within(TimeWindow::between(
        base,
        base + SignedDuration::from_hours(10),
    ));
    let listing = client.list_all_appointments(&query).await.unwrap();
    assert_eq!(listing.pages, 3);
    assert_eq!(listing.total_count, 250);
    assert!(!listing.capped);
    let got: Vec<String> = listing
        .appointments
        .iter()
        .map(|a| a.appointment_id.to_string())
        .collect();
    assert_eq!(got, ids, "complete, in last-modified order, each once");
    let pages: Vec<String> = zocdoc
        .seen()
        .iter()
        .filter(|s| s.route == Route::List)
        .map(|s| s.query.clone().unwrap())
        .collect();
    assert!(pages[0].starts_with("page=0&page_size=100&"));
    assert!(pages[2].starts_with("page=2&page_size=100&"));
}

#[tokio::test]
async fn small_pages_stop_at_page_ten_and_report_the_cap() {
    let zocdoc = FakeZocdoc::start().await;
    let base = timestamp(1_750_000_000);
    seed(&zocdoc, 40, base);
    let (client, _clock) = zocdoc.client();
    let query = ListQuery {
        page_size: Some(3),
        ..ListQuery::modified_within(TimeWindow::between(
            base,
            base + SignedDuration::from_hours(1),
        ))
    };
    let listing = client.list_all_appointments(&query).await.unwrap();
    assert_eq!(listing.pages, 11, "pages 0 to 10");
    assert_eq!(listing.appointments.len(), 33);
    assert!(listing.capped);
}

#[tokio::test]
async fn paging_stops_at_the_cap_and_a_split_window_sees_everything() {
    let zocdoc = FakeZocdoc::start().await;
    let base = timestamp(1_750_000_000);
    let ids = seed(&zocdoc, 1_200, base);
    let (client, _clock) = zocdoc.client();
    let end = base + SignedDuration::from_hours(24);
    let whole = client
        .list_all_appointments(&ListQuery::modified_within(TimeWindow::between(base, end)))
        .await
        .unwrap();
    assert!(whole.capped);
    assert_eq!(whole.appointments.len(), 1_000);
    assert_eq!(whole.pages, 10);
    assert_eq!(whole.total_count, 1_200);

    let middle = base + SignedDuration::from_hours(12);
    let mut seen = BTreeSet::new();
    for window in [
        TimeWindow::between(base, middle),
        TimeWindow::between(middle, end),
    ] {
        let half = client
            .list_all_appointments(&ListQuery::modified_within(window))
            .await
            .unwrap();
        assert!(!half.capped);
        seen.extend(
            half.appointments
                .into_iter()
                .map(|a| a.appointment_id.into_string()),
        );
    }
    assert_eq!(seen, ids.into_iter().collect());
}

#[tokio::test]
async fn out_of_range_paging_is_refused_before_sending() {
    let zocdoc = FakeZocdoc::start().await;
    let (client, _clock) = zocdoc.client();
    let error = client
        .list_appointments(&ListQuery::default().with_page(11))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::InvalidRequest {
                problem: RequestProblem::PageOutOfRange { page: 11 },
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(zocdoc.count(Route::List), 0);
    assert_eq!(zocdoc.count(Route::Token), 0);
}
