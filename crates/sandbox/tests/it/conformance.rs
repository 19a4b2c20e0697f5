//! Conformance: every answer the emulator gives on the appointment, directory and mock-webhook
//! routes, and every webhook it sends, validates against the schemas of `zocdoc-openapi.yml`, loaded here at
//! test time (nothing copied by hand).
//!
//! Why a small validator instead of the `jsonschema` crate: the spec's schemas use only `$ref`
//! (to `#/components/schemas`), `allOf`, `type`, `properties`, `required`, `enum`, `items`,
//! `format`, and a few numeric/array bounds; OpenAPI 3.0's `nullable` has to be translated in any
//! case. This validator implements exactly that subset and *panics on any other keyword it
//! meets*, so a schema change can never be skipped silently; `jsonschema` would add dozens of
//! crates (ICU-based URL handling among them) for features the spec does not use. It is also
//! stricter than JSON Schema in one way: a property the spec does not declare anywhere in an
//! object's `allOf` tree is an error, because the emulator must not invent fields.
//!
//! Expectations per answer: a status the operation documents with a JSON schema must carry a
//! body valid against it; a documented status without content must have an empty body; a status
//! the spec does not list is accepted only where the reference notes say so (429 and 5xx without
//! a body; 409 of reschedule and 404 of a magic booking as `ErrorResult`), and anything else
//! fails.
//!
//! One override, checked against the spec's own words: `PaginatedBaseResult.next_url` is
//! `required` and `type: string`, but its description says "null if this is the last page"; the
//! emulator answers `null` there, so the test treats that one property as `nullable`.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use deskbridge_sandbox::zocdoc::{
    AppointmentStatus, Change, Environment, FaultConfig, NOT_FOUND_ID, Route, SCOPE_READ,
    SERVER_ERROR_ID, WITH_ATTACHMENTS_ID,
};
use http::Method;
use jiff::SignedDuration;
use serde_json::{Value, json};

use crate::common::{Behaviour, Harness, Receiver, Reply, WEBHOOK_KEY, config, request};

const KNOWN_KEYWORDS: [&str; 14] = [
    "$ref",
    "allOf",
    "type",
    "properties",
    "required",
    "enum",
    "items",
    "format",
    "nullable",
    "minimum",
    "maximum",
    "minItems",
    "maxItems",
    "description",
];
const ANNOTATIONS: [&str; 1] = ["example"];

struct Spec {
    doc: Value,
}

/// What the spec expects of one answer.
enum Expect<'a> {
    Body(&'a Value),
    Empty,
}

