//! Secrets (the database key, the webhook key) behind a small trait: the system keyring in the
//! app, memory in unit tests.
//!
//! Every secret is named by environment and purpose, so sandbox and production never share an
//! entry. Values are [`SecretValue`]s: their `Debug` never shows the bytes, and they are wiped
//! from memory when dropped. Errors say, in words a front desk understands, what went wrong and
//! what to do; they never contain a secret.

use std::collections::HashMap;
use std::error::Error as StdError;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use zeroize::Zeroizing;

use crate::environment::Environment;

/// The service name under which Deskbridge's entries are kept in the system keyring.
pub const KEYRING_SERVICE: &str = "Deskbridge";

/// What a secret is for. With the environment it makes the secret's [`SecretName`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecretPurpose {
    /// The 32-byte raw key of the encrypted database, kept as 64 hex digits.
    DatabaseKey,
    /// The shared key Zocdoc signs webhooks with, kept as the base64 text Zocdoc hands out.
    WebhookKey,
    /// The token of this desk's relay endpoint, as `deskbridge-relay endpoint add` printed it.
    RelayToken,
    /// The client id of the practice's Zocdoc API credentials.
    ZocdocClientId,
    /// The client secret of the practice's Zocdoc API credentials.
    ZocdocClientSecret,
    /// The client secret of the practice's Caspio web services profile.
    CaspioClientSecret,
}

impl SecretPurpose {
    /// The stable name used in keyring entries.
    pub fn as_str(self) -> &'static str {
        match self {
            SecretPurpose::DatabaseKey => "database-key",
            SecretPurpose::WebhookKey => "webhook-key",
            SecretPurpose::RelayToken => "relay-token",
            SecretPurpose::ZocdocClientId => "zocdoc-client-id",
            SecretPurpose::ZocdocClientSecret => "zocdoc-client-secret",
            SecretPurpose::CaspioClientSecret => "caspio-client-secret",
        }
    }
}

/// The name of one secret: environment and purpose, e.g. `sandbox/database-key`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SecretName {
    environment: Environment,
    purpose: SecretPurpose,
}

impl SecretName {
    /// The secret for `purpose` in `environment`.
    pub fn new(environment: Environment, purpose: SecretPurpose) -> Self {
        Self {
            environment,
            purpose,
        }
    }

    /// The environment the secret belongs to.
    pub fn environment(&self) -> Environment {
        self.environment
    }

    /// What the secret is for.
    pub fn purpose(&self) -> SecretPurpose {
        self.purpose
    }

    /// The entry name in a secret store: `<environment>/<purpose>`.
    pub fn key(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for SecretName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.environment.as_str(), self.purpose.as_str())
    }
}

/// A secret's bytes. `Debug` never shows them; they are overwritten with zeros when dropped.
#[derive(Clone)]
pub struct SecretValue(Zeroizing<Vec<u8>>);

impl SecretValue {
    /// Wraps secret bytes (taking ownership, so no copy is left behind).
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// Wraps secret text, such as a base64 key typed into the settings.
    pub fn from_text(text: String) -> Self {
        Self::new(text.into_bytes())
    }

    /// The secret bytes. Callers must not log, display or copy them anywhere but where they are
    /// used.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// The secret as text, when it is UTF-8.
    pub fn expose_text(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }

    /// Compares two secrets without an early exit on the first differing byte.
    pub fn constant_time_eq(&self, other: &SecretValue) -> bool {
        let (a, b) = (self.expose(), other.expose());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretValue(..)")
    }
}

/// Why a secret store could not be used. A missing entry is not an error (`Ok(None)`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// The keyring exists but is locked (or the unlock prompt was dismissed).
    #[error(
        "The computer's keyring is locked, so Deskbridge cannot read its keys. Unlock the keyring \
         (sign out and back in, or open \"Passwords and Keys\" and unlock \"Login\"), then try \
         again. (Details: {detail})"
    )]
    Locked {
        /// What the platform reported, for support staff. Never contains a secret.
        detail: String,
    },
    /// No keyring service can be reached (no D-Bus session, no Secret Service daemon).
    #[error(
        "Deskbridge cannot reach the computer's keyring service. Sign in to the desktop normally \
         (the keyring starts with the desktop session); if it keeps happening, ask IT support to \
         check that the keyring (Secret Service, e.g. GNOME Keyring) is installed and running. \
         (Details: {detail})"
    )]
    Unavailable {
        /// What the platform reported, for support staff. Never contains a secret.
        detail: String,
    },
    /// Any other failure of the platform's secure storage.
    #[error(
        "The computer's keyring reported an error, so Deskbridge cannot use its keys. Restart the \
         computer and try again; if it keeps happening, contact support. (Details: {detail})"
    )]
    Platform {
        /// What the platform reported, for support staff. Never contains a secret.
        detail: String,
    },
}

