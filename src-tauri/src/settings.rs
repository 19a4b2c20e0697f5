//! Settings commands: the practice's own settings file and keyring entries. Secrets are
//! write-only: they go to the keyring and only "stored" or "not stored" ever comes back.

use deskbridge_core::secrets::{SecretName, SecretPurpose, SecretStore as _, SecretValue};
use deskbridge_core::settings::DeskSettings;
use deskbridge_service::credentials;
use serde::{Deserialize, Serialize};
use specta::Type;
use tauri::State;

use crate::desk::Desk;
use crate::ipc::{DeskMode, ErrorCode, UiError};
use crate::views::capitalised;

/// What Settings shows.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SettingsView {
    /// `sandbox` or `production`: the practice's environment these settings are for.
    pub(crate) environment: String,
    pub(crate) practice_name: Option<String>,
    pub(crate) time_zone: Option<String>,
    pub(crate) relay_url: Option<String>,
    pub(crate) direct_listen: Option<String>,
    pub(crate) caspio_host: Option<String>,
    pub(crate) caspio_client_id: Option<String>,
    /// Each secret and whether it is stored (never its value).
    pub(crate) secrets: Vec<SecretState>,
    /// What staff should know about when changes apply.
    pub(crate) note: String,
    /// Whether the demo is running (Settings then offers to start its day again).
    pub(crate) demo: bool,
}

/// One secret's state.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SecretState {
    pub(crate) secret: SecretId,
    pub(crate) label: String,
    pub(crate) stored: bool,
}

/// The secrets Settings takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub(crate) enum SecretId {
    ZocdocClientId,
    ZocdocClientSecret,
    WebhookKey,
    RelayToken,
    CaspioClientSecret,
}

/// The settings staff may change (all text as typed; empty means unset).
#[derive(Debug, Clone, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SettingsInput {
    pub(crate) practice_name: String,
    pub(crate) time_zone: String,
    pub(crate) relay_url: String,
    pub(crate) direct_listen: String,
    pub(crate) caspio_host: String,
    pub(crate) caspio_client_id: String,
}

/// A connection test's result.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TestResult {
    pub(crate) ok: bool,
    pub(crate) message: String,
}

/// The practice's settings and which secrets are stored.
#[tauri::command]
#[specta::specta]
pub(crate) fn settings(desk: State<'_, Desk>) -> Result<SettingsView, UiError> {
    view(&desk)
}

/// Checks and saves the settings file; they apply when Deskbridge starts again.
#[tauri::command]
#[specta::specta]
pub(crate) fn save_settings(
    desk: State<'_, Desk>,
    input: SettingsInput,
) -> Result<SettingsView, UiError> {
    let optional = |text: &str| Some(text.trim().to_owned()).filter(|text| !text.is_empty());
    let direct_listen = match optional(&input.direct_listen) {
        Some(text) => Some(text.parse().map_err(|_| {
            invalid(format!(
                "\u{201c}{text}\u{201d} is not an address to listen on (e.g. 0.0.0.0:8787)."
            ))
        })?),
        None => None,
    };
    let relay_url = optional(&input.relay_url);
    if let Some(url) = &relay_url
        && !(url.starts_with("wss://") || url.starts_with("ws://127.0.0.1"))
    {
        return Err(invalid(
            "The relay URL starts with wss:// (as `deskbridge-relay endpoint add` printed it).",
        ));
    }
    let caspio_host = optional(&input.caspio_host);
    if let Some(host) = &caspio_host {
        deskbridge_caspio::IntegrationHost::parse(host).map_err(|_| {
            invalid(format!(
                "\u{201c}{host}\u{201d} is not a Caspio integration host (it ends in .caspio.com)."
            ))
        })?;
    }
    let settings = DeskSettings {
        practice_name: optional(&input.practice_name),
        time_zone: optional(&input.time_zone),
        relay_url,
        direct_listen,
        caspio_host,
        caspio_client_id: optional(&input.caspio_client_id),
        // Not edited here yet: kept as the file has it.
        caspio_mapping: DeskSettings::load(&desk.live.data_dir)
            .ok()
            .and_then(|current| current.caspio_mapping),
    };
    std::fs::create_dir_all(&desk.live.data_dir).map_err(|error| invalid(error.to_string()))?;
    settings
        .save(&desk.live.data_dir)
        .map_err(|error| invalid(capitalised(&error.to_string())))?;
    tracing::info!("settings saved");
    view(&desk)
}

