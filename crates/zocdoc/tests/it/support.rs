//! A scripted Zocdoc on 127.0.0.1:0 for the client's tests, answering per the spec: the token
//! endpoint, the appointment routes with `ErrorResult` bodies, status transitions, paging with the
//! 1,000 cap, and the directory reads (one provider location, one visit reason). Tests script faults (status codes, `Retry-After`, stalls, broken bodies, writes that
//! take effect but answer 5xx), a 429 storm, token revocation and gzip; every request is recorded.
//! Also the test clock (sleeps return at once and are recorded) and a fixed jitter.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::Response;
use deskbridge_zocdoc::api::{
    Client, ClientBuilder, ClientId, ClientSecret, Clock, Environment, Jitter, RetryPolicy,
};
use flate2::Compression;
use flate2::write::GzEncoder;
use jiff::Timestamp;
use serde_json::{Value, json};
use std::future::Future;
use std::io::Write as _;
use std::pin::Pin;

pub(crate) const CLIENT_ID: &str = "deskbridge-test-client";
pub(crate) const CLIENT_SECRET: &str = "s3cret-never-printed";

/// The sandbox's fixed appointments (zocdoc-sandbox.md): id, status, provider, location.
pub(crate) const FIXED: [(&str, &str, &str, &str); 9] = [
    (
        "2b29f79b-6d7f-472a-9603-d0c378bc9531",
        "pending_booking",
        "pr_pending",
        "lo_pending",
    ),
    (
        "d2ee5bd8-643a-42c8-8c5a-be450e903430",
        "confirmed",
        "pr_confirmed",
        "lo_confirmed",
    ),
    (
        "423e6a11-8dac-4873-b933-d8d02f9a370f",
        "confirmed",
        "pr_confirmed",
        "lo_confirmed",
    ),
    (
        "34e4ead3-ca69-4448-9438-58702dd1048f",
        "booking_failed",
        "pr_bookingfailed",
        "lo_bookingfailed",
    ),
    (
        "21990114-ea71-4d7d-9d1e-00c43ae44bcd",
        "cancelled",
        "pr_cancelled",
        "lo_cancelled",
    ),
    (
        "a0a7770d-e667-416c-9f06-9c3b40a7bb84",
        "no_show",
        "pr_noshow",
        "lo_noshow",
    ),
    (
        "63f995c2-49c4-40c8-a93a-140fb32e913b",
        "pending_reschedule",
        "pr_pendingreschedule",
        "lo_pendingreschedule",
    ),
    (
        "8507d05f-cbe5-4732-b72a-22add9c80120",
        "rescheduled",
        "pr_rescheduled",
        "lo_rescheduled",
    ),
    (
        "84d04f67-b2cf-4afd-ab64-193072498ed5",
        "reschedule_failed",
        "pr_reschedulefailed",
        "lo_reschedulefailed",
    ),
];
/// Answers 404 in the sandbox.
pub(crate) const MISSING_ID: &str = "83f5cf14-3eb1-4034-be1f-e7c3058aad21";
/// Answers 500 in the sandbox, always.
pub(crate) const BROKEN_ID: &str = "dc69a428-8a73-461b-bd7b-df755910a3fb";

/// A route of the scripted Zocdoc.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Route {
    Token,
    List,
    Get,
    Participants,
    Confirm,
    Cancel,
    Reschedule,
    UpdateStatus,
    ProviderLocation,
    VisitReason,
    Unknown,
}

/// A scripted answer for the next request to a route.
#[derive(Debug, Clone)]
pub(crate) enum Fault {
    /// Answer this, doing nothing.
    Answer {
        status: u16,
        body: Option<Value>,
        retry_after: Option<&'static str>,
    },
    /// Do the write, then answer this status without a body.
    ApplyThenAnswer(u16),
    /// Do the write, then wait this long before answering (past the client's timeout).
    ApplyThenStall(Duration),
    /// Wait this long, then answer normally.
    Stall(Duration),
    /// Do the write, then answer 200 with a body cut short (the connection breaks).
    ApplyThenCutBody,
}

impl Fault {
    pub(crate) fn status(status: u16) -> Self {
        Fault::Answer {
            status,
            body: None,
            retry_after: None,
        }
    }

    pub(crate) fn with_body(status: u16, body: Value) -> Self {
        Fault::Answer {
            status,
            body: Some(body),
            retry_after: None,
        }
    }
}