impl Spec {
    fn load() -> Spec {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("reference/zocdoc-openapi.yml");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|error| {
            panic!(
                "the conformance test needs Zocdoc's OpenAPI description at {} ({error})",
                path.display()
            )
        });
        let mut doc: Value = serde_norway::from_str(&text).expect("the spec is valid YAML");
        let next_url = &mut doc["components"]["schemas"]["PaginatedBaseResult"]["allOf"][1]["properties"]
            ["next_url"];
        let description = next_url["description"].as_str().unwrap_or_default();
        assert!(
            description.contains("null if this is the last page"),
            "the next_url override no longer matches the spec's words: {description:?}"
        );
        next_url["nullable"] = Value::Bool(true);
        Spec { doc }
    }

    fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        match schema.get("$ref").and_then(Value::as_str) {
            None => schema,
            Some(reference) => {
                let name = reference
                    .strip_prefix("#/components/schemas/")
                    .unwrap_or_else(|| panic!("unsupported $ref {reference}"));
                let target = &self.doc["components"]["schemas"][name];
                assert!(target.is_object(), "dangling $ref {reference}");
                self.resolve(target)
            }
        }
    }

    fn expectation(&self, method: &str, template: &str, status: u16) -> Expect<'_> {
        let operation = &self.doc["paths"][template][method];
        assert!(operation.is_object(), "the spec has no {method} {template}");
        let response = &operation["responses"][status.to_string()];
        if response.is_object() {
            let schema = &response["content"]["application/json"]["schema"];
            return if schema.is_object() {
                Expect::Body(schema)
            } else {
                Expect::Empty
            };
        }
        let error_result = &self.doc["components"]["schemas"]["ErrorResult"];
        match (status, method, template) {
            (429 | 500..=599, _, _) => Expect::Empty,
            (409, "post", "/v1/appointments/reschedule") | (404, "post", "/v1/appointments") => {
                Expect::Body(error_result)
            }
            _ => panic!(
                "{method} {template} answered {status}, which neither the spec nor the notes document"
            ),
        }
    }

    /// Every property name declared for an object schema, through `allOf` and `$ref`.
    fn declared(&self, schema: &Value, names: &mut BTreeSet<String>) {
        let schema = self.resolve(schema);
        if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
            names.extend(properties.keys().cloned());
        }
        for branch in schema
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            self.declared(branch, names);
        }
    }

    fn declares_properties(&self, schema: &Value) -> bool {
        let mut names = BTreeSet::new();
        self.declared(schema, &mut names);
        !names.is_empty()
    }

    /// Validates `value` at one position of the document.
    fn validate(&self, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
        if let Value::Object(object) = value
            && self.declares_properties(schema)
        {
            let mut names = BTreeSet::new();
            self.declared(schema, &mut names);
            for key in object.keys().filter(|key| !names.contains(*key)) {
                errors.push(format!("{at}.{key}: not declared by the spec"));
            }
        }
        self.check(schema, value, at, errors);
    }

    fn check(&self, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
        let schema = self.resolve(schema);
        let keywords = schema.as_object().expect("a schema is an object");
        for keyword in keywords.keys() {
            assert!(
                KNOWN_KEYWORDS.contains(&keyword.as_str())
                    || ANNOTATIONS.contains(&keyword.as_str())
                    || keyword.starts_with("x-"),
                "the validator does not implement `{keyword}` (met at {at}): extend it"
            );
        }
        if value.is_null() {
            if schema.get("nullable") != Some(&Value::Bool(true)) {
                errors.push(format!("{at}: null, but the schema is not nullable"));
            }
            return;
        }
        for branch in schema
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            self.check(branch, value, at, errors);
        }
        if let Some(kind) = schema.get("type").and_then(Value::as_str) {
            let matches = match kind {
                "object" => value.is_object(),
                "array" => value.is_array(),
                "string" => value.is_string(),
                "integer" => value.is_i64() || value.is_u64(),
                "number" => value.is_number(),
                "boolean" => value.is_boolean(),
                other => panic!("unknown type {other} at {at}"),
            };
            if !matches {
                errors.push(format!("{at}: expected {kind}, got {value}"));
                return;
            }
        }
        if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
            && !allowed.contains(value)
        {
            errors.push(format!("{at}: {value} is not one of {allowed:?}"));
        }
        if let (Some(format), Some(text)) =
            (schema.get("format").and_then(Value::as_str), value.as_str())
        {
            let valid = match format {
                "date-time" => text.contains('T') && text.parse::<jiff::Timestamp>().is_ok(),
                "instant" => text.parse::<jiff::Timestamp>().is_ok(),
                "date" => text.len() == 10 && text.parse::<jiff::civil::Date>().is_ok(),
                other => panic!("the validator does not implement format {other} (at {at})"),
            };
            if !valid {
                errors.push(format!("{at}: {text:?} is not a valid {format}"));
            }
        }
        if let Some(number) = value.as_f64() {
            if let Some(minimum) = schema.get("minimum").and_then(Value::as_f64)
                && number < minimum
            {
                errors.push(format!("{at}: {number} < minimum {minimum}"));
            }
            if let Some(maximum) = schema.get("maximum").and_then(Value::as_f64)
                && number > maximum
            {
                errors.push(format!("{at}: {number} > maximum {maximum}"));
            }
        }
        if let Value::Object(object) = value {
            for name in schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let name = name.as_str().expect("required names are strings");
                if !object.contains_key(name) {
                    errors.push(format!("{at}: missing required {name}"));
                }
            }
            if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
                for (name, property) in properties {
                    if let Some(item) = object.get(name) {
                        self.validate(property, item, &format!("{at}.{name}"), errors);
                    }
                }
            }
        }
        if let Value::Array(items) = value {
            let length = items.len() as u64;
            if schema
                .get("minItems")
                .and_then(Value::as_u64)
                .is_some_and(|min| length < min)
                || schema
                    .get("maxItems")
                    .and_then(Value::as_u64)
                    .is_some_and(|max| length > max)
            {
                errors.push(format!("{at}: {length} items is out of bounds"));
            }
            if let Some(item_schema) = schema.get("items") {
                for (index, item) in items.iter().enumerate() {
                    self.validate(item_schema, item, &format!("{at}[{index}]"), errors);
                }
            }
        }
    }
}

