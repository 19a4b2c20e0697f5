//! Shared test harness: an emulator on a stopped clock with a token, a small HTTP client, and
//! scriptable webhook receivers that answer, stall or hang up.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use deskbridge_sandbox::clock::Clock;
use deskbridge_sandbox::zocdoc::{
    Appointment, AppointmentStatus, ConfirmationType, Environment, RunningZocdoc, WebhookTarget,
    ZocdocConfig, ZocdocEmulator,
};
use deskbridge_zocdoc::webhook::WebhookKey;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub(crate) const CLIENT_ID: &str = "deskbridge-test";
pub(crate) const CLIENT_SECRET: &str = "not-a-real-secret";
/// The webhook guide's example key.
pub(crate) const WEBHOOK_KEY: &str = "g9Y9hjTUk9KKH7ffBRbtRmJYo2OISsdMK4flbfDa3zR=";

/// 2025-03-12 10:00 in New York: a Wednesday.
pub(crate) fn t0() -> Timestamp {
    "2025-03-12T14:00:00Z".parse().unwrap()
}

pub(crate) fn key() -> WebhookKey {
    WebhookKey::from_base64(WEBHOOK_KEY).unwrap()
}

/// A config on a clock that stands at [`t0`] until a test moves it.
pub(crate) fn config(environment: Environment) -> ZocdocConfig {
    let mut config = ZocdocConfig::new(environment, CLIENT_ID, CLIENT_SECRET);
    config.clock = Clock::manual(t0());
    config.seed = 1;
    config
}

/// An answer: status, headers and raw body.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Reply {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| {
            panic!(
                "status {}: body is not JSON ({error}): {:?}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The `field`s of an `ErrorResult`.
    pub(crate) fn error_fields(&self) -> Vec<String> {
        self.json()["errors"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|error| error["field"].as_str().map(str::to_owned))
            .collect()
    }
}

/// One HTTP/1.1 request on a fresh connection.
pub(crate) async fn request(
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<Vec<u8>>,
) -> Reply {
    let uri: Uri = url.parse().unwrap();
    let authority = uri.authority().unwrap().as_str().to_owned();
    let stream = TcpStream::connect(&authority).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    let connection = tokio::spawn(connection);
    let mut builder = Request::builder()
        .method(method)
        .uri(uri.path_and_query().unwrap().as_str())
        .header(http::header::HOST, &authority);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    if body.is_some() {
        builder = builder.header(http::header::CONTENT_TYPE, "application/json");
    }
    let request = builder
        .body(Full::new(Bytes::from(body.unwrap_or_default())))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    connection.abort();
    Reply {
        status,
        headers,
        body,
    }
}

/// A running emulator with a valid token.
pub(crate) struct Harness {
    pub(crate) running: RunningZocdoc,
    pub(crate) token: String,
}

impl Harness {
    pub(crate) async fn start(config: ZocdocConfig) -> Harness {
        let running = ZocdocEmulator::start(config).await.unwrap();
        let token = fetch_token(&running.base_url(), running.environment().audience()).await;
        Harness { running, token }
    }

    pub(crate) async fn sandbox() -> Harness {
        Harness::start(config(Environment::Sandbox)).await
    }

