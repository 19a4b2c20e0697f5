//! Fuzz target: verifying a webhook request and parsing its body never panic, whatever the
//! headers and bytes, and a request signed with the fixed key always verifies.
//!
//! Input layout: `<timestamp header>\n<signature header>\n<body>`. A missing line leaves that
//! header out; a header line is split on `\r` into several values of the same header (a value
//! HTTP would refuse is left out). A signature line of exactly `!sign` is replaced by the real
//! signature of the body under the fixed key, for a timestamp line that is a plain number.
#![no_main]

use deskbridge_zocdoc::webhook::{
    self, SIGNATURE_HEADER, TIMESTAMP_HEADER, UpdateType, VerifyError, WebhookKey,
};
use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;

/// Zocdoc's example key from the webhook guide.
const KEY_BASE64: &str = "g9Y9hjTUk9KKH7ffBRbtRmJYo2OISsdMK4flbfDa3zR=";
/// The fixed "now": 2023-06-14T17:08:54Z, the guide's example webhook time.
const NOW: i64 = 1_686_762_534;
/// A signature line that asks for the real signature.
const SIGN_MARKER: &[u8] = b"!sign";

fuzz_target!(|data: &[u8]| {
    let key = WebhookKey::from_base64(KEY_BASE64).expect("the guide's key decodes");
    let now = jiff::Timestamp::from_second(NOW).expect("fixed time in range");

    let mut lines = data.splitn(3, |&byte| byte == b'\n');
    let timestamp_line = lines.next();
    let signature_line = lines.next();
    let body = lines.next().unwrap_or_default();

    if signature_line == Some(SIGN_MARKER)
        && let Some(timestamp) = timestamp_line.and_then(plain_number)
    {
        check_signed(&key, timestamp, body, now);
    }

    let mut headers = HeaderMap::new();
    append_values(&mut headers, TIMESTAMP_HEADER, timestamp_line);
    append_values(&mut headers, SIGNATURE_HEADER, signature_line);
    match webhook::verify(&key, &headers, body, now) {
        Ok(verified) => assert!(verified.timestamp >= 0),
        Err(error) => check_error(error),
    }

    check_payload(body);
});

/// A request signed with the key verifies, with the timestamp that was signed.
fn check_signed(key: &WebhookKey, timestamp: i64, body: &[u8], now: jiff::Timestamp) {
    let signature = webhook::sign(key, timestamp, body);
    let mut headers = HeaderMap::new();
    headers.insert(
        TIMESTAMP_HEADER,
        HeaderValue::from_str(&timestamp.to_string()).expect("digits are a valid header"),
    );
    headers.insert(
        SIGNATURE_HEADER,
        HeaderValue::from_str(&signature).expect("base64 is a valid header"),
    );
    let verified = webhook::verify(key, &headers, body, now).expect("signed request verifies");
    assert_eq!(verified.timestamp, timestamp);
}

fn check_error(error: VerifyError) {
    assert!(!error.reason_code().is_empty());
    assert!(!error.to_string().is_empty());
}

/// Parsing and the dedupe key agree, and the key has one of its two forms.
fn check_payload(body: &[u8]) {
    let key = webhook::dedupe_key(body);
    match webhook::parse_event(body) {
        Ok(event) => {
            assert!(!event.appointment_id.is_empty());
            if let UpdateType::Other(text) = &event.update_type {
                assert_eq!(UpdateType::from_wire(text), event.update_type);
            }
            let _ = event.appointment_updated_at();
            let _ = event.webhook_sent_at();
            match event.dedupe_key() {
                Some(content_key) => assert_eq!(content_key, key),
                None => assert!(key.as_str().starts_with("sha256:")),
            }
        }
        Err(error) => {
            assert!(!error.reason_code().is_empty());
            assert_eq!(
                key.as_str(),
                format!("sha256:{}", webhook::body_sha256_hex(body))
            );
        }
    }
}

/// The line as a non-negative `i64`, when it is only ASCII digits.
fn plain_number(line: &[u8]) -> Option<i64> {
    if line.is_empty() || !line.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(line).ok()?.parse().ok()
}

/// Appends each `\r`-separated part of the line as one value of the header.
fn append_values(headers: &mut HeaderMap, name: &'static str, line: Option<&[u8]>) {
    let Some(line) = line else {
        return;
    };
    for part in line.split(|&byte| byte == b'\r') {
        if let Ok(value) = HeaderValue::from_bytes(part) {
            headers.append(name, value);
        }
    }
}
