//! The emulated HTTP API: the token endpoint, the appointment and mock-webhook routes, and the
//! directory reads (one provider location, one visit reason) of the practice, with
//! their validation, status codes and bodies as `zocdoc-openapi.yml` and `zocdoc-sandbox.md`
//! describe them (401 never has a body; which 400/404 carry an `ErrorResult` follows each route's
//! spec entry; 409 for transitions the status does not allow).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use deskbridge_zocdoc::webhook::WebhookKey;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use jiff::Timestamp;
use jiff::civil::Date;
use rand::Rng;
use serde::Serialize;
use serde_json::Value;

use super::auth::{self, SCOPE_READ, SCOPE_WRITE, TokenRequest, TokenRequestError};
use super::directory::{ProviderLocationData, VisitReasonData};
use super::faults::Route;
use super::fixtures::{self, Magic, NOT_FOUND_ID, SERVER_ERROR_ID};
use super::model::{
    Appointment, AppointmentStatus, BaseData, BookedData, CancellationReasonType, ConfirmationType,
    ParticipantsData, Patient, PatientAddress, PatientInsurance, PatientType, Sex, StatusData,
    VisitType,
};
use super::store::{Change, ChangeError, ListQuery, SortBy, TimeRange};
use super::webhooks::{ChangedAttribute, UpdateType, WebhookEvent, WebhookTarget};
use super::{Environment, ZocdocEmulator, ids};

/// `page_size` when the query gives none. Zocdoc does not document its default; a small one
/// makes a client that forgets `page_size` show up in call-count tests.
pub const DEFAULT_PAGE_SIZE: usize = 10;
/// `page` 0..=10.
const MAX_PAGE: i64 = 10;
/// `page_size` 1..=100.
const MAX_PAGE_SIZE: i64 = 100;
/// `notes` holds at most 100 characters.
const MAX_NOTES: usize = 100;

pub(crate) fn router(emulator: ZocdocEmulator) -> Router {
    Router::new()
        .route("/oauth/token", post(token))
        .route("/v1/appointments", get(list).post(book))
        .route("/v1/appointments/{appointment_id}", get(get_one))
        .route(
            "/v1/appointments/{appointment_id}/participants",
            get(participants),
        )
        .route("/v1/appointments/update-status", put(update_status))
        .route("/v1/appointments/confirm", post(confirm))
        .route("/v1/appointments/cancel", post(cancel))
        .route("/v1/appointments/reschedule", post(reschedule))
        .route("/v1/webhook/mock-request", post(mock_request))
        .route(
            "/v1/provider_locations/{provider_location_id}",
            get(provider_location),
        )
        .route("/v1/visit_reasons/{visit_reason_id}", get(visit_reason))
        .with_state(emulator)
}

/// One entry of `ErrorResult.errors`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct FieldError {
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<String>,
    message: String,
}

impl FieldError {
    fn on(field: &str, message: impl Into<String>) -> FieldError {
        FieldError {
            field: Some(field.to_owned()),
            message: message.into(),
        }
    }

    fn general(message: impl Into<String>) -> FieldError {
        FieldError {
            field: None,
            message: message.into(),
        }
    }
}

#[derive(Serialize)]
struct ErrorResult<'a> {
    request_id: &'a str,
    error_type: &'static str,
    errors: Vec<FieldError>,
}

#[derive(Serialize)]
struct DataResult<'a, T> {
    request_id: &'a str,
    data: T,
}

#[derive(Serialize)]
struct ListResult<'a> {
    request_id: &'a str,
    page: usize,
    page_size: usize,
    total_count: usize,
    /// `null` on the last page, as the spec's description says (its schema says `string`).
    next_url: Option<String>,
    data: Vec<StatusData>,
}

/// Whether `route` answers `status` with an `ErrorResult` body, per its spec entry (and, for the
/// 409 of reschedule and the 404 of the sandbox's magic booking ids, which the spec does not
/// list, per `zocdoc-sandbox.md`).
fn has_error_body(route: Route, status: StatusCode) -> bool {
    match status {
        StatusCode::BAD_REQUEST => !matches!(route, Route::Cancel | Route::UpdateStatus),
        StatusCode::NOT_FOUND => !matches!(
            route,
            Route::UpdateStatus | Route::MockWebhook | Route::GetVisitReason
        ),
        StatusCode::CONFLICT => true,
        _ => false,
    }
}

fn empty(status: StatusCode) -> Response {
    status.into_response()
}

fn json(status: StatusCode, body: &impl Serialize) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        bytes,
    )
        .into_response()
}

/// An answer that ends a request early (an error or an injected fault). Boxed, so that the
/// `Result`s that carry it through `?` stay small.
pub(crate) struct Refused(Box<Response>);