/// Checks every answer as it comes and keeps what was covered.
struct Conformance {
    spec: Spec,
    failures: Vec<String>,
    covered: BTreeSet<(String, String, u16)>,
    answers: usize,
}

impl Conformance {
    fn check(&mut self, method: &str, template: &str, reply: &Reply) -> Value {
        self.answers += 1;
        self.covered
            .insert((method.to_owned(), template.to_owned(), reply.status));
        let what = format!("{method} {template} → {}", reply.status);
        match self.spec.expectation(method, template, reply.status) {
            Expect::Empty => {
                if !reply.body.is_empty() {
                    self.failures.push(format!(
                        "{what}: the spec documents no body, got {:?}",
                        reply.body
                    ));
                }
                Value::Null
            }
            Expect::Body(schema) => {
                let Ok(body) = serde_json::from_slice::<Value>(&reply.body) else {
                    self.failures
                        .push(format!("{what}: body is not JSON: {:?}", reply.body));
                    return Value::Null;
                };
                let mut errors = Vec::new();
                self.spec.validate(schema, &body, "$", &mut errors);
                self.failures
                    .extend(errors.into_iter().map(|error| format!("{what}: {error}")));
                body
            }
        }
    }

    fn check_webhook(&mut self, body: &[u8]) {
        let body: Value = serde_json::from_slice(body).expect("webhook bodies are JSON");
        let schema = self.spec.doc["components"]["schemas"]["WebhookMockResponse"].clone();
        let mut errors = Vec::new();
        self.spec.validate(&schema, &body, "webhook", &mut errors);
        self.failures.extend(errors);
    }
}

fn booking(provider_location_id: &str, visit_reason_id: &str, start: &str) -> Value {
    json!({
        "appointment_type": "providers",
        "data": {
            "start_time": start,
            "visit_reason_id": visit_reason_id,
            "provider_location_id": provider_location_id,
            "patient_type": "existing",
            "notes": "Prefers a text reminder",
            "patient": {
                "developer_patient_id": "desk-7",
                "first_name": "Ida", "last_name": "Testwell", "date_of_birth": "1971-11-30",
                "sex_at_birth": "female", "phone_number": "3475550111",
                "email_address": "ida.testwell@example.com",
                "patient_address": {"address1": "9 Mock Blvd", "address2": "Apt 3", "city": "New York", "state": "NY", "zip_code": "10001"},
                "insurance": {"insurance_plan_id": "ip_2224", "insurance_member_id": "MBR1", "is_self_pay": false}
            }
        }
    })
}

