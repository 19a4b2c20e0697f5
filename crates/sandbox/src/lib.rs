//! Faithful emulators of Zocdoc's and Caspio's sandboxes, for tests, benchmarks and demo mode.
//!
//! - [`zocdoc`]: Zocdoc's developer API (token server, appointments, mock webhooks) for one
//!   environment, its webhook delivery with Zocdoc's retry rules, fault injection, call counting,
//!   and the scenario engine that plays a practice's day.
//! - [`caspio`]: Caspio's REST API v3 for one account (token, tables, fields, records), with its
//!   where-clause subset, Unique and type checks, generated columns, faults and call counting.
//! - [`clock`]: the emulated time every emulator reads.

pub mod caspio;
pub mod clock;
pub mod zocdoc;