impl From<Response> for Refused {
    fn from(response: Response) -> Refused {
        Refused(Box::new(response))
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        *self.0
    }
}

fn refuse<T>(response: Response) -> Result<T, Refused> {
    Err(Refused::from(response))
}

/// One admitted request: what every answer needs.
struct Call {
    emulator: ZocdocEmulator,
    route: Route,
    request_id: String,
    base_url: String,
}

impl Call {
    fn ok(&self, data: impl Serialize) -> Response {
        json(
            StatusCode::OK,
            &DataResult {
                request_id: &self.request_id,
                data,
            },
        )
    }

    fn error(&self, status: StatusCode, errors: Vec<FieldError>) -> Response {
        if !has_error_body(self.route, status) {
            return empty(status);
        }
        json(
            status,
            &ErrorResult {
                request_id: &self.request_id,
                error_type: "invalid_request",
                errors,
            },
        )
    }

    fn bad_request(&self, errors: Vec<FieldError>) -> Response {
        self.error(StatusCode::BAD_REQUEST, errors)
    }

    fn not_found(&self) -> Response {
        self.error(
            StatusCode::NOT_FOUND,
            vec![FieldError::on("appointment_id", "Appointment not found")],
        )
    }

    fn sandbox(&self) -> bool {
        self.emulator.environment() == Environment::Sandbox
    }

    /// The sandbox's two error ids answer before anything is looked up.
    fn screen(&self, appointment_id: &str) -> Result<(), Refused> {
        if self.sandbox() {
            if appointment_id == NOT_FOUND_ID {
                return refuse(self.not_found());
            }
            if appointment_id == SERVER_ERROR_ID {
                return refuse(empty(StatusCode::INTERNAL_SERVER_ERROR));
            }
        }
        Ok(())
    }

    fn find(&self, appointment_id: &str) -> Result<Appointment, Refused> {
        self.screen(appointment_id)?;
        self.emulator
            .appointment(appointment_id)
            .ok_or_else(|| Refused::from(self.not_found()))
    }

    fn change(&self, appointment_id: &str, change: Change) -> Result<Appointment, Refused> {
        self.screen(appointment_id)?;
        let now = self.emulator.clock().now();
        let changed = self
            .emulator
            .with_store(|store| store.apply(appointment_id, change, now));
        changed.map_err(|error| {
            Refused::from(match error {
                ChangeError::NotFound => self.not_found(),
                ChangeError::Conflict(message) => {
                    self.error(StatusCode::CONFLICT, vec![FieldError::general(message)])
                }
            })
        })
    }
}

/// A probability draw that consumes randomness only when the fault is on.
fn chance(rng: &mut impl Rng, probability: f64) -> bool {
    probability > 0.0 && rng.random::<f64>() < probability
}

impl ZocdocEmulator {
    /// Counts the call, then applies the route's faults, the bearer token and the scope.
    async fn admit(
        &self,
        route: Route,
        headers: &HeaderMap,
        scope: Option<&str>,
    ) -> Result<Call, Refused> {
        self.inner.calls.record(route);
        let fault = self.inner.faults.get(route);
        if !fault.latency.is_zero() {
            tokio::time::sleep(fault.latency).await;
        }
        let (throttled, failed, expired, request_id) = self.with_rng(|rng| {
            (
                chance(rng, fault.rate_429),
                chance(rng, fault.rate_5xx),
                chance(rng, fault.expired_token_rate),
                ids::uuid_v4(rng),
            )
        });
        if throttled {
            tracing::info!(route = route.name(), "injected 429");
            let mut response = empty(StatusCode::TOO_MANY_REQUESTS);
            if let Some(seconds) = fault.retry_after_seconds {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            }
            return refuse(response);
        }
        if failed {
            tracing::info!(
                route = route.name(),
                status = fault.status_5xx,
                "injected 5xx"
            );
            let status =
                StatusCode::from_u16(fault.status_5xx).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return refuse(empty(status));
        }
        let host = headers
            .get(header::HOST)
            .and_then(|host| host.to_str().ok())
            .unwrap_or("localhost");
        let call = Call {
            emulator: self.clone(),
            route,
            request_id,
            base_url: format!("http://{host}"),
        };
        if route == Route::Token {
            return Ok(call);
        }
        let authorization = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok());
        let not_before = *super::lock(&self.inner.tokens_not_before);
        let granted = auth::check(
            authorization,
            self.inner.environment,
            self.inner.clock.now(),
            not_before,
        )
        .map_err(|rejection| {
            tracing::info!(route = route.name(), %rejection, "401");
            empty(StatusCode::UNAUTHORIZED)
        })?;
        if expired {
            tracing::info!(route = route.name(), "injected token expiry");
            return refuse(empty(StatusCode::UNAUTHORIZED));
        }
        if scope.is_some_and(|scope| !granted.allows(scope)) {
            return refuse(empty(StatusCode::FORBIDDEN));
        }
        Ok(call)
    }
}

