//! `serve`: receive Zocdoc webhooks without a window, until Ctrl-C or SIGTERM — on the direct
//! listener, through the relay tunnel (`--relay`), or both. Refuses to start (so senders get no
//! connection and retry) when the webhook key or the encrypted store cannot be had.

use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use deskbridge_core::clock::SystemClock;
use deskbridge_core::ingest::Ingest;
use deskbridge_relay::client::{Connected, TunnelClient, TunnelConfig, TunnelState};
use deskbridge_relay::direct::{self, WEBHOOK_PATH};
use deskbridge_relay::http_server::Server;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::desk::Desk;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The address to listen on; port 0 picks a free port (the address is printed).
    #[arg(long, env = "DESKBRIDGE_LISTEN", default_value = "127.0.0.1:8787")]
    listen: SocketAddr,
    /// Also receive through the relay: its tunnel URL, as `deskbridge-relay endpoint add`
    /// printed it (`wss://…/tunnel/…`). The token comes from the keyring (`relay-token set`).
    #[arg(long, env = "DESKBRIDGE_RELAY_URL")]
    relay: Option<String>,
    /// Receive through the relay only: no direct listener.
    #[arg(long, requires = "relay")]
    no_direct: bool,
    /// Benchmark only: an UNENCRYPTED database, to measure what SQLCipher costs.
    #[cfg(feature = "plaintext-benchmark")]
    #[arg(long, hide = true)]
    plaintext_benchmark: bool,
}

pub(crate) fn run(desk: &Desk, args: Args) -> anyhow::Result<ExitCode> {
    let key = desk.webhook_key()?;
    #[cfg(feature = "plaintext-benchmark")]
    let store = if args.plaintext_benchmark {
        tracing::warn!("benchmark mode: the database is NOT encrypted");
        deskbridge_core::store::Store::open_plaintext_for_benchmark(
            &desk.app_data_dir()?,
            desk.environment,
        )?
    } else {
        desk.open_store()?
    };
    #[cfg(not(feature = "plaintext-benchmark"))]
    let store = desk.open_store()?;
    let relay = match &args.relay {
        Some(url) => Some((url.clone(), desk.relay_token()?)),
        None => None,
    };
    let runtime = tokio::runtime::Runtime::new().context("could not start the async runtime")?;
    runtime.block_on(async {
        let ingest = Ingest::start(store, Some(key), Arc::new(SystemClock))
            .context("could not start the database writer")?;
        let tunnel = match relay {
            Some((url, token)) => {
                let config = TunnelConfig::new(url, token, format!("deskbridge-cli {}", env!("CARGO_PKG_VERSION")));
                let client = TunnelClient::start(config, ingest.clone(), |link: Connected| {
                    tracing::info!(at = %link.at, down_since = ?link.disconnected_since, "relay tunnel up: gap recovery point");
                })
                .context("could not start the relay tunnel")?;
                tokio::spawn(report_tunnel(client.state()));
                Some(client)
            }
            None => None,
        };
        if args.no_direct {
            shutdown_signal().await;
        } else {
            let listener = TcpListener::bind(args.listen)
                .await
                .with_context(|| format!("could not listen on {}", args.listen))?;
            let address = listener.local_addr()?;
            println!("listening on http://{address}{WEBHOOK_PATH}");
            std::io::stdout().flush()?;
            tracing::info!(%address, environment = %desk.environment, "direct listener started");
            Server::new(direct::router(ingest.clone()))
                .run(listener, shutdown_signal())
                .await?;
        }
        if let Some(tunnel) = tunnel {
            tunnel.stop().await;
        }
        ingest.shutdown().await;
        tracing::info!("stopped receiving");
        Ok(ExitCode::SUCCESS)
    })
}

/// Prints each change of the tunnel's state, for the person watching the terminal.
async fn report_tunnel(mut state: watch::Receiver<TunnelState>) {
    loop {
        let line = match &*state.borrow_and_update() {
            TunnelState::Connecting { .. } => "relay tunnel: connecting".to_owned(),
            TunnelState::Connected { since } => format!("relay tunnel: connected since {since}"),
            TunnelState::Reconnecting {
                since,
                attempt,
                error,
            } => format!(
                "relay tunnel: down since {since}, reconnecting (attempt {attempt}): {error}"
            ),
            TunnelState::Refused { reason, .. } => format!("relay tunnel: refused: {reason}"),
            TunnelState::Stopped => "relay tunnel: stopped".to_owned(),
        };
        println!("{line}");
        let _ = std::io::stdout().flush();
        if state.changed().await.is_err() {
            return;
        }
    }
}

/// Resolves on Ctrl-C, or on SIGTERM where there is one.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
