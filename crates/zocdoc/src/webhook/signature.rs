//! Signing and verifying Zocdoc webhook requests: the shared key, the `webhook-timestamp` and
//! `webhook-signature` headers, and the five-minute freshness window.
//!
//! Zocdoc signs `<webhook-timestamp header>.<raw body>` with HMAC-SHA256 under the base64-decoded
//! shared key and sends the standard base64 of the digest in `webhook-signature` as
//! version-prefixed entries separated by semicolons: `v1:<base64>;v2:<base64>`.
//!
//! Decisions where Zocdoc's guide is silent:
//! - Only versions `v1` and `v2` are checked (the guide's example sends both, with the same
//!   HMAC-SHA256 scheme). Entries of any other `v<digits>` version are ignored; a header holding
//!   only such entries fails with [`VerifyError::UnsupportedSignatureVersion`], so that a future
//!   scheme change shows up under its own reason code instead of looking like a wrong key.
//! - Entries that are not of the form `v<digits>:<signature>` are skipped; a header with no such
//!   entry at all is [`VerifyError::MalformedSignature`]. Spaces and tabs around `;` and `:` and
//!   empty entries (`;;`) are tolerated.
//! - More than one `webhook-timestamp` header is [`VerifyError::MalformedTimestamp`]: the signed
//!   message depends on the exact text, so two values are ambiguous. More than one
//!   `webhook-signature` header is read as one list: every entry of every header is a candidate.
//! - The timestamp is the header text with surrounding spaces and tabs removed; it must be ASCII
//!   digits only (no sign), fit an `i64`, and that text, exactly (leading zeros included), is what
//!   the signed message starts with.
//! - Signature candidates are decoded as standard base64, padding optional, with canonical
//!   trailing bits; a candidate that does not decode to exactly 32 bytes never matches.
//! - The headers are checked in order timestamp, then signature, so a request lacking both
//!   reports [`VerifyError::MissingTimestamp`].

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use hmac::{Hmac, Mac};
use http::HeaderMap;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Name of the header carrying the Unix time (seconds) at which Zocdoc signed the request.
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";

/// Name of the header carrying the version-prefixed signatures, e.g. `v1:<base64>;v2:<base64>`.
pub const SIGNATURE_HEADER: &str = "webhook-signature";

/// How far the signing time may lie from now, either way, for a request to count as fresh.
pub const TOLERANCE: Duration = Duration::from_secs(5 * 60);

/// The version that [`sign`] writes.
const SIGN_VERSION: &str = "v1";

/// The versions whose scheme (HMAC-SHA256 over `<timestamp>.<body>`) is known and checked.
const CHECKED_VERSIONS: [&str; 2] = ["v1", "v2"];

/// Optional whitespace around separators, as HTTP defines it.
const OWS: [char; 2] = [' ', '\t'];

/// Decodes the shared key: standard alphabet, padding optional, and non-zero trailing bits in the
/// last symbol accepted (Zocdoc's own example key has them).
const KEY_ENGINE: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Decodes signature candidates: standard alphabet, padding optional, canonical trailing bits.
const SIGNATURE_ENGINE: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The shared webhook key (the base64-decoded bytes). `Debug` never shows the bytes.
#[derive(Clone)]
pub struct WebhookKey {
    bytes: Vec<u8>,
}

impl WebhookKey {
    /// Decodes the key as Zocdoc hands it out: standard base64 (`A-Z a-z 0-9 + /`), with or
    /// without `=` padding; non-zero trailing bits in the last symbol are accepted. Spaces, tabs
    /// and line breaks around the text (as left by copy and paste) are ignored. The URL-safe
    /// alphabet (`-`, `_`), any other symbol, and a key that decodes to nothing are rejected.
    pub fn from_base64(text: &str) -> Result<WebhookKey, KeyError> {
        let text = text.trim_ascii();
        if text.is_empty() {
            return Err(KeyError::Empty);
        }
        let bytes = KEY_ENGINE
            .decode(text)
            .map_err(|_| KeyError::InvalidBase64)?;
        if bytes.is_empty() {
            return Err(KeyError::Empty);
        }
        Ok(WebhookKey { bytes })
    }

    /// Wraps raw key bytes, for tests and the emulator. Any length is a valid HMAC key.
    pub fn from_bytes(bytes: Vec<u8>) -> WebhookKey {
        WebhookKey { bytes }
    }

    /// A fresh HMAC-SHA256 instance keyed with this key.
    fn mac(&self) -> HmacSha256 {
        // HMAC hashes or pads keys of any length, so `new_from_slice` cannot fail here.
        HmacSha256::new_from_slice(&self.bytes).expect("HMAC-SHA256 accepts keys of any length")
    }
}

impl fmt::Debug for WebhookKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookKey(..)")
    }
}

/// Why a shared key could not be read. Messages never contain the key text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum KeyError {
    /// The key text is empty (or only whitespace), or decodes to no bytes.
    #[error("the webhook key is empty")]
    Empty,
    /// The key text is not standard base64 (URL-safe `-`/`_`, other symbols, bad length or
    /// padding).
    #[error("the webhook key is not valid standard base64 (A-Z, a-z, 0-9, + and /, optional =)")]
    InvalidBase64,
}

