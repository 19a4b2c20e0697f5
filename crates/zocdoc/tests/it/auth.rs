//! OAuth client credentials: the token request, caching until shortly before expiry, one refresh
//! after a 401, refused credentials, and one token fetch shared by concurrent calls.

use std::time::Duration;

use deskbridge_zocdoc::api::{
    AppointmentId, AuthFailure, Client, ClientId, ClientSecret, Environment, Error,
};
use serde_json::json;

use crate::support::{CLIENT_ID, CLIENT_SECRET, FIXED, FakeZocdoc, Fault, Route, TestClock};

fn confirmed() -> AppointmentId {
    AppointmentId::new(FIXED[1].0)
}

#[tokio::test]
async fn the_token_is_requested_as_zocdoc_documents_and_reused() {
    let zocdoc = FakeZocdoc::start().await;
    let (client, _clock) = zocdoc.client();
    for _ in 0..5 {
        client.appointment(&confirmed()).await.unwrap();
    }
    assert_eq!(zocdoc.tokens_issued(), 1);
    let seen = zocdoc.seen();
    let token_request = seen.iter().find(|s| s.route == Route::Token).unwrap();
    assert_eq!(
        token_request.body.as_ref().unwrap(),
        &json!({
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "audience": "https://api-developer-sandbox.zocdoc.com/",
        })
    );
    for get in seen.iter().filter(|s| s.route == Route::Get) {
        assert_eq!(get.authorization.as_deref(), Some("Bearer tok-1"));
        assert!(
            get.accept_encoding
                .as_deref()
                .unwrap_or_default()
                .contains("gzip")
        );
    }
}

#[tokio::test]
async fn the_token_is_replaced_shortly_before_it_expires() {
    let zocdoc = FakeZocdoc::start().await;
    zocdoc.set_expires_in(120);
    let (client, clock) = zocdoc.client();
    client.appointment(&confirmed()).await.unwrap();
    clock.advance(Duration::from_secs(59));
    client.appointment(&confirmed()).await.unwrap();
    assert_eq!(zocdoc.tokens_issued(), 1, "still 61 s of life left");
    clock.advance(Duration::from_secs(2));
    client.appointment(&confirmed()).await.unwrap();
    assert_eq!(zocdoc.tokens_issued(), 2, "less than 60 s left: replaced");
    let last_get = zocdoc
        .seen()
        .into_iter()
        .rfind(|s| s.route == Route::Get)
        .unwrap();
    assert_eq!(last_get.authorization.as_deref(), Some("Bearer tok-2"));
}

#[tokio::test]
async fn a_wrong_secret_is_unauthorized_and_reaches_no_api() {
    let zocdoc = FakeZocdoc::start().await;
    let clock = std::sync::Arc::new(TestClock::new());
    let client = zocdoc.builder("wrong-secret", &clock).build().unwrap();
    let error = client.appointment(&confirmed()).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::Unauthorized {
                cause: AuthFailure::CredentialsRefused { status: 401 },
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(
        zocdoc.count(Route::Token),
        1,
        "a refused secret is not retried"
    );
    assert_eq!(zocdoc.count(Route::Get), 0);
    let message = error.staff_message();
    assert!(
        message.contains("Check the Zocdoc credentials in Settings"),
        "{message}"
    );
    assert!(!message.contains("wrong-secret") && !error.to_string().contains("wrong-secret"));
    assert!(!format!("{error:?}").contains("wrong-secret"));
}

#[tokio::test]
async fn a_revoked_token_is_replaced_once_and_the_call_succeeds() {
    let zocdoc = FakeZocdoc::start().await;
    let (client, _clock) = zocdoc.client();
    client.appointment(&confirmed()).await.unwrap();
    zocdoc.revoke_tokens();
    let appointment = client.appointment(&confirmed()).await.unwrap();
    assert_eq!(appointment.appointment_id, confirmed());
    assert_eq!(zocdoc.tokens_issued(), 2);
    let answers: Vec<u16> = zocdoc
        .seen()
        .iter()
        .filter(|s| s.route == Route::Get)
        .map(|s| s.answered)
        .collect();
    assert_eq!(answers, [200, 401, 200]);
}

#[tokio::test]
async fn a_second_401_after_a_fresh_token_is_unauthorized() {
    let zocdoc = FakeZocdoc::start().await;
    zocdoc.reject_every_token();
    let (client, _clock) = zocdoc.client();
    let error = client.appointment(&confirmed()).await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::Unauthorized {
                cause: AuthFailure::TokenRejected,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(zocdoc.tokens_issued(), 2, "one refresh, no more");
    assert_eq!(zocdoc.count(Route::Get), 2);
    assert!(error.staff_message().contains("other environment"));
}

#[tokio::test]
async fn production_sends_the_production_audience() {
    let zocdoc = FakeZocdoc::start_for(Environment::Production).await;
    let client = Client::builder(
        Environment::Production,
        ClientId::new(CLIENT_ID),
        ClientSecret::new(CLIENT_SECRET.to_owned()),
    )
    .base_url(zocdoc.url())
    .build()
    .unwrap();
    client.appointment(&confirmed()).await.unwrap();
    let token_request = zocdoc
        .seen()
        .into_iter()
        .find(|s| s.route == Route::Token)
        .unwrap();
    assert_eq!(
        token_request.body.unwrap()["audience"],
        "https://api-developer.zocdoc.com/"
    );
}

#[tokio::test]
async fn concurrent_calls_share_one_token_fetch() {
    let zocdoc = FakeZocdoc::start().await;
    let (client, _clock) = zocdoc.client();
    let calls = (0..8).map(|_| {
        let client = client.clone();
        tokio::spawn(async move { client.appointment(&confirmed()).await })
    });
    for call in calls.collect::<Vec<_>>() {
        call.await.unwrap().unwrap();
    }
    assert_eq!(zocdoc.tokens_issued(), 1);
}

#[tokio::test]
async fn token_server_errors_and_rate_limits_are_retried() {
    let zocdoc = FakeZocdoc::start().await;
    zocdoc.push_fault(Route::Token, Fault::status(503));
    zocdoc.push_fault(
        Route::Token,
        Fault::Answer {
            status: 429,
            body: None,
            retry_after: Some("2"),
        },
    );
    let (client, clock) = zocdoc.client();
    client.appointment(&confirmed()).await.unwrap();
    assert_eq!(zocdoc.count(Route::Token), 3);
    assert_eq!(
        clock.sleeps(),
        [Duration::from_millis(375), Duration::from_secs(2)],
        "backoff for the 503 (0.5 s with jitter 0.5), then Retry-After"
    );
}

#[tokio::test]
async fn an_unreadable_token_answer_is_a_decode_error() {
    let zocdoc = FakeZocdoc::start().await;
    zocdoc.push_fault(
        Route::Token,
        Fault::with_body(200, json!({"access_token": "t", "token_type": "Bearer"})),
    );
    let (client, _clock) = zocdoc.client();
    let error = client.appointment(&confirmed()).await.unwrap_err();
    assert!(
        matches!(error, Error::Decode { status: 200, .. }),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "get_appointment: cannot read Zocdoc's answer (HTTP 200): the answer lacks the required \
         field `expires_in`"
    );
}
