//! Pushing appointments to the practice's Caspio table, by hand and never silently: staff pick
//! "push selected" or "push all changed since the last push", may look at a dry run first, and
//! see every failure in the outbox with a Retry.
//!
//! A push session reads the table's fields once (`GET …/fields`), checks the [`Mapping`]
//! against them (a problem stops it before any write), then works through the outbox's pending
//! rows in batches: one `GET` per batch finds the rows that exist (`q.where` on the key column,
//! `OR`-ed over the batch's appointment ids), and each appointment is then written once — a
//! `POST` when its row is missing, a `PUT` of the changed columns when it differs, nothing when
//! Caspio already holds the values. A `POST` refused with 400 is read back once by key: when
//! another push inserted the row first (the key column is Unique), it becomes a `PUT`, so racing
//! pushes still leave one row. Calls: 2 per session (token, fields) plus about
//! `1 + 1/batch` per row.
//!
//! Outcomes are committed to the outbox once per lookup batch: a row the account or the connection
//! failed (401 after a fresh token, 429 or unreachable after the client's bounded retries) stays
//! pending and the session stops; a row Caspio refused (400, 403, 404, 5xx after retries) is set
//! aside as failed with Caspio's message in plain words. A session cut short leaves its
//! unfinished rows pending, and the next push (or [`CaspioPush::resume`]) carries on.
//!
//! Only appointment ids, counts and error codes are logged; values (patient details when the
//! practice includes them) never are.

mod mapping;
mod outbox;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use deskbridge_caspio::{Client, Error as CaspioError, RecordQuery, Where};
use serde_json::Value;

use crate::clock::Clock;
use crate::resync::CancelToken;
use crate::store::{Store, StoreError};

pub use deskbridge_caspio::Record;
pub use mapping::{ColumnMapping, Mapping, MappingError, MappingProblem, Source, ValidMapping};
pub use outbox::{Outbox, OutboxCounts, OutboxRow, OutboxState, Written};

use mapping::PushSource;

/// Appointment ids looked up per `GET` (an `OR` of this many key comparisons).
pub const DEFAULT_LOOKUP_BATCH: usize = 40;

/// Which appointments a push or a dry run covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// These appointments.
    Ids(Vec<String>),
    /// Every stored appointment whose values differ from what was last pushed (or that was
    /// never pushed).
    ChangedSinceLastPush,
}

/// Where a push stands; passed to the progress callback after every row, and returned at the
/// end.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushReport {
    /// Outbox rows this session works through.
    pub total: u64,
    /// Rows finished (pushed or failed).
    pub done: u64,
    /// Rows inserted.
    pub inserted: u64,
    /// Rows updated.
    pub updated: u64,
    /// Rows Caspio already held as they are.
    pub unchanged: u64,
    /// Rows set aside as failed.
    pub failed: u64,
    /// Requested ids that are not stored in Deskbridge (nothing queued for them).
    pub not_stored: Vec<String>,
}

/// One row of a dry run: what would be written. `Debug` leaves the values out (they may hold
/// patient details); show them to staff, never log them.
#[derive(Clone, PartialEq)]
pub struct PlannedRow {
    /// The appointment.
    pub appointment_id: String,
    /// Insert, update or unchanged.
    pub action: Written,
    /// For an update: the columns that would change.
    pub changed_columns: Vec<String>,
    /// Every mapped column and the value it would hold.
    pub values: Record,
    /// Patient details are on, but none are stored for this appointment: their columns are
    /// left as they are.
    pub patient_details_missing: bool,
}

impl fmt::Debug for PlannedRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlannedRow")
            .field("appointment_id", &self.appointment_id)
            .field("action", &self.action)
            .field("changed_columns", &self.changed_columns)
            .field("columns", &self.values.keys().collect::<Vec<_>>())
            .field("patient_details_missing", &self.patient_details_missing)
            .finish()
    }
}

/// What a push would do, row by row; nothing is written and the outbox is untouched.
#[derive(Debug, Clone, PartialEq)]
pub struct DryRun {
    /// One row per appointment.
    pub rows: Vec<PlannedRow>,
    /// Requested ids that are not stored in Deskbridge.
    pub not_stored: Vec<String>,
}

