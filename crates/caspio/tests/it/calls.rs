//! The client's calls and retry rules against the emulator.

use std::time::Duration;

use deskbridge_caspio::{
    Account, AuthFailure, Client, ClientId, ClientSecret, ColumnName, Error, FieldType,
    IntegrationHost, Record, RecordQuery, RetryPolicy, TableName, Where,
};
use deskbridge_sandbox::caspio::{CaspioConfig, CaspioEmulator, CaspioRoute, RunningCaspio};
use deskbridge_sandbox::zocdoc::FaultConfig;
use serde_json::json;

async fn start() -> RunningCaspio {
    CaspioEmulator::start(CaspioConfig::new("desk", "desk-secret"))
        .await
        .unwrap()
}

fn client_with(running: &RunningCaspio, secret: &str, retries: u32) -> Client {
    Client::builder(Account {
        host: IntegrationHost::parse("c1abc.caspio.com").unwrap(),
        client_id: ClientId::new("desk"),
        client_secret: ClientSecret::new(secret.to_owned()),
    })
    .base_url(running.base_url())
    .retry_policy(RetryPolicy {
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(2),
        rate_limit_retries: retries,
        server_retries: retries,
        max_retry_after: Duration::from_secs(1),
    })
    .build()
    .unwrap()
}

fn client(running: &RunningCaspio) -> Client {
    client_with(running, "desk-secret", 3)
}

fn table() -> TableName {
    TableName::new("Appointments").unwrap()
}

fn key() -> ColumnName {
    ColumnName::new("ZocdocAppointmentId").unwrap()
}

fn record(value: serde_json::Value) -> Record {
    value.as_object().unwrap().clone()
}

#[tokio::test]
async fn tables_fields_and_records_round_trip() {
    let running = start().await;
    let client = client(&running);
    assert_eq!(client.tables().await.unwrap(), vec![table()]);
    let fields = client.fields(&table()).await.unwrap();
    let id = fields.iter().find(|f| f.name == key()).unwrap();
    assert!(id.unique && id.field_type == FieldType::Text && id.read_only().is_none());
    let pk = fields.iter().find(|f| f.name.as_str() == "PK_ID").unwrap();
    assert_eq!(pk.field_type, FieldType::AutoNumber);
    assert!(pk.read_only().is_some());

    for i in 0..12 {
        let written = client
            .insert(
                &table(),
                &record(json!({"ZocdocAppointmentId": format!("a{i:02}"), "Status": "confirmed"})),
            )
            .await
            .unwrap();
        assert_eq!(written.records_affected, 1);
        assert_eq!(written.rows[0]["PK_ID"], i + 1);
    }
    let page = client
        .records(
            &table(),
            &RecordQuery {
                select: vec![key()],
                filter: Some(Where::like(&key(), "a0%")),
                page: Some((2, 5)),
            },
        )
        .await
        .unwrap();
    assert_eq!(page.len(), 5, "a05..a09 of a00..a09");
    assert_eq!(page[0].len(), 1, "q.select");
    assert_eq!(page[0]["ZocdocAppointmentId"], "a05");

    let updated = client
        .update(
            &table(),
            &Where::eq(&key(), "a03"),
            &record(json!({"Status": "cancelled"})),
        )
        .await
        .unwrap();
    assert_eq!(updated.records_affected, 1);
    assert_eq!(updated.rows[0]["Status"], "cancelled");
    let calls = running.calls();
    assert_eq!(calls.get(CaspioRoute::Token), 1, "the token is cached");
}

#[tokio::test]
async fn a_401_fetches_one_new_token_and_retries_once() {
    let running = start().await;
    let client = client(&running);
    client.fields(&table()).await.unwrap();
    running.expire_all_tokens();
    client.fields(&table()).await.unwrap();
    let calls = running.calls();
    assert_eq!(calls.get(CaspioRoute::Token), 2);
    assert_eq!(calls.get(CaspioRoute::GetFields), 3);

    running.set_fault(
        CaspioRoute::GetFields,
        FaultConfig {
            expired_token_rate: 1.0,
            ..FaultConfig::default()
        },
    );
    let error = client.fields(&table()).await.unwrap_err();
    assert!(matches!(
        error,
        Error::Unauthorized {
            cause: AuthFailure::TokenRejected,
            ..
        }
    ));
    let wrong = client_with(&running, "not-the-secret", 3);
    let error = wrong.tables().await.unwrap_err();
    assert!(matches!(
        error,
        Error::Unauthorized {
            cause: AuthFailure::CredentialsRefused { status: 401 },
            ..
        }
    ));
    assert!(error.staff_message().contains("client ID and secret"));
}

#[tokio::test]
async fn rate_limits_and_server_errors_are_retried_within_bounds() {
    let running = start().await;
    let client = client_with(&running, "desk-secret", 4);
    client.tables().await.unwrap();
    running.reset_calls();
    running.set_fault(
        CaspioRoute::ListTables,
        FaultConfig {
            rate_429: 1.0,
            ..FaultConfig::default()
        },
    );
    let error = client.tables().await.unwrap_err();
    assert!(
        matches!(error, Error::RateLimited { attempts: 5, .. }),
        "{error:?}"
    );
    assert_eq!(running.calls().get(CaspioRoute::ListTables), 5);

    running.reset_calls();
    running.set_fault(
        CaspioRoute::ListTables,
        FaultConfig {
            rate_5xx: 1.0,
            status_5xx: 502,
            ..FaultConfig::default()
        },
    );
    let error = client.tables().await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::Server {
                status: 502,
                attempts: 5,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(error.body().unwrap().code.as_deref(), Some("InternalError"));

    running.set_fault(
        CaspioRoute::ListTables,
        FaultConfig {
            rate_429: 0.5,
            rate_5xx: 0.3,
            ..FaultConfig::default()
        },
    );
    let client = client_with(&running, "desk-secret", 40);
    for _ in 0..10 {
        client.tables().await.unwrap();
    }
}

#[tokio::test]
async fn caspios_error_body_is_kept_and_read_in_plain_words() {
    let running = start().await;
    let client = client(&running);
    let missing = TableName::new("Nope").unwrap();
    let error = client.fields(&missing).await.unwrap_err();
    let body = error.body().unwrap();
    assert_eq!(body.code.as_deref(), Some("TableNotFound"));
    assert!(body.request_id.as_deref().unwrap().starts_with("emu-"));
    assert!(
        error
            .staff_message()
            .starts_with("Caspio has no table Nope")
    );

    let unknown = ColumnName::new("NoSuchColumn").unwrap();
    let error = client
        .records(
            &table(),
            &RecordQuery {
                filter: Some(Where::eq(&unknown, 1_i64)),
                ..RecordQuery::default()
            },
        )
        .await
        .unwrap_err();
    assert!(matches!(error, Error::BadRequest { .. }), "{error:?}");
    assert!(error.staff_message().contains("NoSuchColumn"));

    running.set_writable("Appointments", false);
    let error = client
        .insert(&table(), &record(json!({"ZocdocAppointmentId": "x"})))
        .await
        .unwrap_err();
    assert_eq!(error.code(), "caspio_forbidden");
    assert!(
        error
            .staff_message()
            .starts_with("This Caspio web services profile may not write to table Appointments."),
        "{}",
        error.staff_message()
    );
    assert!(
        !error.to_string().contains("permission to modify"),
        "Display keeps Caspio's message out"
    );
}
