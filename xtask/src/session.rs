//! The desktop session the app and the tests run in when there is no display: Xvfb, a private
//! D-Bus session bus and an unlocked gnome-keyring (a real Secret Service), with throwaway XDG
//! folders so nothing touches the user's own keyring or data.
//!
//! The outer half wraps a re-invocation of this xtask (`xtask __in-session …`) in `xvfb-run` and
//! `dbus-run-session`; the inner half unlocks the keyring inside that session and then does the
//! real work.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context as _, bail};

use crate::demo;

/// The hidden subcommand that runs inside the session.
pub(crate) const INNER: &str = "__in-session";

/// The password of the session's throwaway login keyring.
const KEYRING_PASSWORD: &str = "deskbridge-session";

/// How the session is made.
#[derive(Debug)]
pub(crate) struct Session {
    /// Start Xvfb even when a display is available (tests never pop up windows).
    pub(crate) always_xvfb: bool,
    /// The folder below which the session's XDG folders live.
    pub(crate) state_dir: PathBuf,
}

/// What the inner half runs.
#[derive(Debug)]
pub(crate) enum Work<'a> {
    /// Run a command and pass its exit status on.
    Exec(&'a [&'a str]),
    /// Start the app and take a screenshot of its window.
    Demo(&'a demo::Options),
}

impl Session {
    /// Runs `work` inside the session; fails when the work fails.
    pub(crate) fn run(&self, work: Work<'_>) -> anyhow::Result<()> {
        let xtask = std::env::current_exe().context("cannot find the xtask executable")?;
        let mut inner: Vec<String> = vec![INNER.to_owned()];
        match work {
            Work::Exec(command) => {
                inner.push("exec".to_owned());
                inner.extend(command.iter().map(|s| (*s).to_owned()));
            }
            Work::Demo(options) => {
                inner.push("demo".to_owned());
                if options.exit_after_screenshot {
                    inner.push("--exit-after-screenshot".to_owned());
                }
            }
        }

        let needs_xvfb = self.always_xvfb || std::env::var_os("DISPLAY").is_none();
        let mut command = if needs_xvfb {
            let mut c = Command::new("xvfb-run");
            c.args([
                "-a",
                "-s",
                "-screen 0 1280x800x24",
                "dbus-run-session",
                "--",
            ]);
            c
        } else {
            let mut c = Command::new("dbus-run-session");
            c.arg("--");
            c
        };
        command.arg(&xtask).args(&inner);
        for (var, dir) in self.xdg_dirs()? {
            command.env(var, dir);
        }
        let status = command
            .status()
            .context("could not start xvfb-run / dbus-run-session (run `cargo xtask setup`)")?;
        if !status.success() {
            bail!("{} failed ({status})", inner[1]);
        }
        Ok(())
    }

    fn xdg_dirs(&self) -> anyhow::Result<Vec<(&'static str, PathBuf)>> {
        let dirs = vec![
            ("XDG_DATA_HOME", self.state_dir.join("data")),
            ("XDG_CONFIG_HOME", self.state_dir.join("config")),
            ("XDG_CACHE_HOME", self.state_dir.join("cache")),
            ("XDG_RUNTIME_DIR", self.state_dir.join("run")),
        ];
        for (_, dir) in &dirs {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        restrict_to_owner(&self.state_dir.join("run"))?;
        Ok(dirs)
    }
}

#[cfg(unix)]
fn restrict_to_owner(dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("cannot restrict {}", dir.display()))
}

#[cfg(not(unix))]
fn restrict_to_owner(_dir: &Path) -> anyhow::Result<()> {
    Ok(())
}

/// The inner half: unlock the keyring, then run the work named by `args`.
pub(crate) fn inner(args: &[&str]) -> anyhow::Result<()> {
    unlock_keyring()?;
    match args {
        ["exec", program, rest @ ..] => {
            let status = Command::new(program)
                .args(rest)
                .status()
                .with_context(|| format!("could not start {program}"))?;
            if !status.success() {
                bail!("{program} failed ({status})");
            }
            Ok(())
        }
        ["demo"] => demo::in_session(&demo::Options {
            exit_after_screenshot: false,
        }),
        ["demo", "--exit-after-screenshot"] => demo::in_session(&demo::Options {
            exit_after_screenshot: true,
        }),
        _ => bail!("unknown session work {args:?}"),
    }
}

/// Starts gnome-keyring's Secret Service on the session bus with an unlocked login keyring.
fn unlock_keyring() -> anyhow::Result<()> {
    let mut daemon = Command::new("gnome-keyring-daemon")
        .args(["--unlock", "--components=secrets"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .context("could not start gnome-keyring-daemon (run `cargo xtask setup`)")?;
    daemon
        .stdin
        .take()
        .context("gnome-keyring-daemon has no stdin")?
        .write_all(KEYRING_PASSWORD.as_bytes())?;
    let status = daemon.wait()?;
    if !status.success() {
        bail!("gnome-keyring-daemon could not unlock the session keyring ({status})");
    }
    Ok(())
}