async fn token(
    State(emulator): State<ZocdocEmulator>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Refused> {
    emulator.admit(Route::Token, &headers, None).await?;
    let auth0_error = |status: StatusCode, error: &str, description: &str| {
        json(
            status,
            &serde_json::json!({ "error": error, "error_description": description }),
        )
    };
    let request: TokenRequest = serde_json::from_slice(&body).map_err(|_| {
        auth0_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The request body must be a JSON object",
        )
    })?;
    let now = emulator.clock().now();
    let lifetime = *super::lock(&emulator.inner.token_lifetime);
    let jti = emulator.with_rng(ids::uuid_v4);
    match auth::issue(
        &request,
        &emulator.inner.client,
        emulator.environment(),
        now,
        lifetime,
        jti,
    ) {
        Ok(answer) => {
            tracing::info!(client_id = %emulator.inner.client.client_id, "token issued");
            Ok(json(StatusCode::OK, &answer))
        }
        Err(TokenRequestError::Malformed(message)) => refuse(auth0_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            &message,
        )),
        Err(TokenRequestError::UnsupportedGrant) => refuse(auth0_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "Grant type not allowed for the client.",
        )),
        Err(TokenRequestError::BadCredentials) => {
            tracing::info!("token refused: bad client credentials");
            refuse(auth0_error(
                StatusCode::UNAUTHORIZED,
                "access_denied",
                "Unauthorized",
            ))
        }
        Err(TokenRequestError::WrongAudience) => {
            tracing::info!("token refused: audience of another environment");
            refuse(empty(StatusCode::UNAUTHORIZED))
        }
    }
}

/// The value of a query parameter (the last one when repeated); empty counts as absent.
fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .rev()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.trim())
        .filter(|value| !value.is_empty())
}

fn comma_list(value: Option<&str>) -> Option<Vec<String>> {
    value.map(|value| {
        value
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(str::to_owned)
            .collect()
    })
}

fn parse_list_query(pairs: &[(String, String)]) -> Result<ListQuery, Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut bounded = |name: &str, min: i64, max: i64, default: usize| match param(pairs, name) {
        None => default,
        Some(text) => match text.parse::<i64>() {
            Ok(value) if (min..=max).contains(&value) => usize::try_from(value).unwrap_or(default),
            _ => {
                errors.push(FieldError::on(
                    name,
                    format!("{name} must be an integer between {min} and {max}"),
                ));
                default
            }
        },
    };
    let page = bounded("page", 0, MAX_PAGE, 0);
    let page_size = bounded("page_size", 1, MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE);
    let statuses = comma_list(param(pairs, "statuses")).map(|names| {
        names
            .iter()
            .filter_map(|name| {
                let status = AppointmentStatus::parse(name);
                if status.is_none() {
                    errors.push(FieldError::on(
                        "statuses",
                        format!("'{name}' is not an appointment status"),
                    ));
                }
                status
            })
            .collect()
    });
    let sort_by = match param(pairs, "sort_by") {
        None => SortBy::default(),
        Some(text) => SortBy::parse(text).unwrap_or_else(|| {
            errors.push(FieldError::on(
                "sort_by",
                "sort_by must be one of start_time_utc, created_time_utc, last_modified_time_utc",
            ));
            SortBy::default()
        }),
    };
    let ascending = match param(pairs, "sort_direction") {
        None | Some("descending") => false,
        Some("ascending") => true,
        Some(_) => {
            errors.push(FieldError::on(
                "sort_direction",
                "sort_direction must be ascending or descending",
            ));
            false
        }
    };
    let mut time = |name: &str| {
        param(pairs, name).and_then(|text| {
            let parsed = text.parse::<Timestamp>().ok();
            if parsed.is_none() {
                errors.push(FieldError::on(
                    name,
                    format!("{name} must be a UTC date and time such as 2024-01-01 00:00:00+00:00"),
                ));
            }
            parsed
        })
    };
    let start_time = TimeRange {
        min: time("start_time_utc_min"),
        max: time("start_time_utc_max"),
    };
    let created_time = TimeRange {
        min: time("created_time_utc_min"),
        max: time("created_time_utc_max"),
    };
    let last_modified_time = TimeRange {
        min: time("last_modified_time_utc_min"),
        max: time("last_modified_time_utc_max"),
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(ListQuery {
        statuses,
        provider_ids: comma_list(param(pairs, "provider_ids")),
        location_ids: comma_list(param(pairs, "location_ids")),
        practice_ids: comma_list(param(pairs, "practice_ids")),
        developer_patient_id: param(pairs, "developer_patient_id").map(str::to_owned),
        start_time,
        created_time,
        last_modified_time,
        sort_by,
        ascending,
        page,
        page_size,
    })
}

