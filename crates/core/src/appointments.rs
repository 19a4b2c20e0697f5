//! Appointments as last read from Zocdoc, and their change history.
//!
//! `upsert` writes one API [`Appointment`] into the `appointments` table and appends a row to
//! `appointment_changes` for each difference from the stored copy (status, start time, provider
//! and location, visit reason and type, cancellation reason, notes) and for each attribute a
//! webhook named in `changed_attributes` (e.g. an uploaded ID card). Change rows hold no patient
//! data: free text (notes, cancellation reason) is only recorded as "changed"; its value stays in
//! the row's encrypted `raw_json`. Writing the same appointment again adds no change row.
//!
//! Staff actions go through the Zocdoc client; [`Store::record_status_change`] and
//! [`Store::record_appointment`] then update local state from the API's answer, because Zocdoc
//! does not echo a partner's own actions by webhook.

use deskbridge_zocdoc::api::{Appointment, StatusChange};
use deskbridge_zocdoc::webhook::ChangedAttribute;
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde_json::json;

use crate::store::{Store, StoreError, format_timestamp};

/// `attribute_path` of a document the patient uploaded.
const UPLOADED_ATTACHMENTS: &str = "patient.uploaded_attachments";

/// What kind of change a history row records. [`ChangeKind::as_str`] is stored and is stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// First seen: new value is the status.
    Created,
    /// Status transition: old → new status.
    StatusChanged,
    /// Start time moved: old → new RFC 3339 UTC instant.
    StartMoved,
    /// Provider or location changed: old → new `provider_location_id`.
    ProviderLocationChanged,
    /// Visit reason changed: old → new `visit_reason_id`.
    VisitReasonChanged,
    /// Visit type changed: old → new `visit_type`.
    VisitTypeChanged,
    /// The cancellation reason (free text) changed; values are not recorded.
    CancellationReasonChanged,
    /// The patient's notes (free text) changed; values are not recorded.
    NotesChanged,
    /// The patient uploaded a document: new value is its `attachment_type` when given.
    AttachmentUploaded,
    /// Zocdoc reported another attribute change: new value is its `attribute_path`.
    AttributeChanged,
    /// The desk marked the patient arrived: new value is when (a local fact, not a Zocdoc status).
    Arrived,
}

impl ChangeKind {
    /// Every kind.
    pub const ALL: [ChangeKind; 11] = [
        ChangeKind::Created,
        ChangeKind::StatusChanged,
        ChangeKind::StartMoved,
        ChangeKind::ProviderLocationChanged,
        ChangeKind::VisitReasonChanged,
        ChangeKind::VisitTypeChanged,
        ChangeKind::CancellationReasonChanged,
        ChangeKind::NotesChanged,
        ChangeKind::AttachmentUploaded,
        ChangeKind::AttributeChanged,
        ChangeKind::Arrived,
    ];

    /// The stored text form.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Created => "created",
            ChangeKind::StatusChanged => "status_changed",
            ChangeKind::StartMoved => "start_moved",
            ChangeKind::ProviderLocationChanged => "provider_location_changed",
            ChangeKind::VisitReasonChanged => "visit_reason_changed",
            ChangeKind::VisitTypeChanged => "visit_type_changed",
            ChangeKind::CancellationReasonChanged => "cancellation_reason_changed",
            ChangeKind::NotesChanged => "notes_changed",
            ChangeKind::AttachmentUploaded => "attachment_uploaded",
            ChangeKind::AttributeChanged => "attribute_changed",
            ChangeKind::Arrived => "arrived",
        }
    }

    /// Parses [`ChangeKind::as_str`].
    pub fn parse(text: &str) -> Option<ChangeKind> {
        ChangeKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }
}

/// One derived history entry (no patient data in either value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// What changed.
    pub kind: ChangeKind,
    /// The value before, when it is recorded.
    pub old_value: Option<String>,
    /// The value after, when it is recorded.
    pub new_value: Option<String>,
}