/// One request as the scripted Zocdoc received it.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub(crate) route: Route,
    pub(crate) query: Option<String>,
    pub(crate) body: Option<Value>,
    pub(crate) authorization: Option<String>,
    pub(crate) accept_encoding: Option<String>,
    pub(crate) answered: u16,
}

#[derive(Debug, Default)]
struct Storm {
    percent: u64,
    state: u64,
    refused: u64,
}

impl Storm {
    /// xorshift64*: deterministic for a seed.
    fn next(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[derive(Debug)]
struct FakeState {
    audience: &'static str,
    expires_in: u64,
    tokens_issued: u32,
    valid_tokens: HashSet<String>,
    reject_every_token: bool,
    deny_writes: bool,
    appointments: BTreeMap<String, Value>,
    participants: HashMap<String, Value>,
    arrived: HashSet<String>,
    applied: HashMap<String, u32>,
    faults: Vec<(Route, Fault)>,
    storm: Option<Storm>,
    revoke_at_api_call: Option<u32>,
    api_calls: u32,
    gzip: bool,
    gzipped: u32,
    seen: Vec<Seen>,
    next_request: u64,
}

/// What the handler does after the state is released.
struct Plan {
    status: u16,
    body: Option<Value>,
    retry_after: Option<&'static str>,
    stall: Option<Duration>,
    cut_body: bool,
    gzip: bool,
}

impl Plan {
    fn answer(status: u16, body: Option<Value>) -> Self {
        Self {
            status,
            body,
            retry_after: None,
            stall: None,
            cut_body: false,
            gzip: false,
        }
    }
}

/// The scripted Zocdoc and its address.
#[derive(Debug, Clone)]
pub(crate) struct FakeZocdoc {
    url: String,
    state: Arc<Mutex<FakeState>>,
}

impl FakeZocdoc {
    /// A sandbox Zocdoc holding the fixed appointments.
    pub(crate) async fn start() -> Self {
        Self::start_for(Environment::Sandbox).await
    }

    /// A Zocdoc that expects `environment`'s audience.
    pub(crate) async fn start_for(environment: Environment) -> Self {
        let mut appointments = BTreeMap::new();
        let start = now() + jiff::SignedDuration::from_hours(48);
        for (index, (id, status, provider, location)) in FIXED.iter().enumerate() {
            let mut appointment = appointment_json(id, status, start, timestamp(1_700_000_000));
            appointment["provider_location_id"] = json!(format!("{provider}|{location}"));
            appointment["patient_type"] = json!(if index == 2 { "existing" } else { "new" });
            appointments.insert((*id).to_owned(), appointment);
        }
        let state = Arc::new(Mutex::new(FakeState {
            audience: environment.audience(),
            expires_in: 3600,
            tokens_issued: 0,
            valid_tokens: HashSet::new(),
            reject_every_token: false,
            deny_writes: false,
            appointments,
            participants: HashMap::new(),
            arrived: HashSet::new(),
            applied: HashMap::new(),
            faults: Vec::new(),
            storm: None,
            revoke_at_api_call: None,
            api_calls: 0,
            gzip: false,
            gzipped: 0,
            seen: Vec::new(),
            next_request: 0,
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&state));
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { url, state }
    }

    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// A client for this Zocdoc with the right credentials, the default retry policy, a test
    /// clock and a fixed jitter of 0.5.
    pub(crate) fn client(&self) -> (Client, Arc<TestClock>) {
        let clock = Arc::new(TestClock::new());
        let client = self.builder(CLIENT_SECRET, &clock).build().unwrap();
        (client, clock)
    }

    /// A builder for this Zocdoc (sandbox) with `secret`, the clock and a fixed jitter.
    pub(crate) fn builder(&self, secret: &str, clock: &Arc<TestClock>) -> ClientBuilder {
        Client::builder(
            Environment::Sandbox,
            ClientId::new(CLIENT_ID),
            ClientSecret::new(secret.to_owned()),
        )
        .base_url(self.url())
        .timeout(Duration::from_secs(5))
        .retry_policy(RetryPolicy::default())
        .clock(Arc::clone(clock) as Arc<dyn Clock>)
        .jitter(Arc::new(FixedJitter(0.5)))
    }

    fn with<T>(&self, f: impl FnOnce(&mut FakeState) -> T) -> T {
        f(&mut self.state.lock().unwrap())
    }

    pub(crate) fn insert(&self, appointment: Value) {
        let id = appointment["appointment_id"].as_str().unwrap().to_owned();
        self.with(|s| s.appointments.insert(id, appointment));
    }

    pub(crate) fn stored(&self, id: &str) -> Value {
        self.with(|s| s.appointments[id].clone())
    }

    pub(crate) fn all_ids(&self) -> Vec<String> {
        self.with(|s| s.appointments.keys().cloned().collect())
    }

    pub(crate) fn set_participants(&self, id: &str, participants: Value) {
        self.with(|s| s.participants.insert(id.to_owned(), participants));
    }

    /// Scripts the next request to `route`.
    pub(crate) fn push_fault(&self, route: Route, fault: Fault) {
        self.with(|s| s.faults.push((route, fault)));
    }

    /// `percent` % of all requests (token included) answer 429; every third 429 carries
    /// `Retry-After: 1`.
    pub(crate) fn storm(&self, percent: u64, seed: u64) {
        self.with(|s| {
            s.storm = Some(Storm {
                percent,
                state: seed.max(1),
                refused: 0,
            });
        });
    }

    /// How many requests the storm refused.
    pub(crate) fn storm_refusals(&self) -> u64 {
        self.with(|s| s.storm.as_ref().map_or(0, |storm| storm.refused))
    }

    /// Revokes every token issued so far.
    pub(crate) fn revoke_tokens(&self) {
        self.with(|s| s.valid_tokens.clear());
    }

    /// Revokes every token when the `n`th authorised API call arrives (that call answers 401).
    pub(crate) fn revoke_at_api_call(&self, n: u32) {
        self.with(|s| s.revoke_at_api_call = Some(n));
    }

    /// Answers 401 to every API call, as for a token of the other environment.
    pub(crate) fn reject_every_token(&self) {
        self.with(|s| s.reject_every_token = true);
    }

    /// Answers 403 to writes, as for credentials without `external.appointment.write`.
    pub(crate) fn deny_writes(&self) {
        self.with(|s| s.deny_writes = true);
    }

    pub(crate) fn set_expires_in(&self, seconds: u64) {
        self.with(|s| s.expires_in = seconds);
    }

    pub(crate) fn gzip(&self, on: bool) {
        self.with(|s| s.gzip = on);
    }

    pub(crate) fn gzipped(&self) -> u32 {
        self.with(|s| s.gzipped)
    }

    pub(crate) fn tokens_issued(&self) -> u32 {
        self.with(|s| s.tokens_issued)
    }

    /// How many times a write took effect on the appointment.
    pub(crate) fn applied(&self, id: &str) -> u32 {
        self.with(|s| s.applied.get(id).copied().unwrap_or(0))
    }

    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.with(|s| s.seen.clone())
    }

    pub(crate) fn count(&self, route: Route) -> usize {
        self.with(|s| s.seen.iter().filter(|seen| seen.route == route).count())
    }

    pub(crate) fn was_marked_arrived(&self, id: &str) -> bool {
        self.with(|s| s.arrived.contains(id))
    }
}

/// A clock whose sleeps return at once, advance its time, and are recorded.
#[derive(Debug)]
pub(crate) struct TestClock {
    start: Instant,
    start_utc: Timestamp,
    elapsed: Mutex<Duration>,
    sleeps: Mutex<Vec<Duration>>,
}

impl TestClock {
    pub(crate) fn new() -> Self {
        Self {
            start: Instant::now(),
            start_utc: Timestamp::now(),
            elapsed: Mutex::new(Duration::ZERO),
            sleeps: Mutex::new(Vec::new()),
        }
    }

    pub(crate) fn advance(&self, by: Duration) {
        *self.elapsed.lock().unwrap() += by;
    }

    pub(crate) fn sleeps(&self) -> Vec<Duration> {
        self.sleeps.lock().unwrap().clone()
    }
}

impl Clock for TestClock {
    fn now(&self) -> Instant {
        self.start + *self.elapsed.lock().unwrap()
    }

    fn now_utc(&self) -> Timestamp {
        self.start_utc + *self.elapsed.lock().unwrap()
    }

    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        self.sleeps.lock().unwrap().push(duration);
        self.advance(duration);
        Box::pin(std::future::ready(()))
    }
}

/// Always the same jitter fraction.
#[derive(Debug)]
pub(crate) struct FixedJitter(pub(crate) f64);

impl Jitter for FixedJitter {
    fn fraction(&self) -> f64 {
        self.0
    }
}

pub(crate) fn now() -> Timestamp {
    Timestamp::now()
}

pub(crate) fn timestamp(second: i64) -> Timestamp {
    Timestamp::from_second(second).unwrap()
}

/// An `AppointmentStatusResponseData` with every field of the spec; `start` is written with the
/// provider's offset (-05:00).
pub(crate) fn appointment_json(
    id: &str,
    status: &str,
    start: Timestamp,
    modified: Timestamp,
) -> Value {
    let offset = jiff::tz::Offset::from_hours(-5).unwrap();
    json!({
        "appointment_id": id,
        "appointment_status": status,
        "developer_patient_id": format!("mrn-{id}"),
        "is_provider_resource": false,
        "location_phone_number": "2125550100",
        "location_phone_extension": "12",
        "waiting_room_path": null,
        "confirmation_type": "manual",
        "start_time": start.display_with_offset(offset).to_string(),
        "created_time_utc": (modified - jiff::SignedDuration::from_hours(24)).to_string(),
        "last_modified_time_utc": modified.to_string(),
        "provider_location_id": "pr_confirmed|lo_confirmed",
        "practice_id": "pt_main",
        "visit_reason_id": "pc_FRO-18leckytNKtruw5dLR",
        "visit_type": "in_person",
        "patient_type": "new",
        "notes": "Patient notes: knee pain",
        "source": "Zocdoc Marketplace",
    })
}

/// `AppointmentParticipantsResponseData` for an appointment.
pub(crate) fn participants_json(id: &str) -> Value {
    json!({
        "patient": {
            "patient_id": format!("pa-{id}"),
            "developer_patient_id": format!("mrn-{id}"),
            "first_name": "Jane",
            "last_name": "Doe",
            "date_of_birth": "1980-02-03",
            "sex_at_birth": "female",
            "phone_number": "2125550199",
            "email_address": "jane.doe@example.com",
            "patient_address": {
                "address1": "1 Main St",
                "address2": "Apt 4",
                "city": "Springfield",
                "state": "NY",
                "zip_code": "10001"
            },
            "insurance": {
                "insurance_plan_id": "ip_2224",
                "insurance_group_number": "GRP-9",
                "insurance_member_id": "MEM-123",
                "is_self_pay": false
            },
            "gender": ["female_at_birth", "cisgender"],
            "uploaded_attachments": [
                {"attachment_type": "insurance_card_medical", "attachment_url": "https://x/att/1", "side": "front"},
                {"attachment_type": "id_card", "attachment_url": "https://x/att/2"}
            ],
            "is_booked_by_another_patient": false
        },
        "provider_id": "pr_confirmed",
        "location_id": "lo_confirmed"
    })
}

/// The provider location the scripted Zocdoc knows (the fixed appointments').
pub(crate) const PROVIDER_LOCATION_ID: &str = "pr_confirmed|lo_confirmed";
/// The visit reason the scripted Zocdoc knows (the spec's example id).
pub(crate) const VISIT_REASON_ID: &str = "pc_FRO-18leckytNKtruw5dLR";

/// The `ProviderLocation` of [`PROVIDER_LOCATION_ID`], with fields the client does not read.
pub(crate) fn provider_location_json() -> Value {
    json!({
        "provider_location_id": PROVIDER_LOCATION_ID,
        "provider_location_type": "in_person_provider",
        "accepts_patient_insurance": "insurance_not_specified",
        "provider": {
            "provider_id": "pr_confirmed", "npi": "1234567891", "first_name": "Ada",
            "last_name": "Placeholder", "title": "MD", "full_name": "Ada Placeholder, MD",
            "specialties": ["Primary Care"], "visit_reason_ids": [VISIT_REASON_ID]
        },
        "location": {
            "address1": "1 Example St", "address2": "Suite 2", "city": "New York", "state": "NY",
            "zip_code": "10001", "latitude": 40.75, "longitude": -73.99,
            "location_name": "Example Family Medicine Midtown"
        },
        "practice": {"practice_id": "pt_main", "practice_name": "Example Family Medicine"},
        "booking_requirements": {"required_fields": [], "accepts_booking_requests_from": ["self_pay"]}
    })
}

/// An `ErrorResult` body.
pub(crate) fn error_result(request_id: &str, error_type: &str, message: &str) -> Value {
    json!({
        "request_id": request_id,
        "error_type": error_type,
        "errors": [{"message": message, "field": "appointment_id"}]
    })
}

async fn handle(
    State(state): State<Arc<Mutex<FakeState>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let plan = {
        let mut state = state.lock().unwrap();
        plan(&mut state, &method, &uri, &headers, &body)
    };
    if let Some(stall) = plan.stall {
        tokio::time::sleep(stall).await;
    }
    respond(plan)
}

fn route_of(method: &Method, path: &str) -> Route {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method.as_str(), parts.as_slice()) {
        ("POST", ["oauth", "token"]) => Route::Token,
        ("GET", ["v1", "appointments"]) => Route::List,
        ("POST", ["v1", "appointments", "confirm"]) => Route::Confirm,
        ("POST", ["v1", "appointments", "cancel"]) => Route::Cancel,
        ("POST", ["v1", "appointments", "reschedule"]) => Route::Reschedule,
        ("PUT", ["v1", "appointments", "update-status"]) => Route::UpdateStatus,
        ("GET", ["v1", "appointments", _, "participants"]) => Route::Participants,
        ("GET", ["v1", "appointments", _]) => Route::Get,
        ("GET", ["v1", "provider_locations", _]) => Route::ProviderLocation,
        ("GET", ["v1", "visit_reasons", _]) => Route::VisitReason,
        _ => Route::Unknown,
    }
}

