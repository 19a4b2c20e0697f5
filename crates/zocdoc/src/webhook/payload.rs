//! Parsing Zocdoc webhook bodies into [`WebhookEvent`]s, and the content-based [`DedupeKey`] that
//! recognises Zocdoc's retries and duplicates (webhooks carry no event id).
//!
//! Parsing is lenient where Zocdoc may change the schema: unknown fields are ignored, unknown
//! update types are kept as text, and `null` or an empty string counts as an absent field. What
//! identifies the event is required: `event_type`, `data.appointment_data.appointment_id` and
//! `data.appointment_data.appointment_update_type`. A field that is present must have the
//! documented JSON type.

use std::fmt;

use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};

/// Path of the appointment data object inside the body.
const APPOINTMENT_DATA: &str = "data.appointment_data";
/// Path of the changed attributes array inside the body.
const CHANGED_ATTRIBUTES: &str = "data.appointment_data.changed_attributes";
/// Path of an element of the changed attributes array.
const CHANGED_ATTRIBUTE: &str = "data.appointment_data.changed_attributes[]";

/// Longest content-based dedupe key; a body whose key would be longer is keyed by its hash.
const MAX_CONTENT_KEY_LEN: usize = 512;

/// One webhook notification, as Zocdoc sent it. The payload holds no patient data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEvent {
    /// `event_type`; today always `appointment_updated`.
    pub event_type: String,
    /// `data.data_type`; today always `appointment_data` when present.
    pub data_type: Option<String>,
    /// `data.appointment_data.appointment_id`, never empty.
    pub appointment_id: String,
    /// `data.appointment_data.appointment_update_type`.
    pub update_type: UpdateType,
    /// `data.appointment_data.appointment_updated_timestamp` exactly as sent (RFC 3339, e.g.
    /// `2023-06-14T17:06:54.9430804Z`); see [`WebhookEvent::appointment_updated_at`].
    pub appointment_updated_timestamp: Option<String>,
    /// `data.appointment_data.changed_attributes`; empty when absent.
    pub changed_attributes: Vec<ChangedAttribute>,
    /// `webhook_timestamp` exactly as sent; see [`WebhookEvent::webhook_sent_at`].
    pub webhook_timestamp: Option<String>,
}

impl WebhookEvent {
    /// `appointment_updated_timestamp` as an instant, when it is a valid RFC 3339 timestamp with
    /// an offset.
    pub fn appointment_updated_at(&self) -> Option<jiff::Timestamp> {
        parse_timestamp(self.appointment_updated_timestamp.as_deref())
    }

    /// `webhook_timestamp` as an instant, when it is a valid RFC 3339 timestamp with an offset.
    pub fn webhook_sent_at(&self) -> Option<jiff::Timestamp> {
        parse_timestamp(self.webhook_timestamp.as_deref())
    }

    /// The content-based dedupe key
    /// `update:<appointment_updated_timestamp as sent>:<appointment_id>:<update type>`.
    ///
    /// `%` and `:` in each part are written `%25` and `%3A`, so that distinct events never share
    /// a key. The key leads with the update's time so that, as events arrive in time order, the
    /// store's unique index on it grows at its right edge rather than at a random page. `None` when the event has no
    /// `appointment_updated_timestamp` (keying such events by id and type alone could merge
    /// distinct updates) or when the key would exceed 512 bytes; [`dedupe_key`] then falls back
    /// to the body's hash.
    pub fn dedupe_key(&self) -> Option<DedupeKey> {
        let updated = self.appointment_updated_timestamp.as_deref()?;
        let key = format!(
            "update:{}:{}:{}",
            escape_component(updated),
            escape_component(&self.appointment_id),
            escape_component(self.update_type.as_str()),
        );
        (key.len() <= MAX_CONTENT_KEY_LEN).then_some(DedupeKey(key))
    }
}

/// `appointment_update_type`. Unknown values are kept as sent.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum UpdateType {
    /// `created`.
    Created,
    /// `updated`.
    Updated,
    /// `cancelled`.
    Cancelled,
    /// Any other value, exactly as sent (matching is case-sensitive).
    Other(String),
}