/// A request whose signature matched. Check [`Verified::freshness`] before trusting its timing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Verified {
    /// The `webhook-timestamp` value, in Unix seconds.
    pub timestamp: i64,
    /// Whether that timestamp lies within [`TOLERANCE`] of the time given to [`verify`].
    pub freshness: Freshness,
}

impl Verified {
    /// True when the timestamp lies within [`TOLERANCE`] of now.
    pub fn is_fresh(&self) -> bool {
        self.freshness.is_fresh()
    }
}

/// How the signing time of a verified request relates to now.
///
/// A stale request is still authentic: it is reported rather than rejected, because refusing it
/// would lose the event for good (Zocdoc does not retry on an error status).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Freshness {
    /// Within [`TOLERANCE`] of now (the bound itself included).
    Fresh,
    /// Further from now than [`TOLERANCE`].
    Stale {
        /// `timestamp - now` in whole seconds (now truncated to the second): negative when the
        /// request was signed in the past, positive when it claims to come from the future.
        /// Saturates at the `i64` bounds.
        skew_seconds: i64,
    },
}

impl Freshness {
    /// Judges a signing time (Unix seconds) against now.
    fn judge(timestamp: i64, now: jiff::Timestamp) -> Freshness {
        let skew_seconds = timestamp.saturating_sub(now.as_second());
        if skew_seconds.unsigned_abs() <= TOLERANCE.as_secs() {
            Freshness::Fresh
        } else {
            Freshness::Stale { skew_seconds }
        }
    }

    /// True for [`Freshness::Fresh`].
    pub fn is_fresh(&self) -> bool {
        matches!(self, Freshness::Fresh)
    }
}

/// Why a request failed verification: one variant per failure. Messages never contain the key,
/// the body or header values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum VerifyError {
    /// No `webhook-timestamp` header.
    #[error("the webhook-timestamp header is missing")]
    MissingTimestamp,
    /// The `webhook-timestamp` header is empty, not visible ASCII, not a non-negative whole
    /// number of seconds that fits an `i64`, or sent more than once.
    #[error(
        "the webhook-timestamp header is not a single non-negative whole number of Unix seconds"
    )]
    MalformedTimestamp,
    /// No `webhook-signature` header.
    #[error("the webhook-signature header is missing")]
    MissingSignature,
    /// The `webhook-signature` header is empty, not visible ASCII, or holds no
    /// `v<digits>:<signature>` entry.
    #[error("the webhook-signature header holds no `v<N>:<signature>` entry")]
    MalformedSignature,
    /// The `webhook-signature` header holds only entries of versions other than `v1` and `v2`.
    #[error("the webhook-signature header holds only unsupported signature versions (not v1/v2)")]
    UnsupportedSignatureVersion,
    /// No `v1`/`v2` signature matches the timestamp and body under the shared key.
    #[error("no webhook signature matches the timestamp and body under the shared key")]
    NoMatchingSignature,
}

impl VerifyError {
    /// Stable snake_case code stored in the database. Never change an existing code.
    pub fn reason_code(&self) -> &'static str {
        match self {
            VerifyError::MissingTimestamp => "missing_timestamp",
            VerifyError::MalformedTimestamp => "malformed_timestamp",
            VerifyError::MissingSignature => "missing_signature",
            VerifyError::MalformedSignature => "malformed_signature",
            VerifyError::UnsupportedSignatureVersion => "unsupported_signature_version",
            VerifyError::NoMatchingSignature => "no_matching_signature",
        }
    }
}

/// The `webhook-signature` header value (`v1:<base64>`) for this timestamp (Unix seconds) and raw
/// body, as Zocdoc would send it with `webhook-timestamp: <timestamp>`.
pub fn sign(key: &WebhookKey, timestamp: i64, body: &[u8]) -> String {
    let digest = keyed_message(key, &timestamp.to_string(), body)
        .finalize()
        .into_bytes();
    format!("{SIGN_VERSION}:{}", STANDARD.encode(digest))
}

/// Verifies a request's signature over its raw body bytes (which need not be UTF-8), then judges
/// its freshness against `now`.
///
/// The timestamp header must parse before the signature is checked, and the signature is checked
/// before freshness: a correctly signed request outside [`TOLERANCE`] is `Ok` with
/// [`Freshness::Stale`], not an error. Every candidate is compared in constant time.
pub fn verify(
    key: &WebhookKey,
    headers: &HeaderMap,
    body: &[u8],
    now: jiff::Timestamp,
) -> Result<Verified, VerifyError> {
    let (timestamp_text, timestamp) = read_timestamp(headers)?;
    let candidates = read_candidates(headers)?;
    let mac = keyed_message(key, timestamp_text, body);
    if !candidates
        .iter()
        .any(|candidate| candidate_matches(&mac, candidate))
    {
        return Err(VerifyError::NoMatchingSignature);
    }
    Ok(Verified {
        timestamp,
        freshness: Freshness::judge(timestamp, now),
    })
}