/// Why a push session did not complete. Rows already pushed stay pushed; the others stay
/// pending (or failed, with their own message).
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The mapping does not fit the table: nothing was written.
    #[error(transparent)]
    Mapping(#[from] MappingError),
    /// Caspio failed for the whole session (sign-in, rate limit, connection, or reading the
    /// table's fields). `Display` holds no value; [`PushError::staff_message`] adds Caspio's
    /// message.
    #[error("the Caspio push stopped: {0}")]
    Caspio(#[source] Box<CaspioError>),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The push was cancelled; unfinished rows stay pending.
    #[error("the Caspio push was cancelled; the rows not yet pushed stay queued")]
    Cancelled,
}

impl PushError {
    /// A stable snake_case code for the UI's logic.
    pub fn code(&self) -> &'static str {
        match self {
            PushError::Mapping(_) => "caspio_mapping_invalid",
            PushError::Caspio(error) => error.code(),
            PushError::Store(_) => "database_error",
            PushError::Cancelled => "cancelled",
        }
    }

    /// What happened, in words for staff (Caspio's own message included).
    pub fn staff_message(&self) -> String {
        match self {
            PushError::Caspio(error) => format!(
                "{} The appointments not yet pushed stay queued.",
                error.staff_message()
            ),
            other => other.to_string(),
        }
    }
}

impl From<CaspioError> for PushError {
    fn from(error: CaspioError) -> Self {
        PushError::Caspio(Box::new(error))
    }
}

impl From<rusqlite::Error> for PushError {
    fn from(error: rusqlite::Error) -> Self {
        PushError::Store(StoreError::Database(error))
    }
}

/// Pushes appointments from the store to Caspio through its own database connection.
pub struct CaspioPush {
    /// Locked only between Caspio calls, never across one: it makes the push `Sync`, so its
    /// futures are `Send` (a connection alone is not `Sync`).
    store: Mutex<Store>,
    client: Client,
    mapping: Mapping,
    clock: Arc<dyn Clock>,
    lookup_batch: usize,
}

impl fmt::Debug for CaspioPush {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaspioPush")
            .field("store", &self.store)
            .field("client", &self.client)
            .field("table", &self.mapping.table)
            .finish_non_exhaustive()
    }
}

/// A row to write in this session.
struct Item {
    row: Option<i64>,
    source: PushSource,
    values: Record,
    patient_missing: bool,
}

impl CaspioPush {
    /// A push of `store`'s appointments (its own connection) through `client` per `mapping`.
    pub fn new(store: Store, client: Client, mapping: Mapping, clock: Arc<dyn Clock>) -> Self {
        Self {
            store: Mutex::new(store),
            client,
            mapping,
            clock,
            lookup_batch: DEFAULT_LOOKUP_BATCH,
        }
    }

    /// Looks up this many appointment ids per `GET` (at least 1; default 40).
    pub fn with_lookup_batch(mut self, batch: usize) -> Self {
        self.lookup_batch = batch.max(1);
        self
    }

