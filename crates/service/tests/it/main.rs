//! The running desk against the Zocdoc emulator on 127.0.0.1: a start-up resync, a provider's
//! change arriving as a signed webhook and appearing as a live event with local state, a staff
//! resync, and a desk without API credentials that still stores webhooks.

use std::sync::Arc;
use std::time::Duration;

use deskbridge_core::clock::{Clock, SystemClock};
use deskbridge_core::environment::Environment;
use deskbridge_core::ingest::Outcome;
use deskbridge_core::random::OsRandom;
use deskbridge_core::secrets::MemorySecrets;
use deskbridge_core::store::Store;
use deskbridge_relay::direct::WEBHOOK_PATH;
use deskbridge_sandbox::zocdoc::{
    self, BulkLoad, Change, FIXTURE_PRACTICE_ID, Route, RunningZocdoc, WebhookTarget, ZocdocConfig,
    ZocdocEmulator,
};
use deskbridge_service::{
    ApiHealth, DeskService, ResyncReason, ResyncRequestError, ResyncState, ServiceConfig,
    ServiceEvent,
};
use deskbridge_zocdoc::api::{Client, ClientId, ClientSecret};
use deskbridge_zocdoc::webhook::WebhookKey;
use jiff::{SignedDuration, Timestamp};
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::sync::broadcast;

const CLIENT_ID: &str = "deskbridge-test";
const CLIENT_SECRET: &str = "test-secret";
const KEY: &str = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn store() -> (TempDir, Store) {
    let dir = TempDir::new().unwrap();
    let store = Store::open(
        dir.path(),
        Environment::Sandbox,
        &MemorySecrets::new(),
        &OsRandom,
    )
    .unwrap();
    (dir, store)
}

async fn emulator(count: usize) -> RunningZocdoc {
    let running = ZocdocEmulator::start(ZocdocConfig::new(
        zocdoc::Environment::Sandbox,
        CLIENT_ID,
        CLIENT_SECRET,
    ))
    .await
    .unwrap();
    let now = Timestamp::now();
    running.emulator().load_bulk(&BulkLoad::new(
        count,
        now - SignedDuration::from_hours(24),
        now - SignedDuration::from_mins(1),
        5,
    ));
    running
}

fn client(running: &RunningZocdoc) -> Client {
    Client::builder(
        deskbridge_zocdoc::api::Environment::Sandbox,
        ClientId::new(CLIENT_ID),
        ClientSecret::new(CLIENT_SECRET.to_owned()),
    )
    .base_url(running.base_url())
    .token_url(running.token_url())
    .build()
    .unwrap()
}

async fn service(store: Store, zocdoc: Option<Client>) -> DeskService {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let mut config = ServiceConfig::new(store, clock);
    config.webhook_key = Some(WebhookKey::from_base64(KEY).unwrap());
    config.zocdoc = zocdoc;
    config.direct = Some(TcpListener::bind("127.0.0.1:0").await.unwrap());
    DeskService::start(config).await.unwrap()
}

/// Waits (at most 10 s) for an event that `wanted` accepts.
async fn until<T>(
    events: &mut broadcast::Receiver<ServiceEvent>,
    mut wanted: impl FnMut(&ServiceEvent) -> Option<T>,
) -> T {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let event = events.recv().await.unwrap();
            if let Some(found) = wanted(&event) {
                return found;
            }
        }
    })
    .await
    .expect("the event came within 10 s")
}

fn resync_done(event: &ServiceEvent) -> Option<(ResyncReason, u64)> {
    match event {
        ServiceEvent::Status(status) => match &status.resync {
            ResyncState::Done {
                reason, summary, ..
            } => Some((*reason, summary.fetched)),
            _ => None,
        },
        _ => None,
    }
}