impl UpdateType {
    /// Reads the wire value; anything but `created`, `updated` or `cancelled` becomes
    /// [`UpdateType::Other`].
    pub fn from_wire(text: &str) -> UpdateType {
        match text {
            "created" => UpdateType::Created,
            "updated" => UpdateType::Updated,
            "cancelled" => UpdateType::Cancelled,
            other => UpdateType::Other(other.to_owned()),
        }
    }

    /// The wire value, as sent.
    pub fn as_str(&self) -> &str {
        match self {
            UpdateType::Created => "created",
            UpdateType::Updated => "updated",
            UpdateType::Cancelled => "cancelled",
            UpdateType::Other(text) => text,
        }
    }
}

impl fmt::Display for UpdateType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry of `changed_attributes`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChangedAttribute {
    /// What changed, e.g. `appointment.start_time`.
    pub attribute_path: String,
    /// For `patient.uploaded_attachments`, which kind of attachment, e.g. `id_card`.
    pub attachment_type: Option<String>,
}

/// Why a webhook body could not be parsed. Messages name fields, never their values.
#[derive(Debug, Clone, PartialEq, Eq, Hash, thiserror::Error)]
pub enum PayloadError {
    /// The body is not valid JSON (or not UTF-8).
    #[error("the webhook body is not valid JSON (line {line}, column {column})")]
    NotJson {
        /// Line of the first error, from 1 (0 when the body ended early).
        line: usize,
        /// Column of the first error, from 1 (0 when the body ended early).
        column: usize,
    },
    /// The body is JSON but not an object.
    #[error("the webhook body is not a JSON object")]
    NotAnObject,
    /// A required field is absent, `null` or an empty string.
    #[error("the webhook body lacks the required field `{0}`")]
    MissingField(&'static str),
    /// A field is present with the wrong JSON type.
    #[error("the webhook body field `{0}` has the wrong type")]
    WrongType(&'static str),
}

impl PayloadError {
    /// Stable snake_case code stored in the database. Never change an existing code.
    pub fn reason_code(&self) -> &'static str {
        match self {
            PayloadError::NotJson { .. } => "payload_not_json",
            PayloadError::NotAnObject => "payload_not_an_object",
            PayloadError::MissingField(_) => "payload_missing_field",
            PayloadError::WrongType(_) => "payload_wrong_type",
        }
    }
}

/// Parses a webhook body (the raw bytes as received).
pub fn parse_event(body: &[u8]) -> Result<WebhookEvent, PayloadError> {
    let value: Value = serde_json::from_slice(body).map_err(|error| PayloadError::NotJson {
        line: error.line(),
        column: error.column(),
    })?;
    let Value::Object(root) = value else {
        return Err(PayloadError::NotAnObject);
    };
    let event_type = required_str(&root, "event_type", "event_type")?;
    let webhook_timestamp = optional_str(&root, "webhook_timestamp", "webhook_timestamp")?;
    let data = required_object(&root, "data", "data")?;
    let data_type = optional_str(data, "data_type", "data.data_type")?;
    let appointment = required_object(data, "appointment_data", APPOINTMENT_DATA)?;
    let appointment_id = required_str(
        appointment,
        "appointment_id",
        "data.appointment_data.appointment_id",
    )?;
    let update_type = required_str(
        appointment,
        "appointment_update_type",
        "data.appointment_data.appointment_update_type",
    )?;
    let appointment_updated_timestamp = optional_str(
        appointment,
        "appointment_updated_timestamp",
        "data.appointment_data.appointment_updated_timestamp",
    )?;
    let changed_attributes = match appointment.get("changed_attributes") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(changed_attribute)
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(PayloadError::WrongType(CHANGED_ATTRIBUTES)),
    };
    Ok(WebhookEvent {
        event_type: event_type.to_owned(),
        data_type: data_type.map(str::to_owned),
        appointment_id: appointment_id.to_owned(),
        update_type: UpdateType::from_wire(update_type),
        appointment_updated_timestamp: appointment_updated_timestamp.map(str::to_owned),
        changed_attributes,
        webhook_timestamp: webhook_timestamp.map(str::to_owned),
    })
}

