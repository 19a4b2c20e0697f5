//! The emulated HTTP API: the token endpoint and the v3 table routes, with Caspio's error body
//! (`Code`, `Message`, `Resource`, `RequestId`) on every refusal, fault injection and call
//! counting before anything else, and the bearer token checked on every data route.

use std::cmp::Ordering;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use rand::Rng;
use serde_json::{Map, Value, json};

use super::table::{TableError, lookup};
use super::{CaspioEmulator, CaspioRoute, lock};

/// Rows `GET …/records` returns without `q.limit` or paging.
const DEFAULT_LIMIT: usize = 100;
/// Rows a page holds without `q.pageSize`.
const DEFAULT_PAGE_SIZE: usize = 25;
/// Most rows one answer holds.
const MAX_ROWS: usize = 1000;
/// Fewest rows a page may be asked to hold.
const MIN_PAGE_SIZE: usize = 5;

pub(super) fn router(emulator: CaspioEmulator) -> Router {
    Router::new()
        .route("/oauth/token", post(token))
        .route("/integrations/rest/v3/tables", get(tables))
        .route("/integrations/rest/v3/tables/{table}/fields", get(fields))
        .route(
            "/integrations/rest/v3/tables/{table}/records",
            get(read).post(insert).put(update).delete(delete),
        )
        .with_state(emulator)
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        serde_json::to_vec(body).unwrap_or_default(),
    )
        .into_response()
}

/// One admitted request: what every answer needs.
struct Call {
    emulator: CaspioEmulator,
    request_id: String,
    resource: String,
}

impl Call {
    fn error(&self, status: StatusCode, code: &str, message: impl Into<String>) -> Response {
        json_response(
            status,
            &json!({
                "Code": code,
                "Message": message.into(),
                "Resource": self.resource,
                "RequestId": self.request_id,
            }),
        )
    }

    fn table_error(&self, error: &TableError) -> Response {
        self.error(StatusCode::BAD_REQUEST, error.code(), error.to_string())
    }

    fn no_table(&self, table: &str) -> Response {
        self.error(
            StatusCode::NOT_FOUND,
            "TableNotFound",
            format!("Cannot find table '{table}'"),
        )
    }
}

/// Counts the call, applies the route's faults, and (except for the token endpoint) checks the
/// bearer token. `Err` is the answer to send instead.
async fn admit(
    emulator: &CaspioEmulator,
    route: CaspioRoute,
    headers: &HeaderMap,
    resource: String,
) -> Result<Call, Response> {
    emulator.record_call(route);
    let call = Call {
        emulator: emulator.clone(),
        request_id: emulator.next_request_id(),
        resource,
    };
    let fault = emulator.fault(route);
    if fault.latency > Duration::ZERO {
        tokio::time::sleep(fault.latency).await;
    }
    let (limited, failed, expired) = {
        let mut rng = lock(&emulator.inner.rng);
        (
            fault.rate_429 > 0.0 && rng.random_bool(fault.rate_429.clamp(0.0, 1.0)),
            fault.rate_5xx > 0.0 && rng.random_bool(fault.rate_5xx.clamp(0.0, 1.0)),
            fault.expired_token_rate > 0.0
                && rng.random_bool(fault.expired_token_rate.clamp(0.0, 1.0)),
        )
    };
    if limited {
        let mut response = call.error(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            "Too many requests, try again later",
        );
        if let Some(seconds) = fault.retry_after_seconds {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        return Err(response);
    }
    if failed {
        let status =
            StatusCode::from_u16(fault.status_5xx).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return Err(call.error(status, "InternalError", "An internal error occurred"));
    }
    if route == CaspioRoute::Token {
        return Ok(call);
    }
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim);
    let now = emulator.inner.clock.now();
    let valid = bearer.is_some_and(|token| {
        lock(&emulator.inner.tokens)
            .get(token)
            .is_some_and(|expires| *expires > now)
    });
    if !valid || expired {
        return Err(call.error(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "The access token is missing, invalid or expired",
        ));
    }
    Ok(call)
}