#[tokio::test]
async fn every_answer_and_webhook_validates_against_the_spec() {
    let mut c = Conformance {
        spec: Spec::load(),
        failures: Vec::new(),
        covered: BTreeSet::new(),
        answers: 0,
    };
    // A played day gives every kind of state: no-shows, cancellations with reasons, uploaded
    // documents, video visits, pending bookings.
    let (harness, receiver, plan) = crate::scenario::play_compressed(17).await;
    for request in receiver.received() {
        c.check_webhook(&request.body);
    }
    let emulator = harness.emulator();
    let practice = emulator.practice().clone();
    let list = "/v1/appointments";
    let one = "/v1/appointments/{appointment_id}";
    let participants = "/v1/appointments/{appointment_id}/participants";

    // Lists: every status, every sort, pages to the end, filters, and the 400s.
    let mut queries: Vec<String> = vec![
        String::new(),
        "page_size=100".into(),
        "page=3&page_size=100&sort_by=last_modified_time_utc&sort_direction=ascending".into(),
        "page=10&page_size=100".into(),
        "sort_by=created_time_utc&page_size=100".into(),
        format!("provider_ids={}&page_size=100", practice.providers[2].provider_id),
        format!("location_ids={}", practice.locations[2].location_id),
        "developer_patient_id=nobody".into(),
        "start_time_utc_min=2025-03-12%2000:00:00%2B00:00&start_time_utc_max=2025-03-13%2000:00:00%2B00:00&page_size=100".into(),
        "page=11".into(),
        "page_size=101".into(),
        "statuses=late".into(),
        "last_modified_time_utc_min=2025-03-12%2000:00:00+00:00".into(),
    ];
    queries.extend(
        AppointmentStatus::ALL
            .iter()
            .map(|s| format!("statuses={s}&page_size=100")),
    );
    let mut every_id = BTreeSet::new();
    for query in &queries {
        let reply = harness.get(&format!("{list}?{query}")).await;
        let body = c.check("get", list, &reply);
        let listed = body["data"].as_array().into_iter().flatten();
        every_id.extend(listed.filter_map(|a| a["appointment_id"].as_str().map(str::to_owned)));
    }
    let reply = request(Method::GET, &harness.url(list), &[], None).await;
    c.check("get", list, &reply);

    // One appointment and its participants: every event's appointment, the fixtures, the
    // special ids.
    let mut ids: BTreeSet<String> = plan
        .events
        .iter()
        .map(|e| e.appointment_id.clone())
        .collect();
    ids.extend(every_id.into_iter().take(150));
    ids.extend(
        [
            WITH_ATTACHMENTS_ID,
            NOT_FOUND_ID,
            SERVER_ERROR_ID,
            "unknown-id",
        ]
        .map(str::to_owned),
    );
    for id in &ids {
        c.check(
            "get",
            one,
            &harness.get(&format!("/v1/appointments/{id}")).await,
        );
        c.check(
            "get",
            participants,
            &harness
                .get(&format!("/v1/appointments/{id}/participants"))
                .await,
        );
    }

    // Booking: each kind of provider and location, magic ids, errors.
    let later = (emulator.clock().now() + SignedDuration::from_hours(72)).to_string();
    let mut booked = Vec::new();
    for provider in &practice.providers {
        for location in &provider.location_ids {
            let reply = harness
                .post(
                    list,
                    &booking(
                        &format!("{}|{location}", provider.provider_id),
                        &provider.visit_reason_ids[0],
                        &later,
                    ),
                )
                .await;
            assert_eq!(reply.status, 200, "{:?}", reply.body);
            let body = c.check("post", list, &reply);
            booked.push(body["data"]["appointment_id"].as_str().unwrap().to_owned());
        }
    }
    for magic in [
        "pr_pending|lo_pending",
        "pr_noshow|lo_noshow",
        "pr_error|lo_error",
        "pr_missing|lo_missing",
        "pr_x|lo_y",
    ] {
        let reply = harness
            .post(list, &booking(magic, "pc_FRO-18leckytNKtruw5dLR", &later))
            .await;
        c.check("post", list, &reply);
    }
    c.check(
        "post",
        list,
        &harness
            .post(list, &json!({"appointment_type": "providers"}))
            .await,
    );

    // Writes: success, conflict, unknown and special ids, bad bodies.
    let pending = booked
        .iter()
        .find(|id| emulator.appointment(id).unwrap().status == AppointmentStatus::PendingBooking)
        .expect("the manual provider's booking is pending")
        .clone();
    let confirmed = booked
        .iter()
        .find(|id| emulator.appointment(id).unwrap().status == AppointmentStatus::Confirmed)
        .unwrap()
        .clone();
    for id in [
        pending.as_str(),
        pending.as_str(),
        "unknown-id",
        SERVER_ERROR_ID,
    ] {
        c.check(
            "post",
            "/v1/appointments/confirm",
            &harness
                .post("/v1/appointments/confirm", &json!({"appointment_id": id}))
                .await,
        );
    }
    c.check(
        "post",
        "/v1/appointments/confirm",
        &harness.post("/v1/appointments/confirm", &json!({})).await,
    );
    let start = (emulator.clock().now() + SignedDuration::from_hours(100)).to_string();
    for id in [confirmed.as_str(), "unknown-id", NOT_FOUND_ID] {
        let body = json!({"appointment_id": id, "start_time": start});
        c.check(
            "post",
            "/v1/appointments/reschedule",
            &harness.post("/v1/appointments/reschedule", &body).await,
        );
    }
    c.check(
        "post",
        "/v1/appointments/reschedule",
        &harness
            .post(
                "/v1/appointments/reschedule",
                &json!({"appointment_id": confirmed}),
            )
            .await,
    );
    for id in [confirmed.as_str(), confirmed.as_str(), "unknown-id"] {
        let body =
            json!({"appointment_id": id, "cancellation_reason_type": "provider_not_available"});
        c.check(
            "post",
            "/v1/appointments/cancel",
            &harness.post("/v1/appointments/cancel", &body).await,
        );
    }
    c.check(
        "post",
        "/v1/appointments/reschedule",
        &harness
            .post(
                "/v1/appointments/reschedule",
                &json!({"appointment_id": confirmed, "start_time": start}),
            )
            .await,
    );
    c.check(
        "post",
        "/v1/appointments/cancel",
        &harness
            .post(
                "/v1/appointments/cancel",
                &json!({"cancellation_reason": 3}),
            )
            .await,
    );
    let past =
        harness.add_appointment(AppointmentStatus::Confirmed, SignedDuration::from_hours(-2));
    let arriving =
        harness.add_appointment(AppointmentStatus::Confirmed, SignedDuration::from_mins(-5));
    for (id, status) in [
        (past.appointment_id.as_str(), "no_show"),
        (past.appointment_id.as_str(), "no_show"),
        (arriving.appointment_id.as_str(), "arrived"),
        ("unknown-id", "arrived"),
        (arriving.appointment_id.as_str(), "late"),
    ] {
        let body = json!({"appointment_id": id, "appointment_status": status});
        c.check(
            "put",
            "/v1/appointments/update-status",
            &harness.put("/v1/appointments/update-status", &body).await,
        );
    }

    // Mock webhooks.
    let mock_receiver = Receiver::start(vec![Behaviour::Answer(200)]).await;
    for update_type in ["created", "updated", "cancelled"] {
        let body = json!({"webhook_url": mock_receiver.url, "webhook_key": WEBHOOK_KEY, "appointment_update_type": update_type});
        c.check(
            "post",
            "/v1/webhook/mock-request",
            &harness.post("/v1/webhook/mock-request", &body).await,
        );
    }
    c.check(
        "post",
        "/v1/webhook/mock-request",
        &harness
            .post(
                "/v1/webhook/mock-request",
                &json!({"webhook_url": "ftp://x"}),
            )
            .await,
    );
    for request in mock_receiver.wait_for(3, Duration::from_secs(10)).await {
        c.check_webhook(&request.body);
    }

    // The directory: every provider location (in person and virtual) and visit reason of the
    // practice, unknown ids (404) and malformed ones (400).
    let provider_location = "/v1/provider_locations/{provider_location_id}";
    let visit_reason = "/v1/visit_reasons/{visit_reason_id}";
    let mut provider_locations: Vec<String> = practice
        .providers
        .iter()
        .flat_map(|provider| {
            provider
                .location_ids
                .iter()
                .map(move |location| format!("{}|{location}", provider.provider_id))
        })
        .collect();
    provider_locations.extend(
        [
            "pr_confirmed|lo_confirmed",
            "pr_nobody|lo_nowhere",
            "pr_only",
        ]
        .map(str::to_owned),
    );
    for id in &provider_locations {
        let path = format!("/v1/provider_locations/{}", id.replace('|', "%7C"));
        c.check("get", provider_location, &harness.get(&path).await);
    }
    let mut visit_reasons: Vec<String> = practice
        .visit_reasons
        .iter()
        .map(|reason| reason.visit_reason_id.clone())
        .collect();
    visit_reasons.extend(["pc_unknown", "sp_153"].map(str::to_owned));
    for id in &visit_reasons {
        c.check(
            "get",
            visit_reason,
            &harness.get(&format!("/v1/visit_reasons/{id}")).await,
        );
    }
    let first_provider_location = format!(
        "/v1/provider_locations/{}",
        provider_locations[0].replace('|', "%7C")
    );
    let first_visit_reason = format!("/v1/visit_reasons/{}", visit_reasons[0]);

    // 401 on every route without a token; injected 429 and 5xx; 403 for a missing scope.
    let routes = [
        ("get", list, Method::GET, "/v1/appointments".to_owned()),
        ("post", list, Method::POST, "/v1/appointments".to_owned()),
        (
            "get",
            one,
            Method::GET,
            format!("/v1/appointments/{WITH_ATTACHMENTS_ID}"),
        ),
        (
            "get",
            participants,
            Method::GET,
            format!("/v1/appointments/{WITH_ATTACHMENTS_ID}/participants"),
        ),
        (
            "post",
            "/v1/appointments/cancel",
            Method::POST,
            "/v1/appointments/cancel".to_owned(),
        ),
        (
            "post",
            "/v1/appointments/confirm",
            Method::POST,
            "/v1/appointments/confirm".to_owned(),
        ),
        (
            "post",
            "/v1/appointments/reschedule",
            Method::POST,
            "/v1/appointments/reschedule".to_owned(),
        ),
        (
            "put",
            "/v1/appointments/update-status",
            Method::PUT,
            "/v1/appointments/update-status".to_owned(),
        ),
        (
            "post",
            "/v1/webhook/mock-request",
            Method::POST,
            "/v1/webhook/mock-request".to_owned(),
        ),
        (
            "get",
            provider_location,
            Method::GET,
            first_provider_location,
        ),
        ("get", visit_reason, Method::GET, first_visit_reason),
    ];
    for (method, template, http_method, path) in &routes {
        let reply = request(
            http_method.clone(),
            &harness.url(path),
            &[],
            Some(b"{}".to_vec()),
        )
        .await;
        assert_eq!(reply.status, 401);
        c.check(method, template, &reply);
    }
    for route in Route::ALL {
        emulator.set_fault(
            route,
            FaultConfig {
                rate_429: 0.5,
                rate_5xx: 0.5,
                status_5xx: 503,
                ..FaultConfig::default()
            },
        );
    }
    for (method, template, http_method, path) in &routes {
        let bearer = format!("Bearer {}", harness.token);
        let reply = request(
            http_method.clone(),
            &harness.url(path),
            &[("authorization", &bearer)],
            Some(b"{}".to_vec()),
        )
        .await;
        c.check(method, template, &reply);
    }
    emulator.clear_faults();
    let mut read_only = config(Environment::Sandbox);
    read_only.scopes = vec![SCOPE_READ.to_owned()];
    let read_only = Harness::start(read_only).await;
    for (method, template, http_method, path) in routes
        .iter()
        .filter(|route| route.0 != "get" && route.1 != "/v1/webhook/mock-request")
    {
        let bearer = format!("Bearer {}", read_only.token);
        let reply = request(
            http_method.clone(),
            &read_only.url(path),
            &[("authorization", &bearer)],
            Some(b"{}".to_vec()),
        )
        .await;
        assert_eq!(reply.status, 403);
        c.check(method, template, &reply);
    }

    // A provider-side change after all of that still sends a valid webhook.
    emulator
        .change_by_provider(
            &pending,
            Change::Cancel {
                reason_type: None,
                reason: None,
            },
        )
        .unwrap();
    for request in receiver
        .wait_for(plan.events.len() + 1, Duration::from_secs(10))
        .await
        .iter()
        .skip(plan.events.len())
    {
        c.check_webhook(&request.body);
    }

    assert!(
        c.failures.is_empty(),
        "{} problems in {} answers checked:\n{}",
        c.failures.len(),
        c.answers,
        c.failures.join("\n")
    );

    // Every documented status with a body was exercised on every route. The spec names no scope
    // for the directory reads, so the emulator never answers them 403.
    let mut missing = Vec::new();
    for (template, methods) in c.spec.doc["paths"].as_object().unwrap() {
        let directory = template == provider_location || template == visit_reason;
        if !(template.starts_with("/v1/appointments")
            || template == "/v1/webhook/mock-request"
            || directory)
            || template.ends_with("/attachments")
        {
            continue;
        }
        for (method, operation) in methods.as_object().unwrap() {
            for (status, response) in operation["responses"].as_object().unwrap() {
                let status: u16 = status.parse().unwrap();
                if response["content"].is_object()
                    && !(directory && status == 403)
                    && !c
                        .covered
                        .contains(&(method.clone(), template.clone(), status))
                {
                    missing.push(format!("{method} {template} {status}"));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "documented answers never exercised: {missing:?}"
    );
    assert!(c.answers > 400, "{} answers checked", c.answers);
}

#[test]
fn the_validator_catches_what_it_should() {
    let spec = Spec::load();
    let schema = json!({"$ref": "#/components/schemas/AppointmentStatusResponse"});
    let good = json!({
        "request_id": "r", "data": {
            "appointment_id": "a", "appointment_status": "confirmed", "is_provider_resource": false,
            "confirmation_type": "auto", "start_time": "2025-03-12T09:00:00-04:00",
            "provider_location_id": "pr_a|lo_b", "visit_reason_id": "pc_c"
        }
    });
    let mut errors = Vec::new();
    spec.validate(&schema, &good, "$", &mut errors);
    assert!(errors.is_empty(), "{errors:?}");
    for (path, bad, expected) in [
        ("appointment_status", json!("arrived"), "not one of"),
        (
            "start_time",
            json!("2025-03-12 09:00"),
            "not a valid date-time",
        ),
        ("is_provider_resource", json!("no"), "expected boolean"),
        ("invented_field", json!(1), "not declared"),
        ("practice_id", Value::Null, "not nullable"),
    ] {
        let mut body = good.clone();
        body["data"][path] = bad;
        let mut errors = Vec::new();
        spec.validate(&schema, &body, "$", &mut errors);
        assert!(
            errors.iter().any(|e| e.contains(expected)),
            "{path}: {errors:?}"
        );
    }
    let mut body = good.clone();
    body["data"]
        .as_object_mut()
        .unwrap()
        .remove("visit_reason_id");
    let mut errors = Vec::new();
    spec.validate(&schema, &body, "$", &mut errors);
    assert!(
        errors
            .iter()
            .any(|e| e.contains("missing required visit_reason_id")),
        "{errors:?}"
    );
}
