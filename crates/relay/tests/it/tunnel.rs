//! The tunnel: who may connect, one app per endpoint, take-over, revocation, restarts and gap
//! recovery, dead peers on either side, and what the relay says to a misbehaving app.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use deskbridge_core::random::OsRandom;
use deskbridge_core::secrets::SecretValue;
use deskbridge_relay::client::{Connected, Refusal, TunnelClient, TunnelState};
use deskbridge_relay::frame::{CloseReason, Frame};
use deskbridge_relay::token::EndpointId;
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

use crate::support::*;

fn refused(reason: Refusal) -> impl Fn(&TunnelState) -> bool {
    move |state| matches!(state, TunnelState::Refused { reason: r, .. } if *r == reason)
}

/// An app written by hand: upgrades with `token` and sends what the test says.
pub(crate) async fn raw_app(relay: &TestRelay, token: &str) -> WebSocketStream<TcpStream> {
    let stream = TcpStream::connect(relay.addr).await.unwrap();
    let mut request = relay.tunnel_url().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let (socket, _) = tokio_tungstenite::client_async(request, stream)
        .await
        .unwrap();
    socket
}

/// The next tunnel frame, skipping WebSocket control messages; `None` once closed.
pub(crate) async fn next_frame(socket: &mut WebSocketStream<TcpStream>) -> Option<Frame> {
    let read = async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Binary(bytes))) => return Some(Frame::decode(bytes).unwrap()),
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return None,
                Some(Ok(_)) => {}
            }
        }
    };
    tokio::time::timeout(WAIT, read)
        .await
        .expect("the relay said something")
}

/// Reads frames until the relay's `Closing`, answering nothing.
pub(crate) async fn closing_reason(socket: &mut WebSocketStream<TcpStream>) -> Option<CloseReason> {
    while let Some(frame) = next_frame(socket).await {
        if let Frame::Closing { reason } = frame {
            return Some(reason);
        }
    }
    None
}

