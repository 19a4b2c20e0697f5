//! `GET /v1/appointments`: filters, sorting, page limits (400 `ErrorResult`), the 1,000-per-query
//! cap, `next_url`, and the time format of the filters.

use std::collections::BTreeSet;

use deskbridge_sandbox::zocdoc::{AppointmentStatus, BulkLoad, DEFAULT_PAGE_SIZE, FIXED};
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use crate::common::{Harness, t0};

fn ids(reply: &Value) -> Vec<String> {
    reply["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["appointment_id"].as_str().unwrap().to_owned())
        .collect()
}

fn times(reply: &Value, field: &str) -> Vec<Timestamp> {
    reply["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a[field].as_str().unwrap().parse().unwrap())
        .collect()
}

/// The filter format of the spec, percent-encoded as a query string needs (`+` is `%2B`).
fn filter_time(time: Timestamp) -> String {
    time.strftime("%Y-%m-%d%%20%H:%M:%S%%2B00:00").to_string()
}

async fn bulk(harness: &Harness, count: usize) -> (Timestamp, Timestamp) {
    let from = t0() - SignedDuration::from_hours(24 * 30);
    let to = t0() - SignedDuration::from_hours(1);
    harness
        .emulator()
        .load_bulk(&BulkLoad::new(count, from, to, 5));
    (from, to)
}

#[tokio::test]
async fn page_and_page_size_out_of_range_are_400_error_results() {
    let harness = Harness::sandbox().await;
    for (query, field) in [
        ("page=11", "page"),
        ("page=-1", "page"),
        ("page_size=101", "page_size"),
        ("page_size=0", "page_size"),
        ("sort_by=name", "sort_by"),
        ("sort_direction=sideways", "sort_direction"),
        ("statuses=arrived", "statuses"),
        ("start_time_utc_min=yesterday", "start_time_utc_min"),
    ] {
        let reply = harness.get(&format!("/v1/appointments?{query}")).await;
        assert_eq!(reply.status, 400, "{query}");
        let body = reply.json();
        assert_eq!(body["error_type"], "invalid_request");
        assert_eq!(reply.error_fields(), [field], "{query}");
    }
    for query in ["page=10", "page=0&page_size=1", "page_size=100"] {
        let reply = harness.get(&format!("/v1/appointments?{query}")).await;
        assert_eq!(reply.status, 200, "{query}");
    }
}

#[tokio::test]
async fn an_unencoded_plus_in_a_filter_time_is_a_bad_request() {
    let harness = Harness::sandbox().await;
    let reply = harness
        .get("/v1/appointments?last_modified_time_utc_min=2025-01-01%2000:00:00+00:00")
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.error_fields(), ["last_modified_time_utc_min"]);
}

#[tokio::test]
async fn at_most_a_thousand_appointments_are_reachable_per_query() {
    let harness = Harness::sandbox().await;
    bulk(&harness, 1_500).await;
    let mut seen = BTreeSet::new();
    for page in 0..=10 {
        let reply = harness
            .get(&format!("/v1/appointments?page={page}&page_size=100"))
            .await
            .json();
        assert_eq!(
            reply["total_count"], 1_000,
            "capped, not the 1,510 that match"
        );
        assert_eq!(reply["page"], page);
        assert_eq!(reply["page_size"], 100);
        let page_ids = ids(&reply);
        match page {
            0..=8 => {
                assert_eq!(page_ids.len(), 100);
                assert!(reply["next_url"].is_string());
            }
            9 => {
                assert_eq!(page_ids.len(), 100);
                assert!(reply["next_url"].is_null(), "the cap ends the pages");
            }
            _ => assert!(page_ids.is_empty()),
        }
        seen.extend(page_ids);
    }
    assert_eq!(seen.len(), 1_000);
}

#[tokio::test]
async fn next_url_leads_to_the_next_page_with_the_same_filters() {
    let harness = Harness::sandbox().await;
    bulk(&harness, 250).await;
    let first = harness
        .get("/v1/appointments?statuses=confirmed,cancelled&page_size=50&sort_by=created_time_utc")
        .await
        .json();
    let next = first["next_url"].as_str().unwrap();
    assert!(next.starts_with(&harness.running.base_url()), "{next}");
    let path = next.strip_prefix(&harness.running.base_url()).unwrap();
    let second = harness.get(path).await.json();
    assert_eq!(second["page"], 1);
    let overlap: BTreeSet<_> = ids(&first).into_iter().collect();
    assert!(ids(&second).iter().all(|id| !overlap.contains(id)));
    for appointment in second["data"].as_array().unwrap() {
        let status = appointment["appointment_status"].as_str().unwrap();
        assert!(matches!(status, "confirmed" | "cancelled"), "{status}");
    }
    let created = times(&first, "created_time_utc");
    let last_of_first = *created.last().unwrap();
    assert!(times(&second, "created_time_utc")[0] <= last_of_first);
}

#[tokio::test]
async fn the_default_is_descending_start_time_and_a_small_page() {
    let harness = Harness::sandbox().await;
    bulk(&harness, 40).await;
    let reply = harness.get("/v1/appointments").await.json();
    assert_eq!(reply["page_size"], DEFAULT_PAGE_SIZE);
    let starts = times(&reply, "start_time");
    assert_eq!(starts.len(), DEFAULT_PAGE_SIZE);
    assert!(starts.windows(2).all(|w| w[0] >= w[1]), "{starts:?}");
}

#[tokio::test]
async fn every_sort_field_and_direction_orders_the_pages() {
    let harness = Harness::sandbox().await;
    bulk(&harness, 300).await;
    for (sort_by, field) in [
        ("start_time_utc", "start_time"),
        ("created_time_utc", "created_time_utc"),
        ("last_modified_time_utc", "last_modified_time_utc"),
    ] {
        for direction in ["ascending", "descending"] {
            let mut all = Vec::new();
            for page in 0..3 {
                let reply = harness
                    .get(&format!(
                        "/v1/appointments?sort_by={sort_by}&sort_direction={direction}&page={page}&page_size=100"
                    ))
                    .await
                    .json();
                all.extend(times(&reply, field));
            }
            let ordered = all.windows(2).all(|w| match direction {
                "ascending" => w[0] <= w[1],
                _ => w[0] >= w[1],
            });
            assert!(ordered, "{sort_by} {direction}");
        }
    }
}

#[tokio::test]
async fn time_filters_are_inclusive_at_both_ends() {
    let harness = Harness::sandbox().await;
    bulk(&harness, 500).await;
    let all = harness.emulator().appointments();
    let mut modified: Vec<Timestamp> = all.iter().map(|a| a.last_modified).collect();
    modified.sort();
    let (min, max) = (modified[100], modified[180]);
    let expected = modified.iter().filter(|t| **t >= min && **t <= max).count();
    let reply = harness
        .get(&format!(
            "/v1/appointments?last_modified_time_utc_min={}&last_modified_time_utc_max={}&page_size=100",
            filter_time(min),
            filter_time(max)
        ))
        .await
        .json();
    assert_eq!(reply["total_count"], expected);
    for time in times(&reply, "last_modified_time_utc") {
        assert!(time >= min && time <= max);
    }
    let start_min = t0();
    let reply = harness
        .get(&format!(
            "/v1/appointments?start_time_utc_min={}&page_size=100",
            filter_time(start_min)
        ))
        .await
        .json();
    let expected = all
        .iter()
        .filter(|a| a.start_time >= start_min)
        .count()
        .min(1_000);
    assert_eq!(reply["total_count"], expected);
    let created_max = t0() - SignedDuration::from_hours(24 * 20);
    let reply = harness
        .get(&format!(
            "/v1/appointments?created_time_utc_max={}&page_size=100",
            filter_time(created_max)
        ))
        .await
        .json();
    let expected = all
        .iter()
        .filter(|a| a.created <= created_max)
        .count()
        .min(1_000);
    assert_eq!(reply["total_count"], expected);
}

#[tokio::test]
async fn status_provider_location_and_practice_filters() {
    let harness = Harness::sandbox().await;
    bulk(&harness, 400).await;
    let emulator = harness.emulator();
    let all = emulator.appointments();
    let count = |keep: &dyn Fn(&deskbridge_sandbox::zocdoc::Appointment) -> bool| {
        all.iter().filter(|a| keep(a)).count()
    };
    let reply = harness
        .get("/v1/appointments?statuses=cancelled,no_show&page_size=100")
        .await
        .json();
    assert_eq!(
        reply["total_count"],
        count(&|a| matches!(
            a.status,
            AppointmentStatus::Cancelled | AppointmentStatus::NoShow
        ))
    );
    let provider = emulator.practice().providers[1].provider_id.clone();
    let reply = harness
        .get(&format!(
            "/v1/appointments?provider_ids={provider}&page_size=100"
        ))
        .await
        .json();
    assert_eq!(reply["total_count"], count(&|a| a.provider_id == provider));
    for appointment in reply["data"].as_array().unwrap() {
        assert!(
            appointment["provider_location_id"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{provider}|"))
        );
    }
    let location = emulator.practice().locations[2].location_id.clone();
    let reply = harness
        .get(&format!(
            "/v1/appointments?location_ids={location},lo_unknown&page_size=100"
        ))
        .await
        .json();
    assert_eq!(reply["total_count"], count(&|a| a.location_id == location));
    let practice = emulator.practice().practice_id.clone();
    let reply = harness
        .get(&format!(
            "/v1/appointments?practice_ids={practice}&page_size=100"
        ))
        .await
        .json();
    assert_eq!(
        reply["total_count"], 400,
        "the sandbox's fixtures belong to another practice"
    );
    let reply = harness
        .get("/v1/appointments?practice_ids=pt_sandbox-fixed_appointments&page_size=100")
        .await
        .json();
    assert_eq!(reply["total_count"], FIXED.len());
}

#[tokio::test]
async fn developer_patient_id_finds_the_partners_own_bookings() {
    let harness = Harness::sandbox().await;
    let practice = harness.emulator().practice().clone();
    let provider = &practice.providers[0];
    let body = serde_json::json!({
        "appointment_type": "providers",
        "data": {
            "start_time": (t0() + SignedDuration::from_hours(48)).to_string(),
            "visit_reason_id": provider.visit_reason_ids[0],
            "provider_location_id": format!("{}|{}", provider.provider_id, provider.location_ids[0]),
            "patient_type": "new",
            "patient": {
                "developer_patient_id": "desk-42",
                "first_name": "Testy", "last_name": "Fakesworth", "date_of_birth": "1990-02-03",
                "sex_at_birth": "female", "phone_number": "2125550150",
                "email_address": "testy@example.com",
                "patient_address": {"address1": "1 Example St", "city": "New York", "state": "NY", "zip_code": "10001"}
            }
        }
    });
    let booked = harness.post("/v1/appointments", &body).await;
    assert_eq!(booked.status, 200, "{:?}", booked.body);
    let reply = harness
        .get("/v1/appointments?developer_patient_id=desk-42")
        .await
        .json();
    assert_eq!(reply["total_count"], 1);
    assert_eq!(reply["data"][0]["developer_patient_id"], "desk-42");
    assert_eq!(
        reply["data"][0]["appointment_id"],
        booked.json()["data"]["appointment_id"]
    );
}

#[tokio::test]
async fn ten_thousand_appointments_make_some_day_windows_split() {
    let harness = Harness::sandbox().await;
    let (from, _) = bulk(&harness, 10_000).await;
    harness.emulator().reset_calls();
    let mut over_cap = 0;
    for day in 0..30 {
        let start = from + SignedDuration::from_hours(24 * day);
        let end = start + SignedDuration::from_hours(24) - SignedDuration::from_secs(1);
        let reply = harness
            .get(&format!(
                "/v1/appointments?last_modified_time_utc_min={}&last_modified_time_utc_max={}&page_size=100",
                filter_time(start),
                filter_time(end)
            ))
            .await
            .json();
        if reply["total_count"] == 1_000 {
            over_cap += 1;
        }
    }
    assert!(over_cap > 0, "some one-day windows reach the cap");
    assert_eq!(
        harness
            .emulator()
            .calls()
            .get(deskbridge_sandbox::zocdoc::Route::ListAppointments),
        30
    );
}