impl Change {
    fn new(kind: ChangeKind, old_value: Option<String>, new_value: Option<String>) -> Self {
        Self {
            kind,
            old_value,
            new_value,
        }
    }
}

/// The columns of a stored appointment that changes are derived from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAppointment {
    /// `id`.
    pub id: String,
    /// `status`.
    pub status: String,
    /// `start_time`, RFC 3339 UTC.
    pub start_time: String,
    /// `created_time_utc`.
    pub created_time_utc: Option<String>,
    /// `last_modified_time_utc`.
    pub last_modified_time_utc: Option<String>,
    /// `provider_location_id`.
    pub provider_location_id: String,
    /// `practice_id`.
    pub practice_id: Option<String>,
    /// `visit_reason_id`.
    pub visit_reason_id: String,
    /// `visit_type`.
    pub visit_type: Option<String>,
    /// `patient_type`.
    pub patient_type: Option<String>,
    /// `cancellation_reason` (free text: not for logs).
    pub cancellation_reason: Option<String>,
    /// `source`.
    pub source: Option<String>,
    /// `notes`, from `raw_json` (PHI: not for logs).
    pub notes: Option<String>,
}

impl StoredAppointment {
    /// The row an API appointment is stored as.
    pub fn from_api(appointment: &Appointment) -> Self {
        Self {
            id: appointment.appointment_id.as_str().to_owned(),
            status: appointment.appointment_status.as_str().to_owned(),
            start_time: format_timestamp(appointment.start_time.timestamp()),
            created_time_utc: appointment.created_time_utc.map(format_timestamp),
            last_modified_time_utc: appointment.last_modified_time_utc.map(format_timestamp),
            provider_location_id: appointment.provider_location_id.as_str().to_owned(),
            practice_id: appointment
                .practice_id
                .as_ref()
                .map(|id| id.as_str().to_owned()),
            visit_reason_id: appointment.visit_reason_id.as_str().to_owned(),
            visit_type: appointment
                .visit_type
                .as_ref()
                .map(|value| value.as_str().to_owned()),
            patient_type: appointment
                .patient_type
                .as_ref()
                .map(|value| value.as_str().to_owned()),
            cancellation_reason: appointment.cancellation_reason.clone(),
            source: appointment.source.clone(),
            notes: appointment.notes.clone(),
        }
    }
}

/// What storing an appointment did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upserted {
    /// Whether the appointment was not stored before.
    pub created: bool,
    /// The change rows appended.
    pub changes: Vec<Change>,
}

impl Upserted {
    /// Whether anything was recorded (a new appointment or at least one change).
    pub fn changed(&self) -> bool {
        self.created || !self.changes.is_empty()
    }
}

/// The history entries between `old` (absent: first seen) and `new`, then one per changed
/// attribute. Pure: no database.
pub fn derive_changes(
    old: Option<&StoredAppointment>,
    new: &StoredAppointment,
    changed_attributes: &[ChangedAttribute],
) -> Vec<Change> {
    let mut changes = Vec::new();
    match old {
        None => changes.push(Change::new(
            ChangeKind::Created,
            None,
            Some(new.status.clone()),
        )),
        Some(old) => {
            let mut compare = |kind, old: &String, new: &String| {
                if old != new {
                    changes.push(Change::new(kind, Some(old.clone()), Some(new.clone())));
                }
            };
            compare(ChangeKind::StatusChanged, &old.status, &new.status);
            compare(ChangeKind::StartMoved, &old.start_time, &new.start_time);
            compare(
                ChangeKind::ProviderLocationChanged,
                &old.provider_location_id,
                &new.provider_location_id,
            );
            compare(
                ChangeKind::VisitReasonChanged,
                &old.visit_reason_id,
                &new.visit_reason_id,
            );
            if old.visit_type != new.visit_type {
                changes.push(Change::new(
                    ChangeKind::VisitTypeChanged,
                    old.visit_type.clone(),
                    new.visit_type.clone(),
                ));
            }
            if old.cancellation_reason != new.cancellation_reason {
                changes.push(Change::new(
                    ChangeKind::CancellationReasonChanged,
                    None,
                    None,
                ));
            }
            if old.notes != new.notes {
                changes.push(Change::new(ChangeKind::NotesChanged, None, None));
            }
        }
    }
    for attribute in changed_attributes {
        changes.push(if attribute.attribute_path == UPLOADED_ATTACHMENTS {
            Change::new(
                ChangeKind::AttachmentUploaded,
                None,
                attribute.attachment_type.clone(),
            )
        } else {
            Change::new(
                ChangeKind::AttributeChanged,
                None,
                Some(attribute.attribute_path.clone()),
            )
        });
    }
    changes
}