async fn token(
    State(emulator): State<CaspioEmulator>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let call = match admit(
        &emulator,
        CaspioRoute::Token,
        &headers,
        "/oauth/token".to_owned(),
    )
    .await
    {
        Ok(call) => call,
        Err(response) => return response,
    };
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
    let field = |name: &str| {
        form.iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    let oauth_error =
        |status: StatusCode, error: &str| json_response(status, &json!({ "error": error }));
    match field("grant_type") {
        None => return oauth_error(StatusCode::BAD_REQUEST, "invalid_request"),
        Some("client_credentials") => {}
        Some(_) => return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type"),
    }
    let inner = &call.emulator.inner;
    if field("client_id") != Some(inner.client_id.as_str())
        || field("client_secret") != Some(inner.client_secret.as_str())
    {
        tracing::info!("Caspio emulator: token refused (unknown client or wrong secret)");
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    let lifetime = *lock(&inner.token_lifetime);
    let (access, refresh) = {
        let mut rng = lock(&inner.rng);
        (
            format!("{:032x}", rng.random::<u128>()),
            format!("{:032x}", rng.random::<u128>()),
        )
    };
    let expires = inner
        .clock
        .now()
        .saturating_add(lifetime)
        .unwrap_or_else(|_| inner.clock.now());
    lock(&inner.tokens).insert(access.clone(), expires);
    json_response(
        StatusCode::OK,
        &json!({
            "access_token": access,
            "token_type": "bearer",
            "expires_in": lifetime.as_secs(),
            "refresh_token": refresh,
        }),
    )
}

async fn tables(State(emulator): State<CaspioEmulator>, headers: HeaderMap) -> Response {
    let call = match admit(
        &emulator,
        CaspioRoute::ListTables,
        &headers,
        "/tables".to_owned(),
    )
    .await
    {
        Ok(call) => call,
        Err(response) => return response,
    };
    let names: Vec<String> = lock(&call.emulator.inner.tables).keys().cloned().collect();
    json_response(StatusCode::OK, &json!({ "Result": names }))
}

async fn fields(
    State(emulator): State<CaspioEmulator>,
    Path(table): Path<String>,
    headers: HeaderMap,
) -> Response {
    let resource = format!("/tables/{table}/fields");
    let call = match admit(&emulator, CaspioRoute::GetFields, &headers, resource).await {
        Ok(call) => call,
        Err(response) => return response,
    };
    let tables = lock(&call.emulator.inner.tables);
    let Some(found) = tables.get(&table) else {
        return call.no_table(&table);
    };
    let result: Vec<Value> = found
        .def
        .fields
        .iter()
        .enumerate()
        .map(|(order, field)| {
            json!({
                "Name": field.name,
                "Type": field.column_type.as_str(),
                "Unique": field.unique,
                "UniqueAllowNulls": false,
                "Label": field.name,
                "Description": field.description,
                "DisplayOrder": order + 1,
                "IsFormula": field.formula,
                "ListField": null,
            })
        })
        .collect();
    json_response(StatusCode::OK, &json!({ "Result": result }))
}

/// The query string's pairs.
fn pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .and_then(|query| serde_urlencoded::from_str(query).ok())
        .unwrap_or_default()
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

/// Orders two values for `q.orderBy`: `NULL` first, then numbers and booleans, then text.
fn order(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    fn rank(value: Option<&Value>) -> (u8, f64, String) {
        match value {
            None | Some(Value::Null) => (0, 0.0, String::new()),
            Some(Value::Number(n)) => (1, n.as_f64().unwrap_or(0.0), String::new()),
            Some(Value::Bool(flag)) => (1, f64::from(u8::from(*flag)), String::new()),
            Some(other) => (2, 0.0, other.as_str().unwrap_or_default().to_lowercase()),
        }
    }
    let (a, b) = (rank(a), rank(b));
    a.0.cmp(&b.0)
        .then(a.1.partial_cmp(&b.1).unwrap_or(Ordering::Equal))
        .then(a.2.cmp(&b.2))
}

async fn read(
    State(emulator): State<CaspioEmulator>,
    Path(table): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let resource = format!("/tables/{table}/records");
    let call = match admit(&emulator, CaspioRoute::GetRecords, &headers, resource).await {
        Ok(call) => call,
        Err(response) => return response,
    };
    let pairs = pairs(query.as_deref());
    let tables = lock(&call.emulator.inner.tables);
    let Some(found) = tables.get(&table) else {
        return call.no_table(&table);
    };
    let filter = match param(&pairs, "q.where").map(|clause| found.filter(clause)) {
        None => None,
        Some(Ok(expr)) => Some(expr),
        Some(Err(error)) => return call.table_error(&error),
    };
    let mut select = Vec::new();
    if let Some(list) = param(&pairs, "q.select") {
        for name in list.split(',').map(str::trim) {
            match found
                .def
                .fields
                .iter()
                .find(|f| f.name.eq_ignore_ascii_case(name))
            {
                Some(field) => select.push(field.name.clone()),
                None => {
                    return call.table_error(&TableError::UnknownColumn(name.to_owned()));
                }
            }
        }
    }
    let mut rows: Vec<&Map<String, Value>> = found
        .matching(filter.as_ref())
        .into_iter()
        .map(|index| &found.rows[index])
        .collect();
    if let Some(order_by) = param(&pairs, "q.orderBy") {
        let mut keys = Vec::new();
        for term in order_by.split(',') {
            let mut words = term.split_whitespace();
            let name = words.next().unwrap_or_default();
            let descending = match words.next().map(str::to_ascii_uppercase).as_deref() {
                None | Some("ASC") => false,
                Some("DESC") => true,
                Some(_) => {
                    return call.error(
                        StatusCode::BAD_REQUEST,
                        "SqlServerError",
                        "Incorrect syntax in q.orderBy",
                    );
                }
            };
            if !found
                .def
                .fields
                .iter()
                .any(|f| f.name.eq_ignore_ascii_case(name))
            {
                return call.table_error(&TableError::UnknownColumn(name.to_owned()));
            }
            keys.push((name.to_owned(), descending));
        }
        rows.sort_by(|a, b| {
            keys.iter()
                .map(|(name, descending)| {
                    let ordering = order(lookup(a, name), lookup(b, name));
                    if *descending {
                        ordering.reverse()
                    } else {
                        ordering
                    }
                })
                .find(|ordering| *ordering != Ordering::Equal)
                .unwrap_or(Ordering::Equal)
        });
    }
    let number = |name: &str| param(&pairs, name).map(|v| v.trim().parse::<usize>());
    let window = match (
        number("q.pageNumber"),
        number("q.pageSize"),
        number("q.limit"),
    ) {
        (Some(Err(_)), _, _) | (_, Some(Err(_)), _) | (_, _, Some(Err(_))) => {
            return call.error(
                StatusCode::BAD_REQUEST,
                "IncorrectQueryParameter",
                "Paging parameters must be whole numbers",
            );
        }
        (None, None, limit) => {
            let limit = limit
                .map_or(Ok(DEFAULT_LIMIT), |l| l.map_err(drop))
                .unwrap_or(DEFAULT_LIMIT);
            if limit > MAX_ROWS {
                return call.error(
                    StatusCode::BAD_REQUEST,
                    "IncorrectQueryParameter",
                    "q.limit must be at most 1000",
                );
            }
            0..limit
        }
        (page, size, _) => {
            let page = page.map_or(Ok(1), |p| p.map_err(drop)).unwrap_or(1);
            let size = size
                .map_or(Ok(DEFAULT_PAGE_SIZE), |s| s.map_err(drop))
                .unwrap_or(DEFAULT_PAGE_SIZE);
            if page == 0 || !(MIN_PAGE_SIZE..=MAX_ROWS).contains(&size) {
                return call.error(
                    StatusCode::BAD_REQUEST,
                    "IncorrectQueryParameter",
                    "q.pageNumber starts at 1 and q.pageSize lies between 5 and 1000",
                );
            }
            let start = (page - 1).saturating_mul(size);
            start..start.saturating_add(size)
        }
    };
    let result: Vec<Value> = rows
        .into_iter()
        .skip(window.start)
        .take(window.end - window.start)
        .map(|row| {
            if select.is_empty() {
                Value::Object(row.clone())
            } else {
                Value::Object(
                    select
                        .iter()
                        .map(|name| (name.clone(), row.get(name).cloned().unwrap_or(Value::Null)))
                        .collect(),
                )
            }
        })
        .collect();
    json_response(StatusCode::OK, &json!({ "Result": result }))
}

/// The write routes' shared start: admission, the table, its write permission, the JSON body.
async fn write_call(
    emulator: &CaspioEmulator,
    route: CaspioRoute,
    table: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Call, Value), Response> {
    let call = admit(emulator, route, headers, format!("/tables/{table}/records")).await?;
    {
        let tables = lock(&emulator.inner.tables);
        let Some(found) = tables.get(table) else {
            return Err(call.no_table(table));
        };
        if !found.def.writable {
            return Err(call.error(
                StatusCode::FORBIDDEN,
                "AccessDenied",
                format!("The web services profile has no permission to modify table '{table}'"),
            ));
        }
    }
    let value = if route == CaspioRoute::DeleteRecords {
        Value::Null
    } else {
        match serde_json::from_slice(body) {
            Ok(value) => value,
            Err(_) => return Err(call.table_error(&TableError::BadBody)),
        }
    };
    Ok((call, value))
}

/// The answer to a write that was performed but whose answer is "lost".
fn lost(call: &Call) -> Response {
    call.error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "InternalError",
        "An internal error occurred",
    )
}

fn rows_wanted(pairs: &[(String, String)]) -> bool {
    param(pairs, "response").is_some_and(|value| value.eq_ignore_ascii_case("rows"))
}

async fn insert(
    State(emulator): State<CaspioEmulator>,
    Path(table): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (call, value) = match write_call(
        &emulator,
        CaspioRoute::InsertRecord,
        &table,
        &headers,
        &body,
    )
    .await
    {
        Ok(ready) => ready,
        Err(response) => return response,
    };
    let now = emulator.local_now();
    let inserted = {
        let mut tables = lock(&emulator.inner.tables);
        let mut rng = lock(&emulator.inner.rng);
        match tables.get_mut(&table) {
            Some(found) => found.insert(&value, &now, &mut rng),
            None => return call.no_table(&table),
        }
    };
    match inserted {
        Ok(_) if emulator.answer_lost() => lost(&call),
        Ok(row) => {
            if rows_wanted(&pairs(query.as_deref())) {
                json_response(
                    StatusCode::CREATED,
                    &json!({ "RecordsAffected": 1, "Result": [row] }),
                )
            } else {
                StatusCode::CREATED.into_response()
            }
        }
        Err(error) => call.table_error(&error),
    }
}

async fn update(
    State(emulator): State<CaspioEmulator>,
    Path(table): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (call, value) = match write_call(
        &emulator,
        CaspioRoute::UpdateRecords,
        &table,
        &headers,
        &body,
    )
    .await
    {
        Ok(ready) => ready,
        Err(response) => return response,
    };
    let pairs = pairs(query.as_deref());
    let Some(clause) = param(&pairs, "q.where") else {
        return call.error(
            StatusCode::BAD_REQUEST,
            "IncorrectQueryParameter",
            "q.where is required to update records",
        );
    };
    let now = emulator.local_now();
    let updated = {
        let mut tables = lock(&emulator.inner.tables);
        let mut rng = lock(&emulator.inner.rng);
        let Some(found) = tables.get_mut(&table) else {
            return call.no_table(&table);
        };
        found
            .filter(clause)
            .and_then(|expr| found.update(&expr, &value, &now, &mut rng))
    };
    match updated {
        Ok(_) if emulator.answer_lost() => lost(&call),
        Ok(rows) => {
            let mut answer = json!({ "RecordsAffected": rows.len() });
            if rows_wanted(&pairs) {
                answer["Result"] = Value::Array(rows.into_iter().map(Value::Object).collect());
            }
            json_response(StatusCode::OK, &answer)
        }
        Err(error) => call.table_error(&error),
    }
}

async fn delete(
    State(emulator): State<CaspioEmulator>,
    Path(table): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let (call, _) =
        match write_call(&emulator, CaspioRoute::DeleteRecords, &table, &headers, &[]).await {
            Ok(ready) => ready,
            Err(response) => return response,
        };
    let pairs = pairs(query.as_deref());
    let Some(clause) = param(&pairs, "q.where") else {
        return call.error(
            StatusCode::BAD_REQUEST,
            "IncorrectQueryParameter",
            "q.where is required to delete records",
        );
    };
    let deleted = {
        let mut tables = lock(&emulator.inner.tables);
        let Some(found) = tables.get_mut(&table) else {
            return call.no_table(&table);
        };
        found.filter(clause).map(|expr| found.delete(&expr))
    };
    match deleted {
        Ok(count) => json_response(StatusCode::OK, &json!({ "RecordsAffected": count })),
        Err(error) => call.table_error(&error),
    }
}
