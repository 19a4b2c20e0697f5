//! The desk the commands share: which environment and mode run, where the data lives, the
//! encrypted database (or why it is closed, in plain words), and the running desk service — in
//! demo mode fed by the built-in emulator, otherwise by the practice's own relay and Zocdoc
//! account.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::Context as _;
use deskbridge_core::caspio_push::Mapping;
use deskbridge_core::clock::{Clock, SystemClock};
use deskbridge_core::environment::Environment;
use deskbridge_core::random::OsRandom;
use deskbridge_core::secrets::{
    KeyringSecrets, SecretError, SecretName, SecretPurpose, SecretStore as _,
};
use deskbridge_core::settings::DeskSettings;
use deskbridge_core::store::{OpenError, Store};
use deskbridge_demo::{Demo, DemoConfig};
use deskbridge_relay::client::TunnelConfig;
use deskbridge_service::credentials;
use deskbridge_service::{DeskService, ServiceConfig};
use deskbridge_zocdoc::api::Client;
use deskbridge_zocdoc::webhook::WebhookKey;
use jiff::tz::TimeZone;
use tauri::Manager as _;
use tauri_specta::Event as _;

use crate::caspio::CaspioDesk;
use crate::ipc::{BoardChanged, DeskMode, ErrorCode};

/// Environment variable that picks the Zocdoc environment (`sandbox` or `production`).
const ENVIRONMENT_VAR: &str = "DESKBRIDGE_ENVIRONMENT";
/// Environment variable naming the keyring service for Deskbridge's secrets (default
/// `Deskbridge`), so several desks (or tests) on one machine keep their keys apart.
const KEYRING_SERVICE_VAR: &str = "DESKBRIDGE_KEYRING_SERVICE";
/// `1` starts the demo even when real credentials are set; `0` never starts it.
const DEMO_VAR: &str = "DESKBRIDGE_DEMO";
/// Real seconds the demo's practice day takes (default 600).
const DEMO_DAY_SECONDS_VAR: &str = "DESKBRIDGE_DEMO_DAY_SECONDS";
/// The keyring service of Deskbridge's own secrets.
const DEFAULT_KEYRING_SERVICE: &str = "Deskbridge";
/// The demo's data lives in this folder of the app's data folder, apart from real data.
const DEMO_FOLDER: &str = "demo";

/// What every command may read about the running desk.
#[derive(Debug)]
pub(crate) struct Desk {
    pub(crate) environment: Environment,
    pub(crate) mode: DeskMode,
    /// This environment's own data directory (created on open).
    pub(crate) data_dir: PathBuf,
    /// The practice's time zone (the demo's practice's in demo mode).
    pub(crate) time_zone: TimeZone,
    pub(crate) practice_name: Option<String>,
    pub(crate) clock: Arc<dyn Clock>,
    /// The commands' own connection to the encrypted database, or why it is closed. While it
    /// is closed nothing is acknowledged.
    pub(crate) database: Result<tokio::sync::Mutex<Store>, DatabaseProblem>,
    /// The Zocdoc API client for staff actions and patient details, when credentials are set.
    pub(crate) zocdoc: Option<Client>,
    /// Pushing to Caspio, when an account is set up (the demo's emulator in demo mode).
    pub(crate) caspio: Option<CaspioDesk>,
    /// The running service; taken at exit.
    service: Mutex<Option<DeskService>>,
    /// The demo's emulator and relay; taken at exit.
    demo: Mutex<Option<Demo>>,
    /// Why receiving did not start, when it did not.
    pub(crate) service_problem: Option<String>,
    /// Where Settings reads and writes: the practice's own environment, also in demo mode.
    pub(crate) live: LiveSetup,
}

/// The practice's own environment: its data folder (settings file) and keyring entries.
#[derive(Debug, Clone)]
pub(crate) struct LiveSetup {
    pub(crate) environment: Environment,
    pub(crate) data_dir: PathBuf,
    pub(crate) secrets: KeyringSecrets,
}

/// Why the database is closed: a code for the UI and the store's own plain-words message.
#[derive(Debug, Clone)]
pub(crate) struct DatabaseProblem {
    pub(crate) code: ErrorCode,
    pub(crate) message: String,
}

impl Desk {
    /// Resolves environment and mode, opens the encrypted database with the key from the OS
    /// keyring (made on first run, never over existing data) and starts receiving.
    pub(crate) async fn start(app: &tauri::AppHandle) -> anyhow::Result<Self> {
        let environment = match std::env::var(ENVIRONMENT_VAR) {
            Ok(name) => name
                .parse()
                .with_context(|| format!("{ENVIRONMENT_VAR} is invalid"))?,
            Err(_) => Environment::Sandbox,
        };
        let app_data_dir = app
            .path()
            .app_data_dir()
            .context("this system has no folder for application data")?;
        let service_name = std::env::var(KEYRING_SERVICE_VAR)
            .unwrap_or_else(|_| DEFAULT_KEYRING_SERVICE.to_owned());
        let live = LiveSetup {
            environment,
            data_dir: environment.data_dir(&app_data_dir),
            secrets: KeyringSecrets::with_service(service_name.clone()),
        };
        match choose_mode(&live.secrets, environment) {
            DeskMode::Demo => Self::start_demo(app, &app_data_dir, &service_name, live).await,
            DeskMode::Live => Self::start_live(&app_data_dir, live).await,
        }
    }

