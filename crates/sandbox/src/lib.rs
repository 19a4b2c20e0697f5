//! Faithful emulators of Zocdoc's and Caspio's sandboxes, for tests, benchmarks and demo mode.
//!
//! - [`zocdoc`]: Zocdoc's developer API (token server, appointments, mock webhooks) for one
//!   environment, its webhook delivery with Zocdoc's retry rules, fault injection, call counting,
//!   and the scenario engine that plays a practice's day.
//! - [`clock`]: the emulated time every emulator reads.

pub mod clock;
pub mod zocdoc;
