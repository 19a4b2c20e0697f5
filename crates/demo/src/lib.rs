//! Demo mode: a living practice day with no accounts. A Zocdoc emulator and a Caspio emulator (in
//! process, on 127.0.0.1; Caspio with its demo `Appointments` table); the Zocdoc one plays a realistic day — bookings, confirmations, reschedules, cancellations,
//! arrivals, no-shows — with three weeks of history and two weeks of bookings ahead, on a clock
//! that runs the day at a watchable pace; an in-process relay receives its signed webhooks; and
//! [`Demo::service_config`] points a desk service at both, so everything goes through the real
//! paths: relay, tunnel, verification, the encrypted store, API fetches.
//!
//! Secrets of a demo run (webhook key, API client secret, relay token) are random per run and
//! never leave the process.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use deskbridge_core::clock::Clock as CoreClock;
use deskbridge_core::random::{OsRandom, RandomSource as _};
use deskbridge_core::staff_actions::{StaffAction, perform};
use deskbridge_core::store::Store;
use deskbridge_relay::client::TunnelConfig;
use deskbridge_relay::config::RelayConfig;
use deskbridge_relay::registry::Registry;
use deskbridge_sandbox::caspio::{CaspioConfig, CaspioEmulator, RunningCaspio};
use deskbridge_sandbox::clock::Clock as EmulatedClock;
use deskbridge_sandbox::zocdoc::{
    self, DayScenario, EventKind, Practice, RunningZocdoc, ScenarioRun, SigningTime, WebhookTarget,
    ZocdocConfig, ZocdocEmulator,
};
use deskbridge_service::ServiceConfig;
use deskbridge_zocdoc::api::{Client, ClientId, ClientSecret, Environment};
use deskbridge_zocdoc::webhook::WebhookKey;
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The demo's client id at the emulated Zocdoc.
const CLIENT_ID: &str = "deskbridge-demo";
/// The demo's Caspio account: its integration host (answered by the emulator) and profile.
const CASPIO_HOST: &str = "demo.caspio.com";
const CASPIO_CLIENT_ID: &str = "deskbridge-demo";

/// How the demo plays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoConfig {
    /// Real time the practice day (07:00 to 19:00) takes; afterwards the clock runs in real time.
    pub day_length: Duration,
    /// The day, in the practice's time zone; `None`: today.
    pub day: Option<Date>,
    /// Seed of every choice: the same seed plays the same day.
    pub seed: u64,
}

impl Default for DemoConfig {
    /// Today, played in ten minutes, seed 1.
    fn default() -> Self {
        DemoConfig {
            day_length: Duration::from_secs(600),
            day: None,
            seed: 1,
        }
    }
}

/// Why the demo did not start.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// A local port could not be opened.
    #[error("the demo could not open a local port: {0}")]
    Listen(#[from] std::io::Error),
    /// The emulator could not start.
    #[error("the Zocdoc emulator could not start: {0}")]
    Emulator(String),
    /// The relay's endpoint could not be created.
    #[error("the demo relay could not be set up: {0}")]
    Relay(String),
    /// The API client could not be built.
    #[error("the demo's Zocdoc client could not be set up: {0}")]
    Client(String),
}

/// A running demo: emulator, relay and the day being played. Stop it with [`Demo::stop`].
#[derive(Debug)]
pub struct Demo {
    zocdoc: RunningZocdoc,
    scenario: ScenarioRun,
    /// Sets the clock to real time once the day is played.
    real_time_after_the_day: JoinHandle<()>,
    clock: EmulatedClock,
    relay_stop: oneshot::Sender<()>,
    relay: JoinHandle<()>,
    relay_address: SocketAddr,
    endpoint_id: String,
    relay_token: deskbridge_core::secrets::SecretValue,
    webhook_key: WebhookKey,
    client: Client,
    caspio: RunningCaspio,
    caspio_client: deskbridge_caspio::Client,
    /// When each patient of the day arrives, for the demo's front desk to mark.
    arrivals: Vec<(Timestamp, String)>,
    /// The demo's front desk at work, once started.
    front_desk: std::sync::Mutex<Option<JoinHandle<()>>>,
    _registry_dir: tempfile::TempDir,
}