/// The stored appointment `id`, if any.
pub(crate) fn load(conn: &Connection, id: &str) -> Result<Option<StoredAppointment>, StoreError> {
    let mut statement = conn.prepare_cached(
        "SELECT id, status, start_time, created_time_utc, last_modified_time_utc,
                provider_location_id, practice_id, visit_reason_id, visit_type, patient_type,
                cancellation_reason, source, json_extract(raw_json, '$.notes')
         FROM appointments WHERE id = ?1",
    )?;
    Ok(statement
        .query_row([id], |row| {
            Ok(StoredAppointment {
                id: row.get(0)?,
                status: row.get(1)?,
                start_time: row.get(2)?,
                created_time_utc: row.get(3)?,
                last_modified_time_utc: row.get(4)?,
                provider_location_id: row.get(5)?,
                practice_id: row.get(6)?,
                visit_reason_id: row.get(7)?,
                visit_type: row.get(8)?,
                patient_type: row.get(9)?,
                cancellation_reason: row.get(10)?,
                source: row.get(11)?,
                notes: row.get(12)?,
            })
        })
        .optional()?)
}

/// Every stored appointment, by id.
pub(crate) fn load_all(conn: &Connection) -> Result<Vec<StoredAppointment>, StoreError> {
    let ids: Vec<String> = conn
        .prepare("SELECT id FROM appointments ORDER BY id")?
        .query_map([], |row| row.get(0))?
        .collect::<Result<_, _>>()?;
    let mut all = Vec::with_capacity(ids.len());
    for id in ids {
        all.extend(load(conn, &id)?);
    }
    Ok(all)
}

/// Writes `appointment` (as fetched at `now`) and appends its change rows, inside the caller's
/// transaction. An older copy than the stored one (by `last_modified_time_utc`) is ignored, so a
/// slow fetch never overwrites a newer one.
pub(crate) fn upsert(
    conn: &Connection,
    appointment: &Appointment,
    changed_attributes: &[ChangedAttribute],
    now: Timestamp,
) -> Result<Upserted, StoreError> {
    let new = StoredAppointment::from_api(appointment);
    let old = load(conn, &new.id)?;
    if let Some(old) = &old
        && let (Some(stored), Some(fetched)) =
            (&old.last_modified_time_utc, &new.last_modified_time_utc)
        && fetched < stored
    {
        return Ok(Upserted {
            created: false,
            changes: Vec::new(),
        });
    }
    let changes = derive_changes(old.as_ref(), &new, changed_attributes);
    let fetched_at = format_timestamp(now);
    conn.prepare_cached(
        "INSERT INTO appointments (id, status, start_time, created_time_utc,
             last_modified_time_utc, provider_location_id, practice_id, visit_reason_id,
             visit_type, patient_type, cancellation_reason, source, raw_json, fetched_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)
         ON CONFLICT (id) DO UPDATE SET
             status = excluded.status, start_time = excluded.start_time,
             created_time_utc = excluded.created_time_utc,
             last_modified_time_utc = excluded.last_modified_time_utc,
             provider_location_id = excluded.provider_location_id,
             practice_id = excluded.practice_id, visit_reason_id = excluded.visit_reason_id,
             visit_type = excluded.visit_type, patient_type = excluded.patient_type,
             cancellation_reason = excluded.cancellation_reason, source = excluded.source,
             raw_json = excluded.raw_json, fetched_at = excluded.fetched_at",
    )?
    .execute(params![
        new.id,
        new.status,
        new.start_time,
        new.created_time_utc,
        new.last_modified_time_utc,
        new.provider_location_id,
        new.practice_id,
        new.visit_reason_id,
        new.visit_type,
        new.patient_type,
        new.cancellation_reason,
        new.source,
        raw_json(appointment).to_string(),
        fetched_at,
    ])?;
    let at = new.last_modified_time_utc.clone().unwrap_or(fetched_at);
    for change in &changes {
        insert_change(conn, &new.id, &at, change)?;
    }
    Ok(Upserted {
        created: old.is_none(),
        changes,
    })
}

