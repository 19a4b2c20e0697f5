//! The Caspio emulator over HTTP: form-encoded tokens that expire, Caspio's error body on every
//! refusal (a malformed where-clause is a 400, never a crash), paging bounds, Unique and type
//! checks, write permission, and the call counter.

use http::Method;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use deskbridge_sandbox::caspio::{CaspioConfig, CaspioEmulator, CaspioRoute, RunningCaspio};
use deskbridge_sandbox::clock::Clock;

use crate::common::{Reply, request};

async fn start() -> RunningCaspio {
    let mut config = CaspioConfig::new("desk", "caspio-secret");
    config.clock = Clock::manual(Timestamp::from_second(1_767_225_600).unwrap());
    CaspioEmulator::start(config).await.unwrap()
}

async fn token(running: &RunningCaspio) -> String {
    let reply = request(
        Method::POST,
        &format!("{}/oauth/token", running.base_url()),
        &[],
        Some(b"grant_type=client_credentials&client_id=desk&client_secret=caspio-secret".to_vec()),
    )
    .await;
    assert_eq!(reply.status, 200);
    let body = reply.json();
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 86_400);
    assert!(body["refresh_token"].is_string());
    format!("Bearer {}", body["access_token"].as_str().unwrap())
}

async fn call(
    running: &RunningCaspio,
    bearer: &str,
    method: Method,
    path_and_query: &str,
    body: Option<Value>,
) -> Reply {
    request(
        method,
        &format!(
            "{}/integrations/rest/v3{path_and_query}",
            running.base_url()
        ),
        &[("authorization", bearer)],
        body.map(|body| body.to_string().into_bytes()),
    )
    .await
}

fn assert_caspio_error(reply: &Reply, status: u16, code: &str) {
    assert_eq!(reply.status, status, "{:?}", reply.json());
    let body = reply.json();
    assert_eq!(body["Code"], code, "{body}");
    assert!(body["Message"].is_string());
    assert!(body["Resource"].is_string());
    assert!(body["RequestId"].as_str().unwrap().starts_with("emu-"));
}

fn encode(clause: &str) -> String {
    serde_urlencoded::to_string([("q.where", clause)]).unwrap()
}

