//! The patient behind an appointment (`GET /v1/appointments/{id}/participants`), fetched on
//! demand when staff open the appointment and kept only in the encrypted database.
//!
//! Every value here is patient data: nothing of it is logged (only the appointment id), and the
//! stored JSON lives in the `participants` table of the SQLCipher store. Each fetch replaces the
//! stored copy.

use deskbridge_zocdoc::api::{AppointmentId, Error as ApiError, Participants};
use jiff::Timestamp;
use rusqlite::{OptionalExtension, params};
use serde_json::{Value, json};

use crate::reader::AppointmentReader;
use crate::store::{Store, StoreError, format_timestamp};

/// Why the patient's details could not be had.
#[derive(Debug, thiserror::Error)]
pub enum ParticipantsError {
    /// Zocdoc's answer was an error; its staff message says what to do.
    #[error("{}", .0.staff_message())]
    Api(#[from] ApiError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for ParticipantsError {
    fn from(error: rusqlite::Error) -> Self {
        ParticipantsError::Store(StoreError::Database(error))
    }
}

/// Fetches the patient's details of appointment `id` through `reader`, stores them (encrypted,
/// replacing an older copy) and returns them.
pub async fn fetch_participants<R: AppointmentReader>(
    store: &Store,
    reader: &R,
    id: &AppointmentId,
    now: Timestamp,
) -> Result<Participants, ParticipantsError> {
    let participants = reader.participants(id).await?;
    store.store_participants(id, &participants, now)?;
    Ok(participants)
}

impl Store {
    /// Keeps the latest patient details of appointment `id`, encrypted with the rest.
    pub fn store_participants(
        &self,
        id: &AppointmentId,
        participants: &Participants,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.conn().execute(
        "INSERT INTO participants (appointment_id, details_json, fetched_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (appointment_id) DO UPDATE SET details_json = excluded.details_json,
             fetched_at = excluded.fetched_at",
            params![
                id.as_str(),
                details_json(participants).to_string(),
                format_timestamp(now)
            ],
        )?;
        tracing::debug!(appointment_id = %id, "patient details stored");
        Ok(())
    }
}

impl Store {
    /// The stored patient details of appointment `id` (as JSON) and when they were fetched.
    pub fn stored_participants(&self, id: &str) -> Result<Option<(Value, String)>, StoreError> {
        let row: Option<(String, String)> = self
            .conn()
            .query_row(
                "SELECT details_json, fetched_at FROM participants WHERE appointment_id = ?1",
                [id],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        Ok(row.and_then(|(details, fetched_at)| {
            serde_json::from_str(&details)
                .ok()
                .map(|details| (details, fetched_at))
        }))
    }
}

/// The details as stored: the API's field names.
fn details_json(participants: &Participants) -> Value {
    let patient = &participants.patient;
    json!({
        "provider_id": participants.provider_id.as_str(),
        "location_id": participants.location_id.as_str(),
        "patient": {
            "patient_id": patient.patient_id.as_ref().map(|id| id.as_str()),
            "developer_patient_id": patient.developer_patient_id.as_ref().map(|id| id.as_str()),
            "first_name": patient.first_name,
            "last_name": patient.last_name,
            "date_of_birth": patient.date_of_birth.to_string(),
            "sex_at_birth": patient.sex_at_birth.as_str(),
            "phone_number": patient.phone_number,
            "email_address": patient.email_address,
            "address": {
                "address1": patient.address.address1,
                "address2": patient.address.address2,
                "city": patient.address.city,
                "state": patient.address.state,
                "zip_code": patient.address.zip_code,
            },
            "insurance": patient.insurance.as_ref().map(|insurance| json!({
                "insurance_plan_id": insurance.insurance_plan_id.as_ref().map(|id| id.as_str()),
                "insurance_group_number": insurance.insurance_group_number,
                "insurance_member_id": insurance.insurance_member_id,
                "is_self_pay": insurance.is_self_pay,
            })),
            "gender": patient.gender.iter().map(|gender| gender.as_str()).collect::<Vec<_>>(),
            "uploaded_attachments": patient.uploaded_attachments.iter().map(|attachment| json!({
                "attachment_type": attachment.attachment_type.as_str(),
                "attachment_url": attachment.attachment_url,
                "side": attachment.side.as_ref().map(|side| side.as_str()),
            })).collect::<Vec<_>>(),
            "is_booked_by_another_patient": patient.is_booked_by_another_patient,
        },
    })
}
