//! The `deskbridge-relay` binary as a real process: its endpoint commands, a crash and restart
//! with the desk app reconnecting, revocation while running, SIGTERM, and what it logs.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use deskbridge_core::secrets::SecretValue;
use deskbridge_relay::client::{Connected, Refusal, TunnelState};
use deskbridge_relay::frame::{CloseReason, Frame, OutcomeKind};
use deskbridge_relay::token::TokenHash;
use futures_util::{SinkExt as _, StreamExt as _};
use tempfile::TempDir;
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

use crate::support::*;

struct Added {
    id: String,
    token: String,
    webhook_url: String,
    tunnel_url: String,
}

/// Runs `endpoint add` and reads what it printed.
fn add_endpoint(registry: &std::path::Path, name: &str) -> Added {
    let output = relay_command(
        registry,
        &[("DESKBRIDGE_RELAY_PUBLIC_URL", "https://relay.example.com")],
    )
    .args(["endpoint", "add", "--name", name])
    .output()
    .unwrap();
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8(output.stdout).unwrap();
    let field = |label: &str| {
        text.lines()
            .find_map(|line| line.trim().strip_prefix(label))
            .unwrap_or_else(|| panic!("{label} in {text}"))
            .trim()
            .to_owned()
    };
    Added {
        id: field("Endpoint id:"),
        token: field("Token:"),
        webhook_url: field("Webhook URL:"),
        tunnel_url: field("Tunnel URL:"),
    }
}

fn run(registry: &std::path::Path, args: &[&str]) -> std::process::Output {
    relay_command(registry, &[]).args(args).output().unwrap()
}

