//! End-to-end test support: starts tauri-driver on free ports with a private data folder, opens a
//! WebDriver session on the real Deskbridge app, and takes screenshots.
//!
//! The tests run inside the session `cargo xtask test` makes (Xvfb, D-Bus, gnome-keyring). The app
//! binary comes from `DESKBRIDGE_APP_BIN`, or `target/debug/deskbridge` when unset.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use fantoccini::{Client, ClientBuilder, Locator, elements::Element};

/// Timeout for anything on screen: WebDriver session start alone sometimes takes ~3.3 s here.
pub const UI_TIMEOUT: Duration = Duration::from_secs(20);

/// The identifier in `src-tauri/tauri.conf.json`: the app's data folder is named after it.
pub const APP_IDENTIFIER: &str = "app.deskbridge.desk";

/// A running app under WebDriver, with its own data folder. Call [`App::close`] at the end.
#[derive(Debug)]
pub struct App {
    pub client: Client,
    // Dropped after the client: tauri-driver must outlive the session it serves.
    _driver: Driver,
    data_home: tempfile::TempDir,
    /// The keyring service the app keeps its secrets under.
    pub keyring_service: String,
    /// Everything the app (and its driver) wrote to stderr: its logs.
    pub log_file: PathBuf,
}

/// How to launch: environment variables for the app, and a step that prepares its data folder
/// (`XDG_DATA_HOME`) and keyring service before it starts.
#[derive(Default)]
pub struct Launch<'a> {
    env: Vec<(String, String)>,
    prepare: Option<Prepare<'a>>,
}

/// Prepares the data folder and keyring service before the app starts.
type Prepare<'a> = Box<dyn FnOnce(&Path, &str) -> anyhow::Result<()> + 'a>;

impl<'a> Launch<'a> {
    /// The practice's own desk (no demo), as on a workstation with credentials.
    pub fn live() -> Launch<'a> {
        Launch::default().env("DESKBRIDGE_DEMO", "0")
    }

    /// The demo, its day played in `day_seconds` real seconds.
    pub fn demo(day_seconds: u32) -> Launch<'a> {
        Launch::default()
            .env("DESKBRIDGE_DEMO", "1")
            .env("DESKBRIDGE_DEMO_DAY_SECONDS", &day_seconds.to_string())
    }

    /// One more environment variable for the app.
    pub fn env(mut self, name: &str, value: &str) -> Launch<'a> {
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Runs `prepare(data_home, keyring_service)` before the app starts.
    pub fn prepare(
        mut self,
        prepare: impl FnOnce(&Path, &str) -> anyhow::Result<()> + 'a,
    ) -> Launch<'a> {
        self.prepare = Some(Box::new(prepare));
        self
    }

    /// Starts tauri-driver and the app through it.
    pub async fn start(self) -> anyhow::Result<App> {
        App::start(self).await
    }
}

impl std::fmt::Debug for Launch<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Launch")
            .field("env", &self.env)
            .finish_non_exhaustive()
    }
}

/// tauri-driver, stopped with SIGTERM when dropped: SIGKILL would orphan WebKitWebDriver and
/// the next session would fail with "Maximum number of active sessions".
#[derive(Debug)]
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let driver = &mut self.0;
        if matches!(driver.try_wait(), Ok(Some(_))) {
            return;
        }
        let pid = nix::unistd::Pid::from_raw(i32::try_from(driver.id()).unwrap_or(i32::MAX));
        if nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).is_err() {
            let _ = driver.kill();
        }
        let _ = driver.wait();
    }
}