async fn list(
    State(emulator): State<ZocdocEmulator>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, Refused> {
    let call = emulator
        .admit(Route::ListAppointments, &headers, Some(SCOPE_READ))
        .await?;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|_| {
            call.bad_request(vec![FieldError::general("The query string is malformed")])
        })?;
    let query = parse_list_query(&pairs).map_err(|errors| call.bad_request(errors))?;
    let page = emulator.with_store(|store| store.list(&query));
    let next_url = ((query.page + 1) * query.page_size < page.reachable).then(|| {
        let mut next: Vec<(String, String)> = pairs
            .iter()
            .filter(|(key, _)| key != "page")
            .cloned()
            .collect();
        next.push(("page".to_owned(), (query.page + 1).to_string()));
        let encoded = serde_urlencoded::to_string(&next).unwrap_or_default();
        format!("{}/v1/appointments?{encoded}", call.base_url)
    });
    Ok(json(
        StatusCode::OK,
        &ListResult {
            request_id: &call.request_id,
            page: query.page,
            page_size: query.page_size,
            total_count: page.reachable,
            next_url,
            data: page.items.iter().map(StatusData::of).collect(),
        },
    ))
}

async fn get_one(
    State(emulator): State<ZocdocEmulator>,
    Path(appointment_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Refused> {
    let call = emulator
        .admit(Route::GetAppointment, &headers, Some(SCOPE_READ))
        .await?;
    let appointment = call.find(&appointment_id)?;
    Ok(call.ok(StatusData::of(&appointment)))
}

async fn participants(
    State(emulator): State<ZocdocEmulator>,
    Path(appointment_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Refused> {
    let call = emulator
        .admit(Route::GetParticipants, &headers, Some(SCOPE_READ))
        .await?;
    let appointment = call.find(&appointment_id)?;
    tracing::info!(appointment_id = %appointment.appointment_id, "participants read");
    Ok(call.ok(ParticipantsData::of(&appointment, &call.base_url)))
}

/// Reads fields of a JSON request body, collecting every problem with its path.
struct Fields<'a> {
    body: &'a Value,
    prefix: &'static str,
    errors: Vec<FieldError>,
}

impl<'a> Fields<'a> {
    fn new(body: &'a Value, prefix: &'static str) -> Fields<'a> {
        Fields {
            body,
            prefix,
            errors: Vec::new(),
        }
    }

    fn path(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    fn optional(&mut self, name: &str) -> Option<String> {
        match self.body.get(name) {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) => Some(text.clone()),
            Some(_) => {
                let path = self.path(name);
                self.errors
                    .push(FieldError::on(&path, format!("{path} must be a string")));
                None
            }
        }
    }

    fn required(&mut self, name: &str) -> Option<String> {
        let value = self.optional(name).filter(|text| !text.trim().is_empty());
        if value.is_none() && self.errors.iter().all(|e| e.field != Some(self.path(name))) {
            let path = self.path(name);
            self.errors
                .push(FieldError::on(&path, format!("{path} is required")));
        }
        value
    }

    fn check(&mut self, name: &str, ok: bool, message: &str) {
        if !ok {
            let path = self.path(name);
            self.errors.push(FieldError::on(&path, message));
        }
    }
}

/// Parses a JSON object body; anything else is one general error.
fn object_body(body: &[u8]) -> Result<Value, Vec<FieldError>> {
    match serde_json::from_slice::<Value>(body) {
        Ok(value @ Value::Object(_)) => Ok(value),
        _ => Err(vec![FieldError::general(
            "The request body must be a JSON object",
        )]),
    }
}

fn parse_enum<T: serde::de::DeserializeOwned>(text: &str) -> Option<T> {
    serde_json::from_value(Value::String(text.to_owned())).ok()
}

async fn update_status(
    State(emulator): State<ZocdocEmulator>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Refused> {
    let call = emulator
        .admit(Route::UpdateStatus, &headers, Some(SCOPE_WRITE))
        .await?;
    let body = object_body(&body).map_err(|errors| call.bad_request(errors))?;
    let mut fields = Fields::new(&body, "");
    let appointment_id = fields.required("appointment_id");
    let status = fields.required("appointment_status");
    let change = match status.as_deref() {
        Some("arrived") => Some(Change::Arrive),
        Some("no_show") => Some(Change::NoShow),
        Some(_) => {
            fields.check(
                "appointment_status",
                false,
                "appointment_status must be arrived or no_show",
            );
            None
        }
        None => None,
    };
    let (Some(appointment_id), Some(change), true) =
        (appointment_id, change, fields.errors.is_empty())
    else {
        return refuse(call.bad_request(fields.errors));
    };
    let changed = call.change(&appointment_id, change)?;
    Ok(call.ok(base_data(&changed)))
}

fn base_data(appointment: &Appointment) -> BaseData {
    BaseData {
        appointment_id: appointment.appointment_id.clone(),
        appointment_status: appointment.status,
        developer_patient_id: appointment.patient.developer_patient_id.clone(),
    }
}

async fn confirm(
    State(emulator): State<ZocdocEmulator>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Refused> {
    let call = emulator
        .admit(Route::Confirm, &headers, Some(SCOPE_WRITE))
        .await?;
    let body = object_body(&body).map_err(|errors| call.bad_request(errors))?;
    let mut fields = Fields::new(&body, "");
    let Some(appointment_id) = fields.required("appointment_id") else {
        return refuse(call.bad_request(fields.errors));
    };
    let changed = call.change(&appointment_id, Change::Confirm)?;
    Ok(call.ok(base_data(&changed)))
}

async fn cancel(
    State(emulator): State<ZocdocEmulator>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Refused> {
    let call = emulator
        .admit(Route::Cancel, &headers, Some(SCOPE_WRITE))
        .await?;
    let body = object_body(&body).map_err(|errors| call.bad_request(errors))?;
    let mut fields = Fields::new(&body, "");
    let appointment_id = fields.required("appointment_id");
    let reason = fields.optional("cancellation_reason");
    let reason_type = fields
        .optional("cancellation_reason_type")
        .map(|text| parse_enum::<CancellationReasonType>(&text));
    if let Some(None) = reason_type {
        fields.check(
            "cancellation_reason_type",
            false,
            "cancellation_reason_type is not a cancellation reason type",
        );
    }
    let (Some(appointment_id), true) = (appointment_id, fields.errors.is_empty()) else {
        return refuse(call.bad_request(fields.errors));
    };
    let changed = call.change(
        &appointment_id,
        Change::Cancel {
            reason_type: reason_type.flatten(),
            reason,
        },
    )?;
    tracing::info!(appointment_id = %appointment_id, "partner cancelled");
    Ok(call.ok(base_data(&changed)))
}

/// Reads a `date-time` with an offset that lies after `now`.
fn future_start(fields: &mut Fields<'_>, name: &str, now: Timestamp) -> Option<Timestamp> {
    let text = fields.required(name)?;
    let Ok(start) = text.parse::<Timestamp>() else {
        fields.check(
            name,
            false,
            "must be an ISO-8601 date and time with an offset, e.g. 2022-04-27T09:00:00-04:00",
        );
        return None;
    };
    fields.check(name, start > now, "must be in the future");
    (start > now).then_some(start)
}

async fn reschedule(
    State(emulator): State<ZocdocEmulator>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Refused> {
    let call = emulator
        .admit(Route::Reschedule, &headers, Some(SCOPE_WRITE))
        .await?;
    let body = object_body(&body).map_err(|errors| call.bad_request(errors))?;
    let mut fields = Fields::new(&body, "");
    let appointment_id = fields.required("appointment_id");
    let now = emulator.clock().now();
    let start = future_start(&mut fields, "start_time", now);
    let (Some(appointment_id), Some(start_time), true) =
        (appointment_id, start, fields.errors.is_empty())
    else {
        return refuse(call.bad_request(fields.errors));
    };
    let changed = call.change(
        &appointment_id,
        Change::Reschedule {
            start_time,
            by_partner: true,
        },
    )?;
    tracing::info!(appointment_id = %appointment_id, "partner rescheduled");
    Ok(call.ok(BookedData::of(&changed)))
}

/// Reads `data.patient` of a booking.
fn read_patient(patient: &Value, errors: &mut Vec<FieldError>) -> Option<Patient> {
    let mut fields = Fields::new(patient, "data.patient.");
    let first_name = fields.required("first_name");
    let last_name = fields.required("last_name");
    let date_of_birth = fields.required("date_of_birth").and_then(|text| {
        let date = text.parse::<Date>().ok();
        fields.check("date_of_birth", date.is_some(), "must be a date YYYY-MM-DD");
        date
    });
    let sex_at_birth = fields.required("sex_at_birth").and_then(|text| {
        let sex = parse_enum::<Sex>(&text);
        fields.check("sex_at_birth", sex.is_some(), "must be male or female");
        sex
    });
    let phone_number = fields.required("phone_number").filter(|phone| {
        let digits = phone.as_bytes();
        let ok = digits.len() == 10
            && digits.iter().all(u8::is_ascii_digit)
            && !matches!(digits[0], b'0' | b'1')
            && !matches!(digits[3], b'0' | b'1');
        fields.check(
            "phone_number",
            ok,
            "must be 10 digits; the first and fourth cannot be 0 or 1",
        );
        ok
    });
    let email_address = fields.required("email_address");
    let developer_patient_id = fields.optional("developer_patient_id");
    let address = match patient.get("patient_address") {
        Some(address @ Value::Object(_)) => {
            let mut address_fields = Fields::new(address, "data.patient.patient_address.");
            let address1 = address_fields.required("address1");
            let address2 = address_fields.optional("address2");
            let city = address_fields.required("city");
            let state = address_fields.required("state");
            let zip_code = address_fields.required("zip_code");
            fields.errors.append(&mut address_fields.errors);
            match (address1, city, state, zip_code) {
                (Some(address1), Some(city), Some(state), Some(zip_code)) => Some(PatientAddress {
                    address1,
                    address2,
                    city,
                    state,
                    zip_code,
                }),
                _ => None,
            }
        }
        _ => {
            fields.check("patient_address", false, "patient_address is required");
            None
        }
    };
    let insurance = match patient.get("insurance") {
        None | Some(Value::Null) => None,
        Some(value) => {
            let insurance = serde_json::from_value::<PatientInsurance>(value.clone()).ok();
            fields.check("insurance", insurance.is_some(), "insurance is malformed");
            insurance
        }
    };
    errors.append(&mut fields.errors);
    Some(Patient {
        patient_id: None,
        developer_patient_id,
        first_name: first_name?,
        last_name: last_name?,
        date_of_birth: date_of_birth?,
        sex_at_birth: sex_at_birth?,
        phone_number: phone_number?,
        email_address: email_address?,
        patient_address: address?,
        insurance,
    })
}

async fn book(
    State(emulator): State<ZocdocEmulator>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Refused> {
    let call = emulator
        .admit(Route::BookAppointment, &headers, Some(SCOPE_WRITE))
        .await?;
    let body = object_body(&body).map_err(|errors| call.bad_request(errors))?;
    let mut top = Fields::new(&body, "");
    let appointment_type = top.required("appointment_type");
    if appointment_type
        .as_deref()
        .is_some_and(|kind| kind != "providers")
    {
        top.check(
            "appointment_type",
            false,
            "appointment_type must be providers",
        );
    }
    let Some(data) = body.get("data").filter(|data| data.is_object()) else {
        top.check("data", false, "data is required");
        return refuse(call.bad_request(top.errors));
    };
    let mut errors = top.errors;
    let mut fields = Fields::new(data, "data.");
    let now = emulator.clock().now();
    let start_time = future_start(&mut fields, "start_time", now);
    let visit_reason_id = fields.required("visit_reason_id");
    let provider_location_id = fields.required("provider_location_id");
    let patient_type = fields.required("patient_type").and_then(|text| {
        let patient_type = parse_enum::<PatientType>(&text);
        fields.check(
            "patient_type",
            patient_type.is_some(),
            "must be existing or new",
        );
        patient_type
    });
    let notes = fields.optional("notes");
    fields.check(
        "notes",
        notes
            .as_ref()
            .is_none_or(|notes| notes.chars().count() <= MAX_NOTES),
        "notes hold at most 100 characters",
    );
    errors.append(&mut fields.errors);
    let patient = match data.get("patient") {
        Some(patient @ Value::Object(_)) => read_patient(patient, &mut errors),
        _ => {
            errors.push(FieldError::on("data.patient", "data.patient is required"));
            None
        }
    };
    let (
        Some(start_time),
        Some(visit_reason_id),
        Some(provider_location_id),
        Some(patient_type),
        Some(patient),
        true,
    ) = (
        start_time,
        visit_reason_id,
        provider_location_id,
        patient_type,
        patient,
        errors.is_empty(),
    )
    else {
        return refuse(call.bad_request(errors));
    };
    let practice = emulator.practice();
    let magic = if call.sandbox() {
        fixtures::magic(&provider_location_id)
    } else {
        None
    };
    let (
        status,
        provider_id,
        location_id,
        confirmation_type,
        practice_id,
        location_phone,
        visit_type,
    ) = match magic {
        Some(Magic::ServerError) => return refuse(empty(StatusCode::INTERNAL_SERVER_ERROR)),
        Some(Magic::NotFound) => {
            return refuse(call.error(
                StatusCode::NOT_FOUND,
                vec![FieldError::on(
                    "data.provider_location_id",
                    "Provider location not found",
                )],
            ));
        }
        Some(Magic::Status(status)) => {
            let (provider, location) = provider_location_id.split_once('|').unwrap_or_default();
            (
                status,
                provider.to_owned(),
                location.to_owned(),
                ConfirmationType::Auto,
                fixtures::FIXTURE_PRACTICE_ID.to_owned(),
                None,
                VisitType::InPerson,
            )
        }
        None => {
            let Some((provider, location)) = practice.provider_location(&provider_location_id)
            else {
                return refuse(call.bad_request(vec![FieldError::on(
                    "data.provider_location_id",
                    "Unknown provider location",
                )]));
            };
            if !provider.visit_reason_ids.contains(&visit_reason_id) {
                return refuse(call.bad_request(vec![FieldError::on(
                    "data.visit_reason_id",
                    "The provider does not accept this visit reason",
                )]));
            }
            let status = match provider.confirmation_type {
                ConfirmationType::Auto => AppointmentStatus::Confirmed,
                ConfirmationType::Manual | ConfirmationType::PendingEvaluation => {
                    AppointmentStatus::PendingBooking
                }
            };
            (
                status,
                provider.provider_id.clone(),
                location.location_id.clone(),
                provider.confirmation_type,
                practice.practice_id.clone(),
                Some(location.phone_number.clone()),
                location.visit_type(),
            )
        }
    };
    let appointment_id = emulator.with_rng(ids::uuid_v4);
    let waiting_room_path = (visit_type == VisitType::ZocdocVideoService)
        .then(|| format!("https://www.zocdoc.com/wr/{appointment_id}"));
    let appointment = Appointment {
        appointment_id: appointment_id.clone(),
        status,
        arrived: false,
        start_time,
        time_zone: emulator.time_zone().clone(),
        created: now,
        last_modified: now,
        provider_id,
        location_id,
        practice_id: Some(practice_id),
        visit_reason_id,
        visit_type,
        patient_type,
        confirmation_type,
        is_provider_resource: false,
        location_phone_number: location_phone,
        waiting_room_path,
        notes,
        cancellation_reason: None,
        cancellation_reason_type: None,
        source: Some("Your website".to_owned()),
        patient,
        booked_by_another_patient: false,
        attachments: Vec::new(),
    };
    tracing::info!(appointment_id = %appointment_id, status = %status, "partner booked");
    emulator.insert_appointment(appointment.clone());
    Ok(call.ok(BookedData::of(&appointment)))
}

/// Whether `id` has the form `pr_…|lo_…`.
fn is_provider_location_id(id: &str) -> bool {
    id.split_once('|').is_some_and(|(provider, location)| {
        provider.len() > 3
            && provider.starts_with("pr_")
            && location.len() > 3
            && location.starts_with("lo_")
    })
}

/// `GET /v1/provider_locations/{provider_location_id}`: a provider at one of the practice's
/// locations; 400 for an id not of the form `pr_…|lo_…`, 404 (with an `ErrorResult`) for one the
/// practice does not have. The spec names no scope: any valid token reads the directory.
async fn provider_location(
    State(emulator): State<ZocdocEmulator>,
    Path(provider_location_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Refused> {
    let call = emulator
        .admit(Route::GetProviderLocation, &headers, None)
        .await?;
    if !is_provider_location_id(&provider_location_id) {
        return refuse(call.bad_request(vec![FieldError::on(
            "provider_location_id",
            "provider_location_id must have the form pr_<id>|lo_<id>",
        )]));
    }
    let practice = emulator.practice();
    let Some((provider, location)) = practice.provider_location(&provider_location_id) else {
        tracing::info!(provider_location_id, "unknown provider location");
        return refuse(call.error(
            StatusCode::NOT_FOUND,
            vec![FieldError::on(
                "provider_location_id",
                "Provider location not found",
            )],
        ));
    };
    Ok(call.ok(ProviderLocationData::of(practice, provider, location)))
}

/// `GET /v1/visit_reasons/{visit_reason_id}`: 400 for an id not of the form `pc_…`, 404 (without
/// a body, as the spec documents it) for one the practice does not use.
async fn visit_reason(
    State(emulator): State<ZocdocEmulator>,
    Path(visit_reason_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Refused> {
    let call = emulator
        .admit(Route::GetVisitReason, &headers, None)
        .await?;
    if !visit_reason_id.starts_with("pc_") || visit_reason_id.len() <= 3 {
        return refuse(call.bad_request(vec![FieldError::on(
            "visit_reason_id",
            "visit_reason_id must have the form pc_<id>",
        )]));
    }
    let Some(reason) = emulator.practice().visit_reason(&visit_reason_id) else {
        tracing::info!(visit_reason_id, "unknown visit reason");
        return refuse(call.error(StatusCode::NOT_FOUND, Vec::new()));
    };
    Ok(call.ok(VisitReasonData::of(reason)))
}

async fn mock_request(
    State(emulator): State<ZocdocEmulator>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Refused> {
    let call = emulator.admit(Route::MockWebhook, &headers, None).await?;
    if !call.sandbox() {
        return refuse(empty(StatusCode::NOT_FOUND));
    }
    let body = object_body(&body).map_err(|errors| call.bad_request(errors))?;
    let mut fields = Fields::new(&body, "");
    let url = fields.required("webhook_url");
    let key = fields.required("webhook_key").and_then(|key| {
        let key = WebhookKey::from_base64(&key).ok();
        fields.check(
            "webhook_key",
            key.is_some(),
            "webhook_key must be a base64 string",
        );
        key
    });
    let update_type = match fields.optional("appointment_update_type") {
        None => Some(UpdateType::Updated),
        Some(text) => {
            let update_type = parse_enum::<UpdateType>(&text);
            fields.check(
                "appointment_update_type",
                update_type.is_some(),
                "appointment_update_type must be updated, cancelled or created",
            );
            update_type
        }
    };
    let target = match (url, key) {
        (Some(url), Some(key)) => match WebhookTarget::new(&url, key) {
            Ok(target) => Some(target),
            Err(error) => {
                fields.check("webhook_url", false, &error.to_string());
                None
            }
        },
        _ => None,
    };
    let (Some(target), Some(update_type), true) = (target, update_type, fields.errors.is_empty())
    else {
        return refuse(call.bad_request(fields.errors));
    };
    let event = WebhookEvent {
        appointment_id: emulator.with_rng(ids::uuid_v4),
        update_type,
        updated_at: emulator.clock().now(),
        changed_attributes: match update_type {
            UpdateType::Updated => vec![ChangedAttribute::start_time()],
            UpdateType::Created | UpdateType::Cancelled => Vec::new(),
        },
    };
    let (delivery, sent) = emulator.inner.deliverer.deliver(&target, &event);
    tracing::info!(delivery, appointment_id = %event.appointment_id, "mock webhook requested");
    let sent: Value = serde_json::from_slice(&sent).unwrap_or_default();
    Ok(json(StatusCode::OK, &sent))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(query: &str) -> Vec<(String, String)> {
        serde_urlencoded::from_str(query).unwrap()
    }

    #[test]
    fn page_bounds_are_checked() {
        assert!(parse_list_query(&pairs("page=10&page_size=100")).is_ok());
        for query in [
            "page=11",
            "page=-1",
            "page_size=0",
            "page_size=101",
            "page=x",
        ] {
            let errors = parse_list_query(&pairs(query)).unwrap_err();
            assert_eq!(errors.len(), 1, "{query}");
        }
    }

    #[test]
    fn an_unencoded_plus_in_a_time_is_a_bad_request() {
        let encoded = parse_list_query(&pairs(
            "last_modified_time_utc_min=2024-01-01%2000:00:00%2B00:00",
        ))
        .unwrap();
        assert_eq!(
            encoded.last_modified_time.min,
            Some("2024-01-01T00:00:00Z".parse().unwrap())
        );
        let errors = parse_list_query(&pairs(
            "last_modified_time_utc_min=2024-01-01 00:00:00+00:00",
        ))
        .unwrap_err();
        assert_eq!(
            errors[0].field.as_deref(),
            Some("last_modified_time_utc_min")
        );
    }

    #[test]
    fn every_problem_is_reported() {
        let errors = parse_list_query(&pairs(
            "statuses=confirmed,arrived&sort_by=name&sort_direction=up",
        ))
        .unwrap_err();
        let fields: Vec<_> = errors.iter().filter_map(|e| e.field.as_deref()).collect();
        assert_eq!(fields, ["statuses", "sort_by", "sort_direction"]);
    }

    #[test]
    fn error_bodies_follow_each_routes_spec_entry() {
        assert!(has_error_body(
            Route::ListAppointments,
            StatusCode::BAD_REQUEST
        ));
        assert!(!has_error_body(Route::Cancel, StatusCode::BAD_REQUEST));
        assert!(has_error_body(Route::Cancel, StatusCode::NOT_FOUND));
        assert!(!has_error_body(Route::UpdateStatus, StatusCode::NOT_FOUND));
        assert!(has_error_body(Route::UpdateStatus, StatusCode::CONFLICT));
        assert!(!has_error_body(
            Route::GetAppointment,
            StatusCode::UNAUTHORIZED
        ));
        assert!(has_error_body(
            Route::GetProviderLocation,
            StatusCode::NOT_FOUND
        ));
        assert!(!has_error_body(
            Route::GetVisitReason,
            StatusCode::NOT_FOUND
        ));
        assert!(has_error_body(
            Route::GetVisitReason,
            StatusCode::BAD_REQUEST
        ));
    }

    #[test]
    fn provider_location_ids_need_both_parts() {
        assert!(is_provider_location_id("pr_a|lo_b"));
        for id in ["pr_a", "pr_|lo_b", "lo_b|pr_a", "pr_a|lo_", "|"] {
            assert!(!is_provider_location_id(id), "{id}");
        }
    }
}
