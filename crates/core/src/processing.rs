//! Processing of stored webhooks: for each unprocessed row, in the order received, fetch the
//! appointment from Zocdoc, upsert it with its change history and mark the row processed, all in
//! one transaction.
//!
//! A failed fetch is never dropped: the row's `attempts` grows, `last_error` says in plain words
//! what went wrong (Zocdoc's staff message; never patient data) and `next_attempt_at` schedules
//! the next try with exponential backoff. Two cases are terminal instead, because trying again
//! cannot help: Zocdoc answers 404 (the appointment is not, or no longer, in the partner's
//! directory) and the payload could not be read (no appointment id). Such a row gets
//! `gave_up_at` and a `last_error`, keeps `processed_at` empty, and stays listed by
//! [`Processor::problems`] for staff to see.

use std::fmt;
use std::sync::Arc;

use deskbridge_zocdoc::api::{AppointmentId, Error as ApiError};
use deskbridge_zocdoc::webhook::parse_event;
use jiff::{SignedDuration, Timestamp};
use rusqlite::{OptionalExtension, TransactionBehavior, params};

use crate::appointments;
use crate::clock::Clock;
use crate::reader::AppointmentReader;
use crate::store::{Store, StoreError, format_timestamp, parse_timestamp};

/// How many rows one [`Processor::process_due`] call takes at most.
const BATCH: u32 = 100;

/// `last_error` of a row whose payload named no appointment.
const UNREADABLE_PAYLOAD: &str =
    "The event could not be read, so there is no appointment to fetch from Zocdoc.";

/// The wait before retry number `n` (0 for the first): `base * 2^n`, at most `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first wait.
    pub base: SignedDuration,
    /// The longest wait.
    pub max: SignedDuration,
}

impl Default for Backoff {
    /// 30 seconds, doubling up to one hour.
    fn default() -> Self {
        Self {
            base: SignedDuration::from_secs(30),
            max: SignedDuration::from_hours(1),
        }
    }
}

impl Backoff {
    /// The wait after the `attempts`-th failure (1 for the first failure).
    pub fn after(&self, attempts: u32) -> SignedDuration {
        let doublings = attempts.saturating_sub(1).min(30);
        let factor = 1_i32 << doublings;
        self.base
            .checked_mul(factor)
            .map_or(self.max, |wait| wait.min(self.max))
    }
}

/// What one [`Processor::process_due`] call did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessReport {
    /// Rows marked processed.
    pub processed: u32,
    /// Of those, rows whose appointment was new or changed.
    pub changed: u32,
    /// Rows that failed and are scheduled to be tried again.
    pub retrying: u32,
    /// Rows given up on (404, unreadable payload).
    pub gave_up: u32,
    /// The appointments new or changed, each once, in the order processed.
    pub changed_ids: Vec<String>,
    /// The last fetch failure that will be retried, in plain words (Zocdoc unreachable, refused…).
    pub last_failure: Option<String>,
}

impl ProcessReport {
    /// Rows looked at.
    pub fn rows(&self) -> u32 {
        self.processed + self.retrying + self.gave_up
    }
}

/// A row that is not processed, with why: for staff to see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The row's id.
    pub id: i64,
    /// The appointment it is about, when the payload named one.
    pub appointment_id: Option<String>,
    /// Attempts so far.
    pub attempts: u32,
    /// What went wrong, in plain words.
    pub last_error: String,
    /// When it is tried again; `None` when given up.
    pub next_attempt_at: Option<Timestamp>,
    /// Whether it was given up on.
    pub gave_up: bool,
}

/// Why processing stopped (the database failed; a failed fetch is not an error here).
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for ProcessError {
    fn from(error: rusqlite::Error) -> Self {
        ProcessError::Store(StoreError::Database(error))
    }
}