impl App {
    /// Starts tauri-driver and the app through it, with a fresh data folder and its own keyring
    /// service (so tests never share keys).
    async fn start(launch: Launch<'_>) -> anyhow::Result<App> {
        static LAUNCHES: AtomicU32 = AtomicU32::new(0);
        let binary = app_binary()?;
        let data_home = tempfile::tempdir()?;
        let keyring_service = format!(
            "Deskbridge-e2e-{}-{}",
            std::process::id(),
            LAUNCHES.fetch_add(1, Ordering::Relaxed)
        );
        if let Some(prepare) = launch.prepare {
            prepare(data_home.path(), &keyring_service)?;
        }
        let port = free_port()?;
        let native_port = free_port()?;
        let log_file = data_home.path().join("deskbridge.log");
        let mut command = Command::new("tauri-driver");
        command
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native_port.to_string(),
            ])
            .env("XDG_DATA_HOME", data_home.path())
            .env("DESKBRIDGE_KEYRING_SERVICE", &keyring_service)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log_file)?);
        for (name, value) in &launch.env {
            command.env(name, value);
        }
        let driver = Driver(
            command
                .spawn()
                .context("could not start tauri-driver (run the tests with `cargo xtask test`)")?,
        );
        let client = connect(port, &binary).await?;
        Ok(App {
            client,
            _driver: driver,
            data_home,
            keyring_service,
            log_file,
        })
    }

    /// The data folder of this launch (`XDG_DATA_HOME`).
    pub fn data_home(&self) -> &Path {
        self.data_home.path()
    }

    /// The data folder the app should use for `environment`.
    pub fn expected_data_dir(&self, environment: &str) -> PathBuf {
        self.data_home.path().join(APP_IDENTIFIER).join(environment)
    }

    /// The demo's data folder.
    pub fn demo_data_dir(&self) -> PathBuf {
        self.data_home
            .path()
            .join(APP_IDENTIFIER)
            .join("demo")
            .join("sandbox")
    }

    /// The `data-<attribute>` of every element with this `data-testid`, read in one go in the page
    /// (the board re-renders live, so element handles may go stale between two calls).
    pub async fn data_of_all(&self, id: &str, attribute: &str) -> anyhow::Result<Vec<String>> {
        let values = self
            .client
            .execute(
                "return [...document.querySelectorAll(`[data-testid=\"${arguments[0]}\"]`)]\
                 .map((element) => element.dataset[arguments[1]] ?? '');",
                vec![id.into(), attribute.into()],
            )
            .await?;
        Ok(serde_json::from_value(values)?)
    }

    /// The text of the element with this `data-testid` as the page holds it (its `textContent`:
    /// WebDriver's own element text leaves out what CSS clips), or empty when there is none.
    pub async fn text_of(&self, id: &str) -> anyhow::Result<String> {
        let text = self
            .client
            .execute(
                "return document.querySelector(`[data-testid=\"${arguments[0]}\"]`)\
                 ?.textContent ?? '';",
                vec![id.into()],
            )
            .await?;
        Ok(serde_json::from_value(text)?)
    }

    /// Waits (at most `timeout`) until `check` answers `Some`.
    pub async fn eventually<T, F, Fut>(&self, timeout: Duration, mut check: F) -> anyhow::Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = anyhow::Result<Option<T>>>,
    {
        let started = Instant::now();
        loop {
            if let Some(found) = check().await? {
                return Ok(found);
            }
            if started.elapsed() > timeout {
                bail!("not within {timeout:?}");
            }
            // Short: the board test times webhook → card with this loop.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits for an element by `data-testid`.
    pub async fn by_test_id(&self, id: &str) -> anyhow::Result<Element> {
        self.client
            .wait()
            .at_most(UI_TIMEOUT)
            .for_element(Locator::Css(&format!("[data-testid=\"{id}\"]")))
            .await
            .with_context(|| format!("no element with data-testid={id} within {UI_TIMEOUT:?}"))
    }

    /// Saves a PNG screenshot of the window under `target/e2e/` and returns its path.
    pub async fn screenshot(&self, name: &str) -> anyhow::Result<PathBuf> {
        // A screenshot can lag behind the DOM: let the page paint two frames, then settle.
        self.client
            .execute_async(
                "const done = arguments[0]; \
                 requestAnimationFrame(() => requestAnimationFrame(() => done()));",
                vec![],
            )
            .await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let png = self.client.screenshot().await?;
        let dir = target_dir().join("e2e");
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, &png)?;
        Ok(path)
    }

    /// Ends the WebDriver session (the app quits), then stops tauri-driver.
    pub async fn close(self) -> anyhow::Result<()> {
        self.client
            .clone()
            .close()
            .await
            .context("the WebDriver session did not close cleanly")
    }
}

async fn connect(port: u16, binary: &Path) -> anyhow::Result<Client> {
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), "wry".into());
    caps.insert(
        "tauri:options".into(),
        serde_json::json!({ "application": binary }),
    );
    let url = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    loop {
        match ClientBuilder::native()
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(client) => return Ok(client),
            Err(error) if started.elapsed() < UI_TIMEOUT => {
                // tauri-driver may still be binding its port.
                let _ = error;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(error) => bail!("no WebDriver session with the app within {UI_TIMEOUT:?}: {error}"),
        }
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"),
    }
}

/// The app binary under test: `DESKBRIDGE_APP_BIN`, or the debug build.
pub fn app_binary() -> anyhow::Result<PathBuf> {
    let binary = match std::env::var_os("DESKBRIDGE_APP_BIN") {
        Some(path) => PathBuf::from(path),
        None => target_dir().join("debug/deskbridge"),
    };
    if !binary.is_file() {
        bail!(
            "the app binary {} is missing: build it (cargo build -p deskbridge-app) or run `cargo xtask test`",
            binary.display()
        );
    }
    Ok(binary)
}

/// How many distinct colours a PNG has: a blank or unpainted window has one or two.
pub fn distinct_colours(png_bytes: &[u8]) -> anyhow::Result<usize> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder.read_info()?;
    let mut buf = vec![0; reader.output_buffer_size().context("image too large")?];
    let info = reader.next_frame(&mut buf)?;
    let channels = info.color_type.samples();
    let mut colours: Vec<&[u8]> = buf[..info.buffer_size()].chunks(channels).collect();
    colours.sort_unstable();
    colours.dedup();
    Ok(colours.len())
}