    /// The database connection (see the field's note).
    fn db(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The mapping in use.
    pub fn mapping(&self) -> &Mapping {
        &self.mapping
    }

    /// Replaces the mapping (the practice changed its settings).
    pub fn set_mapping(&mut self, mapping: Mapping) {
        self.mapping = mapping;
    }

    /// The outbox: counts per state and up to `limit` rows (failed first).
    pub fn outbox(&self, limit: u32) -> Result<Outbox, PushError> {
        Ok(outbox::list(self.db().conn(), limit)?)
    }

    /// Reads the table's fields and checks the mapping: the session's first call.
    pub async fn check_mapping(&self) -> Result<ValidMapping, PushError> {
        let table = self.mapping.table_name()?;
        let fields = self.client.fields(&table).await?;
        Ok(self.mapping.validate(&fields)?)
    }

    /// What pushing `selection` would do, row by row, with the values; writes nothing (it reads
    /// the table's fields and looks the rows up).
    pub async fn dry_run(&self, selection: &Selection) -> Result<DryRun, PushError> {
        let valid = self.check_mapping().await?;
        let (ids, not_stored) = self.select(&valid, selection)?;
        let mut rows = Vec::with_capacity(ids.len());
        for batch in ids.chunks(self.lookup_batch) {
            let items = self.items(&valid, batch.iter().map(|id| (None, id.clone())))?;
            let existing = self.lookup(&valid, &items).await?;
            for item in items {
                let (action, changed_columns) = match existing.get(&fold(&item.source.id)) {
                    None => (Written::Insert, Vec::new()),
                    Some(row) => {
                        let changed = valid.differences(&item.values, row);
                        if changed.is_empty() {
                            (Written::Unchanged, changed)
                        } else {
                            (Written::Update, changed)
                        }
                    }
                };
                rows.push(PlannedRow {
                    appointment_id: item.source.id,
                    action,
                    changed_columns,
                    values: item.values,
                    patient_details_missing: item.patient_missing,
                });
            }
        }
        Ok(DryRun { rows, not_stored })
    }

    /// Queues `ids` and pushes every pending row.
    pub async fn push_selected(
        &mut self,
        ids: &[String],
        progress: &mut (dyn FnMut(&PushReport) + Send),
        cancel: &CancelToken,
    ) -> Result<PushReport, PushError> {
        self.push(&Selection::Ids(ids.to_vec()), progress, cancel)
            .await
    }

    /// Queues every appointment changed since its last push (or never pushed) and pushes every
    /// pending row.
    pub async fn push_changed_since_last(
        &mut self,
        progress: &mut (dyn FnMut(&PushReport) + Send),
        cancel: &CancelToken,
    ) -> Result<PushReport, PushError> {
        self.push(&Selection::ChangedSinceLastPush, progress, cancel)
            .await
    }

    /// Puts every failed row back in the queue and pushes every pending row.
    pub async fn retry_failed(
        &mut self,
        progress: &mut (dyn FnMut(&PushReport) + Send),
        cancel: &CancelToken,
    ) -> Result<PushReport, PushError> {
        let valid = self.check_mapping().await?;
        let reopened =
            outbox::reopen_failed(self.db().conn(), valid.table().as_str(), self.clock.now())?;
        tracing::info!(table = %valid.table(), reopened, "Caspio push: failed rows queued again");
        self.process(&valid, PushReport::default(), progress, cancel)
            .await
    }

    /// Pushes the rows left pending (by a session cut short, a restart, or a cancel).
    pub async fn resume(
        &mut self,
        progress: &mut (dyn FnMut(&PushReport) + Send),
        cancel: &CancelToken,
    ) -> Result<PushReport, PushError> {
        let valid = self.check_mapping().await?;
        self.process(&valid, PushReport::default(), progress, cancel)
            .await
    }

    async fn push(
        &mut self,
        selection: &Selection,
        progress: &mut (dyn FnMut(&PushReport) + Send),
        cancel: &CancelToken,
    ) -> Result<PushReport, PushError> {
        let valid = self.check_mapping().await?;
        let (ids, mut not_stored) = self.select(&valid, selection)?;
        let now = self.clock.now();
        not_stored.extend(outbox::request(
            self.db().conn_mut(),
            &ids,
            valid.table().as_str(),
            now,
        )?);
        let report = PushReport {
            not_stored,
            ..PushReport::default()
        };
        self.process(&valid, report, progress, cancel).await
    }

    /// The ids a selection covers, and the requested ids not stored.
    fn select(
        &self,
        valid: &ValidMapping,
        selection: &Selection,
    ) -> Result<(Vec<String>, Vec<String>), PushError> {
        let db = self.db();
        let conn = db.conn();
        match selection {
            Selection::Ids(ids) => {
                let mut stored = Vec::with_capacity(ids.len());
                let mut missing = Vec::new();
                for id in ids {
                    if stored.contains(id) {
                        continue;
                    }
                    match outbox::source(conn, id)? {
                        Some(_) => stored.push(id.clone()),
                        None => missing.push(id.clone()),
                    }
                }
                Ok((stored, missing))
            }
            Selection::ChangedSinceLastPush => {
                let last = outbox::last_pushed(conn, valid.table().as_str())?;
                let mut changed = Vec::new();
                for source in outbox::all_sources(conn)? {
                    let patient = patient(valid, conn, &source.id)?;
                    let values = Value::Object(valid.values(&source, patient.as_ref()));
                    if last.get(&source.id) != Some(&values) {
                        changed.push(source.id);
                    }
                }
                Ok((changed, Vec::new()))
            }
        }
    }

    /// The values of each appointment (row id, appointment id) that is stored.
    fn items(
        &self,
        valid: &ValidMapping,
        rows: impl Iterator<Item = (Option<i64>, String)>,
    ) -> Result<Vec<Item>, PushError> {
        let mut items = Vec::new();
        for (row, id) in rows {
            let db = self.db();
            let Some(source) = outbox::source(db.conn(), &id)? else {
                continue;
            };
            let patient = patient(valid, db.conn(), &id)?;
            let values = valid.values(&source, patient.as_ref());
            items.push(Item {
                row,
                values,
                patient_missing: valid.include_patient_details && patient.is_none(),
                source,
            });
        }
        Ok(items)
    }

    /// One `GET` for the rows of `items` that exist, by (case-folded) key.
    async fn lookup(
        &self,
        valid: &ValidMapping,
        items: &[Item],
    ) -> Result<HashMap<String, Record>, CaspioError> {
        let Some(filter) = Where::any_of(valid.key(), items.iter().map(|item| &item.source.id))
        else {
            return Ok(HashMap::new());
        };
        let mut select = vec![valid.key().clone()];
        select.extend(
            valid
                .written()
                .map(|mapped| mapped.column.clone())
                .filter(|column| column != valid.key()),
        );
        let rows = self
            .client
            .records(
                valid.table(),
                &RecordQuery {
                    select,
                    filter: Some(filter),
                    page: Some((1, deskbridge_caspio::MAX_PAGE_SIZE)),
                },
            )
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|row| {
                let key = row
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(valid.key().as_str()))
                    .and_then(|(_, value)| value.as_str())
                    .map(fold)?;
                Some((key, row))
            })
            .collect())
    }

    /// Works through the pending rows of the mapping's table.
    async fn process(
        &mut self,
        valid: &ValidMapping,
        mut report: PushReport,
        progress: &mut (dyn FnMut(&PushReport) + Send),
        cancel: &CancelToken,
    ) -> Result<PushReport, PushError> {
        let table = valid.table().as_str().to_owned();
        let pending = outbox::pending(self.db().conn(), &table)?;
        report.total = pending.len() as u64;
        progress(&report);
        let result = self
            .process_rows(valid, &pending, &mut report, progress, cancel)
            .await;
        tracing::info!(
            table,
            total = report.total,
            inserted = report.inserted,
            updated = report.updated,
            unchanged = report.unchanged,
            failed = report.failed,
            outcome = match &result {
                Ok(()) => "completed",
                Err(error) => error.code(),
            },
            "Caspio push session ended"
        );
        result.map(|()| report)
    }

    async fn process_rows(
        &mut self,
        valid: &ValidMapping,
        pending: &[(i64, String)],
        report: &mut PushReport,
        progress: &mut (dyn FnMut(&PushReport) + Send),
        cancel: &CancelToken,
    ) -> Result<(), PushError> {
        let mut outcomes = Vec::new();
        for batch in pending.chunks(self.lookup_batch) {
            if cancel.is_cancelled() {
                return Err(PushError::Cancelled);
            }
            for (row, id) in batch {
                if outbox::source(self.db().conn(), id)?.is_none() {
                    let message = "The appointment is no longer stored in Deskbridge.";
                    failed(
                        *row,
                        id,
                        message,
                        "appointment_missing",
                        report,
                        &mut outcomes,
                    );
                    progress(report);
                }
            }
            let items = self.items(
                valid,
                batch.iter().map(|(row, id)| (Some(*row), id.clone())),
            )?;
            let mut batch_run = BatchRun {
                report: &mut *report,
                progress: &mut *progress,
                cancel,
                outcomes: &mut outcomes,
            };
            let result = match self.lookup(valid, &items).await {
                Ok(existing) => {
                    self.write_batch(valid, &items, &existing, &mut batch_run)
                        .await
                }
                Err(error) => {
                    let result =
                        caspio_failure(&items, error, batch_run.report, batch_run.outcomes);
                    (batch_run.progress)(batch_run.report);
                    result
                }
            };
            outbox::record(self.db().conn_mut(), &mut outcomes, self.clock.now())?;
            result?;
        }
        Ok(())
    }

    /// Writes one batch's rows, collecting their outcomes.
    async fn write_batch(
        &self,
        valid: &ValidMapping,
        items: &[Item],
        existing: &HashMap<String, Record>,
        run: &mut BatchRun<'_>,
    ) -> Result<(), PushError> {
        for item in items {
            if run.cancel.is_cancelled() {
                return Err(PushError::Cancelled);
            }
            let written = self
                .write_one(valid, &item.values, existing.get(&fold(&item.source.id)))
                .await;
            match written {
                Ok(written) => {
                    run.outcomes.push(outbox::Outcome::Pushed {
                        row: item.row.unwrap_or_default(),
                        written,
                        values: Value::Object(item.values.clone()),
                    });
                    match written {
                        Written::Insert => run.report.inserted += 1,
                        Written::Update => run.report.updated += 1,
                        Written::Unchanged => run.report.unchanged += 1,
                    }
                    run.report.done += 1;
                }
                Err(error) => {
                    caspio_failure(std::slice::from_ref(item), error, run.report, run.outcomes)?;
                }
            }
            (run.progress)(run.report);
        }
        Ok(())
    }

    /// Writes one appointment: `PUT` of the changed columns when its row exists, `POST` when it
    /// does not (read back by key if refused: another push may have won the race).
    async fn write_one(
        &self,
        valid: &ValidMapping,
        values: &Record,
        existing: Option<&Record>,
    ) -> Result<Written, CaspioError> {
        let key = values
            .get(valid.key().as_str())
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let filter = Where::eq(valid.key(), key.as_str());
        if let Some(row) = existing {
            return self.update_if_changed(valid, &filter, values, row).await;
        }
        match self.client.insert(valid.table(), values).await {
            Ok(_) => Ok(Written::Insert),
            Err(refused @ CaspioError::BadRequest { .. }) => {
                let found = self
                    .client
                    .records(
                        valid.table(),
                        &RecordQuery {
                            filter: Some(filter.clone()),
                            ..RecordQuery::default()
                        },
                    )
                    .await?;
                match found.first() {
                    Some(row) => {
                        tracing::info!(
                            table = %valid.table(),
                            "Caspio insert refused but the row exists (a concurrent push); updating"
                        );
                        self.update_if_changed(valid, &filter, values, row).await
                    }
                    None => Err(refused),
                }
            }
            Err(error) => Err(error),
        }
    }

    async fn update_if_changed(
        &self,
        valid: &ValidMapping,
        filter: &Where,
        values: &Record,
        existing: &Record,
    ) -> Result<Written, CaspioError> {
        let changed = valid.differences(values, existing);
        if changed.is_empty() {
            return Ok(Written::Unchanged);
        }
        let update: Record = changed
            .into_iter()
            .filter_map(|column| values.get(&column).cloned().map(|value| (column, value)))
            .collect();
        self.client.update(valid.table(), filter, &update).await?;
        Ok(Written::Update)
    }
}

