//! `serve --relay`: the desk receives through a relay's tunnel. A webhook posted to the relay's
//! public URL is stored by the desk and answered 200; with the desk gone, the relay answers
//! nothing at all, so Zocdoc retries.

use std::process::Stdio;

use deskbridge_core::random::OsRandom;
use deskbridge_relay::config::RelayConfig;
use deskbridge_relay::registry::Registry;
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::support::{Answer, TestDesk, event_body, send, signed_request_to};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_reach_the_desk_through_the_relay_tunnel() {
    let desk = TestDesk::new();
    let relay_dir = tempfile::tempdir().unwrap();
    let registry_path = relay_dir.path().join("endpoints.json");
    let (endpoint, token) = Registry::new(&registry_path)
        .add("Main St", &OsRandom, jiff::Timestamp::now())
        .unwrap();
    let config = RelayConfig {
        plain_http: true,
        registry: registry_path,
        ..RelayConfig::default()
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let relay = listener.local_addr().unwrap();
    let (stop_relay, relay_stopped) = oneshot::channel::<()>();
    tokio::spawn(deskbridge_relay::server::run(listener, config, async {
        let _ = relay_stopped.await;
    }));

    // The token goes into the keyring through the CLI, as the IT person would do it.
    let mut set = desk.command();
    set.args(["relay-token", "set"]).stdin(Stdio::piped());
    let mut child = set.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(token.expose()).await.unwrap();
    drop(stdin);
    assert!(child.wait().await.unwrap().success());

    let mut serve = desk.command();
    serve
        .args(["serve", "--no-direct", "--relay"])
        .arg(format!("ws://{relay}/tunnel/{}", endpoint.id))
        .stdout(Stdio::piped());
    let mut child = serve.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let connected = tokio::time::timeout(std::time::Duration::from_secs(20), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.starts_with("relay tunnel: connected") {
                return;
            }
        }
        panic!("serve ended before the tunnel connected");
    });
    connected.await.expect("the tunnel did not connect");

    let hook = format!("/hooks/{}", endpoint.id);
    let body = event_body("appt-through-relay", "created");
    assert_eq!(
        send(relay, &signed_request_to(&hook, &body, false)).await,
        Answer::Status(200)
    );
    let forged = event_body("appt-forged-relay", "created");
    assert_eq!(
        send(relay, &signed_request_to(&hook, &forged, true)).await,
        Answer::Status(401)
    );

    // The desk goes away: the relay must not answer for it.
    child.start_kill().unwrap();
    child.wait().await.unwrap();
    let later = event_body("appt-while-desk-is-off", "created");
    assert_eq!(
        send(relay, &signed_request_to(&hook, &later, false)).await,
        Answer::Nothing
    );
    let _ = stop_relay.send(());

    let stored: Vec<_> = desk
        .open_store()
        .list_received(100)
        .unwrap()
        .into_iter()
        .filter_map(|row| row.appointment_id)
        .collect();
    assert_eq!(stored, ["appt-through-relay"]);
}
