//! The Caspio outbox in the encrypted store: push requests as rows `pending → pushed | failed`,
//! their attempts and last error, and what was last written per appointment. A push commits the
//! outcomes of each lookup batch together (one fsync per batch, not per row), never holding a
//! transaction open across a Caspio call; a push cut short (crash, restart, cancel) leaves its
//! unrecorded rows pending and the next push resumes them. Re-pushing a row whose write landed
//! but was not recorded is harmless: the lookup finds it, and it is updated or left unchanged.

use std::collections::HashMap;

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;

use super::mapping::PushSource;
use crate::store::{StoreError, format_timestamp};

/// Where an outbox row stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutboxState {
    /// Requested, not yet written to Caspio.
    Pending,
    /// Written (or found already up to date).
    Pushed,
    /// Set aside after a failure; stays until retried.
    Failed,
}

impl OutboxState {
    /// The stored text form.
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::Pending => "pending",
            OutboxState::Pushed => "pushed",
            OutboxState::Failed => "failed",
        }
    }

    fn parse(text: &str) -> Option<OutboxState> {
        [
            OutboxState::Pending,
            OutboxState::Pushed,
            OutboxState::Failed,
        ]
        .into_iter()
        .find(|state| state.as_str() == text)
    }
}

/// What a push did to a Caspio row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Written {
    /// A new row.
    Insert,
    /// The existing row, changed.
    Update,
    /// The existing row already held these values: nothing written.
    Unchanged,
}

impl Written {
    /// The stored text form.
    pub fn as_str(self) -> &'static str {
        match self {
            Written::Insert => "insert",
            Written::Update => "update",
            Written::Unchanged => "unchanged",
        }
    }

    fn parse(text: &str) -> Option<Written> {
        [Written::Insert, Written::Update, Written::Unchanged]
            .into_iter()
            .find(|written| written.as_str() == text)
    }
}

/// One outbox row, as the UI lists it (no patient data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    /// The row's id.
    pub id: i64,
    /// The appointment.
    pub appointment_id: String,
    /// The Caspio table.
    pub table: String,
    /// Where it stands.
    pub state: OutboxState,
    /// What the push did (pushed rows).
    pub written: Option<Written>,
    /// Attempts that failed so far.
    pub attempts: u32,
    /// The last failure, in words for staff.
    pub last_error: Option<String>,
    /// Its stable code, e.g. `caspio_forbidden`.
    pub error_code: Option<String>,
    /// When it was (last) requested.
    pub requested_at: String,
    /// When it last changed.
    pub updated_at: String,
    /// When it was pushed.
    pub pushed_at: Option<String>,
}

/// How many rows are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxCounts {
    /// Waiting to be pushed.
    pub pending: u64,
    /// Pushed.
    pub pushed: u64,
    /// Failed, waiting for Retry.
    pub failed: u64,
}

/// The outbox as listed: counts and the most relevant rows (failed, then pending, then the
/// latest pushed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outbox {
    /// Rows per state.
    pub counts: OutboxCounts,
    /// Up to the requested number of rows.
    pub rows: Vec<OutboxRow>,
}

/// Opens (or reopens) a pending row for each id; returns the ids not stored locally.
pub(crate) fn request(
    conn: &mut Connection,
    ids: &[String],
    table: &str,
    now: Timestamp,
) -> Result<Vec<String>, StoreError> {
    let now = format_timestamp(now);
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut unknown = Vec::new();
    {
        let mut exists = tx.prepare_cached("SELECT 1 FROM appointments WHERE id = ?1")?;
        let mut open = tx.prepare_cached(
            "INSERT INTO caspio_outbox (appointment_id, target_table, state, requested_at,
                 updated_at)
             VALUES (?1, ?2, 'pending', ?3, ?3)
             ON CONFLICT (appointment_id, target_table) WHERE state <> 'pushed'
             DO UPDATE SET state = 'pending', requested_at = excluded.requested_at,
                 updated_at = excluded.updated_at",
        )?;
        for id in ids {
            if exists.query_row([id], |_| Ok(())).optional()?.is_none() {
                unknown.push(id.clone());
                continue;
            }
            open.execute(params![id, table, now])?;
        }
    }
    tx.commit()?;
    Ok(unknown)
}