/// A store of named secrets.
pub trait SecretStore: Send + Sync + fmt::Debug {
    /// The secret's value, or `None` when there is no entry for it.
    fn get(&self, name: &SecretName) -> Result<Option<SecretValue>, SecretError>;

    /// Creates or replaces the secret's entry.
    fn set(&self, name: &SecretName, value: &SecretValue) -> Result<(), SecretError>;

    /// Removes the secret's entry. True when there was one.
    fn delete(&self, name: &SecretName) -> Result<bool, SecretError>;
}

/// The system keyring (Secret Service on Linux, Keychain on macOS, Credential Manager on
/// Windows), through the `keyring` crate.
#[derive(Debug, Clone)]
pub struct KeyringSecrets {
    service: String,
}

impl KeyringSecrets {
    /// Entries under the service [`KEYRING_SERVICE`].
    pub fn new() -> Self {
        Self::with_service(KEYRING_SERVICE)
    }

    /// Entries under another service name, so tests never touch the app's real entries.
    pub fn with_service(service: impl Into<String>) -> Self {
        Self {
            service: service.into(),
        }
    }

    /// The service name entries are kept under.
    pub fn service(&self) -> &str {
        &self.service
    }

    fn entry(&self, name: &SecretName) -> Result<keyring::Entry, SecretError> {
        keyring::Entry::new(&self.service, &name.key()).map_err(|err| classify(&err))
    }
}

impl Default for KeyringSecrets {
    fn default() -> Self {
        Self::new()
    }
}

impl SecretStore for KeyringSecrets {
    fn get(&self, name: &SecretName) -> Result<Option<SecretValue>, SecretError> {
        match self.entry(name)?.get_secret() {
            Ok(bytes) => Ok(Some(SecretValue::new(bytes))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(err) => Err(classify(&err)),
        }
    }

    fn set(&self, name: &SecretName, value: &SecretValue) -> Result<(), SecretError> {
        self.entry(name)?
            .set_secret(value.expose())
            .map_err(|err| classify(&err))
    }

    fn delete(&self, name: &SecretName) -> Result<bool, SecretError> {
        match self.entry(name)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(err) => Err(classify(&err)),
        }
    }
}

/// Maps a keyring failure to a [`SecretError`] without ever showing a secret (`BadEncoding`
/// carries the stored bytes, so its contents are never used).
fn classify(err: &keyring::Error) -> SecretError {
    match err {
        keyring::Error::NoStorageAccess(inner) => SecretError::Locked {
            detail: describe(inner.as_ref()),
        },
        keyring::Error::PlatformFailure(inner) => classify_platform_failure(inner.as_ref()),
        keyring::Error::NoEntry => SecretError::Platform {
            detail: "the keyring entry disappeared while it was being used".to_owned(),
        },
        keyring::Error::BadEncoding(_) => SecretError::Platform {
            detail: "the keyring returned a value in an unexpected encoding".to_owned(),
        },
        keyring::Error::TooLong(attribute, limit) => SecretError::Platform {
            detail: format!("the keyring entry's {attribute} is longer than {limit} characters"),
        },
        keyring::Error::Invalid(attribute, reason) => SecretError::Platform {
            detail: format!("the keyring entry's {attribute} is invalid: {reason}"),
        },
        keyring::Error::Ambiguous(matches) => SecretError::Platform {
            detail: format!(
                "{} keyring entries have the same name; remove the extra ones",
                matches.len()
            ),
        },
        _ => SecretError::Platform {
            detail: "the keyring reported an unknown error".to_owned(),
        },
    }
}