impl Store {
    /// Makes stored webhook `id` due for processing again (staff's Re-process): processed or
    /// given up, it is fetched anew at the next pass; its attempts keep counting. False when
    /// there is no such row.
    pub fn reprocess_webhook(&self, id: i64) -> Result<bool, StoreError> {
        let changed = self.conn().execute(
            "UPDATE received_webhooks SET processed_at = NULL, gave_up_at = NULL,
                 next_attempt_at = NULL, last_error = NULL
             WHERE id = ?1",
            [id],
        )?;
        Ok(changed == 1)
    }
}

/// One row to process.
struct Due {
    id: i64,
    appointment_id: Option<String>,
    body: Vec<u8>,
    attempts: u32,
}

/// Processes stored webhooks through its own database connection.
pub struct Processor<R> {
    store: Store,
    reader: R,
    clock: Arc<dyn Clock>,
    backoff: Backoff,
}

impl<R> fmt::Debug for Processor<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Processor")
            .field("store", &self.store)
            .field("backoff", &self.backoff)
            .finish_non_exhaustive()
    }
}

impl<R: AppointmentReader> Processor<R> {
    /// A processor on `store` (its own connection, e.g. [`Store::try_clone`]) reading through
    /// `reader`, with the default [`Backoff`].
    pub fn new(store: Store, reader: R, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            reader,
            clock,
            backoff: Backoff::default(),
        }
    }

    /// The same with `backoff`.
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Processes up to 100 rows that are due (unprocessed, not given up, retry time reached),
    /// oldest first.
    pub async fn process_due(&mut self) -> Result<ProcessReport, ProcessError> {
        let now = self.clock.now();
        let due = self.due(now)?;
        let mut report = ProcessReport::default();
        for row in due {
            let Some(appointment_id) = row.appointment_id.clone() else {
                self.give_up(&row, UNREADABLE_PAYLOAD)?;
                report.gave_up += 1;
                continue;
            };
            let id = AppointmentId::new(appointment_id);
            match self.reader.appointment(&id).await {
                Ok(appointment) => {
                    let attributes = parse_event(&row.body)
                        .map(|event| event.changed_attributes)
                        .unwrap_or_default();
                    let now = self.clock.now();
                    let tx = self
                        .store
                        .conn_mut()
                        .transaction_with_behavior(TransactionBehavior::Immediate)?;
                    let upserted = appointments::upsert(&tx, &appointment, &attributes, now)?;
                    tx.execute(
                        "UPDATE received_webhooks SET processed_at = ?2, attempts = attempts + 1,
                             last_error = NULL, next_attempt_at = NULL
                         WHERE id = ?1",
                        params![row.id, format_timestamp(now)],
                    )?;
                    tx.commit()?;
                    report.processed += 1;
                    if upserted.changed() {
                        report.changed += 1;
                        if !report.changed_ids.iter().any(|known| known == id.as_str()) {
                            report.changed_ids.push(id.as_str().to_owned());
                        }
                    }
                    tracing::debug!(
                        webhook = row.id,
                        appointment_id = %id,
                        changes = upserted.changes.len(),
                        "webhook processed"
                    );
                }
                Err(error @ ApiError::NotFound { .. }) => {
                    self.give_up(&row, &error.staff_message())?;
                    report.gave_up += 1;
                }
                Err(error) => {
                    self.retry_later(&row, &error)?;
                    report.retrying += 1;
                    report.last_failure = Some(error.staff_message());
                }
            }
        }
        Ok(report)
    }

    /// Calls [`Processor::process_due`] until no row is due, and adds up the reports.
    pub async fn process_all_due(&mut self) -> Result<ProcessReport, ProcessError> {
        let mut total = ProcessReport::default();
        loop {
            let report = self.process_due().await?;
            let rows = report.rows();
            total.processed += report.processed;
            total.changed += report.changed;
            total.retrying += report.retrying;
            total.gave_up += report.gave_up;
            for id in report.changed_ids {
                if !total.changed_ids.contains(&id) {
                    total.changed_ids.push(id);
                }
            }
            total.last_failure = report.last_failure.or(total.last_failure);
            if rows < BATCH {
                return Ok(total);
            }
        }
    }

    /// Rows not processed (failing or given up), oldest first.
    pub fn problems(&self) -> Result<Vec<Problem>, ProcessError> {
        let mut statement = self.store.conn().prepare_cached(
            "SELECT id, appointment_id, attempts, last_error, next_attempt_at, gave_up_at
             FROM received_webhooks
             WHERE processed_at IS NULL AND last_error IS NOT NULL ORDER BY id",
        )?;
        let rows = statement.query_map([], |row| {
            Ok(Problem {
                id: row.get(0)?,
                appointment_id: row.get(1)?,
                attempts: row.get(2)?,
                last_error: row.get(3)?,
                next_attempt_at: row
                    .get::<_, Option<String>>(4)?
                    .as_deref()
                    .and_then(parse_timestamp),
                gave_up: row.get::<_, Option<String>>(5)?.is_some(),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// When the next failed row is due, if any is waiting.
    pub fn next_retry_at(&self) -> Result<Option<Timestamp>, ProcessError> {
        let next: Option<String> = self
            .store
            .conn()
            .query_row(
                "SELECT min(next_attempt_at) FROM received_webhooks
                 WHERE processed_at IS NULL AND gave_up_at IS NULL",
                [],
                |row| row.get(0),
            )
            .optional()?
            .flatten();
        Ok(next.as_deref().and_then(parse_timestamp))
    }

    fn due(&self, now: Timestamp) -> Result<Vec<Due>, ProcessError> {
        let mut statement = self.store.conn().prepare_cached(
            "SELECT id, appointment_id, body, attempts FROM received_webhooks
             WHERE processed_at IS NULL AND gave_up_at IS NULL
               AND (next_attempt_at IS NULL OR next_attempt_at <= ?1)
             ORDER BY id LIMIT ?2",
        )?;
        let rows = statement.query_map(params![format_timestamp(now), BATCH], |row| {
            Ok(Due {
                id: row.get(0)?,
                appointment_id: row.get(1)?,
                body: row.get(2)?,
                attempts: row.get(3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn give_up(&self, row: &Due, why: &str) -> Result<(), ProcessError> {
        let now = format_timestamp(self.clock.now());
        self.store.conn().execute(
            "UPDATE received_webhooks SET gave_up_at = ?2, attempts = attempts + 1,
                 last_error = ?3, next_attempt_at = NULL
             WHERE id = ?1",
            params![row.id, now, why],
        )?;
        tracing::warn!(
            webhook = row.id,
            appointment_id = row.appointment_id.as_deref(),
            "webhook given up: nothing to fetch"
        );
        Ok(())
    }

    fn retry_later(&self, row: &Due, error: &ApiError) -> Result<(), ProcessError> {
        let attempts = row.attempts.saturating_add(1);
        let next = self
            .clock
            .now()
            .saturating_add(self.backoff.after(attempts))
            .unwrap_or_else(|_| self.clock.now());
        self.store.conn().execute(
            "UPDATE received_webhooks SET attempts = ?2, last_error = ?3, next_attempt_at = ?4
             WHERE id = ?1",
            params![
                row.id,
                attempts,
                error.staff_message(),
                format_timestamp(next)
            ],
        )?;
        tracing::warn!(
            webhook = row.id,
            appointment_id = row.appointment_id.as_deref(),
            attempts,
            error = error.code(),
            "webhook processing failed; will try again"
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use deskbridge_zocdoc::api::{AppointmentStatus, Operation};
    use serde_json::json;

    use super::*;
    use crate::appointments::ChangeKind;
    use crate::clock::ManualClock;
    use crate::store::{NewReceived, insert_received};
    use crate::testing::{FakeZocdoc, appointment, at, server_error, store};

    fn webhook(store: &Store, key: &str, appointment_id: Option<&str>, attachment: bool) -> i64 {
        let attributes = if attachment {
            json!([{"attribute_path": "patient.uploaded_attachments", "attachment_type": "id_card_front"}])
        } else {
            json!(null)
        };
        let body = json!({
            "event_type": "appointment_updated",
            "data": {"appointment_data": {
                "appointment_id": appointment_id.unwrap_or(""),
                "appointment_update_type": "updated",
                "appointment_updated_timestamp": key,
                "changed_attributes": attributes,
            }}
        });
        let inserted = insert_received(
            store.conn(),
            &NewReceived {
                received_at: at(0),
                webhook_timestamp: at(0).as_second(),
                skew_seconds: None,
                dedupe_key: key.to_owned(),
                body: Bytes::from(body.to_string()),
                body_sha256: "00".to_owned(),
                headers_json: "{}".to_owned(),
                appointment_id: appointment_id.map(str::to_owned),
                update_type: Some("updated".to_owned()),
                payload_error: appointment_id.is_none().then_some("missing_field"),
            },
        )
        .unwrap();
        match inserted {
            crate::store::Inserted::New(id) => id,
            other => panic!("{other:?}"),
        }
    }

    fn processed(store: &Store, id: i64) -> (Option<String>, u32, Option<String>) {
        store
            .conn()
            .query_row(
                "SELECT processed_at, attempts, last_error FROM received_webhooks WHERE id = ?1",
                [id],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .unwrap()
    }

    fn processor(
        store: &Store,
        fake: FakeZocdoc,
        clock: &Arc<ManualClock>,
    ) -> Processor<FakeZocdoc> {
        Processor::new(store.try_clone().unwrap(), fake, clock.clone())
    }

    #[test]
    fn backoff_doubles_up_to_the_maximum() {
        let backoff = Backoff::default();
        assert_eq!(backoff.after(1), SignedDuration::from_secs(30));
        assert_eq!(backoff.after(2), SignedDuration::from_secs(60));
        assert_eq!(backoff.after(5), SignedDuration::from_secs(480));
        assert_eq!(backoff.after(40), SignedDuration::from_hours(1));
    }

    #[tokio::test]
    async fn events_are_processed_in_order_with_history() {
        let (_dir, store) = store();
        let clock = Arc::new(ManualClock::new(at(100)));
        let first = webhook(&store, "k1", Some("a1"), false);
        let second = webhook(&store, "k2", Some("a1"), true);
        let mut processor = processor(
            &store,
            FakeZocdoc::with([appointment("a1", 500, 50)]),
            &clock,
        );
        let report = processor.process_all_due().await.unwrap();
        assert_eq!(
            report,
            ProcessReport {
                processed: 2,
                changed: 2,
                retrying: 0,
                gave_up: 0,
                changed_ids: vec!["a1".to_owned()],
                last_failure: None,
            }
        );
        for id in [first, second] {
            let (processed_at, attempts, last_error) = processed(&store, id);
            assert!(processed_at.is_some());
            assert_eq!((attempts, last_error), (1, None));
        }
        let kinds: Vec<_> = store
            .appointment_history("a1")
            .unwrap()
            .into_iter()
            .map(|(_, change)| (change.kind, change.new_value))
            .collect();
        assert_eq!(
            kinds,
            [
                (ChangeKind::Created, Some("confirmed".to_owned())),
                (
                    ChangeKind::AttachmentUploaded,
                    Some("id_card_front".to_owned())
                ),
            ]
        );
        assert_eq!(processor.process_due().await.unwrap().rows(), 0);
    }

    #[tokio::test]
    async fn failures_are_retried_with_backoff_and_never_dropped() {
        let (_dir, store) = store();
        let clock = Arc::new(ManualClock::new(at(100)));
        let id = webhook(&store, "k1", Some("a1"), false);
        let fake = FakeZocdoc::with([appointment("a1", 500, 50)]);
        for _ in 0..2 {
            fake.get_failures
                .lock()
                .unwrap()
                .push_back(server_error(Operation::GetAppointment));
        }
        let mut processor = processor(&store, fake, &clock);

        let report = processor.process_due().await.unwrap();
        assert_eq!(report.retrying, 1);
        assert!(report.last_failure.unwrap().contains("Zocdoc"));
        let (processed_at, attempts, last_error) = processed(&store, id);
        assert_eq!((processed_at, attempts), (None, 1));
        assert!(last_error.unwrap().contains("Zocdoc"));
        assert_eq!(processor.next_retry_at().unwrap(), Some(at(130)));
        let problems = processor.problems().unwrap();
        assert_eq!(problems.len(), 1);
        assert!(!problems[0].gave_up);

        // Not due yet: nothing happens.
        clock.set(at(129));
        assert_eq!(processor.process_due().await.unwrap().rows(), 0);
        clock.set(at(130));
        assert_eq!(processor.process_due().await.unwrap().retrying, 1);
        assert_eq!(processor.next_retry_at().unwrap(), Some(at(190)));

        clock.set(at(190));
        assert_eq!(processor.process_due().await.unwrap().processed, 1);
        let (processed_at, attempts, last_error) = processed(&store, id);
        assert!(processed_at.is_some());
        assert_eq!((attempts, last_error), (3, None));
        assert!(processor.problems().unwrap().is_empty());
        assert_eq!(processor.next_retry_at().unwrap(), None);
    }

    #[tokio::test]
    async fn a_processed_webhook_can_be_processed_again_on_request() {
        let (_dir, store) = store();
        let clock = Arc::new(ManualClock::new(at(100)));
        let id = webhook(&store, "k1", Some("a1"), false);
        let mut processor = processor(
            &store,
            FakeZocdoc::with([appointment("a1", 500, 50)]),
            &clock,
        );
        assert_eq!(processor.process_all_due().await.unwrap().processed, 1);
        assert_eq!(processor.process_due().await.unwrap().rows(), 0);
        assert!(store.reprocess_webhook(id).unwrap());
        assert_eq!(processor.process_due().await.unwrap().processed, 1);
        let (processed_at, attempts, _) = processed(&store, id);
        assert!(processed_at.is_some());
        assert_eq!(attempts, 2, "attempts keep counting");
        assert!(!store.reprocess_webhook(id + 100).unwrap());
    }

    #[tokio::test]
    async fn unknown_appointments_and_unreadable_events_are_given_up_visibly() {
        let (_dir, store) = store();
        let clock = Arc::new(ManualClock::new(at(100)));
        let missing = webhook(&store, "k1", Some("gone"), false);
        let unreadable = webhook(&store, "k2", None, false);
        let fine = webhook(&store, "k3", Some("a1"), false);
        let mut pending = appointment("a1", 500, 50);
        pending.appointment_status = AppointmentStatus::PendingBooking;
        let fake = FakeZocdoc::with([pending]);
        let mut processor = processor(&store, fake, &clock);
        let report = processor.process_all_due().await.unwrap();
        assert_eq!((report.processed, report.gave_up), (1, 2));
        let problems = processor.problems().unwrap();
        assert_eq!(
            problems
                .iter()
                .map(|p| (p.id, p.gave_up))
                .collect::<Vec<_>>(),
            [(missing, true), (unreadable, true)]
        );
        assert!(problems[0].last_error.contains("no such appointment"));
        assert_eq!(problems[1].last_error, UNREADABLE_PAYLOAD);
        assert!(processed(&store, fine).0.is_some());
        clock.set(at(1_000_000));
        assert_eq!(
            processor.process_due().await.unwrap().rows(),
            0,
            "never retried"
        );
        assert_eq!(
            processor
                .reader
                .get_calls
                .load(std::sync::atomic::Ordering::SeqCst),
            2
        );
    }
}