/// What one batch of a session reports to and collects.
struct BatchRun<'a> {
    report: &'a mut PushReport,
    progress: &'a mut (dyn FnMut(&PushReport) + Send),
    cancel: &'a CancelToken,
    outcomes: &'a mut Vec<outbox::Outcome>,
}

/// Records a Caspio failure on `items`: an account-wide one keeps them pending and ends the
/// session; any other sets them aside as failed.
fn caspio_failure(
    items: &[Item],
    error: CaspioError,
    report: &mut PushReport,
    outcomes: &mut Vec<outbox::Outcome>,
) -> Result<(), PushError> {
    let message = error.staff_message();
    if error.is_account_wide() {
        for item in items {
            if let Some(row) = item.row {
                outcomes.push(outbox::Outcome::Failed {
                    row,
                    message: message.clone(),
                    code: error.code(),
                    keep_pending: true,
                });
            }
        }
        return Err(PushError::from(error));
    }
    for item in items {
        let row = item.row.unwrap_or_default();
        failed(
            row,
            &item.source.id,
            &message,
            error.code(),
            report,
            outcomes,
        );
    }
    Ok(())
}

/// Sets a row aside as failed.
fn failed(
    row: i64,
    id: &str,
    message: &str,
    code: &'static str,
    report: &mut PushReport,
    outcomes: &mut Vec<outbox::Outcome>,
) {
    tracing::warn!(
        appointment_id = id,
        code,
        "Caspio push: row set aside as failed"
    );
    outcomes.push(outbox::Outcome::Failed {
        row,
        message: message.to_owned(),
        code,
        keep_pending: false,
    });
    report.failed += 1;
    report.done += 1;
}

