//! The Caspio REST API v3 client: sign-in with a web services profile (client credentials,
//! token cached, one refresh on 401), tables, a table's fields, and records (read with
//! `q.where` / `q.select` / paging, insert with `response=rows`, update by where-clause), with
//! bounded retries of 429 and 5xx and errors that keep Caspio's `Code`, `Message` and
//! `RequestId` and read well to staff ([`Error::staff_message`]).
//!
//! Where-clauses are made only through [`Where`], which quotes and escapes every value.
//!
//! ```no_run
//! use deskbridge_caspio::{Account, Client, ClientId, ClientSecret, ColumnName, IntegrationHost,
//!     RecordQuery, TableName, Where};
//!
//! # async fn run(secret_from_keyring: String) -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::builder(Account {
//!     host: IntegrationHost::parse("c1abc123.caspio.com")?,
//!     client_id: ClientId::new("profile-client-id"),
//!     client_secret: ClientSecret::new(secret_from_keyring),
//! })
//! .build()?;
//! let table = TableName::new("Appointments")?;
//! let fields = client.fields(&table).await?;
//! let key = ColumnName::new("ZocdocAppointmentId")?;
//! let rows = client
//!     .records(&table, &RecordQuery { filter: Some(Where::eq(&key, "abc-123")), ..RecordQuery::default() })
//!     .await?;
//! # let _ = (fields, rows);
//! # Ok(())
//! # }
//! ```

mod account;
mod client;
mod decode;
mod error;
mod model;
mod names;
mod retry;
mod where_clause;

pub use account::{Account, ClientId, ClientSecret, IntegrationHost, InvalidHost, decode_token};
pub use client::{BuildError, Client, ClientBuilder};
pub use decode::{
    DecodeError, decode_error_body, decode_fields, decode_records, decode_tables, decode_written,
};
pub use error::{AuthFailure, Error, ErrorBody, Operation, TransportKind};
pub use model::{
    Field, FieldType, MAX_PAGE_SIZE, MIN_PAGE_SIZE, ReadOnlyReason, Record, RecordQuery, Written,
};
pub use names::{ColumnName, InvalidName, TableName};
pub use retry::{Clock, Jitter, RandomJitter, RetryPolicy, SystemClock};
pub use where_clause::{Comparison, Literal, Where, quote};