/// The change history of one appointment, oldest first: (at, kind, old, new).
/// Appends one history entry.
pub(crate) fn insert_change(
    conn: &Connection,
    id: &str,
    at: &str,
    change: &Change,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO appointment_changes (appointment_id, at, kind, old_value, new_value)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        id,
        at,
        change.kind.as_str(),
        change.old_value,
        change.new_value
    ])?;
    Ok(())
}

/// Sets the status Zocdoc answered to a write, with its history entry. `None` when the status
/// did not move or the appointment is not stored (the next resync or webhook brings it in full).
pub(crate) fn apply_status(
    conn: &Connection,
    id: &str,
    new: &str,
    now: Timestamp,
) -> Result<Option<Change>, StoreError> {
    let Some(old) = load(conn, id)? else {
        return Ok(None);
    };
    if old.status == new {
        return Ok(None);
    }
    let at = format_timestamp(now);
    conn.execute(
        "UPDATE appointments SET status = ?2,
             raw_json = json_set(raw_json, '$.appointment_status', ?2), fetched_at = ?3
         WHERE id = ?1",
        params![id, new, at],
    )?;
    let change = Change::new(
        ChangeKind::StatusChanged,
        Some(old.status),
        Some(new.to_owned()),
    );
    insert_change(conn, id, &at, &change)?;
    Ok(Some(change))
}

pub(crate) fn history(conn: &Connection, id: &str) -> Result<Vec<(String, Change)>, StoreError> {
    let mut statement = conn.prepare_cached(
        "SELECT at, kind, old_value, new_value FROM appointment_changes
         WHERE appointment_id = ?1 ORDER BY id",
    )?;
    let rows = statement.query_map([id], |row| {
        Ok((
            row.get::<_, String>(0)?,
            row.get::<_, String>(1)?,
            row.get::<_, Option<String>>(2)?,
            row.get::<_, Option<String>>(3)?,
        ))
    })?;
    let mut history = Vec::new();
    for row in rows {
        let (at, kind, old_value, new_value) = row?;
        if let Some(kind) = ChangeKind::parse(&kind) {
            history.push((at, Change::new(kind, old_value, new_value)));
        }
    }
    Ok(history)
}

impl Store {
    /// Every stored appointment, by id.
    pub fn appointments(&self) -> Result<Vec<StoredAppointment>, StoreError> {
        load_all(self.conn())
    }

    /// The stored appointment `id`, if any.
    pub fn appointment(&self, id: &str) -> Result<Option<StoredAppointment>, StoreError> {
        load(self.conn(), id)
    }

    /// The change history of appointment `id`, oldest first.
    pub fn appointment_history(&self, id: &str) -> Result<Vec<(String, Change)>, StoreError> {
        history(self.conn(), id)
    }

    /// Stores an appointment as Zocdoc answered it after a staff action (a read-back, a fetch
    /// after a reschedule), with its history, in one transaction.
    pub fn record_appointment(
        &mut self,
        appointment: &Appointment,
        now: Timestamp,
    ) -> Result<Upserted, StoreError> {
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let upserted = upsert(&tx, appointment, &[], now)?;
        tx.commit()?;
        Ok(upserted)
    }

