//! The token server and bearer checks: wrong secret, wrong audience, the other environment's
//! token, 60-minute expiry (and shortened expiry), revocation, missing scope.

use deskbridge_sandbox::zocdoc::{Environment, SCOPE_READ};
use http::Method;
use jiff::SignedDuration;
use serde_json::json;

use crate::common::{CLIENT_SECRET, Harness, config, request, token_request};

async fn ask_token(harness: &Harness, body: &serde_json::Value) -> crate::common::Reply {
    request(
        Method::POST,
        &harness.running.token_url(),
        &[],
        Some(serde_json::to_vec(body).unwrap()),
    )
    .await
}

#[tokio::test]
async fn a_good_request_gets_a_sixty_minute_bearer_token() {
    let harness = Harness::sandbox().await;
    let reply = ask_token(
        &harness,
        &token_request(Environment::Sandbox.audience(), CLIENT_SECRET),
    )
    .await;
    assert_eq!(reply.status, 200);
    let body = reply.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert!(
        body["scope"]
            .as_str()
            .unwrap()
            .contains("external.appointment.write")
    );
    assert_eq!(harness.get("/v1/appointments").await.status, 200);
}

#[tokio::test]
async fn a_wrong_secret_is_a_401_with_auth0s_error() {
    let harness = Harness::sandbox().await;
    let reply = ask_token(
        &harness,
        &token_request(Environment::Sandbox.audience(), "wrong"),
    )
    .await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.json()["error"], "access_denied");
}

#[tokio::test]
async fn a_wrong_audience_is_a_401_without_a_body() {
    let harness = Harness::sandbox().await;
    let reply = ask_token(
        &harness,
        &token_request(Environment::Production.audience(), CLIENT_SECRET),
    )
    .await;
    assert_eq!(reply.status, 401);
    assert!(reply.body.is_empty());
}

#[tokio::test]
async fn malformed_token_requests_are_400s() {
    let harness = Harness::sandbox().await;
    let mut missing = token_request(Environment::Sandbox.audience(), CLIENT_SECRET);
    missing.as_object_mut().unwrap().remove("audience");
    let reply = ask_token(&harness, &missing).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["error"], "invalid_request");
    let mut grant = token_request(Environment::Sandbox.audience(), CLIENT_SECRET);
    grant["grant_type"] = json!("password");
    let reply = ask_token(&harness, &grant).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["error"], "unsupported_grant_type");
}

#[tokio::test]
async fn a_token_of_the_other_environment_is_a_401_without_a_body() {
    let sandbox = Harness::sandbox().await;
    let production = Harness::start(config(Environment::Production)).await;
    let bearer = format!("Bearer {}", production.token);
    let reply = request(
        Method::GET,
        &sandbox.url("/v1/appointments"),
        &[("authorization", &bearer)],
        None,
    )
    .await;
    assert_eq!(reply.status, 401);
    assert!(reply.body.is_empty());
    assert_eq!(production.get("/v1/appointments").await.status, 200);
}

#[tokio::test]
async fn tokens_expire_after_sixty_minutes_of_emulated_time() {
    let harness = Harness::sandbox().await;
    let clock = harness.emulator().clock().clone();
    clock.advance(SignedDuration::from_mins(59));
    assert_eq!(harness.get("/v1/appointments").await.status, 200);
    clock.advance(SignedDuration::from_mins(1));
    let reply = harness.get("/v1/appointments").await;
    assert_eq!(reply.status, 401);
    assert!(reply.body.is_empty());
}

#[tokio::test]
async fn expiry_can_be_shortened_for_tests() {
    let harness = Harness::sandbox().await;
    harness
        .emulator()
        .set_token_lifetime(SignedDuration::from_secs(90));
    let reply = ask_token(
        &harness,
        &token_request(Environment::Sandbox.audience(), CLIENT_SECRET),
    )
    .await;
    assert_eq!(reply.json()["expires_in"], 90);
    let short = Harness {
        running: harness.running,
        token: reply.json()["access_token"].as_str().unwrap().to_owned(),
    };
    short
        .emulator()
        .clock()
        .advance(SignedDuration::from_secs(90));
    assert_eq!(short.get("/v1/appointments").await.status, 401);
}

#[tokio::test]
async fn revoked_tokens_stop_working_and_new_ones_work() {
    let mut harness = Harness::sandbox().await;
    harness.emulator().expire_all_tokens();
    assert_eq!(harness.get("/v1/appointments").await.status, 401);
    harness
        .emulator()
        .clock()
        .advance(SignedDuration::from_secs(1));
    harness.token =
        crate::common::fetch_token(&harness.running.base_url(), Environment::Sandbox.audience())
            .await;
    assert_eq!(harness.get("/v1/appointments").await.status, 200);
}

#[tokio::test]
async fn missing_or_garbled_tokens_are_401s_without_a_body() {
    let harness = Harness::sandbox().await;
    for headers in [
        vec![],
        vec![("authorization", "Bearer not.a.token")],
        vec![("authorization", "Basic Zm9vOmJhcg==")],
    ] {
        let reply = request(
            Method::GET,
            &harness.url("/v1/appointments"),
            &headers,
            None,
        )
        .await;
        assert_eq!(reply.status, 401, "{headers:?}");
        assert!(reply.body.is_empty());
    }
}

#[tokio::test]
async fn a_missing_scope_is_a_403() {
    let mut config = config(Environment::Sandbox);
    config.scopes = vec![SCOPE_READ.to_owned()];
    let harness = Harness::start(config).await;
    assert_eq!(harness.get("/v1/appointments").await.status, 200);
    let reply = harness
        .post(
            "/v1/appointments/confirm",
            &json!({"appointment_id": "2b29f79b-6d7f-472a-9603-d0c378bc9531"}),
        )
        .await;
    assert_eq!(reply.status, 403);
    assert!(reply.body.is_empty());
}
