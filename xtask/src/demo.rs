//! `cargo xtask demo`: builds the UI and the app and starts it. Without a display it runs the
//! app under Xvfb, saves a screenshot of its window and says where.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use xshell::{Shell, cmd};

use crate::session::{Session, Work};
use crate::{setup, step, target_dir, ui};

/// How long the window may take to appear.
const WINDOW_TIMEOUT: Duration = Duration::from_secs(60);
/// Time for the web view to paint after the window is mapped.
const PAINT_DELAY: Duration = Duration::from_secs(3);
/// Without a display, the demo's practice day (07:00 to 19:00) plays in this many real seconds,
/// so the screenshots show a day under way.
const HEADLESS_DAY_SECONDS: &str = "120";
/// When the screenshots are taken, after the window appears: the start, mid-morning, afternoon.
const SHOTS: [(Duration, &str); 3] = [
    (PAINT_DELAY, "deskbridge.png"),
    (Duration::from_secs(30), "deskbridge-morning.png"),
    (Duration::from_secs(75), "deskbridge-afternoon.png"),
];

#[derive(Debug, Clone)]
pub(crate) struct Options {
    /// Quit once the screenshot is saved (for scripted runs).
    pub(crate) exit_after_screenshot: bool,
}

pub(crate) fn run(options: Options) -> anyhow::Result<()> {
    setup::run(setup::Needs::App)?;
    let sh = Shell::new()?;
    ui::build(&sh)?;
    step("building the app (cargo build -p deskbridge-app)");
    cmd!(sh, "cargo build -p deskbridge-app --bin deskbridge").run()?;

    if std::env::var_os("DISPLAY").is_some() {
        step("starting Deskbridge");
        let status = Command::new(app_binary()).status()?;
        if !status.success() {
            bail!("Deskbridge exited with {status}");
        }
        return Ok(());
    }
    step("no display: starting Deskbridge under Xvfb");
    Session {
        always_xvfb: true,
        state_dir: demo_dir().join("session"),
    }
    .run(Work::Demo(&options))
}

/// Inside the Xvfb session: start the app, wait for its window, screenshot it as the demo day
/// plays.
pub(crate) fn in_session(options: &Options) -> anyhow::Result<()> {
    let mut command = Command::new(app_binary());
    if std::env::var_os("DESKBRIDGE_DEMO_DAY_SECONDS").is_none() {
        command.env("DESKBRIDGE_DEMO_DAY_SECONDS", HEADLESS_DAY_SECONDS);
    }
    let mut app = command.spawn().context("could not start Deskbridge")?;
    let taken = wait_for_window(&mut app).and_then(|window| {
        let appeared = Instant::now();
        let mut paths = Vec::new();
        for (after, name) in SHOTS {
            std::thread::sleep(after.saturating_sub(appeared.elapsed()));
            let path = demo_dir().join(name);
            screenshot(&window, &path)?;
            println!("Screenshot after {}s: {}", after.as_secs(), path.display());
            paths.push(path);
        }
        Ok(paths)
    });
    if let Err(error) = taken {
        let _ = app.kill();
        return Err(error);
    }
    if options.exit_after_screenshot {
        stop(&mut app);
        return Ok(());
    }
    let display = std::env::var("DISPLAY").unwrap_or_default();
    println!("Deskbridge is running on the virtual display {display}. Press Ctrl-C to stop it.");
    let status = app.wait()?;
    if !status.success() {
        bail!("Deskbridge exited with {status}");
    }
    Ok(())
}

/// Where the window is on the screen, as `xwininfo` reports it.
#[derive(Debug)]
struct WindowGeometry {
    x: u32,
    y: u32,
    width: u32,
    height: u32,
}

impl WindowGeometry {
    fn parse(xwininfo: &str) -> Option<WindowGeometry> {
        let field = |name: &str| {
            xwininfo
                .lines()
                .find_map(|line| line.trim().strip_prefix(name)?.trim().parse::<u32>().ok())
        };
        Some(WindowGeometry {
            x: field("Absolute upper-left X:")?,
            y: field("Absolute upper-left Y:")?,
            width: field("Width:")?,
            height: field("Height:")?,
        })
    }
}

fn wait_for_window(app: &mut Child) -> anyhow::Result<WindowGeometry> {
    let started = Instant::now();
    while started.elapsed() < WINDOW_TIMEOUT {
        if let Some(status) = app.try_wait()? {
            bail!("Deskbridge exited before its window appeared ({status})");
        }
        let found = Command::new("xwininfo")
            .args(["-name", "Deskbridge"])
            .output()
            .context("xwininfo is missing (run `cargo xtask setup`)")?;
        let geometry = WindowGeometry::parse(&String::from_utf8_lossy(&found.stdout));
        if let (true, Some(geometry)) = (found.status.success(), geometry)
            && geometry.width > 1
            && geometry.height > 1
        {
            return Ok(geometry);
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    bail!("the Deskbridge window did not appear within {WINDOW_TIMEOUT:?}")
}

/// Grabs the window's rectangle from the screen (Xvfb has no window manager to ask).
fn screenshot(window: &WindowGeometry, path: &Path) -> anyhow::Result<()> {
    let WindowGeometry {
        x,
        y,
        width,
        height,
    } = window;
    // /usr/bin/import is ImageMagick's; a stand-in `convert` may shadow ImageMagick elsewhere.
    let status = Command::new("/usr/bin/import")
        .args([
            "-window",
            "root",
            "-crop",
            &format!("{width}x{height}+{x}+{y}"),
            "+repage",
        ])
        .arg(path)
        .status()
        .context("ImageMagick's import is missing (run `cargo xtask setup`)")?;
    if !status.success() {
        bail!("could not take a screenshot of the window ({status})");
    }
    Ok(())
}

/// Asks the app to quit (SIGTERM), then waits for it.
fn stop(app: &mut Child) {
    let pid = app.id().to_string();
    let asked = Command::new("kill").args(["-TERM", &pid]).status();
    if !asked.is_ok_and(|s| s.success()) {
        let _ = app.kill();
    }
    let _ = app.wait();
}

fn demo_dir() -> PathBuf {
    target_dir().join("demo")
}

pub(crate) fn app_binary() -> PathBuf {
    target_dir().join("debug").join("deskbridge")
}
