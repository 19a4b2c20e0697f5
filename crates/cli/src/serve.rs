//! `serve`: receive Zocdoc webhooks without a window, until Ctrl-C or SIGTERM — on the direct
//! listener, through the relay tunnel (`--relay`), or both — and, with Zocdoc API credentials in
//! the keyring, process each one, resync at start-up and after every tunnel reconnection. Refuses to start (so senders get no
//! connection and retry) when the webhook key or the encrypted store cannot be had.

use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use deskbridge_core::clock::SystemClock;
use deskbridge_core::resync::GapRecovered;
use deskbridge_relay::client::{TunnelConfig, TunnelState};
use deskbridge_relay::direct::WEBHOOK_PATH;
use deskbridge_service::{
    ApiHealth, DeskService, ResyncState, ServiceConfig, ServiceEvent, ServiceStatus,
};
use tokio::net::TcpListener;
use tokio::sync::broadcast;

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
    let zocdoc = desk.zocdoc_client()?;
    let has_zocdoc = zocdoc.is_some();
    let runtime = tokio::runtime::Runtime::new().context("could not start the async runtime")?;
    runtime.block_on(async {
        let mut config = ServiceConfig::new(store, Arc::new(SystemClock));
        config.webhook_key = Some(key);
        config.zocdoc = zocdoc;
        config.tunnel = relay.map(|(url, token)| {
            TunnelConfig::new(
                url,
                token,
                format!("deskbridge-cli {}", env!("CARGO_PKG_VERSION")),
            )
        });
        if !args.no_direct {
            config.direct = Some(
                TcpListener::bind(args.listen)
                    .await
                    .with_context(|| format!("could not listen on {}", args.listen))?,
            );
        }
        let service = DeskService::start(config)
            .await
            .context("could not start receiving")?;
        if let Some(address) = service.direct_address() {
            println!("listening on http://{address}{WEBHOOK_PATH}");
            std::io::stdout().flush()?;
            tracing::info!(%address, environment = %desk.environment, "direct listener started");
        }
        if !has_zocdoc {
            say(
                "no Zocdoc API credentials: webhooks are stored, and processed once they are set \
                 (zocdoc-client-id set, zocdoc-client-secret set)",
            );
        }
        let report = tokio::spawn(report_status(service.status(), service.subscribe()));
        shutdown_signal().await;
        report.abort();
        service.stop().await;
        Ok(ExitCode::SUCCESS)
    })
}

/// Prints each change of the tunnel's state and each resync's result, for the person watching
/// the terminal.
async fn report_status(mut last: ServiceStatus, mut events: broadcast::Receiver<ServiceEvent>) {
    print_tunnel(last.tunnel.as_ref());
    loop {
        let status = match events.recv().await {
            Ok(ServiceEvent::Status(status)) => status,
            Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
            Err(broadcast::error::RecvError::Closed) => return,
        };
        if status.tunnel != last.tunnel {
            print_tunnel(status.tunnel.as_ref());
        }
        if status.resync != last.resync {
            match &status.resync {
                ResyncState::Done { summary, .. } => {
                    say(&format!("resync: {}", GapRecovered { summary: *summary }));
                }
                ResyncState::Failed { message, .. } => say(&format!("resync stopped: {message}")),
                ResyncState::Idle | ResyncState::Running { .. } => {}
            }
        }
        if status.zocdoc != last.zocdoc
            && let ApiHealth::Failing(why) = &status.zocdoc
        {
            say(&format!("Zocdoc API failing: {why}"));
        }
        last = status;
    }
}

fn print_tunnel(state: Option<&TunnelState>) {
    let line = match state {
        None => return,
        Some(TunnelState::Connecting { .. }) => "relay tunnel: connecting".to_owned(),
        Some(TunnelState::Connected { since }) => format!("relay tunnel: connected since {since}"),
        Some(TunnelState::Reconnecting {
            since,
            attempt,
            error,
        }) => {
            format!("relay tunnel: down since {since}, reconnecting (attempt {attempt}): {error}")
        }
        Some(TunnelState::Refused { reason, .. }) => format!("relay tunnel: refused: {reason}"),
        Some(TunnelState::Stopped) => "relay tunnel: stopped".to_owned(),
    };
    say(&line);
}

/// Prints one line for the person watching. Nobody watching (a closed pipe) is no reason to stop
/// receiving, so write errors are ignored.
fn say(line: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
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