/// A deduplication key for a webhook body: equal for retries of the same event.
///
/// Either `update:<appointment_updated_timestamp as sent>:<appointment_id>:<update type>`
/// (see [`WebhookEvent::dedupe_key`]) or, for a body that does not parse or lacks the updated
/// timestamp, `sha256:<lowercase hex of sha256(body)>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DedupeKey(String);

impl DedupeKey {
    /// The key text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key text, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for DedupeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for DedupeKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<DedupeKey> for String {
    fn from(key: DedupeKey) -> String {
        key.0
    }
}

/// The dedupe key of a raw webhook body: the content key of the parsed event when it has one,
/// otherwise `sha256:<hex>` of the bytes.
pub fn dedupe_key(body: &[u8]) -> DedupeKey {
    parse_event(body)
        .ok()
        .and_then(|event| event.dedupe_key())
        .unwrap_or_else(|| DedupeKey(format!("sha256:{}", body_sha256_hex(body))))
}

/// Lowercase hex of the SHA-256 of the body.
pub fn body_sha256_hex(body: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let digest = Sha256::digest(body);
    let mut hex = String::with_capacity(digest.len() * 2);
    for byte in digest {
        hex.push(char::from(DIGITS[usize::from(byte >> 4)]));
        hex.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    hex
}

fn changed_attribute(item: &Value) -> Result<ChangedAttribute, PayloadError> {
    let Value::Object(item) = item else {
        return Err(PayloadError::WrongType(CHANGED_ATTRIBUTE));
    };
    let attribute_path = required_str(
        item,
        "attribute_path",
        "data.appointment_data.changed_attributes[].attribute_path",
    )?;
    let attachment_type = optional_str(
        item,
        "attachment_type",
        "data.appointment_data.changed_attributes[].attachment_type",
    )?;
    Ok(ChangedAttribute {
        attribute_path: attribute_path.to_owned(),
        attachment_type: attachment_type.map(str::to_owned),
    })
}

/// A string field that may be absent; `null` and `""` count as absent.
fn optional_str<'a>(
    object: &'a Map<String, Value>,
    name: &str,
    path: &'static str,
) -> Result<Option<&'a str>, PayloadError> {
    match object.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) if text.is_empty() => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(PayloadError::WrongType(path)),
    }
}

/// A string field that must be present and non-empty.
fn required_str<'a>(
    object: &'a Map<String, Value>,
    name: &str,
    path: &'static str,
) -> Result<&'a str, PayloadError> {
    optional_str(object, name, path)?.ok_or(PayloadError::MissingField(path))
}

/// An object field that must be present.
fn required_object<'a>(
    object: &'a Map<String, Value>,
    name: &str,
    path: &'static str,
) -> Result<&'a Map<String, Value>, PayloadError> {
    match object.get(name) {
        None | Some(Value::Null) => Err(PayloadError::MissingField(path)),
        Some(Value::Object(inner)) => Ok(inner),
        Some(_) => Err(PayloadError::WrongType(path)),
    }
}

fn parse_timestamp(text: Option<&str>) -> Option<jiff::Timestamp> {
    text?.parse().ok()
}