fn plan(
    state: &mut FakeState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Plan {
    let route = route_of(method, uri.path());
    let json_body: Option<Value> = serde_json::from_slice(body).ok();
    let header = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    let accept_encoding = header(header::ACCEPT_ENCODING);
    let mut plan = decide(
        state,
        route,
        uri,
        header(header::AUTHORIZATION),
        json_body.as_ref(),
    );
    plan.gzip = state.gzip
        && plan.body.is_some()
        && accept_encoding
            .as_deref()
            .is_some_and(|a| a.contains("gzip"));
    if plan.gzip {
        state.gzipped += 1;
    }
    state.seen.push(Seen {
        route,
        query: uri.query().map(str::to_owned),
        body: json_body,
        authorization: header(header::AUTHORIZATION),
        accept_encoding,
        answered: plan.status,
    });
    plan
}

fn decide(
    state: &mut FakeState,
    route: Route,
    uri: &Uri,
    authorization: Option<String>,
    body: Option<&Value>,
) -> Plan {
    state.next_request += 1;
    let request_id = format!("req-{}", state.next_request);
    if let Some(storm) = state.storm.as_mut()
        && storm.next() % 100 < storm.percent
    {
        storm.refused += 1;
        let mut plan = Plan::answer(429, None);
        if storm.refused % 3 == 0 {
            plan.retry_after = Some("1");
        }
        return plan;
    }
    if route == Route::Token {
        return match take_fault(state, route, body) {
            Scripted::Answer(plan) => plan,
            Scripted::Late(stall) => stalled(token(state, body), stall),
            Scripted::Nothing => token(state, body),
        };
    }
    if route == Route::Unknown {
        return Plan::answer(404, None);
    }
    let token = authorization
        .as_deref()
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_owned();
    if state.valid_tokens.contains(&token) {
        state.api_calls += 1;
        if state.revoke_at_api_call == Some(state.api_calls) {
            state.valid_tokens.clear();
        }
    }
    if state.reject_every_token || !state.valid_tokens.contains(&token) {
        return Plan::answer(401, None);
    }
    let is_write = matches!(
        route,
        Route::Confirm | Route::Cancel | Route::Reschedule | Route::UpdateStatus
    );
    if is_write && state.deny_writes {
        return Plan::answer(403, None);
    }
    match take_fault(state, route, body) {
        Scripted::Answer(plan) => plan,
        Scripted::Late(stall) => stalled(normal(state, route, uri, body, &request_id), stall),
        Scripted::Nothing => normal(state, route, uri, body, &request_id),
    }
}

/// Delays an answer.
fn stalled(mut plan: Plan, stall: Duration) -> Plan {
    plan.stall = Some(stall);
    plan
}

/// The answer per the spec, without faults.
fn normal(
    state: &mut FakeState,
    route: Route,
    uri: &Uri,
    body: Option<&Value>,
    request_id: &str,
) -> Plan {
    let request_id = request_id.to_owned();
    let path_id = uri.path().split('/').nth(3).unwrap_or_default().to_owned();
    match route {
        Route::List => list(state, uri.query().unwrap_or_default(), &request_id),
        Route::Get | Route::Participants if path_id == BROKEN_ID => Plan::answer(500, None),
        Route::ProviderLocation => match path_id.replace("%7C", "|").as_str() {
            PROVIDER_LOCATION_ID => Plan::answer(
                200,
                Some(json!({"request_id": request_id, "data": provider_location_json()})),
            ),
            _ => Plan::answer(
                404,
                Some(json!({
                    "request_id": request_id,
                    "error_type": "invalid_request",
                    "errors": [{"message": "Provider location not found", "field": "provider_location_id"}]
                })),
            ),
        },
        // The spec documents this 404 without a body.
        Route::VisitReason => match path_id.as_str() {
            VISIT_REASON_ID => Plan::answer(
                200,
                Some(json!({"request_id": request_id, "data": {
                    "id": VISIT_REASON_ID, "name": "Annual physical", "specialty_id": "sp_153"
                }})),
            ),
            _ => Plan::answer(404, None),
        },
        Route::Get => match state.appointments.get(&path_id) {
            Some(appointment) => Plan::answer(
                200,
                Some(json!({"request_id": request_id, "data": appointment})),
            ),
            None => not_found(&request_id),
        },
        Route::Participants => {
            if !state.appointments.contains_key(&path_id) {
                return not_found(&request_id);
            }
            let data = state
                .participants
                .get(&path_id)
                .cloned()
                .unwrap_or_else(|| participants_json(&path_id));
            Plan::answer(200, Some(json!({"request_id": request_id, "data": data})))
        }
        _ => match write(state, route, body.unwrap_or(&Value::Null)) {
            Ok(data) => Plan::answer(200, Some(json!({"request_id": request_id, "data": data}))),
            Err((status, message)) => Plan::answer(
                status,
                Some(error_result(&request_id, "invalid_request", &message)),
            ),
        },
    }
}

/// What a scripted fault says about a request.
enum Scripted {
    /// Answer this.
    Answer(Plan),
    /// Answer normally, after this delay.
    Late(Duration),
    /// No fault for this route.
    Nothing,
}

fn take_fault(state: &mut FakeState, route: Route, body: Option<&Value>) -> Scripted {
    let Some(index) = state.faults.iter().position(|(r, _)| *r == route) else {
        return Scripted::Nothing;
    };
    let (_, fault) = state.faults.remove(index);
    let apply = |state: &mut FakeState| {
        write(state, route, body.unwrap_or(&Value::Null)).expect("a scripted write applies");
    };
    Scripted::Answer(match fault {
        Fault::Answer {
            status,
            body,
            retry_after,
        } => {
            let mut plan = Plan::answer(status, body);
            plan.retry_after = retry_after;
            plan
        }
        Fault::ApplyThenAnswer(status) => {
            apply(state);
            Plan::answer(status, None)
        }
        Fault::ApplyThenStall(stall) => {
            apply(state);
            stalled(Plan::answer(200, Some(json!({}))), stall)
        }
        Fault::Stall(stall) => return Scripted::Late(stall),
        Fault::ApplyThenCutBody => {
            apply(state);
            let mut plan = Plan::answer(200, Some(json!({"request_id": "cut", "data": {}})));
            plan.cut_body = true;
            plan
        }
    })
}

fn token(state: &mut FakeState, body: Option<&Value>) -> Plan {
    let Some(body) = body else {
        return Plan::answer(401, None);
    };
    let valid = body["grant_type"] == "client_credentials"
        && body["client_id"] == CLIENT_ID
        && body["client_secret"] == CLIENT_SECRET
        && body["audience"] == state.audience
        && body.as_object().is_some_and(|o| o.len() == 4);
    if !valid {
        return Plan::answer(401, None);
    }
    state.tokens_issued += 1;
    let token = format!("tok-{}", state.tokens_issued);
    state.valid_tokens.insert(token.clone());
    Plan::answer(
        200,
        Some(json!({
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": state.expires_in,
            "scope": "external.appointment.read external.appointment.write",
        })),
    )
}

fn not_found(request_id: &str) -> Plan {
    Plan::answer(
        404,
        Some(error_result(
            request_id,
            "invalid_request",
            "Appointment not found",
        )),
    )
}

fn bad_request(request_id: &str, field: &str, message: &str) -> Plan {
    Plan::answer(
        400,
        Some(json!({
            "request_id": request_id,
            "error_type": "invalid_request",
            "errors": [{"message": message, "field": field}]
        })),
    )
}

/// Parses a query time: exactly `YYYY-MM-DD HH:MM:SS+00:00`.
fn query_time(text: &str) -> Option<Timestamp> {
    let bytes = text.as_bytes();
    if bytes.len() != 25 || bytes[10] != b' ' || !text.ends_with("+00:00") {
        return None;
    }
    text.parse().ok()
}

fn field_time(appointment: &Value, field: &str) -> Timestamp {
    appointment[field].as_str().unwrap().parse().unwrap()
}

/// One filter of the list query.
type Filter = Box<dyn Fn(&Value) -> bool>;

fn list(state: &FakeState, query: &str, request_id: &str) -> Plan {
    let Ok(pairs) = serde_urlencoded_pairs(query) else {
        return bad_request(request_id, "query", "unreadable query");
    };
    let mut page = 0usize;
    let mut page_size = 100usize;
    let mut sort_by = "start_time_utc".to_owned();
    let mut ascending = false;
    let mut filters: Vec<Filter> = Vec::new();
    for (name, value) in pairs {
        let list: Vec<String> = value.split(',').map(str::to_owned).collect();
        match name.as_str() {
            "page" => match value.parse::<usize>() {
                Ok(n) if n <= 10 => page = n,
                _ => return bad_request(request_id, "page", "page must be between 0 and 10"),
            },
            "page_size" => match value.parse::<usize>() {
                Ok(n) if (1..=100).contains(&n) => page_size = n,
                _ => {
                    return bad_request(request_id, "page_size", "page_size must be 1 to 100");
                }
            },
            "statuses" => filters.push(Box::new(move |a| {
                list.iter().any(|s| a["appointment_status"] == s.as_str())
            })),
            "developer_patient_id" => {
                filters.push(Box::new(move |a| {
                    a["developer_patient_id"] == value.as_str()
                }));
            }
            "practice_ids" => filters.push(Box::new(move |a| {
                list.iter().any(|s| a["practice_id"] == s.as_str())
            })),
            "provider_ids" | "location_ids" => {
                let part = usize::from(name == "location_ids");
                filters.push(Box::new(move |a| {
                    let pl = a["provider_location_id"].as_str().unwrap_or_default();
                    let own = pl.split('|').nth(part).unwrap_or_default();
                    list.iter().any(|s| s == own)
                }));
            }
            "sort_by" => match value.as_str() {
                "start_time_utc" | "created_time_utc" | "last_modified_time_utc" => sort_by = value,
                _ => return bad_request(request_id, "sort_by", "unknown sort_by"),
            },
            "sort_direction" => match value.as_str() {
                "ascending" => ascending = true,
                "descending" => ascending = false,
                _ => return bad_request(request_id, "sort_direction", "unknown direction"),
            },
            "start_time_utc_min"
            | "start_time_utc_max"
            | "created_time_utc_min"
            | "created_time_utc_max"
            | "last_modified_time_utc_min"
            | "last_modified_time_utc_max" => {
                let Some(bound) = query_time(&value) else {
                    return bad_request(
                        request_id,
                        &name,
                        "time must be YYYY-MM-DD HH:MM:SS+00:00",
                    );
                };
                let field = match name.rsplit_once('_').unwrap().0 {
                    "start_time_utc" => "start_time",
                    "created_time_utc" => "created_time_utc",
                    _ => "last_modified_time_utc",
                };
                let is_min = name.ends_with("_min");
                filters.push(Box::new(move |a| {
                    let at = field_time(a, field);
                    if is_min { at >= bound } else { at <= bound }
                }));
            }
            _ => return bad_request(request_id, &name, "unknown parameter"),
        }
    }
    let sort_field = match sort_by.as_str() {
        "start_time_utc" => "start_time",
        other => other,
    }
    .to_owned();
    let mut matching: Vec<&Value> = state
        .appointments
        .values()
        .filter(|a| filters.iter().all(|f| f(a)))
        .collect();
    matching.sort_by_key(|a| (field_time(a, &sort_field), a["appointment_id"].to_string()));
    if !ascending {
        matching.reverse();
    }
    let total = matching.len();
    let reachable = total.min(1000);
    let from = (page * page_size).min(reachable);
    let to = ((page + 1) * page_size).min(reachable);
    let next_url = (to < reachable).then(|| {
        format!(
            "https://api-developer-sandbox.zocdoc.com/v1/appointments?page={}",
            page + 1
        )
    });
    Plan::answer(
        200,
        Some(json!({
            "request_id": request_id,
            "page": page,
            "page_size": page_size,
            "total_count": total,
            "next_url": next_url,
            "data": matching[from..to],
        })),
    )
}

fn serde_urlencoded_pairs(query: &str) -> Result<Vec<(String, String)>, ()> {
    let uri: Uri = format!("/?{query}").parse().map_err(|_| ())?;
    axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&uri)
        .map(|q| q.0)
        .map_err(|_| ())
}