    async fn start_demo(
        app: &tauri::AppHandle,
        app_data_dir: &Path,
        service_name: &str,
        live: LiveSetup,
    ) -> anyhow::Result<Self> {
        let environment = Environment::Sandbox;
        let demo_root = app_data_dir.join(DEMO_FOLDER);
        let data_dir = environment.data_dir(&demo_root);
        // The demo replays its day from the start: yesterday's demo data would not match it.
        deskbridge_demo::reset_data(&demo_root)
            .with_context(|| format!("could not reset the demo data in {}", data_dir.display()))?;
        let secrets = KeyringSecrets::with_service(format!("{service_name}-demo"));
        let day_length = std::env::var(DEMO_DAY_SECONDS_VAR)
            .ok()
            .and_then(|seconds| seconds.parse().ok())
            .map_or(
                DemoConfig::default().day_length,
                std::time::Duration::from_secs_f64,
            );
        let demo = Demo::start(DemoConfig {
            day_length,
            ..DemoConfig::default()
        })
        .await
        .context("the demo could not start")?;
        let clock = demo.clock();
        let time_zone = demo.time_zone();
        let practice_name = Some(demo.practice().name.clone());
        let zocdoc = Some(demo.zocdoc_client());
        let mut caspio = None;
        let (database, service, service_problem) = match open(&demo_root, environment, &secrets) {
            Ok(store) => {
                let commands_store = store.try_clone();
                if let Ok(front_desk_store) = store.try_clone() {
                    let handle = app.clone();
                    demo.start_front_desk(front_desk_store, move |id| {
                        let changed = BoardChanged {
                            ids: vec![id.to_owned()],
                        };
                        if let Err(error) = changed.emit(&handle) {
                            tracing::warn!(%error, "the board was not told of an arrival");
                        }
                    });
                }
                caspio = store.try_clone().ok().map(|push_store| {
                    CaspioDesk::new(
                        push_store,
                        demo.caspio_client(),
                        Mapping::default_appointments(time_zone.iana_name().unwrap_or("UTC")),
                        clock.clone(),
                    )
                });
                let config = demo.service_config(store);
                start_service(config, commands_store).await
            }
            Err(problem) => (Err(problem), None, None),
        };
        Ok(Desk {
            environment,
            mode: DeskMode::Demo,
            data_dir,
            time_zone,
            practice_name,
            clock,
            database,
            zocdoc,
            caspio,
            service: Mutex::new(service),
            demo: Mutex::new(Some(demo)),
            service_problem,
            live,
        })
    }

    async fn start_live(app_data_dir: &Path, live: LiveSetup) -> anyhow::Result<Self> {
        let environment = live.environment;
        let secrets = live.secrets.clone();
        let data_dir = live.data_dir.clone();
        std::fs::create_dir_all(&data_dir)
            .with_context(|| format!("could not create the data folder {}", data_dir.display()))?;
        let settings = DeskSettings::load(&data_dir).unwrap_or_else(|error| {
            tracing::error!(%error, "settings not read; using defaults");
            DeskSettings::default()
        });
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let (zocdoc, credentials_problem) = match credentials::zocdoc_client(&secrets, environment)
        {
            Ok(client) => (client, None),
            Err(error) => (None, Some(error.to_string())),
        };
        let caspio_client = CaspioDesk::client_from_settings(&settings, &secrets, environment);
        let mut caspio = None;
        let (database, service, service_problem) = match open(app_data_dir, environment, &secrets) {
            Ok(store) => {
                let commands_store = store.try_clone();
                if let (Some(client), Ok(push_store)) = (caspio_client, store.try_clone()) {
                    caspio = Some(CaspioDesk::new(
                        push_store,
                        client,
                        settings.caspio_mapping(),
                        clock.clone(),
                    ));
                }
                match live_config(
                    store,
                    &settings,
                    &secrets,
                    environment,
                    zocdoc.clone(),
                    clock.clone(),
                )
                .await
                {
                    Ok(config) => start_service(config, commands_store).await,
                    Err(problem) => (
                        commands_store
                            .map(tokio::sync::Mutex::new)
                            .map_err(|error| DatabaseProblem {
                                code: ErrorCode::DatabaseUnavailable,
                                message: error.to_string(),
                            }),
                        None,
                        Some(problem),
                    ),
                }
            }
            Err(problem) => (Err(problem), None, None),
        };
        let service_problem = service_problem.or(credentials_problem);
        Ok(Desk {
            environment,
            mode: DeskMode::Live,
            data_dir,
            time_zone: settings.time_zone(),
            practice_name: settings.practice_name.clone(),
            clock,
            database,
            zocdoc,
            caspio,
            service: Mutex::new(service),
            demo: Mutex::new(None),
            service_problem,
            live,
        })
    }

