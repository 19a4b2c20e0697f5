//! The `deskbridge-sandbox` binary: serves the Zocdoc emulator on a local address, optionally
//! playing a scenario day at a chosen pace, or (`caspio`) the Caspio emulator, and prints its
//! base URL on the first line of stdout.
//!
//! ```text
//! ZOCDOC_SECRET=... WEBHOOK_KEY=g9Y9hjTUk9KKH7ffBRbtRmJYo2OISsdMK4flbfDa3zR= \
//! deskbridge-sandbox serve --listen 127.0.0.1:0 --client-id desk --client-secret-env ZOCDOC_SECRET \
//!     --webhook-url http://127.0.0.1:8080/zocdoc/webhook --webhook-key-env WEBHOOK_KEY \
//!     --scenario day --pace 120
//! CASPIO_SECRET=... deskbridge-sandbox caspio --client-id desk --client-secret-env CASPIO_SECRET \
//!     [--tables tables.json]
//! ```
//!
//! Secrets are read from the named environment variables, never from the command line. Logs go
//! to stderr (ids only). The `/_emulator/...` admin endpoints are listed in `src/zocdoc/admin.rs`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use deskbridge_sandbox::caspio::{CaspioConfig, CaspioEmulator, TableDef};
use deskbridge_sandbox::clock::Clock;
use deskbridge_sandbox::zocdoc::{
    DayScenario, Environment, WebhookTarget, ZocdocConfig, ZocdocEmulator,
};
use deskbridge_zocdoc::webhook::WebhookKey;
use jiff::Timestamp;
use tokio::net::TcpListener;

#[derive(Debug, Parser)]
#[command(
    name = "deskbridge-sandbox",
    about = "Emulators of Zocdoc's sandbox and of Caspio for tests and demos"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the Zocdoc emulator (API and token server on one address) until Ctrl-C.
    Serve(Serve),
    /// Serve the Caspio emulator (token endpoint and REST API v3 on one address) until Ctrl-C.
    Caspio(CaspioServe),
}