fn binary(frame: &Frame) -> Message {
    Message::Binary(frame.encode().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tokens_and_unknown_endpoints_are_refused() {
    let relay = TestRelay::start().await;
    let desk = Desk::new();
    let wrong = app_config(
        relay.tunnel_url(),
        SecretValue::from_text("dbr_not-the-token".to_owned()),
    );
    let app = TunnelClient::start(wrong, desk.ingest.clone(), |_| {}).unwrap();
    wait_for_state(&mut app.state(), refused(Refusal::Unauthorized)).await;

    let unknown = EndpointId::generate(&OsRandom).unwrap();
    let elsewhere = app_config(
        format!("ws://{}/tunnel/{unknown}", relay.addr),
        relay.token.clone(),
    );
    let other = TunnelClient::start(elsewhere, desk.ingest.clone(), |_| {}).unwrap();
    wait_for_state(&mut other.state(), refused(Refusal::Unauthorized)).await;

    // On the wire: 401 with the reason, and no upgrade; the same without any token.
    for authorization in [Some("Bearer dbr_wrong"), None] {
        let mut headers = vec![
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Version", "13"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ];
        if let Some(authorization) = authorization {
            headers.push(("Authorization", authorization));
        }
        let answer = exchange(
            relay.addr,
            &request("GET", &format!("/tunnel/{}", relay.endpoint), &headers, b""),
        )
        .await;
        assert_eq!(status(&answer), Some(401));
        assert!(String::from_utf8_lossy(&answer).contains("deskbridge-refusal: unauthorized"));
    }
    // Nothing is delivered to a refused app.
    let answer = exchange(
        relay.addr,
        &webhook(&relay.hook_path(), &desk.key, "appt-t1"),
    )
    .await;
    assert!(answer.is_empty());
    app.stop().await;
    other.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_app_is_refused_until_it_takes_over() {
    let relay = TestRelay::start().await;
    let first_desk = Desk::new();
    let second_desk = Desk::new();
    let first = connect(relay.app_config(), &first_desk, |_| {}).await;
    // Asked while connected: void (checked below, when the first app is replaced).
    first.take_over();
    let second =
        TunnelClient::start(relay.app_config(), second_desk.ingest.clone(), |_| {}).unwrap();
    wait_for_state(&mut second.state(), refused(Refusal::InUse)).await;

    let answer = exchange(
        relay.addr,
        &webhook(&relay.hook_path(), &first_desk.key, "appt-1"),
    )
    .await;
    assert_eq!(status(&answer), Some(200));
    assert!(first_desk.received_for("appt-1").is_some());
    assert!(second_desk.received().is_empty());

    second.take_over();
    wait_for_state(&mut second.state(), is_connected).await;
    wait_for_state(&mut first.state(), refused(Refusal::Replaced)).await;
    let answer = exchange(
        relay.addr,
        &webhook(&relay.hook_path(), &second_desk.key, "appt-2"),
    )
    .await;
    assert_eq!(status(&answer), Some(200));
    assert!(second_desk.received_for("appt-2").is_some());
    assert!(first_desk.received_for("appt-2").is_none());

    // The replaced app keeps trying, politely: it is refused, it does not take back over.
    wait_for_state(&mut first.state(), refused(Refusal::InUse)).await;
    assert!(is_connected(&second.state().borrow()));
    first.stop().await;
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_an_endpoint_closes_its_tunnel_and_keeps_it_closed() {
    let relay = TestRelay::start().await;
    let desk = Desk::new();
    let app = connect(relay.app_config(), &desk, |_| {}).await;
    let revoked_at = Instant::now();
    relay
        .registry
        .revoke(&relay.endpoint, jiff::Timestamp::now())
        .unwrap();
    wait_for_state(&mut app.state(), refused(Refusal::Revoked)).await;
    assert!(revoked_at.elapsed() < Duration::from_secs(3));
    // Its retries are refused as revoked too (403), not mistaken for a network problem.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(refused(Refusal::Revoked)(&app.state().borrow()));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_relay_restart_the_app_reconnects_delivery_resumes_and_gap_recovery_runs() {
    let mut relay = TestRelay::start().await;
    let desk = Desk::new();
    let connections: Arc<Mutex<Vec<Connected>>> = Arc::default();
    let seen = Arc::clone(&connections);
    let app = connect(relay.app_config(), &desk, move |event| {
        seen.lock().unwrap().push(event);
    })
    .await;
    let answer = exchange(
        relay.addr,
        &webhook(&relay.hook_path(), &desk.key, "appt-before"),
    )
    .await;
    assert_eq!(status(&answer), Some(200));

    relay.stop().await;
    let down = wait_for_state(&mut app.state(), |state| {
        matches!(state, TunnelState::Reconnecting { .. })
    })
    .await;
    assert!(
        matches!(&down, TunnelState::Reconnecting { error, .. } if error.contains("shutting_down")),
        "{down:?}"
    );
    // While the relay is down, Zocdoc cannot connect at all: a transport failure, retried.
    assert!(TcpStream::connect(relay.addr).await.is_err());

    relay.restart().await;
    wait_for_state(&mut app.state(), is_connected).await;
    let answer = exchange(
        relay.addr,
        &webhook(&relay.hook_path(), &desk.key, "appt-after"),
    )
    .await;
    assert_eq!(status(&answer), Some(200));
    assert!(desk.received_for("appt-after").is_some());

    let connections = connections.lock().unwrap().clone();
    assert_eq!(connections.len(), 2, "{connections:?}");
    assert_eq!(connections[0].disconnected_since, None);
    let since = connections[1].disconnected_since.expect("the gap's start");
    assert!(since <= connections[1].at);
    assert!(since >= connections[0].at);
    let state = app.state();
    app.stop().await;
    assert_eq!(*state.borrow(), TunnelState::Stopped);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_that_stops_answering_is_dropped_within_the_peer_timeout() {
    let relay = TestRelay::start().await;
    let desk = Desk::new();
    let mut app = raw_app(&relay, relay.token.expose_text().unwrap()).await;
    app.send(binary(&Frame::Hello {
        app_name: "silent".to_owned(),
    }))
    .await
    .unwrap();
    assert_eq!(next_frame(&mut app).await, Some(Frame::Welcome));
    let silent_since = Instant::now();
    // Never answer the relay's pings.
    assert_eq!(closing_reason(&mut app).await, Some(CloseReason::TimedOut));
    let took = silent_since.elapsed();
    assert!(
        took >= Duration::from_millis(1_500) && took < Duration::from_secs(4),
        "{took:?}"
    );
    let answer = exchange(
        relay.addr,
        &webhook(&relay.hook_path(), &desk.key, "appt-t"),
    )
    .await;
    assert!(answer.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_that_never_answers_a_delivery_makes_the_relay_hang_up_at_the_deadline() {
    let relay = TestRelay::start_with(|config| {
        config.limits.deadline_ms = 300;
        config.limits.shutdown_grace_ms = 300;
    })
    .await;
    let desk = Desk::new();
    let mut app = raw_app(&relay, relay.token.expose_text().unwrap()).await;
    app.send(binary(&Frame::Hello {
        app_name: "stalled".to_owned(),
    }))
    .await
    .unwrap();
    assert_eq!(next_frame(&mut app).await, Some(Frame::Welcome));
    let addr = relay.addr;
    let request = webhook(&relay.hook_path(), &desk.key, "appt-stalled");
    let send = tokio::spawn(async move {
        let started = Instant::now();
        (exchange(addr, &request).await, started.elapsed())
    });
    // The app receives the delivery with the raw body and the signature headers...
    let delivered = loop {
        match next_frame(&mut app).await.unwrap() {
            Frame::Deliver { id, headers, body } => break (id, headers, body),
            Frame::Ping { nonce } => app.send(binary(&Frame::Pong { nonce })).await.unwrap(),
            other => panic!("{other:?}"),
        }
    };
    let (id, headers, body) = delivered;
    assert_eq!(body, Bytes::from(payload("appt-stalled")));
    assert!(headers.contains_key("webhook-signature"));
    assert!(headers.contains_key("webhook-timestamp"));
    assert!(!headers.contains_key("host"));
    // ...and never answers: the sender gets zero bytes, at the deadline.
    let (answer, took) = send.await.unwrap();
    assert!(answer.is_empty());
    assert!(
        took >= Duration::from_millis(280) && took < Duration::from_secs(2),
        "{took:?}"
    );
    // A late outcome is ignored, not an error: the tunnel stays up.
    app.send(binary(&Frame::Outcome {
        id,
        kind: deskbridge_relay::frame::OutcomeKind::Stored,
    }))
    .await
    .unwrap();
    app.send(binary(&Frame::Ping { nonce: 9 })).await.unwrap();
    loop {
        match next_frame(&mut app).await.unwrap() {
            Frame::Pong { nonce } => {
                assert_eq!(nonce, 9);
                break;
            }
            Frame::Ping { nonce } => app.send(binary(&Frame::Pong { nonce })).await.unwrap(),
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_that_goes_silent_is_noticed_and_left() {
    // A fake relay: welcomes the app, then neither reads nor writes.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let fake = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut socket = tokio_tungstenite::accept_async(stream).await.unwrap();
        let hello = socket.next().await.unwrap().unwrap();
        assert!(matches!(
            Frame::decode(hello.into_data()).unwrap(),
            Frame::Hello { .. }
        ));
        socket.send(binary(&Frame::Welcome)).await.unwrap();
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(socket);
    });
    let desk = Desk::new();
    let config = app_config(
        format!(
            "ws://{addr}/tunnel/{}",
            EndpointId::generate(&OsRandom).unwrap()
        ),
        SecretValue::from_text("dbr_x".to_owned()),
    );
    let app = connect(config, &desk, |_| {}).await;
    let connected_at = Instant::now();
    let state = wait_for_state(&mut app.state(), |state| {
        matches!(state, TunnelState::Reconnecting { .. })
    })
    .await;
    let took = connected_at.elapsed();
    assert!(took < Duration::from_secs(4), "{took:?}");
    assert!(
        matches!(&state, TunnelState::Reconnecting { error, .. } if error.contains("stopped answering")),
        "{state:?}"
    );
    app.stop().await;
    fake.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_mistakes_are_answered_with_a_reason() {
    let relay = TestRelay::start().await;
    let token = relay.token.expose_text().unwrap().to_owned();

    // A hello from a future version.
    let mut app = raw_app(&relay, &token).await;
    app.send(Message::Binary(Bytes::from_static(&[2, 0x01, 0, 0])))
        .await
        .unwrap();
    assert_eq!(
        closing_reason(&mut app).await,
        Some(CloseReason::UnsupportedVersion)
    );

    // Anything but a hello first.
    let mut app = raw_app(&relay, &token).await;
    app.send(binary(&Frame::Ping { nonce: 1 })).await.unwrap();
    assert_eq!(
        closing_reason(&mut app).await,
        Some(CloseReason::ProtocolError)
    );

    // No hello at all.
    let mut app = raw_app(&relay, &token).await;
    assert_eq!(closing_reason(&mut app).await, Some(CloseReason::TimedOut));

    // An app sending relay frames after its hello.
    let mut app = raw_app(&relay, &token).await;
    app.send(binary(&Frame::Hello {
        app_name: "confused".to_owned(),
    }))
    .await
    .unwrap();
    assert_eq!(next_frame(&mut app).await, Some(Frame::Welcome));
    app.send(binary(&Frame::Welcome)).await.unwrap();
    assert_eq!(
        closing_reason(&mut app).await,
        Some(CloseReason::ProtocolError)
    );
}
