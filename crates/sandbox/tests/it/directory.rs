//! The directory routes: every provider location and visit reason of the practice is named,
//! unknown and malformed ids are 404 and 400, a token is required, and faults and call counts
//! work per route as on the appointment routes.

use deskbridge_sandbox::zocdoc::{Environment, FaultConfig, Route, SCOPE_WRITE};
use http::Method;

use crate::common::{Harness, config, request};

/// `/v1/provider_locations/<id>`, with the `|` percent-encoded as a client sends it.
fn provider_location_path(id: &str) -> String {
    format!("/v1/provider_locations/{}", id.replace('|', "%7C"))
}

#[tokio::test]
async fn every_provider_location_of_the_practice_is_named() {
    let harness = Harness::sandbox().await;
    let practice = harness.emulator().practice().clone();
    let mut answered = 0;
    for provider in &practice.providers {
        for location_id in &provider.location_ids {
            let location = practice.location(location_id).unwrap();
            let id = format!("{}|{location_id}", provider.provider_id);
            let reply = harness.get(&provider_location_path(&id)).await;
            assert_eq!(reply.status, 200, "{:?}", reply.body);
            let body = reply.json();
            assert!(body["request_id"].is_string());
            let data = &body["data"];
            assert_eq!(data["provider_location_id"], id.as_str());
            assert_eq!(
                data["provider"]["provider_id"],
                provider.provider_id.as_str()
            );
            assert_eq!(data["provider"]["full_name"], provider.full_name().as_str());
            assert_eq!(data["provider"]["title"], provider.title.as_str());
            assert_eq!(
                data["practice"]["practice_id"],
                practice.practice_id.as_str()
            );
            if location.is_virtual {
                assert_eq!(data["provider_location_type"], "virtual_provider");
                assert!(data.get("location").is_none());
                assert_eq!(
                    data["virtual_location"]["location_name"],
                    location.name.as_str()
                );
            } else {
                let address = location.address.as_ref().unwrap();
                assert_eq!(data["provider_location_type"], "in_person_provider");
                assert_eq!(data["location"]["location_name"], location.name.as_str());
                assert_eq!(data["location"]["address1"], address.address1.as_str());
                assert_eq!(data["location"]["city"], address.city.as_str());
            }
            answered += 1;
        }
    }
    assert_eq!(answered, 5, "three providers at five provider locations");
    assert_eq!(
        harness.emulator().calls().get(Route::GetProviderLocation),
        5
    );
}

#[tokio::test]
async fn every_visit_reason_of_the_practice_is_named() {
    let harness = Harness::sandbox().await;
    let practice = harness.emulator().practice().clone();
    for reason in &practice.visit_reasons {
        let reply = harness
            .get(&format!("/v1/visit_reasons/{}", reason.visit_reason_id))
            .await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        let data = &reply.json()["data"];
        assert_eq!(data["id"], reason.visit_reason_id.as_str());
        assert_eq!(data["name"], reason.name.as_str());
        assert_eq!(data["specialty_id"], "sp_153");
    }
    assert_eq!(harness.emulator().calls().get(Route::GetVisitReason), 6);
}

#[tokio::test]
async fn unknown_ids_are_404_and_malformed_ones_400() {
    let harness = Harness::sandbox().await;
    let practice = harness.emulator().practice().clone();
    let ben = &practice.providers[1];
    let elsewhere = format!("{}|{}", ben.provider_id, practice.locations[1].location_id);
    for id in [
        elsewhere.as_str(),
        "pr_nobody|lo_nowhere",
        "pr_confirmed|lo_confirmed",
    ] {
        let reply = harness.get(&provider_location_path(id)).await;
        assert_eq!(reply.status, 404, "{id}");
        assert_eq!(reply.json()["error_type"], "invalid_request");
        assert_eq!(reply.error_fields(), ["provider_location_id"]);
    }
    let reply = harness.get(&provider_location_path("pr_only")).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.error_fields(), ["provider_location_id"]);

    let reply = harness.get("/v1/visit_reasons/pc_unknown").await;
    assert_eq!(reply.status, 404);
    assert!(
        reply.body.is_empty(),
        "the spec documents this 404 without a body"
    );
    let reply = harness.get("/v1/visit_reasons/sp_153").await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.error_fields(), ["visit_reason_id"]);
}

#[tokio::test]
async fn the_directory_needs_a_token_but_no_appointment_scope() {
    let harness = Harness::sandbox().await;
    let reason = harness.emulator().practice().visit_reasons[0]
        .visit_reason_id
        .clone();
    let path = format!("/v1/visit_reasons/{reason}");
    let reply = request(Method::GET, &harness.url(&path), &[], None).await;
    assert_eq!(reply.status, 401);
    assert!(reply.body.is_empty());

    let mut write_only = config(Environment::Sandbox);
    write_only.scopes = vec![SCOPE_WRITE.to_owned()];
    let write_only = Harness::start(write_only).await;
    let reason = write_only.emulator().practice().visit_reasons[0]
        .visit_reason_id
        .clone();
    let reply = write_only.get(&format!("/v1/visit_reasons/{reason}")).await;
    assert_eq!(
        reply.status, 200,
        "the spec names no scope for the directory"
    );
}

#[tokio::test]
async fn faults_and_counts_are_per_directory_route() {
    let harness = Harness::sandbox().await;
    let emulator = harness.emulator();
    let provider = &emulator.practice().providers[0];
    let id = format!("{}|{}", provider.provider_id, provider.location_ids[0]);
    let reason = emulator.practice().visit_reasons[0].visit_reason_id.clone();
    emulator.set_fault(
        Route::GetProviderLocation,
        FaultConfig {
            rate_5xx: 1.0,
            status_5xx: 502,
            ..FaultConfig::default()
        },
    );
    emulator.set_fault(
        Route::GetVisitReason,
        FaultConfig {
            rate_429: 1.0,
            retry_after_seconds: Some(3),
            ..FaultConfig::default()
        },
    );
    let reply = harness.get(&provider_location_path(&id)).await;
    assert_eq!(reply.status, 502);
    assert!(reply.body.is_empty());
    let reply = harness.get(&format!("/v1/visit_reasons/{reason}")).await;
    assert_eq!(reply.status, 429);
    assert_eq!(reply.headers["retry-after"], "3");
    let calls = emulator.calls();
    assert_eq!(calls.get(Route::GetProviderLocation), 1);
    assert_eq!(calls.get(Route::GetVisitReason), 1);
    assert_eq!(calls.get(Route::GetAppointment), 0);
    assert_eq!(
        Route::parse("get_provider_location"),
        Some(Route::GetProviderLocation)
    );

    emulator.clear_faults();
    assert_eq!(harness.get(&provider_location_path(&id)).await.status, 200);
    assert_eq!(emulator.calls().get(Route::GetProviderLocation), 2);
}