/// Every failed row of `table` back to pending; returns how many.
pub(crate) fn reopen_failed(
    conn: &Connection,
    table: &str,
    now: Timestamp,
) -> Result<usize, StoreError> {
    Ok(conn.execute(
        "UPDATE caspio_outbox SET state = 'pending', updated_at = ?2
         WHERE target_table = ?1 AND state = 'failed'",
        params![table, format_timestamp(now)],
    )?)
}

/// The pending rows of `table`, oldest first: (row id, appointment id).
pub(crate) fn pending(conn: &Connection, table: &str) -> Result<Vec<(i64, String)>, StoreError> {
    let mut statement = conn.prepare_cached(
        "SELECT id, appointment_id FROM caspio_outbox
         WHERE target_table = ?1 AND state = 'pending' ORDER BY id",
    )?;
    let rows = statement
        .query_map([table], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// What became of one outbox row in a push.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Written (or already up to date) with these values.
    Pushed {
        row: i64,
        written: Written,
        values: Value,
    },
    /// Failed: set aside, or kept pending when the failure was the account's or the
    /// connection's rather than the row's.
    Failed {
        row: i64,
        message: String,
        code: &'static str,
        keep_pending: bool,
    },
}

/// Records `outcomes` in one transaction and empties the list.
pub(crate) fn record(
    conn: &mut Connection,
    outcomes: &mut Vec<Outcome>,
    now: Timestamp,
) -> Result<(), StoreError> {
    if outcomes.is_empty() {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    for outcome in outcomes.iter() {
        match outcome {
            Outcome::Pushed {
                row,
                written,
                values,
            } => {
                let now = format_timestamp(now);
                tx.prepare_cached(
                    "UPDATE caspio_outbox SET state = 'pushed', action = ?2, pushed_json = ?3,
                         last_error = NULL, error_code = NULL, updated_at = ?4, pushed_at = ?4
                     WHERE id = ?1",
                )?
                .execute(params![
                    row,
                    written.as_str(),
                    values.to_string(),
                    now
                ])?;
            }
            Outcome::Failed {
                row,
                message,
                code,
                keep_pending,
            } => mark_failed(&tx, *row, message, code, *keep_pending, now)?,
        }
    }
    tx.commit()?;
    outcomes.clear();
    Ok(())
}

/// Records a failure: the row goes to `failed`, or stays `pending` when `keep_pending` (the
/// failure was the account's or the connection's, not the row's).
pub(crate) fn mark_failed(
    conn: &Connection,
    row: i64,
    message: &str,
    code: &str,
    keep_pending: bool,
    now: Timestamp,
) -> Result<(), StoreError> {
    let state = if keep_pending { "pending" } else { "failed" };
    conn.prepare_cached(
        "UPDATE caspio_outbox SET state = ?2, attempts = attempts + 1, last_error = ?3,
             error_code = ?4, updated_at = ?5
         WHERE id = ?1",
    )?
    .execute(params![row, state, message, code, format_timestamp(now)])?;
    Ok(())
}

/// The values last pushed to `table`, per appointment.
pub(crate) fn last_pushed(
    conn: &Connection,
    table: &str,
) -> Result<HashMap<String, Value>, StoreError> {
    let mut statement = conn.prepare(
        "SELECT appointment_id, pushed_json FROM caspio_outbox
         WHERE id IN (SELECT max(id) FROM caspio_outbox
                      WHERE target_table = ?1 AND state = 'pushed' GROUP BY appointment_id)",
    )?;
    let rows = statement.query_map([table], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, Option<String>>(1)?))
    })?;
    let mut last = HashMap::new();
    for row in rows {
        let (id, json) = row?;
        if let Some(value) = json.and_then(|json| serde_json::from_str(&json).ok()) {
            last.insert(id, value);
        }
    }
    Ok(last)
}

const SOURCE_COLUMNS: &str = "id, status, start_time, created_time_utc, last_modified_time_utc,
    provider_location_id, visit_reason_id, patient_type, cancellation_reason,
    arrived_at IS NOT NULL OR status = 'arrived'";

