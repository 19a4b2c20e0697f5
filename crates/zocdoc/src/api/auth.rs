//! OAuth 2.0 client credentials: the client id and secret, the access token, the token request
//! body, decoding the token answer, and how long a token is reused.
//!
//! The secret and the token are wiped from memory when dropped, and neither has a `Display`; their
//! `Debug` prints no byte of them.

use std::fmt;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use zeroize::Zeroizing;

use super::decode::{DecodeError, Fields, parse_json};

/// How long before its expiry a token is replaced (at most half its lifetime).
const REFRESH_MARGIN: Duration = Duration::from_secs(60);

/// The OAuth client id. Not a secret, but it names the practice's Zocdoc application.
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

/// The OAuth client secret. `Debug` prints `ClientSecret(..)`; there is no `Display`.
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

/// The token request body. Zocdoc's guide sends no `scope`: the client's grants decide.
pub(crate) fn token_request_body(
    client_id: &ClientId,
    client_secret: &ClientSecret,
    audience: &str,
) -> Value {
    json!({
        "grant_type": "client_credentials",
        "client_id": client_id.as_str(),
        "client_secret": client_secret.expose(),
        "audience": audience,
    })
}

/// Decodes a token answer: `access_token` (non-empty), `expires_in` (whole seconds) and, when
/// present, `token_type`, which must be `Bearer` (any case).
pub(crate) fn decode_token(body: &[u8]) -> Result<TokenAnswer, DecodeError> {
    let value = parse_json(body)?;
    let root = Fields::root(&value)?;
    let access_token = root.str("access_token")?;
    if access_token.is_empty() {
        return Err(DecodeError::Missing {
            field: "access_token".to_owned(),
        });
    }
    if let Some(kind) = root.opt_str("token_type")?
        && !kind.eq_ignore_ascii_case("bearer")
    {
        return Err(DecodeError::BadFormat {
            field: "token_type".to_owned(),
        });
    }
    let expires_in = Duration::from_secs(root.u64("expires_in")?);
    Ok(TokenAnswer {
        access_token: AccessToken(Zeroizing::new(access_token.to_owned())),
        expires_in,
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
    fn secrets_never_print() {
        let secret = ClientSecret::new("s3cr3t-value".to_owned());
        assert_eq!(format!("{secret:?}"), "ClientSecret(..)");
        let answer = decode_token(
            br#"{"access_token":"eyJ.tok.en","token_type":"Bearer","expires_in":3600}"#,
        )
        .unwrap();
        assert_eq!(answer.access_token.expose(), "eyJ.tok.en");
        let debug = format!("{answer:?}");
        assert!(!debug.contains("eyJ"), "{debug}");
        assert_eq!(answer.expires_in, Duration::from_secs(3600));
    }

    #[test]
    fn token_request_body_is_zocdocs_json() {
        let body = token_request_body(
            &ClientId::new("client-1"),
            &ClientSecret::new("secret-1".to_owned()),
            "https://api-developer-sandbox.zocdoc.com/",
        );
        assert_eq!(
            body,
            json!({
                "grant_type": "client_credentials",
                "client_id": "client-1",
                "client_secret": "secret-1",
                "audience": "https://api-developer-sandbox.zocdoc.com/",
            })
        );
    }

    #[test]
    fn token_answers_are_checked() {
        assert!(decode_token(br#"{"access_token":"t","expires_in":60}"#).is_ok());
        assert!(
            decode_token(br#"{"access_token":"t","token_type":"bearer","expires_in":60}"#).is_ok()
        );
        assert_eq!(
            decode_token(br#"{"access_token":"t","token_type":"mac","expires_in":60}"#)
                .unwrap_err(),
            DecodeError::BadFormat {
                field: "token_type".to_owned()
            }
        );
        assert_eq!(
            decode_token(br#"{"access_token":"","expires_in":60}"#).unwrap_err(),
            DecodeError::Missing {
                field: "access_token".to_owned()
            }
        );
        assert_eq!(
            decode_token(br#"{"access_token":"t","expires_in":"60"}"#).unwrap_err(),
            DecodeError::WrongType {
                field: "expires_in".to_owned()
            }
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
            reuse_until(now, Duration::from_secs(3600)),
            now + Duration::from_secs(3540)
        );
        assert_eq!(
            reuse_until(now, Duration::from_secs(60)),
            now + Duration::from_secs(30)
        );
        assert_eq!(reuse_until(now, Duration::ZERO), now);
    }
}
