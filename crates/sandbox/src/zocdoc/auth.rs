//! The emulated token server (OAuth 2.0 client credentials, as Zocdoc's Auth0 tenant answers it)
//! and the check of `Authorization: Bearer` on every API call.
//!
//! Tokens are JWT-shaped (HS256) and carry their environment as the `aud` claim. Every emulator
//! instance signs with the same built-in key, so a sandbox token shown to a production emulator
//! verifies but is refused for its audience: exactly the "token environment does not match the
//! API host" case Zocdoc lists. The key is not a secret; these tokens only open an emulator.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::Environment;

/// Signs every emulator token (see the module documentation for why it is shared).
const SIGNING_KEY: &[u8] = b"deskbridge-sandbox: emulator access tokens";

/// The scope that lets a token read appointments.
pub const SCOPE_READ: &str = "external.appointment.read";
/// The scope that lets a token book and change appointments.
pub const SCOPE_WRITE: &str = "external.appointment.write";

/// The JSON body of `POST /oauth/token`. Every field is optional here so that a missing one is
/// answered like Auth0 answers it, not with a deserializer's message.
#[derive(Debug, Deserialize)]
pub(crate) struct TokenRequest {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    audience: Option<String>,
}

/// The answer to a good token request.
#[derive(Debug, Serialize)]
pub(crate) struct TokenResponse {
    pub(crate) access_token: String,
    pub(crate) scope: String,
    pub(crate) expires_in: i64,
    pub(crate) token_type: &'static str,
}

/// Why a token request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum TokenRequestError {
    /// 400 `invalid_request`: the body is not JSON or lacks a field.
    #[error("{0}")]
    Malformed(String),
    /// 400 `unsupported_grant_type`.
    #[error("grant type is not client_credentials")]
    UnsupportedGrant,
    /// 401 `access_denied`: unknown client id or wrong secret.
    #[error("unknown client or wrong secret")]
    BadCredentials,
    /// 401 without a body: the audience is not this environment's API.
    #[error("the audience is not this environment's API")]
    WrongAudience,
}

/// The client the emulator knows, with the scopes it grants.
#[derive(Clone)]
pub(crate) struct Client {
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
    pub(crate) scopes: Vec<String>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("client_id", &self.client_id)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    aud: String,
    iat: i64,
    exp: i64,
    scope: String,
    gty: String,
    azp: String,
    jti: String,
}

/// A token that passed [`check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Granted {
    scopes: Vec<String>,
}

impl Granted {
    pub(crate) fn allows(&self, scope: &str) -> bool {
        self.scopes.iter().any(|granted| granted == scope)
    }
}

/// Why a bearer token was refused (always a 401 without a body; the variant is for logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum TokenRejection {
    #[error("no bearer token")]
    Missing,
    #[error("the token is not one the emulator issued")]
    Malformed,
    #[error("the token belongs to the other environment")]
    OtherEnvironment,
    #[error("the token has expired")]
    Expired,
    #[error("the token was issued before tokens were revoked")]
    Revoked,
}

/// Answers a token request for `environment` at `now`.
pub(crate) fn issue(
    request: &TokenRequest,
    client: &Client,
    environment: Environment,
    now: Timestamp,
    lifetime: SignedDuration,
    jti: String,
) -> Result<TokenResponse, TokenRequestError> {
    let field = |value: &Option<String>, name: &str| {
        value.clone().ok_or_else(|| {
            TokenRequestError::Malformed(format!("Missing required parameter: {name}"))
        })
    };
    let grant_type = field(&request.grant_type, "grant_type")?;
    if grant_type != "client_credentials" {
        return Err(TokenRequestError::UnsupportedGrant);
    }
    let client_id = field(&request.client_id, "client_id")?;
    let client_secret = field(&request.client_secret, "client_secret")?;
    let audience = field(&request.audience, "audience")?;
    if client_id != client.client_id || client_secret != client.client_secret {
        return Err(TokenRequestError::BadCredentials);
    }
    if audience != environment.audience() {
        return Err(TokenRequestError::WrongAudience);
    }
    let scope = client.scopes.join(" ");
    let iat = now.as_second();
    let claims = Claims {
        iss: environment.issuer().to_owned(),
        sub: format!("{client_id}@clients"),
        aud: audience,
        iat,
        exp: iat.saturating_add(lifetime.as_secs()),
        scope: scope.clone(),
        gty: "client-credentials".to_owned(),
        azp: client_id,
        jti,
    };
    Ok(TokenResponse {
        access_token: encode(&claims),
        scope,
        expires_in: lifetime.as_secs(),
        token_type: "Bearer",
    })
}

