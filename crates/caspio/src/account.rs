//! The Caspio account a client signs in to: the integration host (validated), the web services
//! profile's client id and secret, and the access token the token endpoint hands out.
//!
//! The secret and the token are wiped from memory when dropped, and neither has a `Display`;
//! their `Debug` prints no byte of them.

use std::fmt;
use std::time::{Duration, Instant};

use serde_json::Value;
use zeroize::Zeroizing;

use crate::decode::DecodeError;

/// How long before its expiry a token is replaced (at most half its lifetime).
const REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// The account's integration host, e.g. `a1bcd234.caspio.com`: matches
/// `^[a-zA-Z0-9.-]+\.caspio\.com$`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IntegrationHost(String);

/// Why an integration host was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the Caspio integration URL must be a host name ending in .caspio.com (letters, digits, dots \
     and dashes only), as shown in Caspio's account settings"
)]
pub struct InvalidHost;

impl IntegrationHost {
    /// Checks and wraps a host. A leading `https://` and a trailing `/` (as copied from Caspio's
    /// settings page) are accepted and removed; anything else outside the pattern is refused.
    pub fn parse(text: &str) -> Result<Self, InvalidHost> {
        let lower = text.trim().to_ascii_lowercase();
        let host = lower.strip_prefix("https://").unwrap_or(&lower);
        let host = host.strip_suffix('/').unwrap_or(host);
        let Some(name) = host.strip_suffix(".caspio.com") else {
            return Err(InvalidHost);
        };
        let allowed = |c: char| c.is_ascii_alphanumeric() || c == '.' || c == '-';
        if name.is_empty() || !name.chars().all(allowed) {
            return Err(InvalidHost);
        }
        Ok(Self(host.to_owned()))
    }

    /// The host.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `https://<host>`.
    pub fn base_url(&self) -> String {
        format!("https://{}", self.0)
    }
}

impl fmt::Display for IntegrationHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The web services profile's client id. Not a secret, but it names the practice's profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientId(String);

impl ClientId {
    /// Wraps a client id.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The web services profile's client secret (kept in the keyring). `Debug` prints
/// `ClientSecret(..)`; there is no `Display`.
#[derive(Clone)]
pub struct ClientSecret(Zeroizing<String>);

impl ClientSecret {
    /// Wraps a secret (taking ownership, so no copy is left behind).
    pub fn new(secret: String) -> Self {
        Self(Zeroizing::new(secret))
    }

    /// The secret, for the token request body only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret(..)")
    }
}

/// An account: where to sign in, and with which profile.
#[derive(Debug, Clone)]
pub struct Account {
    /// The integration host.
    pub host: IntegrationHost,
    /// The profile's client id.
    pub client_id: ClientId,
    /// The profile's client secret.
    pub client_secret: ClientSecret,
}

/// A bearer token. `Debug` prints `AccessToken(..)`; there is no `Display`.
pub(crate) struct AccessToken(Zeroizing<String>);

impl AccessToken {
    /// The token, for the `Authorization` header only.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken(..)")
    }
}

/// A token answer: the token and its lifetime.
#[derive(Debug)]
pub(crate) struct TokenAnswer {
    pub(crate) access_token: AccessToken,
    pub(crate) expires_in: Duration,
}

/// The form fields of the token request (client credentials).
pub(crate) fn token_form<'a>(
    client_id: &'a ClientId,
    client_secret: &'a ClientSecret,
) -> [(&'static str, &'a str); 3] {
    [
        ("grant_type", "client_credentials"),
        ("client_id", client_id.as_str()),
        ("client_secret", client_secret.expose()),
    ]
}

/// Decodes a token answer: `access_token` (non-empty), `expires_in` (whole seconds, a number or
/// a numeric string) and, when present, `token_type`, which must be `bearer` (any case).
pub fn decode_token(body: &[u8]) -> Result<(), DecodeError> {
    decode_token_answer(body).map(drop)
}