/// Performs a write; `Err((status, message))` when Zocdoc would refuse it.
fn write(state: &mut FakeState, route: Route, body: &Value) -> Result<Value, (u16, String)> {
    let id = body["appointment_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let Some(appointment) = state.appointments.get_mut(&id) else {
        return Err((404, "Appointment not found".to_owned()));
    };
    let status = appointment["appointment_status"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut reported = None;
    match route {
        Route::Confirm => {
            if status != "pending_booking" {
                return Err((
                    409,
                    format!("Cannot confirm an appointment in status {status}"),
                ));
            }
            appointment["appointment_status"] = json!("confirmed");
        }
        Route::Cancel => {
            const REASONS: [&str; 9] = [
                "patient_no_longer_needs_appointment",
                "patient_no_longer_available",
                "other_patient_reason",
                "missing_needed_patient_information",
                "payment_or_insurance_issue",
                "patient_or_visit_type_not_accepted",
                "provider_not_available",
                "rescheduling_patient",
                "other_provider_reason",
            ];
            if let Some(reason) = body.get("cancellation_reason_type")
                && !REASONS.iter().any(|r| reason == r)
            {
                return Err((400, "Unknown cancellation_reason_type".to_owned()));
            }
            if matches!(status.as_str(), "cancelled" | "no_show") {
                return Err((409, "Appointment is already cancelled".to_owned()));
            }
            appointment["appointment_status"] = json!("cancelled");
            if let Some(note) = body.get("cancellation_reason") {
                appointment["cancellation_reason"] = note.clone();
            }
        }
        Route::Reschedule => {
            let Some(start) = body["start_time"].as_str() else {
                return Err((400, "start_time is required".to_owned()));
            };
            if jiff::fmt::temporal::Pieces::parse(start)
                .ok()
                .and_then(|p| p.to_numeric_offset())
                .is_none()
            {
                return Err((400, "start_time needs an offset".to_owned()));
            }
            if !matches!(
                status.as_str(),
                "pending_booking" | "confirmed" | "pending_reschedule" | "rescheduled"
            ) {
                return Err((
                    409,
                    format!("Cannot reschedule an appointment in status {status}"),
                ));
            }
            appointment["start_time"] = json!(start);
            appointment["appointment_status"] = json!("rescheduled");
        }
        Route::UpdateStatus => match body["appointment_status"].as_str() {
            Some("no_show") => {
                let start = field_time(appointment, "start_time");
                let now = now();
                if status == "cancelled"
                    || start > now
                    || start < now - jiff::SignedDuration::from_hours(48)
                {
                    return Err((
                        409,
                        "Appointment start time must be in the past and within 2 days".to_owned(),
                    ));
                }
                appointment["appointment_status"] = json!("no_show");
            }
            Some("arrived") => {
                if status == "cancelled" {
                    return Err((409, "Appointment is cancelled".to_owned()));
                }
                state.arrived.insert(id.clone());
                reported = Some("arrived".to_owned());
            }
            _ => {
                return Err((
                    400,
                    "appointment_status must be arrived or no_show".to_owned(),
                ));
            }
        },
        _ => return Err((404, "no such route".to_owned())),
    }
    let appointment = state.appointments.get_mut(&id).unwrap();
    appointment["last_modified_time_utc"] = json!(now().to_string());
    *state.applied.entry(id.clone()).or_default() += 1;
    let appointment = &state.appointments[&id];
    let status = reported.unwrap_or_else(|| {
        appointment["appointment_status"]
            .as_str()
            .unwrap()
            .to_owned()
    });
    let mut data = json!({
        "appointment_id": id,
        "appointment_status": status,
        "developer_patient_id": appointment["developer_patient_id"],
    });
    if route == Route::Reschedule {
        for field in [
            "is_provider_resource",
            "location_phone_number",
            "location_phone_extension",
            "confirmation_type",
            "visit_type",
            "notes",
        ] {
            data[field] = appointment[field].clone();
        }
    }
    Ok(data)
}

fn respond(plan: Plan) -> Response {
    let mut builder = Response::builder().status(StatusCode::from_u16(plan.status).unwrap());
    if let Some(retry_after) = plan.retry_after {
        builder = builder.header(header::RETRY_AFTER, retry_after);
    }
    let Some(body) = plan.body else {
        return builder.body(Body::empty()).unwrap();
    };
    let mut bytes = serde_json::to_vec(&body).unwrap();
    builder = builder.header(header::CONTENT_TYPE, "application/json");
    if plan.gzip {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(&bytes).unwrap();
        bytes = encoder.finish().unwrap();
        builder = builder.header(header::CONTENT_ENCODING, "gzip");
    }
    if plan.cut_body {
        builder = builder.header(header::CONTENT_LENGTH, bytes.len() + 1000);
    }
    builder.body(Body::from(Bytes::from(bytes))).unwrap()
}
