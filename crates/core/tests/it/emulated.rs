//! What the processing and resync tests share: a store, the Zocdoc emulator on 127.0.0.1, and an
//! API client for it whose backoff is short (the emulator's 429s need no real wait).

use std::sync::Arc;
use std::time::Duration;

use deskbridge_core::environment::Environment;
use deskbridge_core::random::OsRandom;
use deskbridge_core::secrets::MemorySecrets;
use deskbridge_core::store::Store;
use deskbridge_sandbox::zocdoc::{self, RunningZocdoc, ZocdocConfig, ZocdocEmulator};
use deskbridge_zocdoc::api::{Client, ClientId, ClientSecret, RetryPolicy};
use tempfile::TempDir;

pub(crate) const CLIENT_ID: &str = "deskbridge-test";
pub(crate) const CLIENT_SECRET: &str = "test-secret";

/// A new encrypted store in its own folder.
pub(crate) fn store() -> (TempDir, Store) {
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

/// The sandbox emulator's configuration for the test client.
pub(crate) fn config() -> ZocdocConfig {
    ZocdocConfig::new(zocdoc::Environment::Sandbox, CLIENT_ID, CLIENT_SECRET)
}

/// Starts the emulator.
pub(crate) async fn start(config: ZocdocConfig) -> RunningZocdoc {
    ZocdocEmulator::start(config).await.unwrap()
}

/// A client of `running`, retrying 429s many times with millisecond backoff.
pub(crate) fn client(running: &RunningZocdoc) -> Client {
    Client::builder(
        deskbridge_zocdoc::api::Environment::Sandbox,
        ClientId::new(CLIENT_ID),
        ClientSecret::new(CLIENT_SECRET.to_owned()),
    )
    .base_url(running.base_url())
    .token_url(running.token_url())
    .retry_policy(RetryPolicy {
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(8),
        rate_limit_retries: 20,
        server_retries: 3,
        max_retry_after: Duration::from_secs(1),
    })
    .build()
    .unwrap()
}

/// The system clock, as `deskbridge-core` takes it.
pub(crate) fn system_clock() -> Arc<dyn deskbridge_core::clock::Clock> {
    Arc::new(deskbridge_core::clock::SystemClock)
}
