//! Deskbridge's domain and storage: environments and data directories, the encrypted store, ingest,
//! processing, resync, the Caspio outbox and analytics. Knows nothing of Tauri.

pub mod environment;
