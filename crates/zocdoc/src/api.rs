//! The Zocdoc developer API client: appointments (list, get, participants), the directory names
//! an appointment's ids stand for (provider location, visit reason), and the front desk's
//! writes (confirm, cancel, reschedule, arrived / no-show), with OAuth client credentials,
//! bounded retries, and read-back of writes whose outcome is unknown.
//!
//! ```no_run
//! use deskbridge_zocdoc::api::{
//!     AppointmentId, Client, ClientId, ClientSecret, Environment, ListQuery, StatusUpdate,
//!     TimeWindow, Written,
//! };
//!
//! # async fn run(secret_from_keyring: String) -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::builder(
//!     Environment::Sandbox,
//!     ClientId::new("my-client-id"),
//!     ClientSecret::new(secret_from_keyring),
//! )
//! .build()?;
//!
//! let since = "2024-01-01T00:00:00Z".parse()?;
//! let until = "2024-01-02T00:00:00Z".parse()?;
//! let listing = client
//!     .list_all_appointments(&ListQuery::modified_within(TimeWindow::between(since, until)))
//!     .await?;
//! if listing.capped {
//!     // Split the window: Zocdoc's paging stops at 1,000 appointments per query.
//! }
//!
//! let id = AppointmentId::new("d2ee5bd8-643a-42c8-8c5a-be450e903430");
//! match client.update_status(&id, StatusUpdate::NoShow).await {
//!     Ok(Written::Answered(change)) => println!("now {}", change.appointment_status),
//!     Ok(Written::ReadBack(appointment)) => println!("now {}", appointment.appointment_status),
//!     Err(error) => println!("{}", error.staff_message()),
//! }
//! # Ok(())
//! # }
//! ```

#[macro_use]
mod wire;

mod auth;
mod client;
mod decode;
mod directory;
mod environment;
mod error;
mod ids;
mod model;
mod participants;
mod query;
mod retry;
mod settle;

pub use auth::{ClientId, ClientSecret};
pub use client::{BuildError, Client, ClientBuilder};
pub use decode::{
    DecodeError, decode_appointment, decode_appointment_page, decode_error_result,
    decode_participants, decode_provider_location, decode_rescheduled, decode_status_change,
    decode_visit_reason,
};
pub use directory::{
    Location, Provider, ProviderLocation, ProviderLocationType, VirtualLocation, VisitReason,
};
pub use environment::Environment;
pub use error::{
    ApiErrorDetail, AuthFailure, Error, ErrorResult, ErrorType, Operation, ReadBack,
    RequestProblem, TransportKind,
};
pub use ids::{
    AppointmentId, DeveloperPatientId, InsurancePlanId, LocationId, PatientId, PracticeId,
    ProviderId, ProviderLocationId, RequestId, VisitReasonId,
};
pub use model::{
    Appointment, AppointmentStatus, CancelReason, CancellationReasonType, ConfirmationType,
    Listing, OffsetTime, OffsetTimeError, Page, PatientType, RescheduledAppointment, StatusChange,
    StatusUpdate, VisitType, Written,
};
pub use participants::{
    Address, Attachment, AttachmentType, DocumentSide, Gender, Insurance, Participants, Patient,
    Sex,
};
pub use query::{
    ListQuery, MAX_PAGE, MAX_PAGE_SIZE, MAX_RESULTS_PER_QUERY, SortBy, SortDirection, TimeWindow,
};
pub use retry::{Clock, Jitter, RandomJitter, RetryPolicy, SystemClock};