#[derive(Debug, clap::Args)]
struct CaspioServe {
    /// Address to listen on; port 0 picks a free port (printed as the base URL).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// The web services profile's client id the token endpoint accepts.
    #[arg(long)]
    client_id: String,
    /// Name of the environment variable holding the client secret (never passed on the command line).
    #[arg(long)]
    client_secret_env: String,
    /// A JSON file with the account's tables (a list of `{"name", "fields": [{"name",
    /// "column_type", "unique", "formula"}], "writable"}`); default: the demo's Appointments table.
    #[arg(long)]
    tables: Option<PathBuf>,
    /// Seed of every random choice (tokens, GUIDs, faults).
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum EnvironmentArg {
    Sandbox,
    Production,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ScenarioArg {
    /// No scenario: the fixtures only (sandbox), on the wall clock.
    None,
    /// A practice day from 07:00 to 19:00, with three weeks of history, played at `--pace`.
    Day,
}

#[derive(Debug, clap::Args)]
struct Serve {
    /// Address to listen on; port 0 picks a free port (printed as the base URL).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// The environment played: its token audience and whether the sandbox's fixtures exist.
    #[arg(long, value_enum, default_value = "sandbox")]
    environment: EnvironmentArg,
    /// The client id the token server accepts.
    #[arg(long)]
    client_id: String,
    /// Name of the environment variable holding the client secret (never passed on the command line).
    #[arg(long)]
    client_secret_env: String,
    /// Where provider-side changes are sent as webhooks (http:// only).
    #[arg(long, requires = "webhook_key_env")]
    webhook_url: Option<String>,
    /// Name of the environment variable holding the base64 webhook key.
    #[arg(long)]
    webhook_key_env: Option<String>,
    /// What to play.
    #[arg(long, value_enum, default_value = "none")]
    scenario: ScenarioArg,
    /// Real seconds the scenario's day (07:00 to 19:00) takes.
    #[arg(long, default_value_t = 120.0)]
    pace: f64,
    /// The scenario's day (YYYY-MM-DD, practice time); default today.
    #[arg(long)]
    day: Option<jiff::civil::Date>,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

fn secret_from_env(variable: &str) -> anyhow::Result<String> {
    std::env::var(variable).with_context(|| format!("environment variable {variable} is not set"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    match Cli::parse().command {
        Command::Serve(serve) => serve_zocdoc(serve).await,
        Command::Caspio(serve) => serve_caspio(serve).await,
    }
}

async fn serve_caspio(serve: CaspioServe) -> anyhow::Result<()> {
    let secret = secret_from_env(&serve.client_secret_env)?;
    let mut config = CaspioConfig::new(serve.client_id, secret);
    config.seed = serve.seed;
    if let Some(path) = &serve.tables {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        config.tables = serde_json::from_str::<Vec<TableDef>>(&text)
            .with_context(|| format!("{} does not hold a list of tables", path.display()))?;
    }
    let listener = TcpListener::bind(serve.listen)
        .await
        .with_context(|| format!("listening on {}", serve.listen))?;
    let running = CaspioEmulator::new(config)
        .serve(listener)
        .context("starting the Caspio emulator")?;
    println!("{}", running.base_url());
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    running.shutdown().await;
    Ok(())
}

async fn serve_zocdoc(serve: Serve) -> anyhow::Result<()> {
    let environment = match serve.environment {
        EnvironmentArg::Sandbox => Environment::Sandbox,
        EnvironmentArg::Production => Environment::Production,
    };
    let secret = secret_from_env(&serve.client_secret_env)?;
    let mut config = ZocdocConfig::new(environment, serve.client_id.clone(), secret);
    config.seed = serve.seed;
    config.clock = Clock::system();
    if let Some(url) = &serve.webhook_url {
        let variable = serve
            .webhook_key_env
            .as_deref()
            .context("--webhook-url needs --webhook-key-env")?;
        let key = WebhookKey::from_base64(&secret_from_env(variable)?)
            .with_context(|| format!("{variable} does not hold a base64 webhook key"))?;
        config.webhook = Some(WebhookTarget::new(url, key).context("--webhook-url")?);
    }
    if !(serve.pace.is_finite() && serve.pace > 0.0) {
        bail!("--pace must be a positive number of seconds");
    }
    let clock = config.clock.clone();
    let emulator = ZocdocEmulator::new(config).context("starting the emulator")?;
    let listener = TcpListener::bind(serve.listen)
        .await
        .with_context(|| format!("listening on {}", serve.listen))?;
    let running = emulator.clone().serve(listener)?;
    println!("{}", running.base_url());

    let scenario = match serve.scenario {
        ScenarioArg::None => None,
        ScenarioArg::Day => {
            let day = serve.day.unwrap_or_else(|| {
                Timestamp::now()
                    .to_zoned_datetime(emulator.time_zone().clone())
                    .date()
            });
            let plan = emulator.plan(&DayScenario::new(day, serve.seed));
            tracing::info!(
                events = plan.events.len(),
                appointments = plan.initial.len(),
                %day,
                pace_seconds = serve.pace,
                "playing a scenario day"
            );
            clock.set(plan.start);
            clock.set_rate(plan.rate_for(Duration::from_secs_f64(serve.pace)));
            Some(emulator.play(plan))
        }
    };
    // Plays the scenario (if any), then keeps serving in real time; only Ctrl-C ends it.
    let keep_serving = async {
        if let Some(run) = scenario {
            let report = run.finished().await;
            clock.set_rate(1.0);
            tracing::info!(
                ?report,
                "scenario day finished; the clock runs in real time now"
            );
        }
        std::future::pending::<()>().await;
    };
    tokio::select! {
        signal = tokio::signal::ctrl_c() => signal.context("waiting for Ctrl-C")?,
        () = keep_serving => {}
    }
    running.shutdown().await;
    Ok(())
}