impl Demo {
    /// Starts the emulator, the relay and the day. Call from inside a tokio runtime.
    pub async fn start(config: DemoConfig) -> Result<Demo, DemoError> {
        let webhook_key_text = random_base64(32)?;
        let webhook_key = WebhookKey::from_base64(&webhook_key_text)
            .map_err(|error| DemoError::Emulator(error.to_string()))?;
        let client_secret = random_base64(24)?;

        let registry_dir = tempfile::TempDir::new()?;
        let relay_config = RelayConfig {
            plain_http: true,
            registry: registry_dir.path().join("endpoints.json"),
            ..RelayConfig::default()
        };
        let (endpoint, relay_token) = Registry::new(&relay_config.registry)
            .add("Demo desk", &OsRandom, Timestamp::now())
            .map_err(|error| DemoError::Relay(error.to_string()))?;
        let relay_listener = TcpListener::bind("127.0.0.1:0").await?;
        let relay_address = relay_listener.local_addr()?;
        let (relay_stop, stopped) = oneshot::channel::<()>();
        let relay = tokio::spawn(async move {
            let shutdown = async {
                let _ = stopped.await;
            };
            if let Err(error) =
                deskbridge_relay::server::run(relay_listener, relay_config, shutdown).await
            {
                tracing::error!(%error, "the demo relay stopped");
            }
        });

        let clock = EmulatedClock::manual(Timestamp::now());
        let mut emulator_config = ZocdocConfig::new(
            zocdoc::Environment::Sandbox,
            CLIENT_ID,
            client_secret.clone(),
        );
        emulator_config.seed = config.seed;
        emulator_config.clock = clock.clone();
        // The whole demo lives on the played day's clock, the desk's freshness check included.
        emulator_config.delivery.signing_time = SigningTime::Emulated;
        emulator_config.webhook = Some(
            WebhookTarget::new(
                &format!("http://{relay_address}/hooks/{}", endpoint.id),
                webhook_key.clone(),
            )
            .map_err(|error| DemoError::Emulator(error.to_string()))?,
        );
        let emulator = ZocdocEmulator::new(emulator_config)
            .map_err(|error| DemoError::Emulator(error.to_string()))?;
        let zocdoc = emulator
            .clone()
            .serve(TcpListener::bind("127.0.0.1:0").await?)
            .map_err(|error| DemoError::Emulator(error.to_string()))?;

        let day = config.day.unwrap_or_else(|| {
            Timestamp::now()
                .to_zoned_datetime(emulator.time_zone().clone())
                .date()
        });
        let plan = emulator.plan(&DayScenario::new(day, config.seed));
        tracing::info!(
            events = plan.events.len(),
            appointments = plan.initial.len(),
            %day,
            "demo: playing a practice day"
        );
        clock.set(plan.start);
        clock.set_rate(plan.rate_for(config.day_length));
        let day_end = plan.end;
        // Arrivals are the front desk's to mark: Zocdoc has no arrived status to report them.
        // The demo's front desk marks them through the desk's own staff-action path instead.
        let mut plan = plan;
        let arrivals: Vec<(Timestamp, String)> = plan
            .events
            .iter()
            .filter(|event| event.kind == EventKind::Arrived)
            .map(|event| (event.at, event.appointment_id.clone()))
            .collect();
        plan.events.retain(|event| event.kind != EventKind::Arrived);
        let scenario = emulator.play(plan);
        let after_the_day = clock.clone();
        let real_time_after_the_day = tokio::spawn(async move {
            after_the_day.sleep_until(day_end).await;
            after_the_day.set_rate(1.0);
        });

        let caspio_secret = random_base64(24)?;
        let mut caspio_config = CaspioConfig::new(CASPIO_CLIENT_ID, caspio_secret.clone());
        caspio_config.clock = clock.clone();
        caspio_config.time_zone = emulator.time_zone().clone();
        let caspio = CaspioEmulator::start(caspio_config).await?;
        let caspio_client = deskbridge_caspio::Client::builder(deskbridge_caspio::Account {
            host: deskbridge_caspio::IntegrationHost::parse(CASPIO_HOST)
                .map_err(|error| DemoError::Client(error.to_string()))?,
            client_id: deskbridge_caspio::ClientId::new(CASPIO_CLIENT_ID),
            client_secret: deskbridge_caspio::ClientSecret::new(caspio_secret),
        })
        .base_url(caspio.base_url())
        .build()
        .map_err(|error| DemoError::Client(error.to_string()))?;

        let client = Client::builder(
            Environment::Sandbox,
            ClientId::new(CLIENT_ID),
            ClientSecret::new(client_secret),
        )
        .base_url(zocdoc.base_url())
        .token_url(zocdoc.token_url())
        .build()
        .map_err(|error| DemoError::Client(error.to_string()))?;

        Ok(Demo {
            zocdoc,
            scenario,
            real_time_after_the_day,
            clock,
            relay_stop,
            relay,
            relay_address,
            endpoint_id: endpoint.id.to_string(),
            relay_token,
            webhook_key,
            client,
            caspio,
            caspio_client,
            arrivals,
            front_desk: std::sync::Mutex::new(None),
            _registry_dir: registry_dir,
        })
    }