#[tokio::test]
async fn a_webhook_becomes_local_state_and_a_live_event_after_the_start_up_resync() {
    let running = emulator(20).await;
    let (_dir, store) = store();
    let reader = store.try_clone().unwrap();
    let desk = service(store, Some(client(&running))).await;
    let mut events = desk.subscribe();

    let (reason, fetched) = match &desk.status().resync {
        ResyncState::Done {
            reason, summary, ..
        } => (*reason, summary.fetched),
        _ => until(&mut events, resync_done).await,
    };
    assert_eq!(reason, ResyncReason::StartUp, "{:?}", desk.status());
    assert!(fetched >= 20, "the start-up resync read {fetched}");
    let local = reader.appointments().unwrap();
    assert!(local.len() >= 20);

    let address = desk.direct_address().unwrap();
    running.emulator().set_webhook_target(Some(
        WebhookTarget::new(
            &format!("http://{address}{WEBHOOK_PATH}"),
            WebhookKey::from_base64(KEY).unwrap(),
        )
        .unwrap(),
    ));
    let id = local
        .iter()
        .find(|a| a.status == "confirmed" && a.practice_id.as_deref() != Some(FIXTURE_PRACTICE_ID))
        .expect("a confirmed appointment")
        .id
        .clone();
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
    let webhook = until(&mut events, |event| match event {
        ServiceEvent::Webhook(notice) => Some(notice.clone()),
        _ => None,
    })
    .await;
    assert_eq!(webhook.appointment_id.as_deref(), Some(id.as_str()));
    let Outcome::Stored { id: webhook_row } = webhook.outcome else {
        panic!("not stored: {:?}", webhook.outcome)
    };
    let changed = until(&mut events, |event| match event {
        ServiceEvent::AppointmentsChanged(ids) if !ids.is_empty() => Some(ids.clone()),
        _ => None,
    })
    .await;
    assert_eq!(changed, std::slice::from_ref(&id));
    assert_eq!(
        reader.appointment(&id).unwrap().unwrap().status,
        "cancelled"
    );
    assert_eq!(desk.status().zocdoc, ApiHealth::Ok);

    // Re-process: the stored webhook is fetched again now, not at some retry time.
    let fetches = || running.emulator().calls().get(Route::GetAppointment);
    let before = fetches();
    assert!(reader.reprocess_webhook(webhook_row).unwrap());
    desk.process_now();
    tokio::time::timeout(Duration::from_secs(10), async {
        while fetches() == before {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the webhook was processed again");

    let calls_before = running.emulator().calls().api_calls();
    desk.request_resync().unwrap();
    let (reason, _) = until(&mut events, |event| {
        resync_done(event).filter(|(reason, _)| *reason == ResyncReason::Staff)
    })
    .await;
    assert_eq!(reason, ResyncReason::Staff);
    assert!(
        running.emulator().calls().api_calls() > calls_before,
        "the staff resync asked Zocdoc"
    );
    desk.stop().await;
}

#[tokio::test]
async fn without_api_credentials_webhooks_are_stored_and_resync_says_what_is_missing() {
    let (_dir, store) = store();
    let reader = store.try_clone().unwrap();
    let desk = service(store, None).await;
    assert_eq!(desk.status().zocdoc, ApiHealth::NotSetUp);
    assert_eq!(desk.request_resync(), Err(ResyncRequestError::NotSetUp));
    assert!(
        ResyncRequestError::NotSetUp
            .to_string()
            .contains("Settings"),
        "staff are told where to fix it"
    );

    let body = br#"{"event_type":"appointment_updated","data":{"data_type":"appointment_data","appointment_data":{"appointment_id":"a-1","appointment_update_type":"created","appointment_updated_timestamp":"2026-11-25T09:00:00Z"}}}"#;
    let outcome = desk
        .ingest()
        .ingest(deskbridge_core::ingest::IncomingWebhook {
            headers: signed_headers(body),
            body: body.to_vec().into(),
        })
        .await;
    assert_eq!(outcome.kind(), "stored");
    assert_eq!(reader.list_received(10).unwrap().len(), 1);
    desk.stop().await;
}

fn signed_headers(body: &[u8]) -> http::HeaderMap {
    let timestamp = Timestamp::now().as_second();
    let key = WebhookKey::from_base64(KEY).unwrap();
    let mut headers = http::HeaderMap::new();
    headers.insert("webhook-timestamp", timestamp.to_string().parse().unwrap());
    headers.insert(
        "webhook-signature",
        deskbridge_zocdoc::webhook::sign(&key, timestamp, body)
            .parse()
            .unwrap(),
    );
    headers
}

/// Serves a relay on `address` until `stop` fires.
async fn relay(
    address: std::net::SocketAddr,
    config: deskbridge_relay::config::RelayConfig,
) -> tokio::sync::oneshot::Sender<()> {
    let listener = TcpListener::bind(address).await.unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(deskbridge_relay::server::run(listener, config, async {
        let _ = stopped.await;
    }));
    stop
}

#[tokio::test]
async fn a_tunnel_reconnection_runs_gap_recovery() {
    use deskbridge_relay::client::{TunnelConfig, TunnelState};
    use deskbridge_relay::config::RelayConfig;
    use deskbridge_relay::registry::Registry;

    let running = emulator(10).await;
    let relay_dir = TempDir::new().unwrap();
    let relay_config = RelayConfig {
        plain_http: true,
        registry: relay_dir.path().join("endpoints.json"),
        ..RelayConfig::default()
    };
    let (endpoint, token) = Registry::new(&relay_config.registry)
        .add("Front desk", &OsRandom, Timestamp::now())
        .unwrap();
    let address = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let stop_relay = relay(address, relay_config.clone()).await;

    let (_dir, store) = store();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let mut config = ServiceConfig::new(store, clock);
    config.webhook_key = Some(WebhookKey::from_base64(KEY).unwrap());
    config.zocdoc = Some(client(&running));
    config.tunnel = Some(TunnelConfig::new(
        format!("ws://{address}/tunnel/{}", endpoint.id),
        token,
        "Deskbridge test",
    ));
    let desk = DeskService::start(config).await.unwrap();
    let mut events = desk.subscribe();
    let connected = |event: &ServiceEvent| match event {
        ServiceEvent::Status(status) => {
            matches!(status.tunnel, Some(TunnelState::Connected { .. })).then_some(())
        }
        _ => None,
    };
    if !matches!(desk.status().tunnel, Some(TunnelState::Connected { .. })) {
        until(&mut events, connected).await;
    }

    stop_relay.send(()).unwrap();
    until(&mut events, |event| match event {
        ServiceEvent::Status(status) => {
            matches!(status.tunnel, Some(TunnelState::Reconnecting { .. })).then_some(())
        }
        _ => None,
    })
    .await;
    let _restarted = relay(address, relay_config).await;
    let (reason, _) = until(&mut events, |event| {
        resync_done(event).filter(|(reason, _)| *reason == ResyncReason::Reconnected)
    })
    .await;
    assert_eq!(reason, ResyncReason::Reconnected);
    assert!(matches!(
        desk.status().tunnel,
        Some(TunnelState::Connected { .. })
    ));
    desk.stop().await;
}
