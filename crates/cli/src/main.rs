//! `deskbridge-cli`: Deskbridge without a window, for the practice's IT person — receive webhooks
//! on a direct listener, list what was received, check a captured request, store the webhook key.

mod desk;
mod events;
mod secret_command;
mod serve;
mod verify;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use deskbridge_core::environment::Environment;

/// Deskbridge's headless tools. Secrets come from the OS keyring; nothing secret is printed.
#[derive(Debug, Parser)]
#[command(name = "deskbridge-cli", version, about)]
struct Cli {
    /// The Zocdoc environment whose data and keys to use.
    #[arg(
        long,
        env = "DESKBRIDGE_ENVIRONMENT",
        default_value = "sandbox",
        global = true
    )]
    environment: Environment,
    /// The application data folder (each environment has its own folder inside it). Defaults to
    /// the desktop app's own.
    #[arg(long, env = "DESKBRIDGE_DATA_DIR", global = true)]
    data_dir: Option<PathBuf>,
    /// The keyring service name holding Deskbridge's secrets (for running several desks side by
    /// side, e.g. in tests).
    #[arg(
        long,
        env = "DESKBRIDGE_KEYRING_SERVICE",
        default_value = deskbridge_core::secrets::KEYRING_SERVICE,
        global = true,
        hide = true
    )]
    keyring_service: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Receive webhooks with the direct listener (no window) until Ctrl-C or SIGTERM.
    Serve(serve::Args),
    /// List received webhooks as JSON lines (never their bodies).
    Events(events::Args),
    /// Check a captured request (headers file + body file) against the webhook key.
    Verify(verify::Args),
    /// Manage the Zocdoc webhook key in the keyring.
    #[command(subcommand)]
    WebhookKey(secret_command::Command),
    /// Manage this desk's relay endpoint token in the keyring.
    #[command(subcommand)]
    RelayToken(secret_command::Command),
    /// Manage the client id of the practice's Zocdoc API credentials in the keyring.
    #[command(subcommand)]
    ZocdocClientId(secret_command::Command),
    /// Manage the client secret of the practice's Zocdoc API credentials in the keyring.
    #[command(subcommand)]
    ZocdocClientSecret(secret_command::Command),
}

#[expect(
    clippy::print_stderr,
    reason = "a command-line tool reports its error on stderr"
)]
fn main() -> std::process::ExitCode {
    init_logging();
    let cli = Cli::parse();
    let desk = desk::Desk::new(cli.environment, cli.data_dir, cli.keyring_service);
    let result = match cli.command {
        Command::Serve(args) => serve::run(&desk, args),
        Command::Events(args) => events::run(&desk, args),
        Command::Verify(args) => verify::run(&desk, args),
        Command::WebhookKey(command) => secret_command::run(&desk, desk::WEBHOOK_KEY, command),
        Command::RelayToken(command) => secret_command::run(&desk, desk::RELAY_TOKEN, command),
        Command::ZocdocClientId(command) => {
            secret_command::run(&desk, desk::ZOCDOC_CLIENT_ID, command)
        }
        Command::ZocdocClientSecret(command) => {
            secret_command::run(&desk, desk::ZOCDOC_CLIENT_SECRET, command)
        }
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("deskbridge-cli: {error:#}");
            std::process::ExitCode::from(2)
        }
    }
}

/// Logs go to stderr (stdout carries the commands' output), filtered by `DESKBRIDGE_LOG`.
fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(deskbridge_core::logging::filter("DESKBRIDGE_LOG", "warn"))
        .with_writer(std::io::stderr)
        .init();
}
