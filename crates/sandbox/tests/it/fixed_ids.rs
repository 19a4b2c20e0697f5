//! The sandbox's fixed test data (`zocdoc-sandbox.md`): appointments that always answer with
//! their status, the 404 and 500 ids, the one with attachments, the magic provider-location ids
//! of booking, and their absence in production.

use deskbridge_sandbox::zocdoc::{
    Environment, FIXED, NOT_FOUND_ID, SERVER_ERROR_ID, WITH_ATTACHMENTS_ID,
};
use jiff::SignedDuration;
use serde_json::{Value, json};

use crate::common::{Harness, config, t0};

#[tokio::test]
async fn fixed_ids_answer_their_status_in_get_and_list() {
    let harness = Harness::sandbox().await;
    for (id, status, patient_type) in FIXED {
        let reply = harness.get(&format!("/v1/appointments/{id}")).await;
        assert_eq!(reply.status, 200, "{id}");
        let data = &reply.json()["data"];
        assert_eq!(data["appointment_status"], status.as_str(), "{id}");
        assert_eq!(data["patient_type"], json!(patient_type), "{id}");
        let word = status.magic_word();
        assert_eq!(data["provider_location_id"], format!("pr_{word}|lo_{word}"));
        let listed = harness
            .get(&format!(
                "/v1/appointments?statuses={}&page_size=100",
                status.as_str()
            ))
            .await
            .json();
        let listed_ids: Vec<&str> = listed["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["appointment_id"].as_str().unwrap())
            .collect();
        assert!(listed_ids.contains(&id), "{id} listed under {status}");
    }
}

#[tokio::test]
async fn the_404_id_answers_404_everywhere() {
    let harness = Harness::sandbox().await;
    for reply in [
        harness
            .get(&format!("/v1/appointments/{NOT_FOUND_ID}"))
            .await,
        harness
            .get(&format!("/v1/appointments/{NOT_FOUND_ID}/participants"))
            .await,
        harness
            .post(
                "/v1/appointments/cancel",
                &json!({"appointment_id": NOT_FOUND_ID}),
            )
            .await,
    ] {
        assert_eq!(reply.status, 404);
        assert_eq!(reply.json()["error_type"], "invalid_request");
    }
}

#[tokio::test]
async fn the_500_id_answers_500_without_a_body() {
    let harness = Harness::sandbox().await;
    let start = (t0() + SignedDuration::from_hours(30)).to_string();
    for reply in [
        harness
            .get(&format!("/v1/appointments/{SERVER_ERROR_ID}"))
            .await,
        harness
            .get(&format!("/v1/appointments/{SERVER_ERROR_ID}/participants"))
            .await,
        harness
            .post(
                "/v1/appointments/cancel",
                &json!({"appointment_id": SERVER_ERROR_ID}),
            )
            .await,
        harness
            .post(
                "/v1/appointments/reschedule",
                &json!({"appointment_id": SERVER_ERROR_ID, "start_time": start}),
            )
            .await,
    ] {
        assert_eq!(reply.status, 500);
        assert!(reply.body.is_empty());
    }
}

#[tokio::test]
async fn a_fixed_appointment_answers_a_change_but_keeps_its_status() {
    let harness = Harness::sandbox().await;
    let confirmed = "d2ee5bd8-643a-42c8-8c5a-be450e903430";
    let reply = harness
        .post(
            "/v1/appointments/cancel",
            &json!({"appointment_id": confirmed}),
        )
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["data"]["appointment_status"], "cancelled");
    let data = harness
        .get(&format!("/v1/appointments/{confirmed}"))
        .await
        .json();
    assert_eq!(data["data"]["appointment_status"], "confirmed");
    let cancelled = "21990114-ea71-4d7d-9d1e-00c43ae44bcd";
    let reply = harness
        .post(
            "/v1/appointments/cancel",
            &json!({"appointment_id": cancelled}),
        )
        .await;
    assert_eq!(reply.status, 409);
    let pending_reschedule = "63f995c2-49c4-40c8-a93a-140fb32e913b";
    let start = (t0() + SignedDuration::from_hours(30)).to_string();
    let reply = harness
        .post(
            "/v1/appointments/reschedule",
            &json!({"appointment_id": pending_reschedule, "start_time": start}),
        )
        .await;
    assert_eq!(reply.status, 200);
}