#[tokio::test]
async fn tokens_are_form_encoded_and_expire() {
    let running = start().await;
    let refused = request(
        Method::POST,
        &format!("{}/oauth/token", running.base_url()),
        &[],
        Some(br#"{"grant_type":"client_credentials","client_id":"desk","client_secret":"caspio-secret"}"#.to_vec()),
    )
    .await;
    assert_eq!(refused.status, 400, "a JSON body is not a form");
    let wrong = request(
        Method::POST,
        &format!("{}/oauth/token", running.base_url()),
        &[],
        Some(b"grant_type=client_credentials&client_id=desk&client_secret=nope".to_vec()),
    )
    .await;
    assert_eq!(wrong.status, 401);

    let bearer = token(&running).await;
    assert_eq!(
        call(&running, &bearer, Method::GET, "/tables", None)
            .await
            .status,
        200
    );
    running.clock().advance(SignedDuration::from_hours(25));
    let expired = call(&running, &bearer, Method::GET, "/tables", None).await;
    assert_caspio_error(&expired, 401, "Unauthorized");
    assert_caspio_error(
        &call(&running, "Bearer made-up", Method::GET, "/tables", None).await,
        401,
        "Unauthorized",
    );
    let calls = running.calls();
    assert_eq!(calls.get(CaspioRoute::Token), 3);
    assert_eq!(calls.get(CaspioRoute::ListTables), 3);
}

#[tokio::test]
async fn malformed_where_clauses_are_400s_with_caspios_body() {
    let running = start().await;
    let bearer = token(&running).await;
    for clause in [
        "ZocdocAppointmentId='O'Brien'",
        "ZocdocAppointmentId='unterminated",
        "Status = 'a'; DROP TABLE Appointments --",
        "((((Status='a')",
        "Status LIKE 5",
        "NoSuchColumn = 1",
        "",
        &"(".repeat(5_000),
        &"NOT ".repeat(5_000),
    ] {
        let reply = call(
            &running,
            &bearer,
            Method::GET,
            &format!("/tables/Appointments/records?{}", encode(clause)),
            None,
        )
        .await;
        assert_caspio_error(&reply, 400, "SqlServerError");
    }
    let fine = call(
        &running,
        &bearer,
        Method::GET,
        &format!(
            "/tables/Appointments/records?{}",
            encode("ZocdocAppointmentId='O''Brien' OR Status IS NULL")
        ),
        None,
    )
    .await;
    assert_eq!(fine.status, 200);
}

#[tokio::test]
async fn writes_are_checked_and_reads_are_paged() {
    let running = start().await;
    let bearer = token(&running).await;
    for i in 0..12 {
        let reply = call(
            &running,
            &bearer,
            Method::POST,
            "/tables/Appointments/records?response=rows",
            Some(json!({"ZocdocAppointmentId": format!("a{i:02}"), "StartLocal": "2026-03-01T09:00:00"})),
        )
        .await;
        assert_eq!(reply.status, 201);
        assert_eq!(reply.json()["Result"][0]["PK_ID"], i + 1);
        assert_eq!(reply.json()["Result"][0]["Updated"], "2026-01-01T00:00:00");
    }
    let duplicate = call(
        &running,
        &bearer,
        Method::POST,
        "/tables/Appointments/records",
        Some(json!({"ZocdocAppointmentId": "A01"})),
    )
    .await;
    assert_caspio_error(&duplicate, 400, "UniqueConstraintViolation");
    let generated = call(
        &running,
        &bearer,
        Method::POST,
        "/tables/Appointments/records",
        Some(json!({"PK_ID": 99})),
    )
    .await;
    assert_caspio_error(&generated, 400, "IncorrectBodyParameter");
    let offset = call(
        &running,
        &bearer,
        Method::POST,
        "/tables/Appointments/records",
        Some(json!({"StartLocal": "2026-03-01T09:00:00Z"})),
    )
    .await;
    assert_caspio_error(&offset, 400, "IncorrectBodyParameter");
    let long = call(
        &running,
        &bearer,
        Method::POST,
        "/tables/Appointments/records",
        Some(json!({"Status": "x".repeat(256)})),
    )
    .await;
    assert_caspio_error(&long, 400, "IncorrectBodyParameter");

    let page = call(&running, &bearer, Method::GET, "/tables/Appointments/records?q.pageNumber=3&q.pageSize=5&q.select=ZocdocAppointmentId&q.orderBy=PK_ID%20DESC", None).await;
    assert_eq!(
        page.json()["Result"],
        json!([{"ZocdocAppointmentId": "a01"}, {"ZocdocAppointmentId": "a00"}])
    );
    for bad in [
        "q.pageSize=4",
        "q.pageSize=1001",
        "q.pageNumber=0",
        "q.limit=1001",
        "q.pageSize=x",
    ] {
        let reply = call(
            &running,
            &bearer,
            Method::GET,
            &format!("/tables/Appointments/records?{bad}"),
            None,
        )
        .await;
        assert_caspio_error(&reply, 400, "IncorrectQueryParameter");
    }
    let no_where = call(
        &running,
        &bearer,
        Method::PUT,
        "/tables/Appointments/records",
        Some(json!({"Status": "x"})),
    )
    .await;
    assert_caspio_error(&no_where, 400, "IncorrectQueryParameter");
    let updated = call(
        &running,
        &bearer,
        Method::PUT,
        &format!(
            "/tables/Appointments/records?{}&response=rows",
            encode("ZocdocAppointmentId LIKE 'a0%'")
        ),
        Some(json!({"Status": "seen"})),
    )
    .await;
    assert_eq!(updated.json()["RecordsAffected"], 10);

    running.set_writable("Appointments", false);
    let forbidden = call(
        &running,
        &bearer,
        Method::POST,
        "/tables/Appointments/records",
        Some(json!({"Status": "x"})),
    )
    .await;
    assert_caspio_error(&forbidden, 403, "AccessDenied");
    let missing = call(&running, &bearer, Method::GET, "/tables/Nope/fields", None).await;
    assert_caspio_error(&missing, 404, "TableNotFound");
    let deleted = call(
        &running,
        &bearer,
        Method::DELETE,
        &format!("/tables/Appointments/records?{}", encode("PK_ID > 0")),
        None,
    )
    .await;
    assert_caspio_error(&deleted, 403, "AccessDenied");
    running.set_writable("Appointments", true);
    let deleted = call(
        &running,
        &bearer,
        Method::DELETE,
        &format!("/tables/Appointments/records?{}", encode("PK_ID > 10")),
        None,
    )
    .await;
    assert_eq!(deleted.json()["RecordsAffected"], 2);
    assert_eq!(running.records("Appointments").len(), 10);
}
