//! Installs what the project needs and the machine lacks, idempotently and without prompts:
//! Debian packages, the UI's npm packages (from the lockfile) and, for tests, tauri-driver.

use std::path::Path;

use anyhow::{Context as _, bail};
use xshell::{Shell, cmd};

use crate::{project_root, step};

/// Debian packages every command needs: Tauri's WebKitGTK 4.1 build stack, a virtual display,
/// a D-Bus session with gnome-keyring (the Secret Service the app keeps its keys in), and the
/// tools that render icons and take screenshots.
const APP_PACKAGES: &[&str] = &[
    "build-essential",
    "pkg-config",
    "file",
    "libssl-dev",
    "libwebkit2gtk-4.1-dev",
    "libgtk-3-dev",
    "libayatana-appindicator3-dev",
    "librsvg2-dev",
    "librsvg2-bin",
    "libsoup-3.0-dev",
    "libdbus-1-dev",
    "xvfb",
    "xauth",
    "x11-utils",
    "dbus",
    "dbus-x11",
    "gnome-keyring",
    "keyutils",
    "imagemagick",
];

/// Extra Debian packages the tests need: WebKit's WebDriver server.
const TEST_PACKAGES: &[&str] = &["webkit2gtk-driver"];

/// What the caller is about to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Needs {
    /// Build and run the app.
    App,
    /// Also run the tests, end-to-end ones included.
    Tests,
}

pub(crate) fn run(needs: Needs) -> anyhow::Result<()> {
    let sh = Shell::new()?;
    debian_packages(&sh, needs)?;
    npm_packages(&sh)?;
    if needs == Needs::Tests {
        tauri_driver(&sh)?;
    }
    Ok(())
}

fn debian_packages(sh: &Shell, needs: Needs) -> anyhow::Result<()> {
    let mut wanted: Vec<&str> = APP_PACKAGES.to_vec();
    if needs == Needs::Tests {
        wanted.extend_from_slice(TEST_PACKAGES);
    }
    let missing: Vec<&str> = wanted
        .into_iter()
        .filter(|package| !debian_package_installed(sh, package))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    step(&format!(
        "installing Debian packages: {}",
        missing.join(" ")
    ));
    // `sudo env …` keeps DEBIAN_FRONTEND for a non-root developer; root runs `env …` directly.
    let sudo: &[&str] = if is_root(sh) { &[] } else { &["sudo"] };
    cmd!(sh, "env {sudo...} apt-get update -qq")
        .run()
        .context("apt-get update failed")?;
    cmd!(
        sh,
        "env {sudo...} DEBIAN_FRONTEND=noninteractive apt-get install -y -qq {missing...}"
    )
    .run()
    .context("apt-get install failed")?;
    Ok(())
}

fn debian_package_installed(sh: &Shell, package: &str) -> bool {
    let format = "-f=${db:Status-Status}";
    cmd!(sh, "dpkg-query -W {format} {package}")
        .quiet()
        .ignore_stderr()
        .read()
        .is_ok_and(|status| status.trim() == "installed")
}

fn is_root(sh: &Shell) -> bool {
    cmd!(sh, "id -u")
        .quiet()
        .read()
        .is_ok_and(|uid| uid.trim() == "0")
}

/// `npm ci` when `node_modules` is missing or older than the lockfile.
fn npm_packages(sh: &Shell) -> anyhow::Result<()> {
    let ui = project_root().join("ui");
    let lock = ui.join("package-lock.json");
    let installed = ui.join("node_modules/.package-lock.json");
    if is_newer_or_same(&installed, &lock) {
        return Ok(());
    }
    if cmd!(sh, "npm --version").quiet().read().is_err() {
        bail!("npm is missing: install Node.js 20 or newer (Debian: apt-get install nodejs npm)");
    }
    step("installing the UI's npm packages (npm ci)");
    let _dir = sh.push_dir(&ui);
    cmd!(sh, "npm ci --no-audit --no-fund")
        .run()
        .context("npm ci failed")?;
    Ok(())
}

fn is_newer_or_same(candidate: &Path, reference: &Path) -> bool {
    let modified = |p: &Path| p.metadata().and_then(|m| m.modified()).ok();
    matches!((modified(candidate), modified(reference)), (Some(c), Some(r)) if c >= r)
}

/// tauri-driver bridges WebDriver clients to WebKitWebDriver for the end-to-end tests.
fn tauri_driver(sh: &Shell) -> anyhow::Result<()> {
    if cmd!(sh, "tauri-driver --help")
        .quiet()
        .ignore_stdout()
        .ignore_stderr()
        .run()
        .is_ok()
    {
        return Ok(());
    }
    step("installing tauri-driver (cargo install)");
    cmd!(sh, "cargo install tauri-driver --version ^2 --locked")
        .run()
        .context("cargo install tauri-driver failed")?;
    Ok(())
}