#[tokio::test]
async fn the_attachments_fixture_lists_several_documents() {
    let harness = Harness::sandbox().await;
    let reply = harness
        .get(&format!(
            "/v1/appointments/{WITH_ATTACHMENTS_ID}/participants"
        ))
        .await;
    assert_eq!(reply.status, 200);
    let data = &reply.json()["data"];
    let attachments = data["patient"]["uploaded_attachments"].as_array().unwrap();
    assert!(attachments.len() >= 2);
    for attachment in attachments {
        assert!(
            attachment["attachment_url"]
                .as_str()
                .unwrap()
                .starts_with(&format!(
                    "{}/v1/appointments/{WITH_ATTACHMENTS_ID}/attachments/",
                    harness.running.base_url()
                ))
        );
    }
    assert!(data["provider_id"].as_str().unwrap().starts_with("pr_"));
}

fn booking(provider_location_id: &str) -> Value {
    json!({
        "appointment_type": "providers",
        "data": {
            "start_time": "2025-03-20T09:30:00-04:00",
            "visit_reason_id": "pc_FRO-18leckytNKtruw5dLR",
            "provider_location_id": provider_location_id,
            "patient_type": "new",
            "patient": {
                "first_name": "Testy", "last_name": "Mockridge", "date_of_birth": "1985-06-07",
                "sex_at_birth": "male", "phone_number": "2125550160",
                "email_address": "testy.mockridge@example.com",
                "patient_address": {"address1": "2 Sample Ave", "city": "New York", "state": "NY", "zip_code": "10001"}
            }
        }
    })
}

#[tokio::test]
async fn magic_provider_locations_book_in_their_status_or_fail() {
    let harness = Harness::sandbox().await;
    for (_, status, _) in FIXED {
        let word = status.magic_word();
        let reply = harness
            .post(
                "/v1/appointments",
                &booking(&format!("pr_{word}|lo_{word}")),
            )
            .await;
        assert_eq!(reply.status, 200, "{word}: {:?}", reply.body);
        let data = &reply.json()["data"];
        assert_eq!(data["appointment_status"], status.as_str());
        let id = data["appointment_id"].as_str().unwrap();
        let read = harness.get(&format!("/v1/appointments/{id}")).await.json();
        assert_eq!(read["data"]["appointment_status"], status.as_str());
    }
    let reply = harness
        .post("/v1/appointments", &booking("pr_error|lo_error"))
        .await;
    assert_eq!((reply.status, reply.body.is_empty()), (500, true));
    let reply = harness
        .post("/v1/appointments", &booking("pr_missing|lo_missing"))
        .await;
    assert_eq!(reply.status, 404);
    let reply = harness
        .post("/v1/appointments", &booking("pr_nobody|lo_nowhere"))
        .await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.error_fields(), ["data.provider_location_id"]);
}

#[tokio::test]
async fn booking_validates_the_patient() {
    let harness = Harness::sandbox().await;
    let mut body = booking("pr_confirmed|lo_confirmed");
    body["data"]["patient"]["phone_number"] = json!("1125550160");
    body["data"]["patient"]["sex_at_birth"] = json!("other");
    body["data"]["patient"]["patient_address"]
        .as_object_mut()
        .unwrap()
        .remove("zip_code");
    let reply = harness.post("/v1/appointments", &body).await;
    assert_eq!(reply.status, 400);
    let mut fields = reply.error_fields();
    fields.sort();
    assert_eq!(
        fields,
        [
            "data.patient.patient_address.zip_code",
            "data.patient.phone_number",
            "data.patient.sex_at_birth"
        ]
    );
}

#[tokio::test]
async fn production_has_no_fixtures_no_magic_and_no_mock_webhooks() {
    let harness = Harness::start(config(Environment::Production)).await;
    let (id, _, _) = FIXED[1];
    assert_eq!(
        harness.get(&format!("/v1/appointments/{id}")).await.status,
        404
    );
    assert_eq!(
        harness
            .get(&format!("/v1/appointments/{SERVER_ERROR_ID}"))
            .await
            .status,
        404
    );
    assert_eq!(
        harness
            .post("/v1/appointments", &booking("pr_confirmed|lo_confirmed"))
            .await
            .status,
        400
    );
    let reply = harness
        .post(
            "/v1/webhook/mock-request",
            &json!({"webhook_url": "http://127.0.0.1:9/x", "webhook_key": crate::common::WEBHOOK_KEY}),
        )
        .await;
    assert_eq!((reply.status, reply.body.is_empty()), (404, true));
}
