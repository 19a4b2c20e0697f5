//! What processing, resync, the patient details and the directory read from Zocdoc, as a trait:
//! the API [`Client`] in the app, a fake in unit tests.

use std::future::Future;

use deskbridge_zocdoc::api::{
    Appointment, AppointmentId, Client, Error, ListQuery, Page, Participants, ProviderLocation,
    ProviderLocationId, VisitReason, VisitReasonId,
};

/// The reads processing, resync, the patient details and the directory make.
pub trait AppointmentReader: Send + Sync {
    /// `GET /v1/appointments/{id}`.
    fn appointment(
        &self,
        id: &AppointmentId,
    ) -> impl Future<Output = Result<Appointment, Error>> + Send;

    /// One page of `GET /v1/appointments`.
    fn list_page(&self, query: &ListQuery) -> impl Future<Output = Result<Page, Error>> + Send;

    /// `GET /v1/appointments/{id}/participants` (patient data).
    fn participants(
        &self,
        id: &AppointmentId,
    ) -> impl Future<Output = Result<Participants, Error>> + Send;

    /// `GET /v1/provider_locations/{id}` (directory names).
    fn provider_location(
        &self,
        id: &ProviderLocationId,
    ) -> impl Future<Output = Result<ProviderLocation, Error>> + Send;

    /// `GET /v1/visit_reasons/{id}` (directory names).
    fn visit_reason(
        &self,
        id: &VisitReasonId,
    ) -> impl Future<Output = Result<VisitReason, Error>> + Send;
}

impl AppointmentReader for Client {
    fn appointment(
        &self,
        id: &AppointmentId,
    ) -> impl Future<Output = Result<Appointment, Error>> + Send {
        Client::appointment(self, id)
    }

    fn list_page(&self, query: &ListQuery) -> impl Future<Output = Result<Page, Error>> + Send {
        self.list_appointments(query)
    }

    fn participants(
        &self,
        id: &AppointmentId,
    ) -> impl Future<Output = Result<Participants, Error>> + Send {
        Client::participants(self, id)
    }

    fn provider_location(
        &self,
        id: &ProviderLocationId,
    ) -> impl Future<Output = Result<ProviderLocation, Error>> + Send {
        Client::provider_location(self, id)
    }

    fn visit_reason(
        &self,
        id: &VisitReasonId,
    ) -> impl Future<Output = Result<VisitReason, Error>> + Send {
        Client::visit_reason(self, id)
    }
}