    /// A desk service configuration receiving through the demo relay's tunnel and reading from
    /// the emulator, on the demo's clock.
    pub fn service_config(&self, store: Store) -> ServiceConfig {
        let mut config = ServiceConfig::new(store, self.clock());
        config.webhook_key = Some(self.webhook_key.clone());
        config.zocdoc = Some(self.client.clone());
        let mut tunnel = TunnelConfig::new(
            format!("ws://{}/tunnel/{}", self.relay_address, self.endpoint_id),
            self.relay_token.clone(),
            "Deskbridge demo",
        );
        tunnel.clock = self.clock();
        config.tunnel = Some(tunnel);
        config
    }

    /// The Zocdoc API client of the demo (for staff actions and patient details).
    pub fn zocdoc_client(&self) -> Client {
        self.client.clone()
    }

    /// The Caspio client of the demo's Caspio account (the emulator, with its `Appointments`
    /// table).
    pub fn caspio_client(&self) -> deskbridge_caspio::Client {
        self.caspio_client.clone()
    }

    /// Starts the demo's front desk: as each patient of the day arrives (on the played day's
    /// clock) it marks them arrived the way staff do — through Zocdoc's API, then local state from
    /// its answer — on its own connection `store`, and calls `marked` with the appointment id.
    pub fn start_front_desk(&self, mut store: Store, marked: impl Fn(&str) + Send + 'static) {
        let clock = self.clock.clone();
        let client = self.client.clone();
        let arrivals = self.arrivals.clone();
        let task = tokio::spawn(async move {
            for (at, id) in arrivals {
                clock.sleep_until(at).await;
                match perform(
                    &mut store,
                    &client,
                    &id,
                    StaffAction::MarkArrived,
                    clock.now(),
                )
                .await
                {
                    Ok(_) => marked(&id),
                    Err(error) => tracing::info!(
                        appointment_id = %id,
                        %error,
                        "demo front desk: arrival not marked"
                    ),
                }
            }
        });
        if let Some(previous) = self
            .front_desk
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .replace(task)
        {
            previous.abort();
        }
    }

    /// The demo's time (the played day's), as the desk takes a clock.
    pub fn clock(&self) -> Arc<dyn CoreClock> {
        Arc::new(DemoClock(self.clock.clone()))
    }

    /// The emulated practice: its name, time zone, providers, locations and visit reasons.
    pub fn practice(&self) -> &Practice {
        self.zocdoc.emulator().practice()
    }

    /// The practice's time zone.
    pub fn time_zone(&self) -> TimeZone {
        self.zocdoc.emulator().time_zone().clone()
    }

    /// The emulator, for tests and the Caspio side of the demo.
    pub fn emulator(&self) -> &ZocdocEmulator {
        self.zocdoc.emulator()
    }

    /// Whether the whole day has been played.
    pub fn day_is_over(&self) -> bool {
        self.scenario.is_finished()
    }

    /// Stops playing and the front desk, then the emulator and the relay. Waits for the front
    /// desk to let go of its database connection.
    pub async fn stop(self) {
        self.scenario.abort();
        let front_desk = self
            .front_desk
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(front_desk) = front_desk {
            front_desk.abort();
            let _ = front_desk.await;
        }
        self.real_time_after_the_day.abort();
        self.zocdoc.emulator().stop_deliveries();
        self.zocdoc.shutdown().await;
        self.caspio.shutdown().await;
        let _ = self.relay_stop.send(());
        let _ = self.relay.await;
    }
}

/// Deletes the demo's database below `demo_root` (the demo replays its day from the start, so
/// an earlier run's data would not match it). The demo's keyring entry is kept and reused.
pub fn reset_data(demo_root: &Path) -> std::io::Result<()> {
    let dir = deskbridge_core::environment::Environment::Sandbox.data_dir(demo_root);
    match std::fs::remove_dir_all(&dir) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error),
        _ => Ok(()),
    }
}

/// The emulated clock, as the desk takes a clock.
#[derive(Debug)]
struct DemoClock(EmulatedClock);

impl CoreClock for DemoClock {
    fn now(&self) -> Timestamp {
        self.0.now()
    }
}

/// `len` random bytes as standard base64.
fn random_base64(len: usize) -> Result<String, DemoError> {
    let mut bytes = vec![0; len];
    OsRandom
        .fill(&mut bytes)
        .map_err(|error| DemoError::Emulator(error.to_string()))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}
