//! Deskbridge's domain and storage: environments and data directories, the encrypted store, ingest,
//! processing, resync, the Caspio outbox and analytics. Knows nothing of Tauri.

pub mod clock;
pub mod environment;
pub mod ingest;
pub mod random;
pub mod secrets;
pub mod store;
