//! Integration tests of `deskbridge-core`: against the real system keyring (the Secret Service on
//! Linux) through `KeyringSecrets`, of the store in a fresh process, of processing, resync,
//! patient details and directory names against the Zocdoc emulator (and, end to end, through the
//! direct listener), and of pushing to Caspio against the Caspio emulator.
//!
//! The keyring tests need a D-Bus session bus with an unlocked keyring. `cargo xtask test`
//! provides one; run by hand, wrap the command in `dbus-run-session` with
//! `gnome-keyring-daemon --unlock`. Each test uses its own keyring service name and removes its
//! entries, so the app's real entries are never touched.

mod caspio;
mod directory;
mod emulated;
mod end_to_end;
mod keyring;
mod participants;
mod resync;
mod staff_actions;
mod store;