fn source_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<PushSource> {
    Ok(PushSource {
        id: row.get(0)?,
        status: row.get(1)?,
        start_time: row.get(2)?,
        created_time_utc: row.get(3)?,
        last_modified_time_utc: row.get(4)?,
        provider_location_id: row.get(5)?,
        visit_reason_id: row.get(6)?,
        patient_type: row.get(7)?,
        cancellation_reason: row.get(8)?,
        arrived: row.get(9)?,
    })
}

/// What a push reads of appointment `id`.
pub(crate) fn source(conn: &Connection, id: &str) -> Result<Option<PushSource>, StoreError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {SOURCE_COLUMNS} FROM appointments WHERE id = ?1"
        ))?
        .query_row([id], source_row)
        .optional()?)
}

/// What a push reads of every stored appointment.
pub(crate) fn all_sources(conn: &Connection) -> Result<Vec<PushSource>, StoreError> {
    let mut statement = conn.prepare(&format!(
        "SELECT {SOURCE_COLUMNS} FROM appointments ORDER BY id"
    ))?;
    let rows = statement
        .query_map([], source_row)?
        .collect::<Result<_, _>>()?;
    Ok(rows)
}

/// The stored patient details of `id` (participants JSON), if fetched.
pub(crate) fn patient(conn: &Connection, id: &str) -> Result<Option<Value>, StoreError> {
    let json: Option<String> = conn
        .prepare_cached("SELECT details_json FROM participants WHERE appointment_id = ?1")?
        .query_row([id], |row| row.get(0))
        .optional()?;
    Ok(json.and_then(|json| serde_json::from_str(&json).ok()))
}

/// Counts per state and up to `limit` rows: failed first, then pending, then the latest pushed.
pub(crate) fn list(conn: &Connection, limit: u32) -> Result<Outbox, StoreError> {
    let mut counts = OutboxCounts::default();
    let mut statement = conn.prepare("SELECT state, count(*) FROM caspio_outbox GROUP BY state")?;
    let rows = statement.query_map([], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
    })?;
    for row in rows {
        let (state, count) = row?;
        let count = u64::try_from(count).unwrap_or(0);
        match OutboxState::parse(&state) {
            Some(OutboxState::Pending) => counts.pending = count,
            Some(OutboxState::Pushed) => counts.pushed = count,
            Some(OutboxState::Failed) => counts.failed = count,
            None => {}
        }
    }
    let mut statement = conn.prepare(
        "SELECT id, appointment_id, target_table, state, action, attempts, last_error, error_code,
                requested_at, updated_at, pushed_at
         FROM caspio_outbox
         ORDER BY CASE state WHEN 'failed' THEN 0 WHEN 'pending' THEN 1 ELSE 2 END, id DESC
         LIMIT ?1",
    )?;
    let raw = statement
        .query_map([limit], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, Option<String>>(4)?,
                row.get::<_, i64>(5)?,
                row.get::<_, Option<String>>(6)?,
                row.get::<_, Option<String>>(7)?,
                row.get::<_, String>(8)?,
                row.get::<_, String>(9)?,
                row.get::<_, Option<String>>(10)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut rows = Vec::with_capacity(raw.len());
    for (
        id,
        appointment_id,
        table,
        state,
        action,
        attempts,
        last_error,
        error_code,
        requested_at,
        updated_at,
        pushed_at,
    ) in raw
    {
        let corrupt = |column| StoreError::Corrupt {
            table: "caspio_outbox",
            id,
            column,
        };
        rows.push(OutboxRow {
            id,
            appointment_id,
            table,
            state: OutboxState::parse(&state).ok_or_else(|| corrupt("state"))?,
            written: match action {
                None => None,
                Some(action) => Some(Written::parse(&action).ok_or_else(|| corrupt("action"))?),
            },
            attempts: u32::try_from(attempts).map_err(|_| corrupt("attempts"))?,
            last_error,
            error_code,
            requested_at,
            updated_at,
            pushed_at,
        });
    }
    Ok(Outbox { counts, rows })
}
