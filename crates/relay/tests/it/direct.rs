//! The direct listener over real TCP, with a real ingest over a real encrypted store.

use std::net::SocketAddr;

use deskbridge_relay::direct::{self, MAX_BODY_BYTES, WEBHOOK_PATH};
use deskbridge_relay::http_server::Server;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::support::*;

async fn listen(desk: &Desk) -> (SocketAddr, oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(
        Server::new(direct::router(desk.ingest.clone())).run(listener, async {
            let _ = stopped.await;
        }),
    );
    (addr, stop)
}

#[tokio::test]
async fn a_signed_webhook_is_answered_200_once_its_row_is_in_the_store() {
    let desk = Desk::new();
    let (addr, _stop) = listen(&desk).await;
    let answer = exchange(addr, &webhook(WEBHOOK_PATH, &desk.key, "appt-direct-1")).await;
    assert_eq!(
        status(&answer),
        Some(200),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    assert_eq!(answer_body(&answer), r#"{"received":true}"#);
    let row = desk
        .received_for("appt-direct-1")
        .expect("the row is committed");
    assert_eq!(row.update_type.as_deref(), Some("created"));
}

#[tokio::test]
async fn a_bad_signature_is_answered_401_and_recorded_as_rejected() {
    let desk = Desk::new();
    let (addr, _stop) = listen(&desk).await;
    let answer = exchange(addr, &forged(WEBHOOK_PATH, "appt-forged")).await;
    assert_eq!(status(&answer), Some(401));
    assert!(desk.received().is_empty());
    let rejected = desk.rejected();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].reason, "no_matching_signature");
}

#[tokio::test]
async fn a_desk_without_its_store_closes_with_zero_bytes() {
    let desk = Desk::without_store();
    let (addr, _stop) = listen(&desk).await;
    for i in 0..20 {
        let answer = exchange(
            addr,
            &webhook(WEBHOOK_PATH, &desk.key, &format!("appt-{i}")),
        )
        .await;
        assert!(answer.is_empty(), "{}", String::from_utf8_lossy(&answer));
    }
}

#[tokio::test]
async fn a_body_over_1_mib_is_answered_413() {
    let desk = Desk::new();
    let (addr, _stop) = listen(&desk).await;
    let answer = exchange(addr, &declared_head(WEBHOOK_PATH, MAX_BODY_BYTES + 1)).await;
    assert_eq!(status(&answer), Some(413));
    let answer = exchange(addr, &chunked_over_limit(WEBHOOK_PATH)).await;
    assert_eq!(status(&answer), Some(413));
    // Exactly at the limit is not too large (it is read, then rejected as unsigned).
    let at_limit = request("POST", WEBHOOK_PATH, &[], &vec![b'x'; MAX_BODY_BYTES]);
    assert_eq!(status(&exchange(addr, &at_limit).await), Some(401));
}

#[tokio::test]
async fn wrong_methods_unknown_paths_and_health() {
    let desk = Desk::new();
    let (addr, _stop) = listen(&desk).await;
    let get = exchange(addr, &request("GET", WEBHOOK_PATH, &[], b"")).await;
    assert_eq!(status(&get), Some(405));
    let unknown = exchange(addr, &request("POST", "/webhooks/other", &[], b"{}")).await;
    assert_eq!(status(&unknown), Some(404));
    let health = exchange(addr, &request("GET", "/health", &[], b"")).await;
    assert_eq!(status(&health), Some(200));
    assert_eq!(answer_body(&health), r#"{"status":"ok"}"#);
}