    pub(crate) fn emulator(&self) -> &ZocdocEmulator {
        self.running.emulator()
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.running.base_url())
    }

    pub(crate) async fn get(&self, path: &str) -> Reply {
        let bearer = format!("Bearer {}", self.token);
        request(
            Method::GET,
            &self.url(path),
            &[("authorization", &bearer)],
            None,
        )
        .await
    }

    pub(crate) async fn send(&self, method: Method, path: &str, body: &Value) -> Reply {
        let bearer = format!("Bearer {}", self.token);
        request(
            method,
            &self.url(path),
            &[("authorization", &bearer)],
            Some(serde_json::to_vec(body).unwrap()),
        )
        .await
    }

    pub(crate) async fn post(&self, path: &str, body: &Value) -> Reply {
        self.send(Method::POST, path, body).await
    }

    pub(crate) async fn put(&self, path: &str, body: &Value) -> Reply {
        self.send(Method::PUT, path, body).await
    }

    /// Sends provider-side changes to `receiver`.
    pub(crate) fn send_webhooks_to(&self, receiver: &Receiver) {
        self.emulator()
            .set_webhook_target(Some(WebhookTarget::new(&receiver.url, key()).unwrap()));
    }

    /// A stored appointment of the practice, made by hand for a test.
    pub(crate) fn add_appointment(
        &self,
        status: AppointmentStatus,
        start: SignedDuration,
    ) -> Appointment {
        let emulator = self.emulator();
        let practice = emulator.practice();
        let provider = &practice.providers[0];
        let location = practice.location(&provider.location_ids[0]).unwrap();
        let mut appointment = emulator
            .appointments()
            .into_iter()
            .next()
            .expect("the sandbox has fixtures to copy");
        let now = emulator.clock().now();
        appointment.appointment_id = format!("test-{}", emulator.appointment_count());
        appointment.status = status;
        appointment.arrived = false;
        appointment.start_time = now + start;
        appointment.created = now - SignedDuration::from_hours(24 * 5);
        appointment.last_modified = now - SignedDuration::from_hours(24 * 5);
        appointment.provider_id = provider.provider_id.clone();
        appointment.location_id = location.location_id.clone();
        appointment.practice_id = Some(practice.practice_id.clone());
        appointment.visit_reason_id = provider.visit_reason_ids[0].clone();
        appointment.confirmation_type = ConfirmationType::Auto;
        appointment.attachments.clear();
        appointment.cancellation_reason = None;
        emulator.insert_appointment(appointment.clone());
        appointment
    }
}

pub(crate) fn token_request(audience: &str, secret: &str) -> Value {
    json!({
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": secret,
        "audience": audience,
    })
}

pub(crate) async fn fetch_token(base_url: &str, audience: &str) -> String {
    let reply = request(
        Method::POST,
        &format!("{base_url}/oauth/token"),
        &[],
        Some(serde_json::to_vec(&token_request(audience, CLIENT_SECRET)).unwrap()),
    )
    .await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    reply.json()["access_token"].as_str().unwrap().to_owned()
}

/// What a receiver does with one request.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Behaviour {
    /// Answer at once with this status.
    Answer(u16),
    /// Read the request, then close the connection without a byte of answer.
    HangUp,
    /// Hold the request this long, then answer with the status.
    Stall(Duration, u16),
}

/// One request a receiver got.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

/// A webhook receiver on 127.0.0.1 that follows a script: the n-th request gets the n-th
/// behaviour, and the last behaviour repeats.
pub(crate) struct Receiver {
    pub(crate) url: String,
    received: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    pub(crate) async fn start(script: Vec<Behaviour>) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/zocdoc/webhook", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let task = tokio::spawn({
            let received = received.clone();
            async move {
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        return;
                    };
                    let received = received.clone();
                    let script = script.clone();
                    tokio::spawn(async move {
                        serve_one(stream, &received, &script).await;
                    });
                }
            }
        });
        Receiver {
            url,
            received,
            task,
        }
    }

    pub(crate) fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits (real time) until at least `count` requests arrived.
    pub(crate) async fn wait_for(&self, count: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let received = self.received();
            if received.len() >= count || Instant::now() > deadline {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

async fn serve_one(mut stream: TcpStream, received: &Mutex<Vec<Received>>, script: &[Behaviour]) {
    let mut buffer = Vec::new();
    let mut chunk = [0_u8; 4096];
    let head_end = loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(read) => buffer.extend_from_slice(&chunk[..read]),
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut headers = HeaderMap::new();
    for line in head.lines().skip(1) {
        if let Some((name, value)) = line.split_once(':') {
            headers.append(
                HeaderName::from_bytes(name.trim().as_bytes()).unwrap(),
                HeaderValue::from_str(value.trim()).unwrap(),
            );
        }
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.to_str().ok()?.parse().ok())
        .unwrap_or(0);
    while buffer.len() < head_end + length {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(read) => buffer.extend_from_slice(&chunk[..read]),
        }
    }
    let behaviour = {
        let mut received = received.lock().unwrap();
        received.push(Received {
            headers,
            body: buffer[head_end..head_end + length].to_vec(),
        });
        script[(received.len() - 1).min(script.len() - 1)]
    };
    let status = match behaviour {
        Behaviour::HangUp => return,
        Behaviour::Answer(status) => status,
        Behaviour::Stall(duration, status) => {
            tokio::time::sleep(duration).await;
            status
        }
    };
    let answer = format!("HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
    let _ = stream.write_all(answer.as_bytes()).await;
    let _ = stream.shutdown().await;
}