    /// Stores copies of appointments in order (several copies of one appointment make its
    /// history), with their history, in one transaction: an import, or a benchmark's seed.
    /// Returns how many copies recorded something.
    pub fn record_appointments(
        &mut self,
        appointments: &[Appointment],
        now: Timestamp,
    ) -> Result<usize, StoreError> {
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut recorded = 0;
        for appointment in appointments {
            recorded += usize::from(upsert(&tx, appointment, &[], now)?.changed());
        }
        tx.commit()?;
        Ok(recorded)
    }

    /// Applies the status Zocdoc answered to a staff action (confirm, cancel, update-status):
    /// Zocdoc does not echo a partner's own action by webhook, so local state follows the
    /// answer. Returns the change recorded, if the status moved; `None` also when the
    /// appointment is not stored (the next resync or webhook brings it in full).
    pub fn record_status_change(
        &mut self,
        answer: &StatusChange,
        now: Timestamp,
    ) -> Result<Option<Change>, StoreError> {
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let change = apply_status(
            &tx,
            answer.appointment_id.as_str(),
            answer.appointment_status.as_str(),
            now,
        )?;
        tx.commit()?;
        Ok(change)
    }
}

/// The whole appointment as JSON (kept only in the encrypted database).
fn raw_json(appointment: &Appointment) -> serde_json::Value {
    json!({
        "appointment_id": appointment.appointment_id.as_str(),
        "appointment_status": appointment.appointment_status.as_str(),
        "developer_patient_id": appointment.developer_patient_id.as_ref().map(|id| id.as_str()),
        "is_provider_resource": appointment.is_provider_resource,
        "location_phone_number": appointment.location_phone_number,
        "location_phone_extension": appointment.location_phone_extension,
        "waiting_room_path": appointment.waiting_room_path,
        "confirmation_type": appointment.confirmation_type.as_str(),
        "start_time": appointment.start_time.to_string(),
        "created_time_utc": appointment.created_time_utc.map(|t| t.to_string()),
        "last_modified_time_utc": appointment.last_modified_time_utc.map(|t| t.to_string()),
        "provider_location_id": appointment.provider_location_id.as_str(),
        "practice_id": appointment.practice_id.as_ref().map(|id| id.as_str()),
        "visit_reason_id": appointment.visit_reason_id.as_str(),
        "visit_type": appointment.visit_type.as_ref().map(|v| v.as_str()),
        "patient_type": appointment.patient_type.as_ref().map(|v| v.as_str()),
        "notes": appointment.notes,
        "cancellation_reason": appointment.cancellation_reason,
        "source": appointment.source,
    })
}

#[cfg(test)]
mod tests {
    use deskbridge_zocdoc::api::{AppointmentStatus, OffsetTime};
    use jiff::tz::Offset;

    use super::*;
    use crate::testing::{appointment, at, store};

    fn attribute(path: &str, attachment_type: Option<&str>) -> ChangedAttribute {
        ChangedAttribute {
            attribute_path: path.to_owned(),
            attachment_type: attachment_type.map(str::to_owned),
        }
    }

