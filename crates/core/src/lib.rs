//! Deskbridge's domain and storage: environments and data directories, the encrypted store, ingest,
//! processing, resync, directory names, the Caspio outbox and analytics. Knows nothing of Tauri.

pub mod analytics;
pub mod appointments;
pub mod board;
pub mod caspio_push;
pub mod clock;
pub mod directory;
pub mod environment;
pub mod ingest;
pub mod logging;
pub mod participants;
pub mod processing;
pub mod random;
pub mod reader;
pub mod resync;
pub mod secrets;
pub mod settings;
pub mod staff_actions;
pub mod store;
#[cfg(test)]
mod testing;
