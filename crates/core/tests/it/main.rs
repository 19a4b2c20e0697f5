//! Integration tests of `deskbridge-core`: against the real system keyring (the Secret Service on
//! Linux) through `KeyringSecrets`, and of the store in a fresh process.
//!
//! The keyring tests need a D-Bus session bus with an unlocked keyring. `cargo xtask test`
//! provides one; run by hand, wrap the command in `dbus-run-session` with
//! `gnome-keyring-daemon --unlock`. Each test uses its own keyring service name and removes its
//! entries, so the app's real entries are never touched.

mod keyring;
mod store;