/// The platform's message, with the D-Bus error name when there is one.
fn describe(err: &(dyn StdError + Send + Sync + 'static)) -> String {
    match dbus_error_name(err) {
        Some(name) => format!("{err} [{name}]"),
        None => err.to_string(),
    }
}

/// D-Bus errors that mean nobody is there to answer: no session bus, or no Secret Service on it.
#[cfg(target_os = "linux")]
const UNREACHABLE_DBUS_ERRORS: [&str; 10] = [
    "org.freedesktop.DBus.Error.ServiceUnknown",
    "org.freedesktop.DBus.Error.NameHasNoOwner",
    "org.freedesktop.DBus.Error.NoServer",
    "org.freedesktop.DBus.Error.NotSupported",
    "org.freedesktop.DBus.Error.FileNotFound",
    "org.freedesktop.DBus.Error.BadAddress",
    "org.freedesktop.DBus.Error.Disconnected",
    "org.freedesktop.DBus.Error.NoReply",
    "org.freedesktop.DBus.Error.Timeout",
    "org.freedesktop.DBus.Error.TimedOut",
];

/// The Secret Service's error for an operation on a locked collection or item.
#[cfg(target_os = "linux")]
const LOCKED_DBUS_ERROR: &str = "org.freedesktop.Secret.Error.IsLocked";

/// Classifies a platform failure by the typed errors in its chain (the Secret Service client's
/// and D-Bus's own), never by the wording of a message.
#[cfg(target_os = "linux")]
fn classify_platform_failure(err: &(dyn StdError + Send + Sync + 'static)) -> SecretError {
    let detail = describe(err);
    let mut current: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(link) = current {
        match link.downcast_ref::<dbus_secret_service::Error>() {
            Some(dbus_secret_service::Error::Unavailable) => {
                return SecretError::Unavailable { detail };
            }
            Some(dbus_secret_service::Error::Locked | dbus_secret_service::Error::Prompt) => {
                return SecretError::Locked { detail };
            }
            _ => {}
        }
        if let Some(name) = link
            .downcast_ref::<dbus::Error>()
            .and_then(dbus::Error::name)
        {
            return if name == LOCKED_DBUS_ERROR {
                SecretError::Locked { detail }
            } else if UNREACHABLE_DBUS_ERRORS.contains(&name)
                || name.starts_with("org.freedesktop.DBus.Error.Spawn")
            {
                SecretError::Unavailable { detail }
            } else {
                SecretError::Platform { detail }
            };
        }
        current = link.source();
    }
    SecretError::Platform { detail }
}

/// Elsewhere the keyring crate reports a locked store as `NoStorageAccess` itself.
#[cfg(not(target_os = "linux"))]
fn classify_platform_failure(err: &(dyn StdError + Send + Sync + 'static)) -> SecretError {
    SecretError::Platform {
        detail: describe(err),
    }
}

/// The D-Bus error name somewhere in the error's chain.
#[cfg(target_os = "linux")]
fn dbus_error_name(err: &(dyn StdError + Send + Sync + 'static)) -> Option<String> {
    let mut current: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(err) = current {
        if let Some(name) = err
            .downcast_ref::<dbus::Error>()
            .and_then(dbus::Error::name)
        {
            return Some(name.to_owned());
        }
        current = err.source();
    }
    None
}

#[cfg(not(target_os = "linux"))]
fn dbus_error_name(_err: &(dyn StdError + Send + Sync + 'static)) -> Option<String> {
    None
}

/// How a [`MemorySecrets`] store misbehaves, to test the paths of a real keyring's failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemoryFailure {
    /// Every call fails with [`SecretError::Locked`].
    Locked,
    /// Every call fails with [`SecretError::Unavailable`].
    Unavailable,
    /// Every call fails with [`SecretError::Platform`].
    Platform,
    /// Writes report success but keep nothing (as a misconfigured backend might).
    ForgetWrites,
}

/// Secrets in memory, for tests and demos: nothing survives the process. Clones share entries.
#[derive(Debug, Clone, Default)]
pub struct MemorySecrets {
    inner: Arc<Mutex<MemoryInner>>,
}

#[derive(Debug, Default)]
struct MemoryInner {
    entries: HashMap<SecretName, SecretValue>,
    failure: Option<MemoryFailure>,
    writes: u64,
}

impl MemorySecrets {
    /// An empty store that works.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes every later call misbehave as `failure` says (`None`: work again).
    pub fn fail_with(&self, failure: Option<MemoryFailure>) {
        self.lock().failure = failure;
    }

    /// How many `set` calls succeeded (including forgotten ones), to prove that nothing was
    /// written.
    pub fn writes(&self) -> u64 {
        self.lock().writes
    }

    /// True when the store holds an entry for `name` (ignores any failure mode).
    pub fn contains(&self, name: &SecretName) -> bool {
        self.lock().entries.contains_key(name)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, MemoryInner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl MemoryInner {
    fn check(&self) -> Result<(), SecretError> {
        let detail = "simulated by MemorySecrets".to_owned();
        match self.failure {
            Some(MemoryFailure::Locked) => Err(SecretError::Locked { detail }),
            Some(MemoryFailure::Unavailable) => Err(SecretError::Unavailable { detail }),
            Some(MemoryFailure::Platform) => Err(SecretError::Platform { detail }),
            Some(MemoryFailure::ForgetWrites) | None => Ok(()),
        }
    }
}

impl SecretStore for MemorySecrets {
    fn get(&self, name: &SecretName) -> Result<Option<SecretValue>, SecretError> {
        let inner = self.lock();
        inner.check()?;
        Ok(inner.entries.get(name).cloned())
    }

    fn set(&self, name: &SecretName, value: &SecretValue) -> Result<(), SecretError> {
        let mut inner = self.lock();
        inner.check()?;
        inner.writes += 1;
        if inner.failure != Some(MemoryFailure::ForgetWrites) {
            inner.entries.insert(*name, value.clone());
        }
        Ok(())
    }

    fn delete(&self, name: &SecretName) -> Result<bool, SecretError> {
        let mut inner = self.lock();
        inner.check()?;
        Ok(inner.entries.remove(name).is_some())
    }
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::*;

    const SANDBOX_DB: SecretName = SecretName {
        environment: Environment::Sandbox,
        purpose: SecretPurpose::DatabaseKey,
    };

    #[test]
    fn names_are_per_environment_and_purpose() {
        assert_eq!(SANDBOX_DB.key(), "sandbox/database-key");
        assert_eq!(SANDBOX_DB.to_string(), "sandbox/database-key");
        let production = SecretName::new(Environment::Production, SecretPurpose::DatabaseKey);
        assert_eq!(production.key(), "production/database-key");
        assert_ne!(production, SANDBOX_DB);
        let webhook = SecretName::new(Environment::Sandbox, SecretPurpose::WebhookKey);
        assert_eq!(webhook.key(), "sandbox/webhook-key");
        assert_eq!(webhook.environment(), Environment::Sandbox);
        assert_eq!(webhook.purpose(), SecretPurpose::WebhookKey);
    }

    #[test]
    fn secret_values_never_show_in_debug() {
        let value = SecretValue::from_text("hunter2-very-secret".to_owned());
        let shown = format!("{value:?} {:?}", Some(&value));
        assert!(!shown.contains("hunter2"), "{shown}");
        assert_eq!(value.expose_text(), Some("hunter2-very-secret"));
        assert_eq!(SecretValue::new(vec![0xff]).expose_text(), None);

        let store = MemorySecrets::new();
        store.set(&SANDBOX_DB, &value).unwrap();
        let shown = format!("{store:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn constant_time_comparison() {
        let a = SecretValue::new(vec![1, 2, 3]);
        assert!(a.constant_time_eq(&SecretValue::new(vec![1, 2, 3])));
        assert!(!a.constant_time_eq(&SecretValue::new(vec![1, 2, 4])));
        assert!(!a.constant_time_eq(&SecretValue::new(vec![1, 2])));
    }

    #[test]
    fn memory_store_gets_sets_and_deletes() {
        let store = MemorySecrets::new();
        assert!(store.get(&SANDBOX_DB).unwrap().is_none());
        store
            .set(&SANDBOX_DB, &SecretValue::new(b"one".to_vec()))
            .unwrap();
        store
            .set(&SANDBOX_DB, &SecretValue::new(b"two".to_vec()))
            .unwrap();
        assert_eq!(store.get(&SANDBOX_DB).unwrap().unwrap().expose(), b"two");
        assert_eq!(store.writes(), 2);
        let production = SecretName::new(Environment::Production, SecretPurpose::DatabaseKey);
        assert!(store.get(&production).unwrap().is_none());
        assert!(store.delete(&SANDBOX_DB).unwrap());
        assert!(!store.delete(&SANDBOX_DB).unwrap());
        assert!(store.get(&SANDBOX_DB).unwrap().is_none());
    }

    #[test]
    fn memory_store_simulates_failures() {
        let store = MemorySecrets::new();
        let value = SecretValue::new(b"v".to_vec());
        store.fail_with(Some(MemoryFailure::Locked));
        assert!(matches!(
            store.get(&SANDBOX_DB),
            Err(SecretError::Locked { .. })
        ));
        store.fail_with(Some(MemoryFailure::Unavailable));
        assert!(matches!(
            store.set(&SANDBOX_DB, &value),
            Err(SecretError::Unavailable { .. })
        ));
        store.fail_with(Some(MemoryFailure::Platform));
        assert!(matches!(
            store.delete(&SANDBOX_DB),
            Err(SecretError::Platform { .. })
        ));
        store.fail_with(Some(MemoryFailure::ForgetWrites));
        store.set(&SANDBOX_DB, &value).unwrap();
        assert!(store.get(&SANDBOX_DB).unwrap().is_none());
        store.fail_with(None);
        assert_eq!(store.writes(), 1);
        assert!(!store.contains(&SANDBOX_DB));
    }

    #[test]
    fn error_messages_say_what_to_do() {
        let detail = "d".to_owned();
        let locked = SecretError::Locked {
            detail: detail.clone(),
        };
        assert!(locked.to_string().contains("locked"));
        assert!(locked.to_string().contains("unlock"));
        let unavailable = SecretError::Unavailable {
            detail: detail.clone(),
        };
        assert!(unavailable.to_string().contains("cannot reach"));
        assert!(unavailable.to_string().contains("IT support"));
        let platform = SecretError::Platform { detail };
        assert!(platform.to_string().contains("contact support"));
    }

    fn boxed(message: &str) -> Box<dyn StdError + Send + Sync> {
        Box::new(io::Error::other(message.to_owned()))
    }

    #[test]
    fn keyring_errors_are_classified() {
        assert!(matches!(
            classify(&keyring::Error::NoStorageAccess(boxed("object locked"))),
            SecretError::Locked { .. }
        ));
        assert!(matches!(
            classify(&keyring::Error::PlatformFailure(boxed("disk on fire"))),
            SecretError::Platform { .. }
        ));
        let secret_bytes = b"hunter2".to_vec();
        let bad = classify(&keyring::Error::BadEncoding(secret_bytes));
        assert!(!bad.to_string().contains("hunter2"), "{bad}");
        assert!(!format!("{bad:?}").contains("hunter2"));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn secret_service_failures_are_classified_by_dbus_error_name() {
        let no_provider =
            keyring::Error::PlatformFailure(Box::new(dbus_secret_service::Error::Unavailable));
        assert!(matches!(
            classify(&no_provider),
            SecretError::Unavailable { .. }
        ));
        for name in [
            "org.freedesktop.DBus.Error.ServiceUnknown",
            "org.freedesktop.DBus.Error.NotSupported",
            "org.freedesktop.DBus.Error.Spawn.ExecFailed",
        ] {
            let dbus = dbus::Error::new_custom(name, "nobody home");
            let err =
                keyring::Error::PlatformFailure(Box::new(dbus_secret_service::Error::Dbus(dbus)));
            match classify(&err) {
                SecretError::Unavailable { detail } => assert!(detail.contains(name), "{detail}"),
                other => panic!("{name}: {other:?}"),
            }
        }
        let locked = dbus::Error::new_custom(LOCKED_DBUS_ERROR, "locked collection");
        let err =
            keyring::Error::PlatformFailure(Box::new(dbus_secret_service::Error::Dbus(locked)));
        assert!(matches!(classify(&err), SecretError::Locked { .. }));
        let prompt = keyring::Error::PlatformFailure(Box::new(dbus_secret_service::Error::Prompt));
        assert!(matches!(classify(&prompt), SecretError::Locked { .. }));

        let other = dbus::Error::new_custom("org.freedesktop.DBus.Error.Failed", "boom");
        let err =
            keyring::Error::PlatformFailure(Box::new(dbus_secret_service::Error::Dbus(other)));
        assert!(matches!(classify(&err), SecretError::Platform { .. }));
    }
}