/// Stores one secret in the keyring after checking it; the value never comes back.
#[tauri::command]
#[specta::specta]
pub(crate) fn store_secret(
    desk: State<'_, Desk>,
    secret: SecretId,
    value: String,
) -> Result<SettingsView, UiError> {
    let purpose = purpose(secret);
    let text = credentials::check(purpose, &value).map_err(invalid)?;
    desk.live
        .secrets
        .set(
            &SecretName::new(desk.live.environment, purpose),
            &SecretValue::from_text(text),
        )
        .map_err(|error| {
            UiError::new(
                ErrorCode::KeyringUnavailable,
                format!(
                    "The keyring refused the {}: {error}",
                    credentials::label(purpose)
                ),
            )
        })?;
    tracing::info!(secret = purpose.as_str(), "secret stored in the keyring");
    view(&desk)
}

/// Tries the stored Zocdoc credentials with one small read.
#[tauri::command]
#[specta::specta]
pub(crate) async fn test_zocdoc(desk: State<'_, Desk>) -> Result<TestResult, UiError> {
    let client = match credentials::zocdoc_client(&desk.live.secrets, desk.live.environment) {
        Ok(Some(client)) => client,
        Ok(None) => {
            return Ok(TestResult {
                ok: false,
                message: "No Zocdoc API credentials are stored yet.".to_owned(),
            });
        }
        Err(error) => {
            return Ok(TestResult {
                ok: false,
                message: capitalised(&error.to_string()),
            });
        }
    };
    Ok(match credentials::test_zocdoc(&client).await {
        Ok(message) => TestResult { ok: true, message },
        Err(message) => TestResult { ok: false, message },
    })
}

/// Starts the demo's day again: receiving stops, the app restarts, and the demo replays its day
/// into a fresh demo database (real data and keyring entries are not touched).
#[tauri::command]
#[specta::specta]
pub(crate) async fn reset_demo(
    handle: tauri::AppHandle,
    desk: State<'_, Desk>,
) -> Result<(), UiError> {
    if desk.mode != DeskMode::Demo {
        return Err(invalid(
            "Only the demo can be started again; this is the practice's own desk.",
        ));
    }
    tracing::info!("demo reset: restarting");
    desk.stop().await;
    handle.restart()
}

fn view(desk: &Desk) -> Result<SettingsView, UiError> {
    let settings = DeskSettings::load(&desk.live.data_dir)
        .map_err(|error| invalid(capitalised(&error.to_string())))?;
    let secrets = credentials::ENTERED_SECRETS
        .into_iter()
        .filter_map(|purpose| Some((purpose, secret_id(purpose)?)))
        .map(|(purpose, secret)| {
            let stored = desk
                .live
                .secrets
                .get(&SecretName::new(desk.live.environment, purpose))
                .map_err(|error| UiError::new(ErrorCode::KeyringUnavailable, error.to_string()))?
                .is_some();
            Ok(SecretState {
                secret,
                label: capitalised(credentials::label(purpose)),
                stored,
            })
        })
        .collect::<Result<_, UiError>>()?;
    let note = match desk.mode {
        DeskMode::Demo => {
            "Deskbridge is showing the demo. Once the Zocdoc credentials or the webhook \
                           key are stored, it starts with your practice's own data next time."
                .to_owned()
        }
        DeskMode::Live => "Changes apply the next time Deskbridge starts.".to_owned(),
    };
    Ok(SettingsView {
        environment: desk.live.environment.as_str().to_owned(),
        practice_name: settings.practice_name,
        time_zone: settings.time_zone,
        relay_url: settings.relay_url,
        direct_listen: settings.direct_listen.map(|address| address.to_string()),
        caspio_host: settings.caspio_host,
        caspio_client_id: settings.caspio_client_id,
        secrets,
        note,
        demo: desk.mode == DeskMode::Demo,
    })
}

fn purpose(secret: SecretId) -> SecretPurpose {
    match secret {
        SecretId::ZocdocClientId => SecretPurpose::ZocdocClientId,
        SecretId::ZocdocClientSecret => SecretPurpose::ZocdocClientSecret,
        SecretId::WebhookKey => SecretPurpose::WebhookKey,
        SecretId::RelayToken => SecretPurpose::RelayToken,
        SecretId::CaspioClientSecret => SecretPurpose::CaspioClientSecret,
    }
}

/// The Settings name of a secret staff enter; `None` for the database key, which nobody types.
fn secret_id(purpose: SecretPurpose) -> Option<SecretId> {
    match purpose {
        SecretPurpose::ZocdocClientId => Some(SecretId::ZocdocClientId),
        SecretPurpose::ZocdocClientSecret => Some(SecretId::ZocdocClientSecret),
        SecretPurpose::WebhookKey => Some(SecretId::WebhookKey),
        SecretPurpose::RelayToken => Some(SecretId::RelayToken),
        SecretPurpose::CaspioClientSecret => Some(SecretId::CaspioClientSecret),
        SecretPurpose::DatabaseKey => None,
    }
}

fn invalid(message: impl Into<String>) -> UiError {
    UiError::new(ErrorCode::InvalidRequest, message)
}
