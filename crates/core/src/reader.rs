//! What processing, resync and the patient details read from Zocdoc, as a trait: the API [`Client`] in the app, a fake
//! in unit tests.

use std::future::Future;

use deskbridge_zocdoc::api::{
    Appointment, AppointmentId, Client, Error, ListQuery, Page, Participants,
};

/// The reads processing, resync and the patient details make.
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
}