    /// Runs `work` with the running service, if there is one.
    pub(crate) fn with_service<T>(&self, work: impl FnOnce(&DeskService) -> T) -> Option<T> {
        self.service
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(work)
    }

    /// Stops receiving (the service and, in demo mode, the emulator and relay) and closes every
    /// database connection the service holds.
    pub(crate) async fn stop(&self) {
        let service = self
            .service
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(service) = service {
            service.stop().await;
        }
        let demo = self
            .demo
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(demo) = demo {
            demo.stop().await;
        }
    }
}

/// Demo when asked for, or when no real credentials are set for `environment`.
fn choose_mode(secrets: &KeyringSecrets, environment: Environment) -> DeskMode {
    match std::env::var(DEMO_VAR).as_deref() {
        Ok("1") => return DeskMode::Demo,
        Ok("0") => return DeskMode::Live,
        _ => {}
    }
    let configured = [
        SecretPurpose::WebhookKey,
        SecretPurpose::ZocdocClientId,
        SecretPurpose::RelayToken,
    ]
    .into_iter()
    .any(|purpose| {
        // A keyring that cannot be read is the live desk's problem to show, not a reason for
        // the demo to hide it.
        !matches!(
            secrets.get(&SecretName::new(environment, purpose)),
            Ok(None)
        )
    });
    if configured {
        DeskMode::Live
    } else {
        DeskMode::Demo
    }
}

/// Opens the encrypted database of `environment` below `root`.
fn open(
    root: &Path,
    environment: Environment,
    secrets: &KeyringSecrets,
) -> Result<Store, DatabaseProblem> {
    Store::open(root, environment, secrets, &OsRandom).map_err(|error| {
        tracing::error!(%environment, code = ?problem_code(&error), "database not opened");
        DatabaseProblem {
            code: problem_code(&error),
            message: error.to_string(),
        }
    })
}

type Started = (
    Result<tokio::sync::Mutex<Store>, DatabaseProblem>,
    Option<DeskService>,
    Option<String>,
);

/// Starts the service; the commands keep their own connection.
async fn start_service(config: ServiceConfig, commands_store: Result<Store, OpenError>) -> Started {
    let database = commands_store
        .map(tokio::sync::Mutex::new)
        .map_err(|error| DatabaseProblem {
            code: ErrorCode::DatabaseUnavailable,
            message: error.to_string(),
        });
    match DeskService::start(config).await {
        Ok(service) => (database, Some(service), None),
        Err(error) => {
            tracing::error!(%error, "receiving did not start");
            (database, None, Some(error.to_string()))
        }
    }
}

/// The live service's configuration from the keyring and settings. An error says what is
/// missing, in words for the IT person.
async fn live_config(
    store: Store,
    settings: &DeskSettings,
    secrets: &KeyringSecrets,
    environment: Environment,
    zocdoc: Option<Client>,
    clock: Arc<dyn Clock>,
) -> Result<ServiceConfig, String> {
    let secret = |purpose| {
        secrets
            .get(&SecretName::new(environment, purpose))
            .map_err(|error| error.to_string())
    };
    let mut config = ServiceConfig::new(store, clock);
    config.zocdoc = zocdoc;
    config.webhook_key = match secret(SecretPurpose::WebhookKey)? {
        Some(value) => Some(
            WebhookKey::from_base64(value.expose_text().unwrap_or_default().trim()).map_err(
                |_| "The stored webhook key is not valid: enter it again in Settings.".to_owned(),
            )?,
        ),
        None => None,
    };
    if let Some(url) = &settings.relay_url {
        let token = secret(SecretPurpose::RelayToken)?
            .ok_or("The relay URL is set but its token is not: enter it in Settings.")?;
        config.tunnel = Some(TunnelConfig::new(
            url.clone(),
            token,
            format!("Deskbridge {}", env!("CARGO_PKG_VERSION")),
        ));
    }
    if let Some(address) = settings.direct_listen {
        config.direct = Some(
            tokio::net::TcpListener::bind(address)
                .await
                .map_err(|error| format!("Deskbridge could not listen on {address}: {error}"))?,
        );
    }
    Ok(config)
}

fn problem_code(error: &OpenError) -> ErrorCode {
    match error {
        OpenError::Keyring {
            error: SecretError::Locked { .. },
            ..
        } => ErrorCode::KeyringLocked,
        OpenError::Keyring {
            error: SecretError::Unavailable { .. },
            ..
        } => ErrorCode::KeyringUnavailable,
        OpenError::KeyMissing { .. } => ErrorCode::DatabaseKeyMissing,
        OpenError::WrongKey { .. } | OpenError::KeyMalformed { .. } => ErrorCode::DatabaseWrongKey,
        _ => ErrorCode::DatabaseUnavailable,
    }
}