/// HMAC-SHA256 state after absorbing `<timestamp>.<body>`.
fn keyed_message(key: &WebhookKey, timestamp_text: &str, body: &[u8]) -> HmacSha256 {
    let mut mac = key.mac();
    mac.update(timestamp_text.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// Decodes one candidate and compares it with the expected digest in constant time.
fn candidate_matches(mac: &HmacSha256, candidate: &str) -> bool {
    SIGNATURE_ENGINE
        .decode(candidate)
        .is_ok_and(|tag| mac.clone().verify_slice(&tag).is_ok())
}

/// The single timestamp header: its trimmed text (exactly what was signed) and its value.
fn read_timestamp(headers: &HeaderMap) -> Result<(&str, i64), VerifyError> {
    let mut values = headers.get_all(TIMESTAMP_HEADER).iter();
    let value = values.next().ok_or(VerifyError::MissingTimestamp)?;
    if values.next().is_some() {
        return Err(VerifyError::MalformedTimestamp);
    }
    let text = value
        .to_str()
        .map_err(|_| VerifyError::MalformedTimestamp)?
        .trim_matches(OWS);
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(VerifyError::MalformedTimestamp);
    }
    let timestamp = text
        .parse::<i64>()
        .map_err(|_| VerifyError::MalformedTimestamp)?;
    Ok((text, timestamp))
}

/// The signature texts of the checked versions found in all `webhook-signature` headers.
fn read_candidates(headers: &HeaderMap) -> Result<Vec<&str>, VerifyError> {
    let mut present = false;
    let mut any_entry = false;
    let mut candidates = Vec::new();
    for value in headers.get_all(SIGNATURE_HEADER) {
        present = true;
        let text = value
            .to_str()
            .map_err(|_| VerifyError::MalformedSignature)?;
        for (version, signature) in text.split(';').filter_map(parse_entry) {
            any_entry = true;
            if CHECKED_VERSIONS.contains(&version) {
                candidates.push(signature);
            }
        }
    }
    if !present {
        Err(VerifyError::MissingSignature)
    } else if !any_entry {
        Err(VerifyError::MalformedSignature)
    } else if candidates.is_empty() {
        Err(VerifyError::UnsupportedSignatureVersion)
    } else {
        Ok(candidates)
    }
}

/// Splits one `v<digits>:<signature>` entry, trimming whitespace around its parts.
fn parse_entry(entry: &str) -> Option<(&str, &str)> {
    let (version, signature) = entry.split_once(':')?;
    let version = version.trim_matches(OWS);
    let signature = signature.trim_matches(OWS);
    let digits = version.strip_prefix('v')?;
    let well_formed =
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) && !signature.is_empty();
    well_formed.then_some((version, signature))
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;
    use proptest::prelude::*;

    use super::*;

    /// Standard Webhooks' reference key, reused by Svix's test suites.
    const KAT_KEY: &str = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const KAT_TIMESTAMP: i64 = 1_614_265_330;
    const KAT_BODY: &[u8] = br#"{"test": 2432232314}"#;
    const KAT_SIGNATURE: &str = "v1:6WIDxt6FDn3B/edInvYUC0AtOlpk/iUM0u75gw+sHO8=";
    /// The example key from Zocdoc's webhook guide: its last symbol carries non-zero trailing bits.
    const GUIDE_KEY: &str = "g9Y9hjTUk9KKH7ffBRbtRmJYo2OISsdMK4flbfDa3zR=";
    const GUIDE_KEY_HEX: &str = "83d63d8634d493d28a1fb7df0516ed466258a363884ac74c2b87e56df0dadf34";

    fn kat_key() -> WebhookKey {
        WebhookKey::from_base64(KAT_KEY).expect("reference key decodes")
    }

    fn at(seconds: i64) -> jiff::Timestamp {
        jiff::Timestamp::from_second(seconds).expect("test time in range")
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// A header map with the given header values (`None` leaves the header out).
    fn headers(timestamp: Option<&str>, signature: Option<&str>) -> HeaderMap {
        let mut map = HeaderMap::new();
        if let Some(value) = timestamp {
            map.append(
                TIMESTAMP_HEADER,
                HeaderValue::from_str(value).expect("valid header"),
            );
        }
        if let Some(value) = signature {
            map.append(
                SIGNATURE_HEADER,
                HeaderValue::from_str(value).expect("valid header"),
            );
        }
        map
    }

    /// The bare base64 of a signature produced by [`sign`].
    fn bare(signature: &str) -> &str {
        signature.strip_prefix("v1:").expect("sign writes v1")
    }

    /// Verifies the KAT body with the given header texts at the KAT time.
    fn verify_kat(
        timestamp: Option<&str>,
        signature: Option<&str>,
    ) -> Result<Verified, VerifyError> {
        verify(
            &kat_key(),
            &headers(timestamp, signature),
            KAT_BODY,
            at(KAT_TIMESTAMP),
        )
    }

    fn fresh_at(timestamp: i64) -> Result<Verified, VerifyError> {
        Ok(Verified {
            timestamp,
            freshness: Freshness::Fresh,
        })
    }

    fn kat_ok() -> Result<Verified, VerifyError> {
        fresh_at(KAT_TIMESTAMP)
    }

    #[test]
    fn known_answer_signature() {
        assert_eq!(sign(&kat_key(), KAT_TIMESTAMP, KAT_BODY), KAT_SIGNATURE);
        assert_eq!(
            verify_kat(Some("1614265330"), Some(KAT_SIGNATURE)),
            kat_ok()
        );
    }

    #[test]
    fn sign_writes_v1_and_padded_standard_base64() {
        let signature = sign(&WebhookKey::from_bytes(vec![7; 16]), 0, b"");
        let encoded = bare(&signature);
        assert_eq!(encoded.len(), 44);
        assert!(encoded.ends_with('='));
        assert_eq!(STANDARD.decode(encoded).expect("base64").len(), 32);
    }

    #[test]
    fn guide_key_with_trailing_bits_is_accepted() {
        let key = WebhookKey::from_base64(GUIDE_KEY).expect("guide key decodes");
        assert_eq!(hex(&key.bytes), GUIDE_KEY_HEX);
    }

    #[test]
    fn unpadded_key_decodes_like_padded() {
        let padded = WebhookKey::from_base64(GUIDE_KEY).expect("padded");
        let unpadded = WebhookKey::from_base64(GUIDE_KEY.trim_end_matches('=')).expect("unpadded");
        assert_eq!(padded.bytes, unpadded.bytes);
        let short = WebhookKey::from_base64("YWJjZA").expect("unpadded, two symbols short");
        assert_eq!(short.bytes, b"abcd");
    }

    #[test]
    fn whitespace_around_key_is_ignored() {
        let key = WebhookKey::from_base64(&format!(" \t{KAT_KEY}\r\n")).expect("trimmed key");
        assert_eq!(key.bytes, kat_key().bytes);
    }

    #[test]
    fn invalid_keys_are_rejected() {
        let cases = [
            ("", KeyError::Empty),
            (" \n\t", KeyError::Empty),
            ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS-", KeyError::InvalidBase64),
            ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS_", KeyError::InvalidBase64),
            (
                "g9Y9hjTUk9KKH7ffBRbtRmJYo2OISsdMK4flbfDa3zR-",
                KeyError::InvalidBase64,
            ),
            ("MfKQ9r8GKYqr TwjUPD8ILPZIo2LaLaSw", KeyError::InvalidBase64),
            ("MfKQ9r8G$YqrTwjUPD8ILPZIo2LaLaSw", KeyError::InvalidBase64),
            (
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                KeyError::InvalidBase64,
            ),
            ("YWJjZA===", KeyError::InvalidBase64),
            ("YW=JjZA==", KeyError::InvalidBase64),
            ("YWJjZ", KeyError::InvalidBase64),
            ("=", KeyError::InvalidBase64),
            ("====", KeyError::InvalidBase64),
            ("Zm9vYmFy\u{e9}", KeyError::InvalidBase64),
        ];
        for (text, expected) in cases {
            assert_eq!(
                WebhookKey::from_base64(text).map(|_| ()),
                Err(expected),
                "{text:?}"
            );
        }
    }

    #[test]
    fn key_is_never_printed() {
        let key = kat_key();
        assert_eq!(format!("{key:?}"), "WebhookKey(..)");
        assert_eq!(format!("{key:#?}"), "WebhookKey(..)");
        for error in [KeyError::Empty, KeyError::InvalidBase64] {
            let shown = format!("{error} {error:?}");
            assert!(!shown.contains(KAT_KEY), "{shown}");
        }
    }

    #[test]
    fn valid_v1_signature_verifies() {
        let signature = sign(&kat_key(), KAT_TIMESTAMP, KAT_BODY);
        assert_eq!(verify_kat(Some("1614265330"), Some(&signature)), kat_ok());
        assert!(kat_ok().expect("ok").is_fresh());
    }

    #[test]
    fn wrong_key_does_not_match() {
        let other = WebhookKey::from_base64(GUIDE_KEY).expect("guide key");
        let signature = sign(&other, KAT_TIMESTAMP, KAT_BODY);
        assert_eq!(
            verify_kat(Some("1614265330"), Some(&signature)),
            Err(VerifyError::NoMatchingSignature)
        );
    }

    #[test]
    fn tampered_body_does_not_match() {
        let headers = headers(Some("1614265330"), Some(KAT_SIGNATURE));
        for body in [
            &br#"{"test": 2432232315}"#[..],
            br#"{"test": 2432232314} "#,
            br#" {"test": 2432232314}"#,
            br#"{"test":2432232314}"#,
            b"",
        ] {
            assert_eq!(
                verify(&kat_key(), &headers, body, at(KAT_TIMESTAMP)),
                Err(VerifyError::NoMatchingSignature),
                "{body:?}"
            );
        }
    }

    #[test]
    fn changed_timestamp_does_not_match() {
        for timestamp in ["1614265331", "1614265329", "01614265330"] {
            assert_eq!(
                verify_kat(Some(timestamp), Some(KAT_SIGNATURE)),
                Err(VerifyError::NoMatchingSignature),
                "{timestamp}"
            );
        }
    }

    #[test]
    fn timestamp_text_is_signed_as_sent() {
        let key = kat_key();
        let digest = keyed_message(&key, "01614265330", KAT_BODY)
            .finalize()
            .into_bytes();
        let signature = format!("v1:{}", STANDARD.encode(digest));
        assert_eq!(verify_kat(Some("01614265330"), Some(&signature)), kat_ok());
    }

    #[test]
    fn whitespace_around_timestamp_is_not_signed() {
        assert_eq!(
            verify_kat(Some(" 1614265330\t"), Some(KAT_SIGNATURE)),
            kat_ok()
        );
    }

    #[test]
    fn partial_signature_does_not_match() {
        // Cutting only the `=` padding leaves a valid signature (see `unpadded_signature_matches`).
        let encoded = bare(KAT_SIGNATURE);
        for cut in [0, 1, 4, 20, 40, 41, 42] {
            let truncated = format!("v1:{}", &encoded[..cut]);
            let expected = if cut == 0 {
                VerifyError::MalformedSignature
            } else {
                VerifyError::NoMatchingSignature
            };
            assert_eq!(
                verify_kat(Some("1614265330"), Some(&truncated)),
                Err(expected),
                "{truncated}"
            );
        }
    }

    #[test]
    fn unpadded_signature_matches() {
        let unpadded = KAT_SIGNATURE.trim_end_matches('=');
        assert_eq!(verify_kat(Some("1614265330"), Some(unpadded)), kat_ok());
    }

    #[test]
    fn non_canonical_signature_encoding_does_not_match() {
        // The last symbol before `=` carries two unused bits; setting them keeps the digest bytes
        // but is not canonical base64.
        let encoded = bare(KAT_SIGNATURE);
        let last = encoded.as_bytes()[42];
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let index = alphabet.iter().position(|&c| c == last).expect("symbol");
        let altered = char::from(alphabet[index | 0b11]);
        assert_ne!(altered, char::from(last));
        let signature = format!("v1:{}{altered}=", &encoded[..42]);
        assert_eq!(
            verify_kat(Some("1614265330"), Some(&signature)),
            Err(VerifyError::NoMatchingSignature)
        );
    }

    #[test]
    fn signatures_of_the_wrong_length_do_not_match() {
        let digest = STANDARD.decode(bare(KAT_SIGNATURE)).expect("base64");
        let short = format!("v1:{}", STANDARD.encode(&digest[..31]));
        let mut long_bytes = digest.clone();
        long_bytes.push(0);
        let long = format!("v1:{}", STANDARD.encode(&long_bytes));
        for signature in [short, long] {
            assert_eq!(
                verify_kat(Some("1614265330"), Some(&signature)),
                Err(VerifyError::NoMatchingSignature),
                "{signature}"
            );
        }
    }

    #[test]
    fn decoys_only_do_not_match() {
        let key = kat_key();
        let decoys = format!(
            "{};v1:{};v2:{};v1:not base64!",
            sign(&key, KAT_TIMESTAMP, b"another body"),
            STANDARD.encode([0u8; 32]),
            STANDARD.encode([0xffu8; 32]),
        );
        assert_eq!(
            verify_kat(Some("1614265330"), Some(&decoys)),
            Err(VerifyError::NoMatchingSignature)
        );
    }

    #[test]
    fn one_valid_among_decoys_matches() {
        let decoy = format!("v1:{}", STANDARD.encode([0u8; 32]));
        let valid = bare(KAT_SIGNATURE);
        for header in [
            format!("{decoy};v1:{valid}"),
            format!("v1:{valid};{decoy}"),
            format!("{decoy};v2:{valid};{decoy}"),
            format!("v9:{valid};garbage;{decoy};v1:{valid}"),
        ] {
            assert_eq!(
                verify_kat(Some("1614265330"), Some(&header)),
                kat_ok(),
                "{header}"
            );
        }
    }

    #[test]
    fn v2_only_verifies() {
        let header = format!("v2:{}", bare(KAT_SIGNATURE));
        assert_eq!(verify_kat(Some("1614265330"), Some(&header)), kat_ok());
    }

    #[test]
    fn valid_v1_with_junk_v2_verifies_and_the_reverse() {
        let valid = bare(KAT_SIGNATURE);
        for header in [
            format!("v1:{valid};v2:junk"),
            format!("v1:junk;v2:{valid}"),
            format!("v2:{};v1:{valid}", STANDARD.encode([1u8; 32])),
        ] {
            assert_eq!(
                verify_kat(Some("1614265330"), Some(&header)),
                kat_ok(),
                "{header}"
            );
        }
    }

    #[test]
    fn whitespace_and_empty_entries_are_tolerated() {
        let valid = bare(KAT_SIGNATURE);
        for header in [
            format!(" v1:{valid} ; v2:def "),
            format!(" v1:abc ; v2:{valid} "),
            format!(";;v1:{valid};;"),
            format!("v1 : {valid}"),
            format!("\tv1:{valid}\t;\t"),
            format!("v1:{valid};"),
        ] {
            assert_eq!(
                verify_kat(Some("1614265330"), Some(&header)),
                kat_ok(),
                "{header:?}"
            );
        }
    }

    #[test]
    fn unknown_versions_alone_are_unsupported() {
        let valid = bare(KAT_SIGNATURE);
        for header in [
            "v9:abc".to_owned(),
            format!("v3:{valid}"),
            format!("v0:{valid};v10:{valid}"),
        ] {
            assert_eq!(
                verify_kat(Some("1614265330"), Some(&header)),
                Err(VerifyError::UnsupportedSignatureVersion),
                "{header}"
            );
        }
        assert_eq!(
            verify_kat(Some("1614265330"), Some(&format!("v9:{valid};v1:abc"))),
            Err(VerifyError::NoMatchingSignature)
        );
    }

    #[test]
    fn malformed_signature_headers() {
        let valid = bare(KAT_SIGNATURE);
        for header in [
            String::new(),
            "   ".to_owned(),
            ";;".to_owned(),
            " ; ; ".to_owned(),
            "v1".to_owned(),
            "v1:".to_owned(),
            "v1: ".to_owned(),
            valid.to_owned(),
            format!(":{valid}"),
            format!("1:{valid}"),
            format!("V1:{valid}"),
            format!("v:{valid}"),
            format!("vx:{valid}"),
            format!("v1a:{valid}"),
            format!("v1,{valid}"),
            format!("v1={valid}"),
        ] {
            assert_eq!(
                verify_kat(Some("1614265330"), Some(&header)),
                Err(VerifyError::MalformedSignature),
                "{header:?}"
            );
        }
    }

    #[test]
    fn non_ascii_signature_header_is_malformed() {
        let mut map = headers(Some("1614265330"), None);
        map.insert(
            SIGNATURE_HEADER,
            HeaderValue::from_bytes(b"v1:\xe6WIDxt6FDn3B").expect("opaque bytes allowed"),
        );
        assert_eq!(
            verify(&kat_key(), &map, KAT_BODY, at(KAT_TIMESTAMP)),
            Err(VerifyError::MalformedSignature)
        );
    }

    #[test]
    fn non_ascii_timestamp_header_is_malformed() {
        let mut map = headers(None, Some(KAT_SIGNATURE));
        map.insert(
            TIMESTAMP_HEADER,
            HeaderValue::from_bytes(b"1614265330\xa0").expect("opaque bytes allowed"),
        );
        assert_eq!(
            verify(&kat_key(), &map, KAT_BODY, at(KAT_TIMESTAMP)),
            Err(VerifyError::MalformedTimestamp)
        );
    }

    #[test]
    fn missing_headers() {
        assert_eq!(
            verify_kat(None, Some(KAT_SIGNATURE)),
            Err(VerifyError::MissingTimestamp)
        );
        assert_eq!(
            verify_kat(Some("1614265330"), None),
            Err(VerifyError::MissingSignature)
        );
        assert_eq!(verify_kat(None, None), Err(VerifyError::MissingTimestamp));
    }

    #[test]
    fn empty_headers() {
        assert_eq!(
            verify_kat(Some(""), Some(KAT_SIGNATURE)),
            Err(VerifyError::MalformedTimestamp)
        );
        assert_eq!(
            verify_kat(Some("1614265330"), Some("")),
            Err(VerifyError::MalformedSignature)
        );
    }

    #[test]
    fn header_names_match_case_insensitively() {
        let mut map = HeaderMap::new();
        map.insert(
            http::HeaderName::from_static("webhook-timestamp"),
            HeaderValue::from_static("1614265330"),
        );
        map.insert(
            http::HeaderName::from_bytes(b"Webhook-Signature").expect("name"),
            HeaderValue::from_static(KAT_SIGNATURE),
        );
        assert_eq!(
            verify(&kat_key(), &map, KAT_BODY, at(KAT_TIMESTAMP)),
            kat_ok()
        );
    }

    #[test]
    fn malformed_timestamps() {
        for timestamp in [
            " ",
            "-1614265330",
            "+1614265330",
            "abc",
            "1614265330a",
            "1614265330.0",
            "1.6e9",
            "0x6037d2f2",
            "1614 265330",
            "2021-02-25T15:02:10Z",
            "9223372036854775808",
            "99999999999999999999999",
        ] {
            assert_eq!(
                verify_kat(Some(timestamp), Some(KAT_SIGNATURE)),
                Err(VerifyError::MalformedTimestamp),
                "{timestamp:?}"
            );
        }
    }

    #[test]
    fn duplicate_timestamp_headers_are_malformed() {
        let mut map = headers(Some("1614265330"), Some(KAT_SIGNATURE));
        map.append(TIMESTAMP_HEADER, HeaderValue::from_static("1614265330"));
        assert_eq!(
            verify(&kat_key(), &map, KAT_BODY, at(KAT_TIMESTAMP)),
            Err(VerifyError::MalformedTimestamp)
        );
    }

    #[test]
    fn duplicate_signature_headers_are_one_list() {
        let mut map = headers(Some("1614265330"), Some("v1:junk"));
        map.append(SIGNATURE_HEADER, HeaderValue::from_static(KAT_SIGNATURE));
        assert_eq!(
            verify(&kat_key(), &map, KAT_BODY, at(KAT_TIMESTAMP)),
            kat_ok()
        );

        let mut map = headers(Some("1614265330"), Some("v1:junk"));
        map.append(SIGNATURE_HEADER, HeaderValue::from_static("v2:junk"));
        assert_eq!(
            verify(&kat_key(), &map, KAT_BODY, at(KAT_TIMESTAMP)),
            Err(VerifyError::NoMatchingSignature)
        );

        let mut map = headers(Some("1614265330"), Some(";"));
        map.append(SIGNATURE_HEADER, HeaderValue::from_static(KAT_SIGNATURE));
        assert_eq!(
            verify(&kat_key(), &map, KAT_BODY, at(KAT_TIMESTAMP)),
            kat_ok()
        );
    }

    #[test]
    fn empty_body_verifies() {
        let key = kat_key();
        let signature = sign(&key, KAT_TIMESTAMP, b"");
        let map = headers(Some("1614265330"), Some(&signature));
        assert_eq!(verify(&key, &map, b"", at(KAT_TIMESTAMP)), kat_ok());
        assert_eq!(
            verify(&key, &map, b" ", at(KAT_TIMESTAMP)),
            Err(VerifyError::NoMatchingSignature)
        );
    }

    #[test]
    fn non_utf8_body_verifies() {
        let key = kat_key();
        let body = b"{\"x\": \"\xff\xfe\x00\x80\"}";
        let signature = sign(&key, KAT_TIMESTAMP, body);
        let map = headers(Some("1614265330"), Some(&signature));
        assert_eq!(verify(&key, &map, body, at(KAT_TIMESTAMP)), kat_ok());
    }

    #[test]
    fn freshness_window() {
        let key = kat_key();
        let signature = sign(&key, KAT_TIMESTAMP, KAT_BODY);
        let map = headers(Some("1614265330"), Some(&signature));
        let cases = [
            (0, Freshness::Fresh),
            (299, Freshness::Fresh),
            (-299, Freshness::Fresh),
            (300, Freshness::Fresh),
            (-300, Freshness::Fresh),
            // `now` later than the timestamp: signed in the past.
            (301, Freshness::Stale { skew_seconds: -301 }),
            // `now` earlier than the timestamp: signed in the future.
            (-301, Freshness::Stale { skew_seconds: 301 }),
            (
                -86_400,
                Freshness::Stale {
                    skew_seconds: 86_400,
                },
            ),
        ];
        for (offset, freshness) in cases {
            assert_eq!(
                verify(&key, &map, KAT_BODY, at(KAT_TIMESTAMP + offset)),
                Ok(Verified {
                    timestamp: KAT_TIMESTAMP,
                    freshness
                }),
                "now = timestamp + {offset}"
            );
        }
    }

    #[test]
    fn fractional_now_is_truncated() {
        let now = at(KAT_TIMESTAMP + 300)
            .checked_add(jiff::SignedDuration::from_millis(999))
            .expect("in range");
        assert_eq!(
            verify(
                &kat_key(),
                &headers(Some("1614265330"), Some(KAT_SIGNATURE)),
                KAT_BODY,
                now
            ),
            kat_ok()
        );
    }

    #[test]
    fn stale_requests_still_need_a_valid_signature() {
        let other = WebhookKey::from_bytes(b"not the key".to_vec());
        let signature = sign(&other, KAT_TIMESTAMP, KAT_BODY);
        assert_eq!(
            verify(
                &kat_key(),
                &headers(Some("1614265330"), Some(&signature)),
                KAT_BODY,
                at(KAT_TIMESTAMP + 3_600)
            ),
            Err(VerifyError::NoMatchingSignature)
        );
    }

    #[test]
    fn extreme_timestamps_are_stale_not_panics() {
        let key = kat_key();
        let now = at(KAT_TIMESTAMP);
        for timestamp in [0, 1, i64::MAX] {
            let signature = sign(&key, timestamp, KAT_BODY);
            let map = headers(Some(&timestamp.to_string()), Some(&signature));
            let verified = verify(&key, &map, KAT_BODY, now).expect("valid signature");
            assert_eq!(verified.timestamp, timestamp);
            assert_eq!(
                verified.freshness,
                Freshness::Stale {
                    skew_seconds: timestamp - KAT_TIMESTAMP
                }
            );
        }
        let signature = sign(&key, i64::MAX, KAT_BODY);
        let map = headers(Some(&i64::MAX.to_string()), Some(&signature));
        assert_eq!(
            verify(&key, &map, KAT_BODY, jiff::Timestamp::MIN).map(|v| v.freshness),
            Ok(Freshness::Stale {
                skew_seconds: i64::MAX
            })
        );
    }

    #[test]
    fn empty_key_bytes_still_sign_and_verify() {
        let key = WebhookKey::from_bytes(Vec::new());
        let signature = sign(&key, KAT_TIMESTAMP, KAT_BODY);
        let map = headers(Some("1614265330"), Some(&signature));
        assert_eq!(verify(&key, &map, KAT_BODY, at(KAT_TIMESTAMP)), kat_ok());
        assert_eq!(
            verify(&kat_key(), &map, KAT_BODY, at(KAT_TIMESTAMP)),
            Err(VerifyError::NoMatchingSignature)
        );
    }

    #[test]
    fn reason_codes_are_stable_and_distinct() {
        let cases = [
            (VerifyError::MissingTimestamp, "missing_timestamp"),
            (VerifyError::MalformedTimestamp, "malformed_timestamp"),
            (VerifyError::MissingSignature, "missing_signature"),
            (VerifyError::MalformedSignature, "malformed_signature"),
            (
                VerifyError::UnsupportedSignatureVersion,
                "unsupported_signature_version",
            ),
            (VerifyError::NoMatchingSignature, "no_matching_signature"),
        ];
        let mut seen = std::collections::HashSet::new();
        for (error, code) in cases {
            assert_eq!(error.reason_code(), code);
            assert!(seen.insert(code), "duplicate {code}");
            let message = error.to_string();
            assert!(!message.is_empty());
            assert!(!message.contains(KAT_KEY));
            assert!(!message.contains("2432232314"));
        }
    }

    fn verify_signed(
        key: &WebhookKey,
        timestamp: &str,
        signature: &str,
        body: &[u8],
        now: jiff::Timestamp,
    ) -> Result<Verified, VerifyError> {
        verify(key, &headers(Some(timestamp), Some(signature)), body, now)
    }

    proptest! {
        #[test]
        fn sign_then_verify_round_trips(
            key in proptest::collection::vec(any::<u8>(), 0..80),
            body in proptest::collection::vec(any::<u8>(), 0..600),
            timestamp in 0..=i64::MAX,
            skew in -600i64..=600,
        ) {
            let key = WebhookKey::from_bytes(key);
            let signature = sign(&key, timestamp, &body);
            let now = at(KAT_TIMESTAMP);
            let verified = verify_signed(&key, &timestamp.to_string(), &signature, &body, now)?;
            prop_assert_eq!(verified.timestamp, timestamp);

            let timestamp = KAT_TIMESTAMP + skew;
            let signature = sign(&key, timestamp, &body);
            let verified = verify_signed(&key, &timestamp.to_string(), &signature, &body, now)?;
            prop_assert_eq!(verified.is_fresh(), skew.abs() <= 300);
        }

        #[test]
        fn any_body_byte_change_fails(
            key in proptest::collection::vec(any::<u8>(), 1..64),
            body in proptest::collection::vec(any::<u8>(), 1..400),
            index in any::<prop::sample::Index>(),
            flip in 1u8..=255,
        ) {
            let key = WebhookKey::from_bytes(key);
            let signature = sign(&key, KAT_TIMESTAMP, &body);
            let mut tampered = body.clone();
            tampered[index.index(body.len())] ^= flip;
            prop_assert_eq!(
                verify_signed(&key, "1614265330", &signature, &tampered, at(KAT_TIMESTAMP)),
                Err(VerifyError::NoMatchingSignature)
            );
        }

        #[test]
        fn any_signature_byte_change_fails(
            key in proptest::collection::vec(any::<u8>(), 1..64),
            body in proptest::collection::vec(any::<u8>(), 0..400),
            index in 0usize..32,
            flip in 1u8..=255,
        ) {
            let key = WebhookKey::from_bytes(key);
            let signature = sign(&key, KAT_TIMESTAMP, &body);
            let mut digest = STANDARD.decode(bare(&signature)).expect("base64");
            digest[index] ^= flip;
            let tampered = format!("v1:{}", STANDARD.encode(&digest));
            prop_assert_eq!(
                verify_signed(&key, "1614265330", &tampered, &body, at(KAT_TIMESTAMP)),
                Err(VerifyError::NoMatchingSignature)
            );
        }

        #[test]
        fn any_timestamp_change_fails(
            key in proptest::collection::vec(any::<u8>(), 1..64),
            body in proptest::collection::vec(any::<u8>(), 0..400),
            signed in 0..=i64::MAX,
            sent in 0..=i64::MAX,
        ) {
            prop_assume!(signed != sent);
            let key = WebhookKey::from_bytes(key);
            let signature = sign(&key, signed, &body);
            prop_assert_eq!(
                verify_signed(&key, &sent.to_string(), &signature, &body, at(KAT_TIMESTAMP)),
                Err(VerifyError::NoMatchingSignature)
            );
        }

        #[test]
        fn any_key_byte_change_fails(
            key in proptest::collection::vec(any::<u8>(), 1..64),
            body in proptest::collection::vec(any::<u8>(), 0..400),
            index in any::<prop::sample::Index>(),
            flip in 1u8..=255,
        ) {
            let signature = sign(&WebhookKey::from_bytes(key.clone()), KAT_TIMESTAMP, &body);
            let mut other = key.clone();
            other[index.index(key.len())] ^= flip;
            prop_assert_eq!(
                verify_signed(
                    &WebhookKey::from_bytes(other),
                    "1614265330",
                    &signature,
                    &body,
                    at(KAT_TIMESTAMP)
                ),
                Err(VerifyError::NoMatchingSignature)
            );
        }

        #[test]
        fn arbitrary_headers_never_panic(
            timestamp in "[ -~\t]{0,40}",
            signature in "[ -~\t]{0,200}",
            body in proptest::collection::vec(any::<u8>(), 0..200),
        ) {
            let result = verify_signed(&kat_key(), &timestamp, &signature, &body, at(KAT_TIMESTAMP));
            if let Err(error) = result {
                prop_assert!(!error.reason_code().is_empty());
            }
        }

        #[test]
        fn base64_keys_round_trip(bytes in proptest::collection::vec(any::<u8>(), 1..80)) {
            let padded = STANDARD.encode(&bytes);
            prop_assert_eq!(&WebhookKey::from_base64(&padded)?.bytes, &bytes);
            let unpadded = padded.trim_end_matches('=');
            prop_assert_eq!(&WebhookKey::from_base64(unpadded)?.bytes, &bytes);
        }
    }
}
