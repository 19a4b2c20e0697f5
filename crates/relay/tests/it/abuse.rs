//! Abuse against the relay binary (a real process, so its memory can be read): 500 slow
//! connections trickling bytes, oversized bodies, garbage before and after the tunnel upgrade —
//! while a real webhook is sent and stored. Everything targets 127.0.0.1 and is bounded in time.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use deskbridge_core::random::OsRandom;
use deskbridge_core::secrets::SecretValue;
use deskbridge_relay::frame::Frame;
use deskbridge_relay::registry::Registry;
use futures_util::{SinkExt as _, StreamExt as _};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

use crate::support::*;

const SLOW_CONNECTIONS: usize = 500;

/// Deterministic bytes that look like noise.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_be_bytes()[0]
        })
        .collect()
}

/// Opens a slow connection of one of three kinds and returns how long the relay let it live.
async fn slow_client(addr: SocketAddr, hook: String, kind: usize) -> Duration {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let trickle: Vec<u8> = match kind {
        // Headers, one byte at a time, never finished.
        0 => format!(
            "POST {hook} HTTP/1.1\r\nHost: x\r\nX-Slow: {}",
            "a".repeat(200)
        )
        .into_bytes(),
        // Complete headers, then a body one byte at a time.
        1 => {
            let head = format!("POST {hook} HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n");
            stream.write_all(head.as_bytes()).await.unwrap();
            vec![b'{'; 200]
        }
        // Nothing at all.
        _ => Vec::new(),
    };
    let mut buffer = [0u8; 1024];
    let mut answer = Vec::new();
    let mut next = trickle.iter();
    loop {
        tokio::select! {
            read = stream.read(&mut buffer) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buffer[..n]),
            },
            () = tokio::time::sleep(Duration::from_millis(200)) => {
                if let Some(byte) = next.next()
                    && stream.write_all(&[*byte]).await.is_err()
                {
                    break;
                }
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "a slow client of kind {kind} held a connection for 15 s; it got {:?}",
            String::from_utf8_lossy(&answer)
        );
    }
    // Whatever a slow client got, it was never a 2xx.
    assert!(
        status(&answer).is_none_or(|status| !(200..300).contains(&status)),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    started.elapsed()
}

