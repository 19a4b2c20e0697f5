//! `serve`, `events`, `verify` and `webhook-key` end to end: the binary against a real encrypted
//! database and the session's real keyring.

use std::process::Stdio;

use tokio::io::AsyncWriteExt as _;

use crate::support::{
    Answer, KEY_BASE64, TestDesk, event_body, file_contains, send, signed_request,
};

async fn events(desk: &TestDesk, extra: &[&str]) -> Vec<serde_json::Value> {
    let output = desk
        .command()
        .arg("events")
        .args(extra)
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[tokio::test]
async fn stores_acknowledges_dedupes_and_rejects() {
    let desk = TestDesk::new();
    let mut serving = desk.serve().await;
    let body = event_body("appt-cli-0001", "created");

    assert_eq!(
        send(serving.address, &signed_request(&body, false)).await,
        Answer::Status(200)
    );
    assert_eq!(
        send(serving.address, &signed_request(&body, false)).await,
        Answer::Status(200)
    );
    let forged = event_body("appt-cli-forged", "cancelled");
    assert_eq!(
        send(serving.address, &signed_request(&forged, true)).await,
        Answer::Status(401)
    );

    // SIGTERM: a graceful stop.
    let pid = serving.child.id().unwrap().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(serving.child.wait().await.unwrap().success());

    let received = events(&desk, &[]).await;
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0]["appointment_id"], "appt-cli-0001");
    assert_eq!(received[0]["verdict"], "stored");
    assert_eq!(received[0]["update_type"], "created");
    assert_eq!(received[0]["duplicates"], 1);

    let rejected = events(&desk, &["--rejected"]).await;
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    assert_eq!(rejected[0]["reason"], "no_matching_signature");
    assert!(rejected[0].get("body").is_none());

    // At rest: neither id is readable in the database files.
    let database = desk.database_file();
    for id in [&b"appt-cli-0001"[..], b"appt-cli-forged"] {
        for file in [database.clone(), database.with_extension("sqlite3-wal")] {
            assert!(
                !file_contains(&file, id),
                "{} holds an id in plaintext",
                file.display()
            );
        }
    }
}

#[tokio::test]
async fn serve_refuses_to_start_without_a_webhook_key() {
    let desk = TestDesk::new();
    let output = desk
        .command()
        .env_remove("DESKBRIDGE_WEBHOOK_KEY")
        .args(["serve", "--listen", "127.0.0.1:0"])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("webhook-key set"), "{stderr}");
}

