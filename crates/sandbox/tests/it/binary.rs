//! The `deskbridge-sandbox` binary: `serve` prints its base URL, reads its secrets from the
//! environment, answers tokens and the admin endpoints, and plays a scenario day at the pace
//! asked, sending signed webhooks to `--webhook-url`; `caspio` serves the Caspio emulator.

use std::process::Stdio;
use std::time::Duration;

use deskbridge_sandbox::zocdoc::Environment;
use deskbridge_zocdoc::webhook;
use http::Method;
use jiff::Timestamp;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::common::{
    Behaviour, CLIENT_ID, CLIENT_SECRET, Receiver, WEBHOOK_KEY, fetch_token, key, request,
};

async fn serve(extra: &[&str]) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_deskbridge-sandbox"))
        .args(["serve", "--listen", "127.0.0.1:0", "--client-id", CLIENT_ID])
        .args(["--client-secret-env", "SANDBOX_TEST_SECRET"])
        .args(extra)
        .env("SANDBOX_TEST_SECRET", CLIENT_SECRET)
        .env("SANDBOX_TEST_WEBHOOK_KEY", WEBHOOK_KEY)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut first_line = String::new();
    tokio::time::timeout(
        Duration::from_secs(20),
        BufReader::new(stdout).read_line(&mut first_line),
    )
    .await
    .expect("the binary prints its base URL")
    .unwrap();
    (child, first_line.trim().to_owned())
}

#[tokio::test]
async fn serve_prints_its_base_url_and_answers() {
    let (mut child, base_url) = serve(&["--environment", "production"]).await;
    assert!(base_url.starts_with("http://127.0.0.1:"), "{base_url}");
    let token = fetch_token(&base_url, Environment::Production.audience()).await;
    let bearer = format!("Bearer {token}");
    let reply = request(
        Method::GET,
        &format!("{base_url}/v1/appointments"),
        &[("authorization", &bearer)],
        None,
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["total_count"], 0, "production has no fixtures");
    let state = request(
        Method::GET,
        &format!("{base_url}/_emulator/state"),
        &[],
        None,
    )
    .await
    .json();
    assert_eq!(state["environment"], "production");
    child.kill().await.unwrap();
}

#[tokio::test]
async fn serve_plays_a_scenario_day_at_the_pace_asked() {
    let receiver = Receiver::start(vec![Behaviour::Answer(200)]).await;
    let (mut child, base_url) = serve(&[
        "--webhook-url",
        &receiver.url,
        "--webhook-key-env",
        "SANDBOX_TEST_WEBHOOK_KEY",
        "--scenario",
        "day",
        "--day",
        "2025-03-12",
        "--pace",
        "2",
    ])
    .await;
    let received = receiver.wait_for(40, Duration::from_secs(20)).await;
    assert!(received.len() >= 40, "{} webhooks", received.len());
    for request in &received {
        webhook::verify(&key(), &request.headers, &request.body, Timestamp::now()).unwrap();
    }
    let state = request(
        Method::GET,
        &format!("{base_url}/_emulator/state"),
        &[],
        None,
    )
    .await
    .json();
    assert!(state["appointments"].as_u64().unwrap() > 500);
    child.kill().await.unwrap();
}

#[tokio::test]
async fn a_missing_secret_variable_is_an_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_deskbridge-sandbox"))
        .args([
            "serve",
            "--client-id",
            CLIENT_ID,
            "--client-secret-env",
            "SANDBOX_TEST_UNSET_VARIABLE",
        ])
        .env_remove("SANDBOX_TEST_UNSET_VARIABLE")
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("SANDBOX_TEST_UNSET_VARIABLE"));
}

#[tokio::test]
async fn caspio_prints_its_base_url_and_answers_with_the_demo_table() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_deskbridge-sandbox"))
        .args(["caspio", "--listen", "127.0.0.1:0", "--client-id", "desk"])
        .args(["--client-secret-env", "SANDBOX_TEST_CASPIO_SECRET"])
        .env("SANDBOX_TEST_CASPIO_SECRET", "caspio-secret")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut base_url = String::new();
    tokio::time::timeout(
        Duration::from_secs(20),
        BufReader::new(stdout).read_line(&mut base_url),
    )
    .await
    .expect("the binary prints its base URL")
    .unwrap();
    let base_url = base_url.trim();
    let token = request(
        Method::POST,
        &format!("{base_url}/oauth/token"),
        &[],
        Some(b"grant_type=client_credentials&client_id=desk&client_secret=caspio-secret".to_vec()),
    )
    .await;
    assert_eq!(token.status, 200);
    let bearer = format!("Bearer {}", token.json()["access_token"].as_str().unwrap());
    let tables = request(
        Method::GET,
        &format!("{base_url}/integrations/rest/v3/tables"),
        &[("authorization", &bearer)],
        None,
    )
    .await;
    assert_eq!(tables.status, 200);
    assert_eq!(tables.json()["Result"], serde_json::json!(["Appointments"]));
    child.kill().await.unwrap();
}
