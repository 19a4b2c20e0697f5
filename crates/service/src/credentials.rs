//! The desk's credentials as staff type them: what each secret is called, how its text is checked
//! before it goes to the keyring (the same rules for the desktop app and `deskbridge-cli`), and the
//! Zocdoc client built from the stored pair.

use deskbridge_core::environment::Environment;
use deskbridge_core::secrets::{SecretName, SecretPurpose, SecretStore, SecretValue};
use deskbridge_relay::token::TOKEN_PREFIX;
use deskbridge_zocdoc::api::{
    Client, ClientId, ClientSecret, Environment as ZocdocEnvironment, ListQuery,
};
use deskbridge_zocdoc::webhook::WebhookKey;

/// The secrets staff enter, in the order Settings lists them.
pub const ENTERED_SECRETS: [SecretPurpose; 5] = [
    SecretPurpose::ZocdocClientId,
    SecretPurpose::ZocdocClientSecret,
    SecretPurpose::WebhookKey,
    SecretPurpose::RelayToken,
    SecretPurpose::CaspioClientSecret,
];

/// What staff call a secret, e.g. "webhook key".
pub fn label(purpose: SecretPurpose) -> &'static str {
    match purpose {
        SecretPurpose::DatabaseKey => "database key",
        SecretPurpose::WebhookKey => "webhook key",
        SecretPurpose::RelayToken => "relay token",
        SecretPurpose::ZocdocClientId => "Zocdoc client id",
        SecretPurpose::ZocdocClientSecret => "Zocdoc client secret",
        SecretPurpose::CaspioClientSecret => "Caspio client secret",
    }
}

/// Checks a secret's text as typed; answers the text to store (trimmed) or what is wrong with
/// it, in words that never repeat the text.
pub fn check(purpose: SecretPurpose, text: &str) -> Result<String, String> {
    let text = text.trim();
    let printable = !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_graphic());
    match purpose {
        SecretPurpose::WebhookKey => WebhookKey::from_base64(text)
            .map(|_| text.to_owned())
            .map_err(|_| {
                "That is not a webhook key: Zocdoc gives it as base64 text (letters, digits, + / and =)."
                    .to_owned()
            }),
        SecretPurpose::RelayToken if printable && text.starts_with(TOKEN_PREFIX) => {
            Ok(text.to_owned())
        }
        SecretPurpose::RelayToken => Err(format!(
            "That is not a relay token: it starts with {TOKEN_PREFIX}, as the relay printed it."
        )),
        SecretPurpose::ZocdocClientId
        | SecretPurpose::ZocdocClientSecret
        | SecretPurpose::CaspioClientSecret
            if printable =>
        {
            Ok(text.to_owned())
        }
        SecretPurpose::ZocdocClientId
        | SecretPurpose::ZocdocClientSecret
        | SecretPurpose::CaspioClientSecret => Err(format!(
            "That is not a {}: it is printable text without spaces.",
            label(purpose)
        )),
        SecretPurpose::DatabaseKey => {
            Err("The database key is made by Deskbridge and cannot be typed in.".to_owned())
        }
    }
}

/// Why the Zocdoc client could not be had from the keyring.
#[derive(Debug, thiserror::Error)]
pub enum ZocdocCredentialsError {
    /// The keyring could not be read.
    #[error("the keyring could not be read: {0}")]
    Keyring(String),
    /// Only one of the two is stored.
    #[error(
        "only half of the Zocdoc API credentials is stored: enter both the client id and the secret"
    )]
    Incomplete,
    /// The client could not be built.
    #[error("the Zocdoc client could not be set up: {0}")]
    Client(String),
}

/// Where a test or a sandbox set-up points the Zocdoc client instead of Zocdoc's own hosts
/// (honoured in the sandbox environment only).
pub const ZOCDOC_BASE_URL_VAR: &str = "DESKBRIDGE_ZOCDOC_BASE_URL";
/// The token URL to use with [`ZOCDOC_BASE_URL_VAR`].
pub const ZOCDOC_TOKEN_URL_VAR: &str = "DESKBRIDGE_ZOCDOC_TOKEN_URL";

/// The Zocdoc client from the credentials stored for `environment`; `None` when neither is.
pub fn zocdoc_client(
    secrets: &dyn SecretStore,
    environment: Environment,
) -> Result<Option<Client>, ZocdocCredentialsError> {
    let read = |purpose| -> Result<Option<String>, ZocdocCredentialsError> {
        let value: Option<SecretValue> = secrets
            .get(&SecretName::new(environment, purpose))
            .map_err(|error| ZocdocCredentialsError::Keyring(error.to_string()))?;
        Ok(value.and_then(|value| value.expose_text().map(|text| text.trim().to_owned())))
    };
    let (id, secret) = match (
        read(SecretPurpose::ZocdocClientId)?,
        read(SecretPurpose::ZocdocClientSecret)?,
    ) {
        (None, None) => return Ok(None),
        (Some(id), Some(secret)) => (id, secret),
        _ => return Err(ZocdocCredentialsError::Incomplete),
    };
    let zocdoc_environment = match environment {
        Environment::Sandbox => ZocdocEnvironment::Sandbox,
        Environment::Production => ZocdocEnvironment::Production,
    };
    let mut builder = Client::builder(
        zocdoc_environment,
        ClientId::new(id),
        ClientSecret::new(secret),
    );
    if environment == Environment::Sandbox {
        if let Ok(url) = std::env::var(ZOCDOC_BASE_URL_VAR) {
            builder = builder.base_url(url);
        }
        if let Ok(url) = std::env::var(ZOCDOC_TOKEN_URL_VAR) {
            builder = builder.token_url(url);
        }
    }
    builder
        .build()
        .map(Some)
        .map_err(|error| ZocdocCredentialsError::Client(error.to_string()))
}

/// Tries the Zocdoc credentials with one small read; answers what happened in plain words.
pub async fn test_zocdoc(client: &Client) -> Result<String, String> {
    let query = ListQuery {
        page_size: Some(1),
        ..ListQuery::default()
    };
    match client.list_appointments(&query).await {
        Ok(page) => Ok(format!(
            "Zocdoc answered: the credentials work ({} appointments visible).",
            page.total_count
        )),
        Err(error) => Err(error.staff_message()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_secret_is_checked_and_a_refusal_never_repeats_it() {
        let cases = [
            (
                SecretPurpose::WebhookKey,
                " MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n",
                true,
            ),
            (SecretPurpose::WebhookKey, "not base64 at all!", false),
            (SecretPurpose::RelayToken, "dbr_abc123", true),
            (SecretPurpose::RelayToken, "abc123", false),
            (SecretPurpose::ZocdocClientId, "client-1", true),
            (SecretPurpose::ZocdocClientSecret, "has space", false),
            (SecretPurpose::ZocdocClientSecret, "", false),
            (SecretPurpose::DatabaseKey, "00", false),
        ];
        for (purpose, text, valid) in cases {
            match check(purpose, text) {
                Ok(stored) => {
                    assert!(valid, "{purpose:?} accepted {text:?}");
                    assert_eq!(stored, text.trim());
                }
                Err(why) => {
                    assert!(!valid, "{purpose:?} refused {text:?}: {why}");
                    assert!(
                        text.trim().is_empty() || !why.contains(text.trim()),
                        "{why}"
                    );
                }
            }
        }
    }
}