/// Checks an `Authorization` header value for `environment` at `now`; tokens issued before
/// `not_before` are refused (see `ZocdocEmulator::expire_all_tokens`).
pub(crate) fn check(
    authorization: Option<&str>,
    environment: Environment,
    now: Timestamp,
    not_before: Option<Timestamp>,
) -> Result<Granted, TokenRejection> {
    let token = authorization
        .and_then(|value| {
            value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .ok_or(TokenRejection::Missing)?;
    let claims = decode(token).ok_or(TokenRejection::Malformed)?;
    if claims.aud != environment.audience() {
        return Err(TokenRejection::OtherEnvironment);
    }
    if now.as_second() >= claims.exp {
        return Err(TokenRejection::Expired);
    }
    if not_before.is_some_and(|not_before| claims.iat < not_before.as_second()) {
        return Err(TokenRejection::Revoked);
    }
    Ok(Granted {
        scopes: claims.scope.split(' ').map(str::to_owned).collect(),
    })
}

fn mac() -> Hmac<Sha256> {
    // HMAC accepts keys of any length, so this cannot fail.
    Hmac::<Sha256>::new_from_slice(SIGNING_KEY).expect("HMAC-SHA256 accepts keys of any length")
}

fn encode(claims: &Claims) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
    let signing_input = format!("{header}.{payload}");
    let mut mac = mac();
    mac.update(signing_input.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{signing_input}.{signature}")
}

fn decode(token: &str) -> Option<Claims> {
    let (signing_input, signature) = token.rsplit_once('.')?;
    let (_, payload) = signing_input.split_once('.')?;
    let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
    let mut mac = mac();
    mac.update(signing_input.as_bytes());
    mac.verify_slice(&signature).ok()?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> Client {
        Client {
            client_id: "desk".into(),
            client_secret: "s3cret".into(),
            scopes: vec![SCOPE_READ.into(), SCOPE_WRITE.into()],
        }
    }

    fn request(secret: &str, audience: &str) -> TokenRequest {
        TokenRequest {
            grant_type: Some("client_credentials".into()),
            client_id: Some("desk".into()),
            client_secret: Some(secret.into()),
            audience: Some(audience.into()),
        }
    }

    fn now() -> Timestamp {
        Timestamp::from_second(1_700_000_000).unwrap()
    }

    fn token(environment: Environment) -> String {
        issue(
            &request("s3cret", environment.audience()),
            &client(),
            environment,
            now(),
            SignedDuration::from_mins(60),
            "jti".into(),
        )
        .unwrap()
        .access_token
    }

    #[test]
    fn a_token_works_until_it_expires() {
        let bearer = format!("Bearer {}", token(Environment::Sandbox));
        let granted = check(Some(&bearer), Environment::Sandbox, now(), None).unwrap();
        assert!(granted.allows(SCOPE_READ) && granted.allows(SCOPE_WRITE));
        let later = now() + SignedDuration::from_mins(60);
        assert_eq!(
            check(Some(&bearer), Environment::Sandbox, later, None),
            Err(TokenRejection::Expired)
        );
    }

    #[test]
    fn a_token_of_the_other_environment_is_refused() {
        let bearer = format!("Bearer {}", token(Environment::Production));
        assert_eq!(
            check(Some(&bearer), Environment::Sandbox, now(), None),
            Err(TokenRejection::OtherEnvironment)
        );
    }

    #[test]
    fn a_tampered_token_is_refused() {
        let token = token(Environment::Sandbox);
        let (rest, _) = token.rsplit_once('.').unwrap();
        let bearer = format!("Bearer {rest}.AAAA");
        assert_eq!(
            check(Some(&bearer), Environment::Sandbox, now(), None),
            Err(TokenRejection::Malformed)
        );
        assert_eq!(
            check(None, Environment::Sandbox, now(), None),
            Err(TokenRejection::Missing)
        );
    }

    #[test]
    fn wrong_secret_and_wrong_audience_are_told_apart() {
        let issue_with = |request: &TokenRequest| {
            issue(
                request,
                &client(),
                Environment::Sandbox,
                now(),
                SignedDuration::from_mins(60),
                "jti".into(),
            )
        };
        assert_eq!(
            issue_with(&request("nope", Environment::Sandbox.audience())).unwrap_err(),
            TokenRequestError::BadCredentials
        );
        assert_eq!(
            issue_with(&request("s3cret", Environment::Production.audience())).unwrap_err(),
            TokenRequestError::WrongAudience
        );
    }
}