/// Escapes `%` and `:` so that a key component never contains the separator.
fn escape_component(text: &str) -> String {
    text.replace('%', "%25").replace(':', "%3A")
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The example body from Zocdoc's webhook guide.
    const GUIDE_BODY: &str = r#"{
  "data": {
    "appointment_data": {
      "appointment_id": "62g4ar44-1yv9-0931-dl3t-e9c2174kks09",
      "appointment_updated_timestamp": "2023-06-14T17:06:54.9430804Z",
      "appointment_update_type": "updated",
      "changed_attributes": [
        {
          "attribute_path": "appointment.start_time"
        },
        {
          "attribute_path": "patient.uploaded_attachments",
          "attachment_type": "id_card"
        }
      ]
    },
    "data_type": "appointment_data"
  },
  "event_type": "appointment_updated",
  "webhook_timestamp": "2023-06-14T17:08:54.9430839Z"
}"#;

    const GUIDE_DEDUPE_KEY: &str = "update:2023-06-14T17%3A06%3A54.9430804Z:\
                                    62g4ar44-1yv9-0931-dl3t-e9c2174kks09:updated";

    /// A minimal body with the given appointment id, update type and updated timestamp.
    fn body(id: &str, update_type: &str, updated: &str) -> Vec<u8> {
        serde_json::json!({
            "event_type": "appointment_updated",
            "data": {
                "data_type": "appointment_data",
                "appointment_data": {
                    "appointment_id": id,
                    "appointment_update_type": update_type,
                    "appointment_updated_timestamp": updated,
                },
            },
        })
        .to_string()
        .into_bytes()
    }

    /// The guide's body with one field of `appointment_data` replaced (or removed for `None`).
    fn guide_with(field: &str, value: Option<Value>) -> Vec<u8> {
        let mut root: Value = serde_json::from_str(GUIDE_BODY).expect("guide body is JSON");
        let appointment = root["data"]["appointment_data"]
            .as_object_mut()
            .expect("object");
        match value {
            Some(value) => appointment.insert(field.to_owned(), value),
            None => appointment.remove(field),
        };
        root.to_string().into_bytes()
    }

    fn sha256_key(body: &[u8]) -> String {
        format!("sha256:{}", body_sha256_hex(body))
    }

    #[test]
    fn guide_example_parses() {
        let event = parse_event(GUIDE_BODY.as_bytes()).expect("guide body parses");
        assert_eq!(
            event,
            WebhookEvent {
                event_type: "appointment_updated".to_owned(),
                data_type: Some("appointment_data".to_owned()),
                appointment_id: "62g4ar44-1yv9-0931-dl3t-e9c2174kks09".to_owned(),
                update_type: UpdateType::Updated,
                appointment_updated_timestamp: Some("2023-06-14T17:06:54.9430804Z".to_owned()),
                changed_attributes: vec![
                    ChangedAttribute {
                        attribute_path: "appointment.start_time".to_owned(),
                        attachment_type: None,
                    },
                    ChangedAttribute {
                        attribute_path: "patient.uploaded_attachments".to_owned(),
                        attachment_type: Some("id_card".to_owned()),
                    },
                ],
                webhook_timestamp: Some("2023-06-14T17:08:54.9430839Z".to_owned()),
            }
        );
        let updated: jiff::Timestamp = "2023-06-14T17:06:54.9430804Z".parse().expect("time");
        assert_eq!(event.appointment_updated_at(), Some(updated));
        assert_eq!(updated.as_second(), 1_686_762_414);
        assert_eq!(updated.subsec_nanosecond(), 943_080_400);
        let sent: jiff::Timestamp = "2023-06-14T17:08:54.9430839Z".parse().expect("time");
        assert_eq!(event.webhook_sent_at(), Some(sent));
        assert_eq!(
            event.dedupe_key().map(DedupeKey::into_string).as_deref(),
            Some(GUIDE_DEDUPE_KEY)
        );
        assert_eq!(dedupe_key(GUIDE_BODY.as_bytes()).as_str(), GUIDE_DEDUPE_KEY);
    }

    #[test]
    fn minimal_event_parses() {
        let event = parse_event(
            br#"{"event_type":"appointment_updated","data":{"appointment_data":
                {"appointment_id":"a1","appointment_update_type":"created"}}}"#,
        )
        .expect("minimal body parses");
        assert_eq!(event.appointment_id, "a1");
        assert_eq!(event.update_type, UpdateType::Created);
        assert_eq!(event.data_type, None);
        assert_eq!(event.appointment_updated_timestamp, None);
        assert_eq!(event.appointment_updated_at(), None);
        assert_eq!(event.webhook_timestamp, None);
        assert!(event.changed_attributes.is_empty());
    }

    #[test]
    fn unknown_fields_are_ignored() {
        let body = br#"{
            "event_type": "appointment_updated",
            "schema_version": 7,
            "data": {
                "data_type": "appointment_data",
                "extra": [1, 2, {"deep": null}],
                "appointment_data": {
                    "appointment_id": "a1",
                    "appointment_update_type": "cancelled",
                    "appointment_updated_timestamp": "2024-01-02T03:04:05Z",
                    "cancellation_reason": {"code": "patient_request"},
                    "changed_attributes": [
                        {"attribute_path": "appointment.status", "old": "x", "new": "y"}
                    ]
                }
            },
            "webhook_timestamp": "2024-01-02T03:04:06Z",
            "trace": "abc"
        }"#;
        let event = parse_event(body).expect("parses");
        assert_eq!(event.update_type, UpdateType::Cancelled);
        assert_eq!(
            event.changed_attributes,
            vec![ChangedAttribute {
                attribute_path: "appointment.status".to_owned(),
                attachment_type: None,
            }]
        );
    }

    #[test]
    fn update_types_round_trip() {
        for (text, expected) in [
            ("created", UpdateType::Created),
            ("updated", UpdateType::Updated),
            ("cancelled", UpdateType::Cancelled),
            ("rescheduled", UpdateType::Other("rescheduled".to_owned())),
            ("Cancelled", UpdateType::Other("Cancelled".to_owned())),
            ("canceled", UpdateType::Other("canceled".to_owned())),
        ] {
            let parsed = UpdateType::from_wire(text);
            assert_eq!(parsed, expected);
            assert_eq!(parsed.as_str(), text);
            assert_eq!(parsed.to_string(), text);
        }
    }

    #[test]
    fn unknown_update_type_is_kept() {
        let event = parse_event(&guide_with(
            "appointment_update_type",
            Some(Value::from("no_showed")),
        ))
        .expect("parses");
        assert_eq!(event.update_type, UpdateType::Other("no_showed".to_owned()));
        assert_eq!(event.update_type.as_str(), "no_showed");
    }

    #[test]
    fn missing_or_empty_appointment_id_is_an_error() {
        let expected = Err(PayloadError::MissingField(
            "data.appointment_data.appointment_id",
        ));
        for value in [None, Some(Value::Null), Some(Value::from(""))] {
            assert_eq!(
                parse_event(&guide_with("appointment_id", value.clone())),
                expected,
                "{value:?}"
            );
        }
    }

    #[test]
    fn missing_required_fields() {
        let cases: [(&[u8], &str); 5] = [
            (
                br#"{"data":{"appointment_data":{"appointment_id":"a","appointment_update_type":"created"}}}"#,
                "event_type",
            ),
            (br#"{"event_type":"appointment_updated"}"#, "data"),
            (
                br#"{"event_type":"appointment_updated","data":null}"#,
                "data",
            ),
            (
                br#"{"event_type":"appointment_updated","data":{"data_type":"appointment_data"}}"#,
                "data.appointment_data",
            ),
            (
                br#"{"event_type":"appointment_updated","data":{"appointment_data":{"appointment_id":"a"}}}"#,
                "data.appointment_data.appointment_update_type",
            ),
        ];
        for (body, field) in cases {
            assert_eq!(
                parse_event(body),
                Err(PayloadError::MissingField(field)),
                "{field}"
            );
        }
        assert_eq!(
            parse_event(&guide_with(
                "changed_attributes",
                Some(serde_json::json!([{}]))
            )),
            Err(PayloadError::MissingField(
                "data.appointment_data.changed_attributes[].attribute_path"
            ))
        );
    }

    #[test]
    fn wrongly_typed_fields() {
        let cases = [
            (
                "appointment_id",
                Value::from(123),
                "data.appointment_data.appointment_id",
            ),
            (
                "appointment_update_type",
                Value::from(true),
                "data.appointment_data.appointment_update_type",
            ),
            (
                "appointment_updated_timestamp",
                Value::from(1_686_762_414),
                "data.appointment_data.appointment_updated_timestamp",
            ),
            (
                "changed_attributes",
                Value::from("appointment.start_time"),
                CHANGED_ATTRIBUTES,
            ),
            (
                "changed_attributes",
                serde_json::json!(["appointment.start_time"]),
                CHANGED_ATTRIBUTE,
            ),
            (
                "changed_attributes",
                serde_json::json!([{"attribute_path": ["a"]}]),
                "data.appointment_data.changed_attributes[].attribute_path",
            ),
            (
                "changed_attributes",
                serde_json::json!([{"attribute_path": "a", "attachment_type": 1}]),
                "data.appointment_data.changed_attributes[].attachment_type",
            ),
        ];
        for (field, value, path) in cases {
            assert_eq!(
                parse_event(&guide_with(field, Some(value))),
                Err(PayloadError::WrongType(path)),
                "{field}"
            );
        }
        let cases: [(&[u8], &str); 4] = [
            (br#"{"event_type":7,"data":{}}"#, "event_type"),
            (br#"{"event_type":"e","data":[]}"#, "data"),
            (
                br#"{"event_type":"e","data":{"appointment_data":"a1"}}"#,
                "data.appointment_data",
            ),
            (
                br#"{"event_type":"e","webhook_timestamp":{},"data":{}}"#,
                "webhook_timestamp",
            ),
        ];
        for (body, path) in cases {
            assert_eq!(
                parse_event(body),
                Err(PayloadError::WrongType(path)),
                "{path}"
            );
        }
    }

    #[test]
    fn null_changed_attributes_are_empty() {
        let event =
            parse_event(&guide_with("changed_attributes", Some(Value::Null))).expect("parses");
        assert!(event.changed_attributes.is_empty());
        let event = parse_event(&guide_with("changed_attributes", None)).expect("parses");
        assert!(event.changed_attributes.is_empty());
    }

    #[test]
    fn non_json_bodies_are_errors() {
        for body in [
            &b""[..],
            b"   ",
            b"not json",
            b"{\"event_type\": ",
            b"{} trailing",
            b"\xff\xfe{}",
            b"{\"event_type\": \"\xff\"}",
        ] {
            assert!(
                matches!(parse_event(body), Err(PayloadError::NotJson { .. })),
                "{body:?}"
            );
        }
        assert_eq!(
            parse_event(b"{\n  \"a\": nope}"),
            Err(PayloadError::NotJson { line: 2, column: 9 })
        );
    }

    #[test]
    fn non_object_json_is_an_error() {
        for body in [&b"[]"[..], b"null", b"42", b"\"appointment\"", b"true"] {
            assert_eq!(
                parse_event(body),
                Err(PayloadError::NotAnObject),
                "{body:?}"
            );
        }
    }

    #[test]
    fn unparseable_timestamps_are_kept_raw() {
        let event = parse_event(&guide_with(
            "appointment_updated_timestamp",
            Some(Value::from("2023-06-14 17:06:54")),
        ))
        .expect("parses");
        assert_eq!(
            event.appointment_updated_timestamp.as_deref(),
            Some("2023-06-14 17:06:54")
        );
        assert_eq!(event.appointment_updated_at(), None);
        assert_eq!(
            event.dedupe_key().map(DedupeKey::into_string).as_deref(),
            Some("update:2023-06-14 17%3A06%3A54:62g4ar44-1yv9-0931-dl3t-e9c2174kks09:updated")
        );
    }

    #[test]
    fn equal_content_gives_equal_keys() {
        let reformatted = br#"{"webhook_timestamp":"2023-06-14T17:10:00Z","event_type":"appointment_updated",
            "data":{"data_type":"appointment_data","appointment_data":{
            "appointment_update_type":"updated","appointment_id":"62g4ar44-1yv9-0931-dl3t-e9c2174kks09",
            "appointment_updated_timestamp":"2023-06-14T17:06:54.9430804Z"}}}"#;
        assert_eq!(dedupe_key(reformatted), dedupe_key(GUIDE_BODY.as_bytes()));
        assert_eq!(
            dedupe_key(&body("a", "created", "2024-01-01T00:00:00Z")),
            dedupe_key(&body("a", "created", "2024-01-01T00:00:00Z"))
        );
    }

    #[test]
    fn different_content_gives_different_keys() {
        let base = dedupe_key(&body("a", "updated", "2024-01-01T00:00:00Z"));
        for other in [
            body("a", "cancelled", "2024-01-01T00:00:00Z"),
            body("a", "updated", "2024-01-01T00:00:01Z"),
            body("a", "updated", "2024-01-01T00:00:00.0Z"),
            body("b", "updated", "2024-01-01T00:00:00Z"),
        ] {
            assert_ne!(dedupe_key(&other), base);
        }
    }

    #[test]
    fn separators_in_components_cannot_collide() {
        let one = dedupe_key(&body("x:updated", "created", "t"));
        let two = dedupe_key(&body("x", "updated", "created:t"));
        assert_ne!(one, two);
        assert_eq!(one.as_str(), "update:t:x%3Aupdated:created");
        assert_eq!(two.as_str(), "update:created%3At:x:updated");
        let percent = dedupe_key(&body("x%3Aupdated", "created", "t"));
        assert_eq!(percent.as_str(), "update:t:x%253Aupdated:created");
        assert_ne!(percent, one);
    }

    #[test]
    fn unparseable_body_is_keyed_by_hash() {
        for body in [
            &b"not json"[..],
            b"",
            b"[]",
            br#"{"event_type":"appointment_updated"}"#,
        ] {
            assert_eq!(dedupe_key(body).as_str(), sha256_key(body));
        }
    }

    #[test]
    fn event_without_updated_timestamp_is_keyed_by_hash() {
        let body = guide_with("appointment_updated_timestamp", None);
        assert_eq!(parse_event(&body).expect("parses").dedupe_key(), None);
        assert_eq!(dedupe_key(&body).as_str(), sha256_key(&body));
    }

    #[test]
    fn overlong_content_key_is_keyed_by_hash() {
        let long_id = "a".repeat(600);
        let body = body(&long_id, "updated", "2024-01-01T00:00:00Z");
        assert_eq!(dedupe_key(&body).as_str(), sha256_key(&body));
    }

    #[test]
    fn sha256_hex_known_answers() {
        assert_eq!(
            body_sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            body_sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            dedupe_key(b"abc").as_str(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn dedupe_key_text_accessors_agree() {
        let key = dedupe_key(GUIDE_BODY.as_bytes());
        assert_eq!(key.to_string(), key.as_str());
        assert_eq!(AsRef::<str>::as_ref(&key), key.as_str());
        assert_eq!(String::from(key.clone()), key.into_string());
    }

    #[test]
    fn payload_errors_have_distinct_codes_and_hide_values() {
        let errors = [
            PayloadError::NotJson { line: 1, column: 2 },
            PayloadError::NotAnObject,
            PayloadError::MissingField("event_type"),
            PayloadError::WrongType("event_type"),
        ];
        let codes: std::collections::HashSet<_> =
            errors.iter().map(PayloadError::reason_code).collect();
        assert_eq!(codes.len(), errors.len());

        let secret = "Jane-Doe-1970-01-01";
        let bodies = [
            format!(r#"{{"event_type": {{"name": "{secret}"}}}}"#),
            format!(r#"{{"event_type": "{secret}", "data": "{secret}"}}"#),
            format!("{secret} not json"),
            format!(r#"{{"event_type": "{secret}""#),
        ];
        for body in bodies {
            let error = parse_event(body.as_bytes()).expect_err("fails");
            assert!(!error.to_string().contains(secret), "{error}");
            assert!(!format!("{error:?}").contains(secret), "{error:?}");
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..300)) {
            let key = dedupe_key(&body);
            match parse_event(&body) {
                Ok(event) => {
                    if let Some(content_key) = event.dedupe_key() {
                        prop_assert_eq!(key, content_key);
                    }
                }
                Err(_) => prop_assert_eq!(key.as_str(), sha256_key(&body)),
            }
        }

        #[test]
        fn content_keys_follow_content(
            id in "[a-z0-9:%-]{1,20}",
            update_type in "(created|updated|cancelled|[a-z:%]{1,10})",
            updated in "[0-9TZ:.%-]{1,30}",
            other_id in "[a-z0-9:%-]{1,20}",
        ) {
            let key = dedupe_key(&body(&id, &update_type, &updated));
            prop_assert!(key.as_str().starts_with("update:"));
            prop_assert_eq!(&key, &dedupe_key(&body(&id, &update_type, &updated)));
            let other = dedupe_key(&body(&other_id, &update_type, &updated));
            prop_assert_eq!(id == other_id, key == other);
        }
    }
}