#[tokio::test]
async fn webhook_key_lives_in_the_keyring_and_is_never_printed() {
    let desk = TestDesk::new();
    let run = |args: &[&str], stdin: &str| {
        let mut command = desk.command();
        command.env_remove("DESKBRIDGE_WEBHOOK_KEY").args(args);
        let stdin = stdin.to_owned();
        async move {
            command
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            let mut child = command.spawn().unwrap();
            let mut input = child.stdin.take().unwrap();
            input.write_all(stdin.as_bytes()).await.unwrap();
            drop(input);
            child.wait_with_output().await.unwrap()
        }
    };

    let check = run(&["webhook-key", "check"], "").await;
    assert!(!check.status.success());

    let invalid = run(&["webhook-key", "set"], "not base64!").await;
    assert!(!invalid.status.success());

    let set = run(&["webhook-key", "set"], &format!("{KEY_BASE64}\n")).await;
    assert!(
        set.status.success(),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
    let check = run(&["webhook-key", "check"], "").await;
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    for output in [&set, &check] {
        let printed = [&output.stdout[..], &output.stderr[..]].concat();
        assert!(!String::from_utf8_lossy(&printed).contains(KEY_BASE64));
    }

    // serve now finds the key in the keyring.
    let mut command = desk.command();
    command.env_remove("DESKBRIDGE_WEBHOOK_KEY");
    let mut serving = desk.serve_with(command).await;
    let body = event_body("appt-keyring", "updated");
    assert_eq!(
        send(serving.address, &signed_request(&body, false)).await,
        Answer::Status(200)
    );
    serving.child.start_kill().unwrap();

    let delete = run(&["webhook-key", "delete"], "").await;
    assert!(delete.status.success());
    let check = run(&["webhook-key", "check"], "").await;
    assert!(!check.status.success());
}

#[tokio::test]
async fn verify_judges_a_captured_request() {
    let desk = TestDesk::new();
    let folder = tempfile::tempdir().unwrap();
    let body = event_body("appt-captured", "cancelled");
    let request = signed_request(&body, false);
    let text = String::from_utf8(request).unwrap();
    let (head, _) = text.split_once("\r\n\r\n").unwrap();
    let headers = folder.path().join("headers.txt");
    let body_file = folder.path().join("body.json");
    std::fs::write(&headers, head).unwrap();
    std::fs::write(&body_file, &body).unwrap();

    let verify = |body_file: std::path::PathBuf| {
        let mut command = desk.command();
        command
            .args(["verify", "--headers"])
            .arg(&headers)
            .arg("--body")
            .arg(body_file);
        async move { command.output().await.unwrap() }
    };
    let output = verify(body_file.clone()).await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let verdict: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(verdict["verdict"], "authentic");
    assert_eq!(verdict["freshness"], "fresh");
    assert_eq!(verdict["appointment_id"], "appt-captured");
    assert_eq!(verdict["update_type"], "cancelled");

    let tampered = folder.path().join("tampered.json");
    std::fs::write(&tampered, event_body("appt-captures", "cancelled")).unwrap();
    let output = verify(tampered).await;
    assert_eq!(output.status.code(), Some(1));
    let verdict: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(verdict["verdict"], "rejected");
    assert_eq!(verdict["reason"], "no_matching_signature");
}

/// Runs a secret command with `stdin` as its input; returns whether it succeeded.
async fn set_secret(desk: &TestDesk, command: &str, stdin: &str) -> std::process::Output {
    let mut child = desk
        .command()
        .args([command, "set"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).await.unwrap();
    drop(input);
    child.wait_with_output().await.unwrap()
}

#[tokio::test]
async fn with_zocdoc_credentials_serve_resyncs_at_start_and_processes_each_webhook() {
    use deskbridge_sandbox::zocdoc::{
        self, BulkLoad, Change, FIXTURE_PRACTICE_ID, WebhookTarget, ZocdocConfig, ZocdocEmulator,
    };
    use jiff::{SignedDuration, Timestamp};

    let running = ZocdocEmulator::start(ZocdocConfig::new(
        zocdoc::Environment::Sandbox,
        "practice-client",
        "practice-secret",
    ))
    .await
    .unwrap();
    let now = Timestamp::now();
    running.emulator().load_bulk(&BulkLoad::new(
        12,
        now - SignedDuration::from_hours(6),
        now - SignedDuration::from_mins(1),
        3,
    ));
    let desk = TestDesk::new();
    for (command, value) in [
        ("zocdoc-client-id", "practice-client\n"),
        ("zocdoc-client-secret", "practice-secret\n"),
    ] {
        let output = set_secret(&desk, command, value).await;
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let printed = [&output.stdout[..], &output.stderr[..]].concat();
        assert!(!String::from_utf8_lossy(&printed).contains("practice-secret"));
    }

    let mut command = desk.command();
    command
        .env("DESKBRIDGE_ZOCDOC_BASE_URL", running.base_url())
        .env("DESKBRIDGE_ZOCDOC_TOKEN_URL", running.token_url());
    let mut serving = desk.serve_with(command).await;
    let recovered = serving.line_starting_with("resync: ").await;
    let changes: u64 = recovered
        .strip_prefix("resync: ")
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unexpected resync line {recovered:?}"));
    assert!(changes >= 12, "{recovered}");

    let store = desk.open_store();
    let id = store
        .appointments()
        .unwrap()
        .into_iter()
        .find(|a| a.status == "confirmed" && a.practice_id.as_deref() != Some(FIXTURE_PRACTICE_ID))
        .expect("a confirmed appointment was resynced")
        .id;
    running.emulator().set_webhook_target(Some(
        WebhookTarget::new(
            &format!("http://{}/webhooks/zocdoc", serving.address),
            crate::support::key(),
        )
        .unwrap(),
    ));
    running
        .emulator()
        .change_by_provider(
            &id,
            Change::Cancel {
                reason_type: None,
                reason: None,
            },
        )
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let status = store.appointment(&id).unwrap().unwrap().status;
        if status == "cancelled" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the cancellation was not processed: still {status}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    serving.child.start_kill().unwrap();
    let _ = serving.child.wait().await;
}