/// An authenticated tunnel connection that then misbehaves as `kind` says; returns once the
/// relay has closed it.
async fn garbage_app(addr: SocketAddr, endpoint: String, token: String, kind: u64) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let mut request = format!("ws://{addr}/tunnel/{endpoint}")
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let (mut socket, _) = tokio_tungstenite::client_async(request, stream)
        .await
        .unwrap();
    let hello = Message::Binary(
        Frame::Hello {
            app_name: "garbage".to_owned(),
        }
        .encode()
        .unwrap(),
    );
    let messages: Vec<Message> = match kind {
        0 => vec![Message::Binary(Bytes::from(noise(kind, 300)))],
        1 => vec![hello, Message::Binary(Bytes::from(noise(kind, 100)))],
        2 => vec![hello, Message::Text("{\"hello\":true}".into())],
        3 => vec![hello, Message::Binary(Bytes::from(vec![1u8; 64 * 1024]))],
        4 => vec![
            hello,
            Message::Binary(
                Frame::Deliver {
                    id: 1,
                    headers: http::HeaderMap::new(),
                    body: Bytes::from_static(b"{}"),
                }
                .encode()
                .unwrap(),
            ),
        ],
        5 => vec![hello, Message::Binary(Bytes::from_static(&[1, 0x99, 0, 0]))],
        6 => vec![hello, Message::Binary(Bytes::from_static(&[1]))],
        // Says nothing: the hello timeout.
        _ => Vec::new(),
    };
    for message in messages {
        if socket.send(message).await.is_err() {
            break;
        }
    }
    let closed = async {
        while let Some(Ok(message)) = socket.next().await {
            if matches!(message, Message::Close(_)) {
                break;
            }
        }
    };
    tokio::time::timeout(WAIT, closed)
        .await
        .unwrap_or_else(|_| panic!("garbage of kind {kind} did not get the tunnel closed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_stays_up_and_bounded_under_abuse_and_still_stores_real_webhooks() {
    let test_started = Instant::now();
    let dir = TempDir::new().unwrap();
    let registry = Registry::new(dir.path().join("endpoints.json"));
    let now = jiff::Timestamp::now();
    let (main, token) = registry.add("Main St", &OsRandom, now).unwrap();
    let spares: Vec<_> = (0..8)
        .map(|i| registry.add(&format!("Spare {i}"), &OsRandom, now).unwrap())
        .collect();
    let mut relay = RelayProcess::spawn(
        registry.path(),
        "127.0.0.1:0",
        &[
            ("DESKBRIDGE_RELAY_LIMITS_HEADER_READ_TIMEOUT_MS", "3000"),
            ("DESKBRIDGE_RELAY_LIMITS_DEADLINE_MS", "2000"),
            ("DESKBRIDGE_RELAY_LIMITS_SHUTDOWN_GRACE_MS", "2000"),
            ("DESKBRIDGE_RELAY_TUNNEL_HELLO_TIMEOUT_MS", "1000"),
        ],
    );
    let addr = relay.addr;
    let hook = format!("/hooks/{}", main.id);
    let desk = Desk::new();
    let app = connect(
        app_config(
            format!("ws://{addr}/tunnel/{}", main.id),
            SecretValue::new(token.expose().to_vec()),
        ),
        &desk,
        |_| {},
    )
    .await;

    // 500 slow connections, all at once.
    let mut slow = JoinSet::new();
    for i in 0..SLOW_CONNECTIONS {
        slow.spawn(slow_client(addr, hook.clone(), i % 3));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Oversized bodies, declared and not.
    let mut oversized = JoinSet::new();
    for i in 0..20 {
        let hook = hook.clone();
        oversized.spawn(async move {
            let answer = if i % 4 == 0 {
                exchange(addr, &chunked_over_limit(&hook)).await
            } else {
                exchange(addr, &declared_head(&hook, 2 * 1024 * 1024)).await
            };
            assert_eq!(status(&answer), Some(413));
        });
    }

    // Garbage before the upgrade.
    for seed in 0..10u64 {
        let answer = exchange(addr, &noise(seed, 4096)).await;
        assert!(
            status(&answer).is_none_or(|status| status >= 400),
            "{}",
            String::from_utf8_lossy(&answer)
        );
    }
    // Garbage after it, on other endpoints.
    let mut garbage = JoinSet::new();
    for (kind, (spare, spare_token)) in spares.iter().enumerate() {
        garbage.spawn(garbage_app(
            addr,
            spare.id.to_string(),
            spare_token.expose_text().unwrap().to_owned(),
            u64::try_from(kind).unwrap(),
        ));
    }

    // Meanwhile, the real thing.
    for i in 0..5 {
        let answer = exchange(addr, &webhook(&hook, &desk.key, &format!("appt-abuse-{i}"))).await;
        assert_eq!(status(&answer), Some(200), "{}", relay.logs());
    }

    while let Some(done) = oversized.join_next().await {
        done.unwrap();
    }
    while let Some(done) = garbage.join_next().await {
        done.unwrap();
    }
    let mut longest = Duration::ZERO;
    while let Some(lived) = slow.join_next().await {
        longest = longest.max(lived.unwrap());
    }
    // Every slow client was cut off by the header timeout (3 s) or the deadline (2 s).
    assert!(longest < Duration::from_secs(6), "{longest:?}");

    // Still up, still storing, and its memory stayed bounded.
    assert!(relay.is_running());
    let health = exchange(addr, &request("GET", "/health", &[], b"")).await;
    assert_eq!(status(&health), Some(200));
    let answer = exchange(addr, &webhook(&hook, &desk.key, "appt-after-abuse")).await;
    assert_eq!(status(&answer), Some(200));
    for i in 0..5 {
        assert!(desk.received_for(&format!("appt-abuse-{i}")).is_some());
    }
    assert!(desk.received_for("appt-after-abuse").is_some());
    assert!(matches!(
        *app.state().borrow(),
        deskbridge_relay::client::TunnelState::Connected { .. }
    ));
    let peak_kib = relay.memory_kib("VmHWM");
    println!("relay peak resident memory under abuse: {peak_kib} KiB");
    assert!(peak_kib < 128 * 1024, "peak resident memory {peak_kib} KiB");
    assert!(
        test_started.elapsed() < Duration::from_secs(45),
        "{:?}",
        test_started.elapsed()
    );
    app.stop().await;
    let exit = relay.terminate().await;
    assert!(exit.success());
}
