//! Test support: a `deskbridge-cli serve` process with its own data folder and keyring entries,
//! signed webhook bodies, and a raw HTTP/1.1 client that tells "no answer" from any answer.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use deskbridge_core::environment::Environment;
use deskbridge_core::random::OsRandom;
use deskbridge_core::secrets::KeyringSecrets;
use deskbridge_core::store::Store;
use deskbridge_zocdoc::webhook::{self, WebhookKey};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, ChildStdout, Command};

/// The webhook key of every test desk (Zocdoc's sandbox accepts any base64 key).
pub(crate) const KEY_BASE64: &str = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

pub(crate) fn key() -> WebhookKey {
    WebhookKey::from_base64(KEY_BASE64).unwrap()
}

/// A desk's data folder and keyring service, unique to one test.
#[derive(Debug)]
pub(crate) struct TestDesk {
    pub(crate) data_dir: tempfile::TempDir,
    pub(crate) keyring_service: String,
}

impl TestDesk {
    pub(crate) fn new() -> TestDesk {
        assert!(
            std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(),
            "these tests need a D-Bus session with an unlocked gnome-keyring: run `cargo xtask test`"
        );
        static NEXT: AtomicU32 = AtomicU32::new(0);
        TestDesk {
            data_dir: tempfile::tempdir().unwrap(),
            keyring_service: format!(
                "Deskbridge-cli-test-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ),
        }
    }

    pub(crate) fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_deskbridge-cli"));
        command
            .env("DESKBRIDGE_DATA_DIR", self.data_dir.path())
            .env("DESKBRIDGE_KEYRING_SERVICE", &self.keyring_service)
            .env("DESKBRIDGE_WEBHOOK_KEY", KEY_BASE64)
            .env_remove("DESKBRIDGE_ENVIRONMENT")
            .kill_on_drop(true);
        command
    }

    /// Starts `serve` on a free port and waits until it listens.
    pub(crate) async fn serve(&self) -> Serving {
        self.serve_with(self.command()).await
    }

    /// Starts `serve` through `command` (from [`TestDesk::command`], adjusted).
    pub(crate) async fn serve_with(&self, mut command: Command) -> Serving {
        let mut child = command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut output = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        tokio::time::timeout(Duration::from_secs(30), output.read_line(&mut line))
            .await
            .expect("serve did not start listening")
            .unwrap();
        let address = line
            .trim()
            .strip_prefix("listening on http://")
            .and_then(|rest| rest.strip_suffix("/webhooks/zocdoc"))
            .unwrap_or_else(|| panic!("unexpected first line from serve: {line:?}"))
            .parse()
            .unwrap();
        Serving {
            child,
            address,
            output,
        }
    }

    /// Opens the desk's database directly, as the app would.
    pub(crate) fn open_store(&self) -> Store {
        Store::open(
            self.data_dir.path(),
            Environment::Sandbox,
            &KeyringSecrets::with_service(self.keyring_service.clone()),
            &OsRandom,
        )
        .unwrap()
    }

    pub(crate) fn database_file(&self) -> PathBuf {
        Environment::Sandbox
            .data_dir(self.data_dir.path())
            .join(deskbridge_core::store::DATABASE_FILE_NAME)
    }
}

/// A running `serve` process.
#[derive(Debug)]
pub(crate) struct Serving {
    pub(crate) child: Child,
    pub(crate) address: SocketAddr,
    /// What it prints after its first line.
    pub(crate) output: BufReader<ChildStdout>,
}

impl Serving {
    /// Reads printed lines until one starts with `prefix` (at most 30 s); returns it.
    pub(crate) async fn line_starting_with(&mut self, prefix: &str) -> String {
        tokio::time::timeout(Duration::from_secs(30), async {
            loop {
                let mut line = String::new();
                let read = self.output.read_line(&mut line).await.unwrap();
                assert!(read > 0, "serve ended before printing {prefix:?}");
                if line.starts_with(prefix) {
                    return line.trim_end().to_owned();
                }
            }
        })
        .await
        .unwrap_or_else(|_| panic!("serve did not print {prefix:?} within 30 s"))
    }
}

/// A Zocdoc-shaped webhook body for one appointment change.
pub(crate) fn event_body(appointment_id: &str, update_type: &str) -> Vec<u8> {
    format!(
        r#"{{"data":{{"appointment_data":{{"appointment_id":"{appointment_id}","appointment_updated_timestamp":"2026-11-25T09:00:00.0000000Z","appointment_update_type":"{update_type}","changed_attributes":[{{"attribute_path":"appointment.start_time"}}]}},"data_type":"appointment_data"}},"event_type":"appointment_updated","webhook_timestamp":"2026-11-25T09:00:01.0000000Z"}}"#
    )
    .into_bytes()
}

/// The request bytes of a webhook POST signed now (or with a bad signature when `forged`).
pub(crate) fn signed_request(body: &[u8], forged: bool) -> Vec<u8> {
    signed_request_to("/webhooks/zocdoc", body, forged)
}

/// Like [`signed_request`], posted to `path`.
pub(crate) fn signed_request_to(path: &str, body: &[u8], forged: bool) -> Vec<u8> {
    let timestamp = jiff::Timestamp::now().as_second();
    let signature = if forged {
        webhook::sign(
            &WebhookKey::from_bytes(b"not the key".to_vec()),
            timestamp,
            body,
        )
    } else {
        webhook::sign(&key(), timestamp, body)
    };
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: desk\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nwebhook-timestamp: {timestamp}\r\nwebhook-signature: {signature}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    request
}

/// What the sender saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    /// An HTTP status line with this code.
    Status(u16),
    /// The connection closed (or failed) before a single byte of answer.
    Nothing,
}

/// Sends raw request bytes and reads the answer's status, if any.
pub(crate) async fn send(address: SocketAddr, request: &[u8]) -> Answer {
    let exchange = async {
        let mut stream = TcpStream::connect(address).await?;
        stream.write_all(request).await?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await?;
        Ok::<_, std::io::Error>(answer)
    };
    match tokio::time::timeout(Duration::from_secs(10), exchange).await {
        Ok(Ok(answer)) => parse_status(&answer).map_or(Answer::Nothing, Answer::Status),
        _ => Answer::Nothing,
    }
}

fn parse_status(answer: &[u8]) -> Option<u16> {
    let text = std::str::from_utf8(answer.get(..12)?).ok()?;
    text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

/// Whether `needle` occurs anywhere in the file's bytes.
pub(crate) fn file_contains(path: &Path, needle: &[u8]) -> bool {
    std::fs::read(path).is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
}
