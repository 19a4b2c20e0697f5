//! `KeyringSecrets` and `Store::open` against the real Secret Service.

use deskbridge_core::environment::Environment;
use deskbridge_core::random::OsRandom;
use deskbridge_core::secrets::{
    KeyringSecrets, SecretName, SecretPurpose, SecretStore, SecretValue,
};
use deskbridge_core::store::{OpenError, Store};
use tempfile::TempDir;

/// A keyring store under a service name of this test alone; its entries are removed on drop.
struct TestKeyring {
    secrets: KeyringSecrets,
}

impl TestKeyring {
    fn new(test: &str) -> TestKeyring {
        assert!(
            std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(),
            "the keyring tests use the real Secret Service and need a D-Bus session bus with an \
             unlocked keyring, but DBUS_SESSION_BUS_ADDRESS is not set: run them through \
             `cargo xtask test`, which provides that session"
        );
        let service = format!("Deskbridge-test-{}-{test}", std::process::id());
        TestKeyring {
            secrets: KeyringSecrets::with_service(service),
        }
    }
}

impl Drop for TestKeyring {
    fn drop(&mut self) {
        for environment in [Environment::Sandbox, Environment::Production] {
            for purpose in [SecretPurpose::DatabaseKey, SecretPurpose::WebhookKey] {
                // Best effort: a failure here must not hide the test's own result.
                let _ = self.secrets.delete(&SecretName::new(environment, purpose));
            }
        }
    }
}

#[test]
fn a_secret_is_stored_read_and_deleted() {
    let keyring = TestKeyring::new("roundtrip");
    let secrets = &keyring.secrets;
    let name = SecretName::new(Environment::Sandbox, SecretPurpose::WebhookKey);
    assert!(secrets.get(&name).expect("keyring reachable").is_none());

    let value = SecretValue::from_text("g9Y9hjTUk9KKH7ffBRbtRmJYo2OISsdMK4flbfDa3zR=".to_owned());
    secrets.set(&name, &value).expect("stored");
    let read = secrets.get(&name).expect("read").expect("present");
    assert!(read.constant_time_eq(&value));

    let replaced = SecretValue::new(vec![0, 1, 2, 255]);
    secrets.set(&name, &replaced).expect("replaced");
    let read = secrets.get(&name).expect("read").expect("present");
    assert!(read.constant_time_eq(&replaced), "binary values survive");

    // The other environment's entry of the same purpose is a different entry.
    let production = SecretName::new(Environment::Production, SecretPurpose::WebhookKey);
    assert!(secrets.get(&production).expect("read").is_none());

    assert!(secrets.delete(&name).expect("deleted"));
    assert!(secrets.get(&name).expect("read").is_none());
    assert!(!secrets.delete(&name).expect("nothing left to delete"));
}

#[test]
fn the_store_creates_its_key_in_the_keyring_and_reuses_it() {
    let keyring = TestKeyring::new("store");
    let dir = TempDir::new().expect("temp dir");
    let name = SecretName::new(Environment::Sandbox, SecretPurpose::DatabaseKey);

    let store = Store::open(
        dir.path(),
        Environment::Sandbox,
        &keyring.secrets,
        &OsRandom,
    )
    .expect("first open creates key and database");
    let key = keyring
        .secrets
        .get(&name)
        .expect("read")
        .expect("the key is in the keyring");
    let text = key.expose_text().expect("hex text");
    assert_eq!(text.len(), 64);
    assert!(text.bytes().all(|b| b.is_ascii_hexdigit()));
    drop(store);

    let store = Store::open(
        dir.path(),
        Environment::Sandbox,
        &keyring.secrets,
        &OsRandom,
    )
    .expect("reopen with the kept key");
    assert!(store.list_received(10).expect("readable").is_empty());
    let again = keyring.secrets.get(&name).expect("read").expect("present");
    assert!(again.constant_time_eq(&key), "the key was not replaced");
}

#[test]
fn opening_after_the_key_entry_was_deleted_is_key_missing() {
    let keyring = TestKeyring::new("missing");
    let dir = TempDir::new().expect("temp dir");
    let name = SecretName::new(Environment::Sandbox, SecretPurpose::DatabaseKey);
    drop(
        Store::open(
            dir.path(),
            Environment::Sandbox,
            &keyring.secrets,
            &OsRandom,
        )
        .expect("first open"),
    );
    assert!(keyring.secrets.delete(&name).expect("deleted"));

    let err = Store::open(
        dir.path(),
        Environment::Sandbox,
        &keyring.secrets,
        &OsRandom,
    )
    .expect_err("no key for existing data");
    assert!(
        matches!(
            err,
            OpenError::KeyMissing {
                environment: Environment::Sandbox,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        keyring.secrets.get(&name).expect("read").is_none(),
        "no new key was written over the existing database"
    );
}