pub(crate) fn decode_token_answer(body: &[u8]) -> Result<TokenAnswer, DecodeError> {
    let value: Value = crate::decode::parse_json(body)?;
    let Value::Object(root) = &value else {
        return Err(DecodeError::WrongType {
            field: "(body)".to_owned(),
        });
    };
    let access_token = match root.get("access_token") {
        Some(Value::String(token)) if !token.is_empty() => token.clone(),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            return Err(DecodeError::Missing {
                field: "access_token".to_owned(),
            });
        }
        Some(_) => {
            return Err(DecodeError::WrongType {
                field: "access_token".to_owned(),
            });
        }
    };
    match root.get("token_type") {
        None | Some(Value::Null) => {}
        Some(Value::String(kind)) if kind.eq_ignore_ascii_case("bearer") => {}
        Some(_) => {
            return Err(DecodeError::BadFormat {
                field: "token_type".to_owned(),
            });
        }
    }
    let expires_in = match root.get("expires_in") {
        Some(Value::Number(number)) => number.as_u64(),
        Some(Value::String(text)) => text.trim().parse().ok(),
        None | Some(Value::Null) => {
            return Err(DecodeError::Missing {
                field: "expires_in".to_owned(),
            });
        }
        Some(_) => None,
    }
    .ok_or_else(|| DecodeError::WrongType {
        field: "expires_in".to_owned(),
    })?;
    Ok(TokenAnswer {
        access_token: AccessToken(Zeroizing::new(access_token)),
        expires_in: Duration::from_secs(expires_in),
    })
}

/// Until when a token obtained at `obtained` with lifetime `expires_in` is reused: 60 seconds
/// before it expires, or halfway through a lifetime shorter than two minutes.
pub(crate) fn reuse_until(obtained: Instant, expires_in: Duration) -> Instant {
    let margin = REFRESH_MARGIN.min(expires_in / 2);
    obtained + (expires_in - margin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integration_hosts_are_checked() {
        let host = IntegrationHost::parse("a1bcd234.caspio.com").unwrap();
        assert_eq!(host.as_str(), "a1bcd234.caspio.com");
        assert_eq!(host.base_url(), "https://a1bcd234.caspio.com");
        assert_eq!(
            IntegrationHost::parse(" https://C1ABC.Caspio.com/ ")
                .unwrap()
                .as_str(),
            "c1abc.caspio.com"
        );
        for bad in [
            "",
            ".caspio.com",
            "caspio.com",
            "evil.com",
            "a.caspio.com.evil.com",
            "a b.caspio.com",
            "a/b.caspio.com",
            "a@b.caspio.com",
            "a.caspio.com:8080",
            "http://a.caspio.com",
        ] {
            assert_eq!(IntegrationHost::parse(bad), Err(InvalidHost), "{bad}");
        }
    }

    #[test]
    fn secrets_never_print() {
        let secret = ClientSecret::new("s3cr3t-value".to_owned());
        assert_eq!(format!("{secret:?}"), "ClientSecret(..)");
        let answer = decode_token_answer(
            br#"{"access_token":"tok-1","token_type":"bearer","expires_in":86399,"refresh_token":"r"}"#,
        )
        .unwrap();
        assert_eq!(answer.access_token.expose(), "tok-1");
        assert!(!format!("{answer:?}").contains("tok-1"));
        assert_eq!(answer.expires_in, Duration::from_secs(86_399));
    }

    #[test]
    fn token_answers_are_checked() {
        assert!(decode_token(br#"{"access_token":"t","expires_in":"60"}"#).is_ok());
        assert_eq!(
            decode_token(br#"{"access_token":"","expires_in":60}"#),
            Err(DecodeError::Missing {
                field: "access_token".to_owned()
            })
        );
        assert_eq!(
            decode_token(br#"{"access_token":"t","token_type":"mac","expires_in":60}"#),
            Err(DecodeError::BadFormat {
                field: "token_type".to_owned()
            })
        );
        assert_eq!(
            decode_token(br#"{"access_token":"t","expires_in":-1}"#),
            Err(DecodeError::WrongType {
                field: "expires_in".to_owned()
            })
        );
        assert!(matches!(
            decode_token(b"<html>"),
            Err(DecodeError::NotJson { .. })
        ));
    }

    #[test]
    fn tokens_are_replaced_shortly_before_expiry() {
        let now = Instant::now();
        assert_eq!(
            reuse_until(now, Duration::from_secs(86_400)),
            now + Duration::from_secs(86_340)
        );
        assert_eq!(
            reuse_until(now, Duration::from_secs(60)),
            now + Duration::from_secs(30)
        );
    }
}