/// The stored patient details of `id`, when the mapping includes them.
fn patient(
    valid: &ValidMapping,
    conn: &rusqlite::Connection,
    id: &str,
) -> Result<Option<Value>, PushError> {
    if !valid.include_patient_details {
        return Ok(None);
    }
    Ok(outbox::patient(conn, id)?)
}

/// Keys compare as Caspio's default collation does: case-insensitively.
fn fold(key: &str) -> String {
    key.to_lowercase()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use deskbridge_caspio::{Account, ClientId, ClientSecret, IntegrationHost, RetryPolicy};
    use deskbridge_sandbox::caspio::{CaspioConfig, CaspioEmulator, CaspioRoute};

    use super::*;
    use crate::clock::ManualClock;
    use crate::testing::{appointment, at, store};

    #[tokio::test]
    async fn writes_that_landed_before_a_crash_are_found_not_repeated() {
        let running = CaspioEmulator::start(CaspioConfig::new("desk", "secret"))
            .await
            .unwrap();
        let client = Client::builder(Account {
            host: IntegrationHost::parse("c1abc.caspio.com").unwrap(),
            client_id: ClientId::new("desk"),
            client_secret: ClientSecret::new("secret".to_owned()),
        })
        .base_url(running.base_url())
        .retry_policy(RetryPolicy {
            base_delay: Duration::from_millis(1),
            ..RetryPolicy::default()
        })
        .build()
        .unwrap();
        let (_dir, mut store) = store();
        let ids: Vec<String> = (0..3).map(|i| format!("a{i}")).collect();
        for id in &ids {
            store
                .record_appointment(&appointment(id, 86_400, 10), at(1))
                .unwrap();
        }
        let clock = Arc::new(ManualClock::new(at(2)));
        let mut push = CaspioPush::new(
            store.try_clone().unwrap(),
            client,
            Mapping::default_appointments("UTC"),
            clock,
        );
        let first = push
            .push_selected(&ids, &mut |_: &PushReport| {}, &CancelToken::new())
            .await
            .unwrap();
        assert_eq!(first.inserted, 3);
        // The process died after Caspio took the writes, before their outcomes were committed.
        store
            .conn()
            .execute(
                "UPDATE caspio_outbox SET state = 'pending', action = NULL, pushed_json = NULL,
                     pushed_at = NULL",
                [],
            )
            .unwrap();
        running.reset_calls();
        let resumed = push
            .resume(&mut |_: &PushReport| {}, &CancelToken::new())
            .await
            .unwrap();
        assert_eq!((resumed.total, resumed.unchanged), (3, 3));
        let calls = running.calls();
        assert_eq!(
            calls.get(CaspioRoute::InsertRecord) + calls.get(CaspioRoute::UpdateRecords),
            0
        );
        assert_eq!(running.records("Appointments").len(), 3);
        assert_eq!(push.outbox(10).unwrap().counts.pushed, 3);
    }

    /// The app runs pushes on a multi-threaded runtime: every future must be `Send`.
    #[test]
    fn the_push_and_its_futures_are_send() {
        fn is_send<T: Send>(_: &T) {}
        fn is_sync<T: Sync>() {}
        is_sync::<CaspioPush>();
        let (_dir, store) = store();
        let client = Client::builder(Account {
            host: IntegrationHost::parse("c1abc.caspio.com").unwrap(),
            client_id: ClientId::new("desk"),
            client_secret: ClientSecret::new("secret".to_owned()),
        })
        .build()
        .unwrap();
        let clock = Arc::new(ManualClock::new(at(0)));
        let mut push = CaspioPush::new(store, client, Mapping::default_appointments("UTC"), clock);
        let cancel = CancelToken::new();
        let mut quiet = |_: &PushReport| {};
        is_send(&push.dry_run(&Selection::ChangedSinceLastPush));
        is_send(&push.check_mapping());
        is_send(&push.push_selected(&[], &mut quiet, &cancel));
        is_send(&push.push_changed_since_last(&mut quiet, &cancel));
        is_send(&push.retry_failed(&mut quiet, &cancel));
        is_send(&push.resume(&mut quiet, &cancel));
    }

    #[test]
    fn errors_read_in_plain_words_and_keep_their_codes() {
        let error = PushError::from(CaspioError::RateLimited {
            operation: deskbridge_caspio::Operation::GetRecords,
            attempts: 7,
            retry_after: None,
        });
        assert_eq!(error.code(), "caspio_rate_limited");
        assert!(
            error
                .staff_message()
                .ends_with("The appointments not yet pushed stay queued."),
            "{}",
            error.staff_message()
        );
        assert_eq!(PushError::Cancelled.code(), "cancelled");
    }
}