#[test]
fn endpoint_commands_show_the_token_once_and_keep_only_its_hash() {
    let dir = TempDir::new().unwrap();
    let registry = dir.path().join("endpoints.json");
    let added = add_endpoint(&registry, "Main St");
    assert_eq!(added.id.len(), 22);
    assert_eq!(
        added.webhook_url,
        format!("https://relay.example.com/hooks/{}", added.id)
    );
    assert_eq!(
        added.tunnel_url,
        format!("wss://relay.example.com/tunnel/{}", added.id)
    );
    assert!(added.token.starts_with("dbr_"));

    let stored = std::fs::read_to_string(&registry).unwrap();
    assert!(!stored.contains(&added.token));
    assert!(stored.contains(&TokenHash::of(added.token.as_bytes()).to_hex()));

    let list = run(&registry, &["endpoint", "list"]);
    let listed = String::from_utf8(list.stdout).unwrap();
    assert!(list.status.success());
    assert!(listed.contains(&added.id) && listed.contains("Main St") && listed.contains("active"));
    assert!(!listed.contains(&added.token));

    let revoke = run(&registry, &["endpoint", "revoke", &added.id]);
    assert!(revoke.status.success(), "{revoke:?}");
    let listed = String::from_utf8(run(&registry, &["endpoint", "list"]).stdout).unwrap();
    assert!(listed.contains("revoked"), "{listed}");

    let again = run(&registry, &["endpoint", "revoke", &added.id]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already revoked"));
    let unknown = run(&registry, &["endpoint", "revoke", "not-an-id"]);
    assert!(!unknown.status.success());

    // A configuration mistake is named, and nothing runs.
    let typo = relay_command(&registry, &[("DESKBRIDGE_RELAY_DEADLINE_MS", "3000")])
        .args(["endpoint", "list"])
        .output()
        .unwrap();
    assert!(!typo.status.success());
    assert!(
        String::from_utf8_lossy(&typo.stderr)
            .contains("DESKBRIDGE_RELAY_DEADLINE_MS is not a setting")
    );
    let no_tls = std::process::Command::new(env!("CARGO_BIN_EXE_deskbridge-relay"))
        .env_clear()
        .env("DESKBRIDGE_RELAY_REGISTRY", &registry)
        .args(["endpoint", "list"])
        .output()
        .unwrap();
    assert!(!no_tls.status.success());
    assert!(String::from_utf8_lossy(&no_tls.stderr).contains("no TLS configured"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_survives_a_crash_and_restart_revocation_and_sigterm() {
    let dir = TempDir::new().unwrap();
    let registry = dir.path().join("endpoints.json");
    let added = add_endpoint(&registry, "Main St");
    let mut relay = RelayProcess::spawn(&registry, "127.0.0.1:0", &[]);
    let addr = relay.addr;
    let hook = format!("/hooks/{}", added.id);

    let desk = Desk::new();
    let connections: Arc<Mutex<Vec<Connected>>> = Arc::default();
    let seen = Arc::clone(&connections);
    let config = app_config(
        format!("ws://{addr}/tunnel/{}", added.id),
        SecretValue::from_text(added.token.clone()),
    );
    let app = connect(config, &desk, move |event| seen.lock().unwrap().push(event)).await;
    let mut state = app.state();

    let answer = exchange(addr, &webhook(&hook, &desk.key, "appt-proc-1")).await;
    assert_eq!(status(&answer), Some(200), "{}", relay.logs());
    assert!(desk.received_for("appt-proc-1").is_some());
    let logs_before_crash = relay.logs();

    // A crash: the tunnel drops, the app notices and retries; Zocdoc cannot connect.
    relay.kill();
    wait_for_state(&mut state, |state| {
        matches!(state, TunnelState::Reconnecting { .. })
    })
    .await;
    assert!(TcpStream::connect(addr).await.is_err());

    // The relay comes back on the same address: the app reconnects by itself.
    let mut relay = RelayProcess::spawn(&registry, &addr.to_string(), &[]);
    wait_for_state(&mut state, is_connected).await;
    let answer = exchange(addr, &webhook(&hook, &desk.key, "appt-proc-2")).await;
    assert_eq!(status(&answer), Some(200), "{}", relay.logs());
    assert!(desk.received_for("appt-proc-2").is_some());
    {
        let connections = connections.lock().unwrap();
        assert_eq!(connections.len(), 2);
        assert!(connections[1].disconnected_since.is_some());
    }

    // Revoked by the command line while running: the tunnel is closed, the URL is gone.
    let revoke = run(&registry, &["endpoint", "revoke", &added.id]);
    assert!(revoke.status.success());
    wait_for_state(&mut state, |state| {
        matches!(
            state,
            TunnelState::Refused {
                reason: Refusal::Revoked,
                ..
            }
        )
    })
    .await;
    let answer = exchange(addr, &webhook(&hook, &desk.key, "appt-proc-3")).await;
    assert_eq!(status(&answer), Some(404));

    // SIGTERM: a clean exit.
    let exit = relay.terminate().await;
    assert!(exit.success(), "{exit:?}: {}", relay.logs());
    app.stop().await;

    // At trace level, across both runs: endpoint, size, outcome, latency — never the token, a
    // signature or a body.
    let logs = format!("{logs_before_crash}{}", relay.logs());
    assert!(logs.contains("webhook relayed"), "{logs}");
    assert!(logs.contains(&added.id));
    for secret in [
        added.token.as_str(),
        &added.token[4..],
        "v1:",
        "appointment_updated",
        "appt-proc",
    ] {
        assert!(!logs.contains(secret), "the logs contain {secret:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_a_webhook_in_flight_get_its_answer_then_closes_the_tunnels() {
    let dir = TempDir::new().unwrap();
    let registry = dir.path().join("endpoints.json");
    let added = add_endpoint(&registry, "Main St");
    let mut relay = RelayProcess::spawn(&registry, "127.0.0.1:0", &[]);
    let addr = relay.addr;
    let key = deskbridge_zocdoc::webhook::WebhookKey::from_bytes(b"k".to_vec());

    // An app by hand, so the test knows exactly when the webhook is in flight.
    let mut request = format!("ws://{addr}/tunnel/{}", added.id)
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {}", added.token).parse().unwrap(),
    );
    let (mut app, _) =
        tokio_tungstenite::client_async(request, TcpStream::connect(addr).await.unwrap())
            .await
            .unwrap();
    let hello = Frame::Hello {
        app_name: "by hand".to_owned(),
    };
    app.send(Message::Binary(hello.encode().unwrap()))
        .await
        .unwrap();
    // Registered once welcomed: only then will the relay deliver to it.
    let welcome = next(&mut app)
        .await
        .unwrap_or_else(|_| panic!("silence: {}", relay.logs()));
    assert_eq!(welcome, Some(Frame::Welcome));
    let request = webhook(&format!("/hooks/{}", added.id), &key, "appt-inflight");
    let send = tokio::spawn(async move { exchange(addr, &request).await });
    let id = match next(&mut app)
        .await
        .unwrap_or_else(|_| panic!("silence: {}", relay.logs()))
    {
        Some(Frame::Deliver { id, .. }) => id,
        other => panic!("{other:?}"),
    };

    // SIGTERM while the webhook waits for its outcome.
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &relay.pid().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    // Half a second of the app thinking (answering pings meanwhile).
    let _ = tokio::time::timeout(Duration::from_millis(500), next(&mut app)).await;
    assert!(
        relay.is_running(),
        "the relay waits for the webhook in flight"
    );
    // No new connection is accepted meanwhile.
    assert!(TcpStream::connect(addr).await.is_err());
    let outcome = Frame::Outcome {
        id,
        kind: OutcomeKind::Stored,
    };
    app.send(Message::Binary(outcome.encode().unwrap()))
        .await
        .unwrap();
    let answer = send.await.unwrap();
    assert_eq!(status(&answer), Some(200), "{}", relay.logs());

    // Then the tunnel is closed with its reason, and the relay exits cleanly.
    let closing = next(&mut app)
        .await
        .unwrap_or_else(|_| panic!("silence: {}", relay.logs()));
    assert_eq!(
        closing,
        Some(Frame::Closing {
            reason: CloseReason::ShuttingDown
        })
    );
    let exit = relay.terminate_wait().await;
    assert!(exit.success(), "{exit:?}: {}", relay.logs());
}

/// The next tunnel frame from the relay, answering its pings (a live app does) and skipping
/// WebSocket control messages; `Err` when the relay says nothing for `WAIT`.
async fn next(
    app: &mut WebSocketStream<TcpStream>,
) -> Result<Option<Frame>, tokio::time::error::Elapsed> {
    let read = async {
        loop {
            match app.next().await {
                Some(Ok(Message::Binary(bytes))) => match Frame::decode(bytes).unwrap() {
                    Frame::Ping { nonce } => {
                        let pong = Frame::Pong { nonce }.encode().unwrap();
                        app.send(Message::Binary(pong)).await.unwrap();
                    }
                    frame => return Some(frame),
                },
                Some(Ok(Message::Close(_)) | Err(_)) | None => return None,
                Some(Ok(_)) => {}
            }
        }
    };
    tokio::time::timeout(WAIT, read).await
}
