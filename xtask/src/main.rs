//! Deskbridge's automation, run as `cargo xtask <command>`: the README's two commands (`demo`,
//! `test`) and the maintenance commands behind them.

mod bench;
mod bindings;
mod demo;
mod icons;
mod session;
mod setup;
mod test;
mod ui;

use std::path::{Path, PathBuf};

use anyhow::bail;

const HELP: &str = "\
cargo xtask <command>

  demo [--exit-after-screenshot]
                installs what is missing, builds the UI and the app, and starts it. Without a
                display it runs under Xvfb and saves a screenshot of the window.
  test          installs what is missing and runs every check: rustfmt, clippy, the Rust tests,
                the UI's type check and unit tests, and the end-to-end tests in a real window.
  setup [--test]
                only installs what is missing (Debian packages, npm packages, tauri-driver).
  bench         runs the benchmarks (release builds) and writes BENCHMARKS.md.
  crash-test [ROUNDS]
                kills `deskbridge-cli serve` with SIGKILL under load ROUNDS times (default 200)
                and checks that every acknowledged webhook survived.
  bindings      regenerates ui/src/lib/bindings.ts from the Rust IPC types.
  icons         regenerates the icon set in icons/ from icons/deskbridge.svg.
";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["demo"] => demo::run(demo::Options {
            exit_after_screenshot: false,
        }),
        ["demo", "--exit-after-screenshot"] => demo::run(demo::Options {
            exit_after_screenshot: true,
        }),
        ["test"] => test::run(),
        ["setup"] => setup::run(setup::Needs::App),
        ["setup", "--test"] => setup::run(setup::Needs::Tests),
        ["bench"] => bench::run(),
        ["crash-test"] => bench::crash_test(200),
        ["crash-test", rounds] => bench::crash_test(rounds.parse()?),
        ["bindings"] => bindings::run(),
        ["icons"] => icons::run(),
        [session::INNER, rest @ ..] => session::inner(rest),
        [] | ["help" | "--help" | "-h"] => {
            print!("{HELP}");
            Ok(())
        }
        _ => bail!("unknown command {args:?}\n\n{HELP}"),
    }
}

/// The workspace root (the folder holding the top-level `Cargo.toml`).
fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one folder below the workspace root")
        .to_path_buf()
}

/// Cargo's target folder for this workspace, honouring `CARGO_TARGET_DIR`.
fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => project_root().join("target"),
    }
}

/// Prints a step heading, so a long run shows where it is.
fn step(what: &str) {
    println!("\n==> {what}");
}
