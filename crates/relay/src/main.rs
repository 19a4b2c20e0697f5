//! `deskbridge-relay`: runs the relay server and manages its endpoints.
//!
//! ```text
//! deskbridge-relay [--config relay.toml] serve
//! deskbridge-relay [--config relay.toml] endpoint add --name "Main St"
//! deskbridge-relay [--config relay.toml] endpoint list
//! deskbridge-relay [--config relay.toml] endpoint revoke <ENDPOINT_ID>
//! deskbridge-relay [--config relay.toml] check-config
//! ```

use std::ffi::OsString;
use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use deskbridge_core::random::OsRandom;
use deskbridge_relay::config::RelayConfig;
use deskbridge_relay::registry::Registry;
use deskbridge_relay::server;
use deskbridge_relay::token::EndpointId;
use tracing::Level;
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::{FilterExt as _, filter_fn};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// The Deskbridge relay: a public HTTPS endpoint for Zocdoc webhooks that forwards each one to
/// the desk app over its tunnel, and hangs up unanswered when the app cannot store it, so that
/// Zocdoc retries.
#[derive(Debug, Parser)]
#[command(name = "deskbridge-relay", version)]
struct Cli {
    /// The configuration file (TOML). Without one: the defaults and DESKBRIDGE_RELAY_* variables.
    #[arg(long, short, global = true, env = "DESKBRIDGE_RELAY_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the relay until SIGINT or SIGTERM.
    Serve,
    /// Manage the endpoints in the registry file.
    #[command(subcommand)]
    Endpoint(EndpointCommand),
    /// Check the configuration and print it.
    CheckConfig,
}

#[derive(Debug, Subcommand)]
enum EndpointCommand {
    /// Make an endpoint; prints its URLs and its token (shown only this once).
    Add {
        /// A name for it, e.g. the practice's location.
        #[arg(long)]
        name: String,
    },
    /// List the endpoints.
    List,
    /// Revoke an endpoint: its URL answers 404 and its tunnel is closed.
    Revoke {
        /// The endpoint's id. Ids are URL-safe base64 and may start with `-`.
        #[arg(allow_hyphen_values = true)]
        id: String,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let env: Vec<(OsString, OsString)> = std::env::vars_os().collect();
    let config = RelayConfig::load(cli.config.as_deref(), env)?;
    match cli.command {
        Command::Serve => serve(config),
        Command::Endpoint(command) => endpoint(&config, command),
        Command::CheckConfig => {
            println!("{config:#?}");
            Ok(())
        }
    }
}

fn serve(config: RelayConfig) -> anyhow::Result<()> {
    let requested = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // tungstenite logs whole frames (webhook bodies) at debug and trace: whatever RUST_LOG asks
    // for, nothing of it below info is let through.
    let no_frames = filter_fn(|meta| {
        let target = meta.target();
        *meta.level() <= Level::INFO
            || !(target.starts_with("tungstenite") || target.starts_with("tokio_tungstenite"))
    });
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_filter(requested.and(no_frames)),
        )
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("the async runtime could not start")?;
    runtime.block_on(async {
        let listener = listen(config.listen, config.limits.max_connections)
            .with_context(|| format!("could not listen on {}", config.listen))?;
        let addr = listener.local_addr()?;
        // The one line scripts (and the tests) wait for.
        let mut stdout = std::io::stdout();
        writeln!(stdout, "deskbridge-relay listening on {addr}")?;
        stdout.flush()?;
        server::run(listener, config, shutdown_signal()).await?;
        Ok(())
    })
}

/// Binds with an accept queue as deep as the connection cap (tokio's `bind` asks for 128): a
/// burst of connections then waits in the queue instead of being dropped by the kernel.
fn listen(addr: std::net::SocketAddr, backlog: usize) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(u32::try_from(backlog.max(128)).unwrap_or(u32::MAX))
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = terminate.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
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
    tracing::info!("shutdown requested");
}

fn endpoint(config: &RelayConfig, command: EndpointCommand) -> anyhow::Result<()> {
    let registry = Registry::new(&config.registry);
    let now = jiff::Timestamp::now();
    let mut out = std::io::stdout().lock();
    match command {
        EndpointCommand::Add { name } => {
            let (endpoint, token) = registry.add(&name, &OsRandom, now)?;
            let token = token.expose_text().context("the new token is not text")?;
            writeln!(out, "Endpoint {:?} added.", endpoint.name)?;
            writeln!(out, "  Endpoint id:  {}", endpoint.id)?;
            match (
                config.webhook_url(endpoint.id.as_str()),
                config.tunnel_url(endpoint.id.as_str()),
            ) {
                (Some(webhook), Some(tunnel)) => {
                    writeln!(out, "  Webhook URL:  {webhook}")?;
                    writeln!(out, "                (give this URL to Zocdoc)")?;
                    writeln!(out, "  Tunnel URL:   {tunnel}")?;
                    writeln!(out, "                (enter it in the desk app)")?;
                }
                _ => writeln!(
                    out,
                    "  (set public_url in the configuration to have the URLs printed)"
                )?,
            }
            writeln!(out, "  Token:        {token}")?;
            writeln!(
                out,
                "                (enter it in the desk app; it is shown only this once and the relay keeps only its hash)"
            )?;
        }
        EndpointCommand::List => {
            let endpoints = registry.load()?;
            let all = endpoints.list();
            if all.is_empty() {
                writeln!(
                    out,
                    "No endpoints yet: add one with `endpoint add --name NAME`."
                )?;
            }
            for endpoint in all {
                let state = match endpoint.revoked_at {
                    None => "active".to_owned(),
                    Some(at) => format!("revoked {at}"),
                };
                writeln!(
                    out,
                    "{}  {}  created {}  {}",
                    endpoint.id, endpoint.name, endpoint.created_at, state
                )?;
            }
        }
        EndpointCommand::Revoke { id } => {
            let id: EndpointId = id.parse()?;
            let endpoint = registry.revoke(&id, now)?;
            writeln!(
                out,
                "Endpoint {} ({:?}) revoked: its URL now answers 404 and a running relay closes its tunnel within {} ms.",
                endpoint.id, endpoint.name, config.registry_poll_ms
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;

    #[test]
    fn an_endpoint_id_starting_with_a_dash_is_an_id_not_a_flag() {
        let cli = Cli::try_parse_from([
            "deskbridge-relay",
            "endpoint",
            "revoke",
            "-vJ3kQ9x2mZpLw7Yt5aBcD",
        ])
        .unwrap();
        let Command::Endpoint(EndpointCommand::Revoke { id }) = cli.command else {
            panic!("parsed as {:?}", cli.command);
        };
        assert_eq!(id, "-vJ3kQ9x2mZpLw7Yt5aBcD");
    }
}