    #[test]
    fn kinds_have_a_stable_text_form() {
        for kind in ChangeKind::ALL {
            assert_eq!(ChangeKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(ChangeKind::StartMoved.as_str(), "start_moved");
        assert_eq!(ChangeKind::parse("nonsense"), None);
    }

    #[test]
    fn a_first_sighting_is_a_creation() {
        let new = StoredAppointment::from_api(&appointment("a1", 100, 10));
        assert_eq!(
            derive_changes(None, &new, &[]),
            vec![Change::new(
                ChangeKind::Created,
                None,
                Some("confirmed".to_owned())
            )]
        );
    }

    #[test]
    fn status_start_and_free_text_changes_are_derived_without_the_text() {
        let old = appointment("a1", 100, 10);
        let mut new = old.clone();
        new.appointment_status = AppointmentStatus::Cancelled;
        new.start_time = OffsetTime::new(at(3_700), Offset::UTC);
        new.cancellation_reason = Some("patient moved away".to_owned());
        new.notes = Some("new notes".to_owned());
        let changes = derive_changes(
            Some(&StoredAppointment::from_api(&old)),
            &StoredAppointment::from_api(&new),
            &[],
        );
        assert_eq!(
            changes,
            vec![
                Change::new(
                    ChangeKind::StatusChanged,
                    Some("confirmed".to_owned()),
                    Some("cancelled".to_owned())
                ),
                Change::new(
                    ChangeKind::StartMoved,
                    Some("2026-01-01T00:01:40.000000Z".to_owned()),
                    Some("2026-01-01T01:01:40.000000Z".to_owned())
                ),
                Change::new(ChangeKind::CancellationReasonChanged, None, None),
                Change::new(ChangeKind::NotesChanged, None, None),
            ]
        );
        let stored = format!("{changes:?}");
        assert!(!stored.contains("moved away") && !stored.contains("notes\""));
    }

    #[test]
    fn changed_attributes_become_history() {
        let same = StoredAppointment::from_api(&appointment("a1", 100, 10));
        let changes = derive_changes(
            Some(&same),
            &same,
            &[
                attribute(UPLOADED_ATTACHMENTS, Some("insurance_card_front")),
                attribute("patient.phone", None),
            ],
        );
        assert_eq!(
            changes,
            vec![
                Change::new(
                    ChangeKind::AttachmentUploaded,
                    None,
                    Some("insurance_card_front".to_owned())
                ),
                Change::new(
                    ChangeKind::AttributeChanged,
                    None,
                    Some("patient.phone".to_owned())
                ),
            ]
        );
    }

    #[test]
    fn a_staff_action_updates_local_state_from_the_answer() {
        let (_dir, mut store) = store();
        let answer = StatusChange {
            request_id: None,
            appointment_id: "a1".into(),
            appointment_status: AppointmentStatus::Cancelled,
            developer_patient_id: None,
        };
        assert_eq!(store.record_status_change(&answer, at(5)).unwrap(), None);
        assert!(
            store
                .record_appointment(&appointment("a1", 100, 10), at(20))
                .unwrap()
                .created
        );
        assert_eq!(
            store.record_status_change(&answer, at(30)).unwrap(),
            Some(Change::new(
                ChangeKind::StatusChanged,
                Some("confirmed".to_owned()),
                Some("cancelled".to_owned())
            ))
        );
        assert_eq!(store.record_status_change(&answer, at(40)).unwrap(), None);
        assert_eq!(
            store.appointment("a1").unwrap().unwrap().status,
            "cancelled"
        );
        let raw: String = store
            .conn()
            .query_row(
                "SELECT raw_json ->> '$.appointment_status' FROM appointments",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(raw, "cancelled");
        assert_eq!(store.appointment_history("a1").unwrap().len(), 2);
    }

    #[test]
    fn upserts_are_idempotent_and_keep_history() {
        let (_dir, store) = store();
        let first = appointment("a1", 100, 10);
        let created = upsert(store.conn(), &first, &[], at(20)).unwrap();
        assert!(created.created && created.changed());
        let again = upsert(store.conn(), &first, &[], at(30)).unwrap();
        assert!(!again.changed(), "{again:?}");

        let mut moved = first.clone();
        moved.start_time = OffsetTime::new(at(200), Offset::UTC);
        moved.last_modified_time_utc = Some(at(40));
        let updated = upsert(store.conn(), &moved, &[], at(50)).unwrap();
        assert_eq!(updated.changes.len(), 1);

        // An older copy (a slow fetch) does not overwrite the newer one.
        let stale = upsert(store.conn(), &first, &[], at(60)).unwrap();
        assert!(!stale.changed());
        let stored = store.appointment("a1").unwrap().unwrap();
        assert_eq!(stored, StoredAppointment::from_api(&moved));
        assert_eq!(stored.notes.as_deref(), Some("knee pain"));

        let history = store.appointment_history("a1").unwrap();
        let kinds: Vec<_> = history.iter().map(|(_, change)| change.kind).collect();
        assert_eq!(kinds, [ChangeKind::Created, ChangeKind::StartMoved]);
        assert_eq!(history[1].0, "2026-01-01T00:00:40.000000Z");
        assert_eq!(store.appointments().unwrap().len(), 1);
    }
}
