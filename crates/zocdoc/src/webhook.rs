//! Zocdoc appointment webhooks: signing and verifying requests, parsing their bodies, and the
//! content-based key that deduplicates Zocdoc's retries.
//!
//! A receiver calls [`verify`] on the raw request (headers and body bytes exactly as received),
//! then [`parse_event`] and [`dedupe_key`] on the same bytes. The raw body should be stored as
//! received: Zocdoc may change the payload schema at any time.
//!
//! ```
//! use deskbridge_zocdoc::webhook::{self, Freshness, SIGNATURE_HEADER, TIMESTAMP_HEADER};
//! use http::{HeaderMap, HeaderValue};
//!
//! let key = webhook::WebhookKey::from_base64("g9Y9hjTUk9KKH7ffBRbtRmJYo2OISsdMK4flbfDa3zR=")?;
//! let body = br#"{"event_type":"appointment_updated","data":{"appointment_data":{
//!     "appointment_id":"a1","appointment_update_type":"cancelled",
//!     "appointment_updated_timestamp":"2023-06-14T17:06:54Z"}}}"#;
//!
//! let mut headers = HeaderMap::new();
//! headers.insert(TIMESTAMP_HEADER, HeaderValue::from_static("1686762414"));
//! headers.insert(SIGNATURE_HEADER, webhook::sign(&key, 1_686_762_414, body).parse()?);
//!
//! let now = jiff::Timestamp::from_second(1_686_762_534)?;
//! let verified = webhook::verify(&key, &headers, body, now)?;
//! assert_eq!(verified.freshness, Freshness::Fresh);
//!
//! let event = webhook::parse_event(body)?;
//! assert_eq!(event.update_type, webhook::UpdateType::Cancelled);
//! assert_eq!(
//!     webhook::dedupe_key(body).as_str(),
//!     "update:2023-06-14T17%3A06%3A54Z:a1:cancelled"
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod payload;
mod signature;

pub use payload::{
    ChangedAttribute, DedupeKey, PayloadError, UpdateType, WebhookEvent, body_sha256_hex,
    dedupe_key, parse_event,
};
pub use signature::{
    Freshness, KeyError, SIGNATURE_HEADER, TIMESTAMP_HEADER, TOLERANCE, Verified, VerifyError,
    WebhookKey, sign, verify,
};
