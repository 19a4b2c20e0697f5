//! The database schema as an ordered list of migrations, and the runner that applies them.
//!
//! The applied count is kept in SQLite's `user_version` (the scheme of `rusqlite_migration`, whose
//! 2.x releases all require an older rusqlite than the 0.43 this crate builds SQLCipher with).
//! Each migration runs in its own `BEGIN IMMEDIATE` transaction together with the version bump,
//! so a crash leaves either the old or the new schema, and two processes never apply one twice.
//! A migration, once released, is never edited: changes are new entries at the end.

use rusqlite::{Connection, TransactionBehavior};

/// Every migration in order; `user_version` counts how many have been applied.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: webhooks (received and rejected), appointments and their changes, sync state, audit log.
    r#"
-- Authentic webhooks, exactly as received. One row per dedupe key: a duplicate delivery is
-- counted on the existing row (`duplicates`, `last_duplicate_at`), never stored again.
CREATE TABLE received_webhooks (
    id                INTEGER PRIMARY KEY,
    received_at       TEXT    NOT NULL,                -- RFC 3339 UTC, microseconds
    webhook_timestamp INTEGER NOT NULL,                -- the webhook-timestamp header, Unix seconds
    verdict           TEXT    NOT NULL CHECK (verdict IN ('stored', 'stale')),
    skew_seconds      INTEGER,                         -- webhook timestamp - now, for stale ones
    dedupe_key        TEXT    NOT NULL UNIQUE,
    body              BLOB    NOT NULL,                -- the raw request body, byte for byte
    body_sha256       TEXT    NOT NULL,
    headers_json      TEXT    NOT NULL CHECK (json_valid(headers_json)),
    appointment_id    TEXT,                            -- NULL when the payload could not be read
    update_type       TEXT,
    payload_error     TEXT,                            -- why the payload could not be read
    duplicates        INTEGER NOT NULL DEFAULT 0 CHECK (duplicates >= 0),
    last_duplicate_at TEXT,
    processed_at      TEXT,
    attempts          INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error        TEXT,
    CHECK ((verdict = 'stale') = (skew_seconds IS NOT NULL))
) STRICT;
CREATE INDEX received_webhooks_unprocessed ON received_webhooks (id) WHERE processed_at IS NULL;
CREATE INDEX received_webhooks_appointment ON received_webhooks (appointment_id);

-- Requests that failed verification: what they claimed, never their body.
CREATE TABLE rejected_webhooks (
    id           INTEGER PRIMARY KEY,
    received_at  TEXT    NOT NULL,
    reason       TEXT    NOT NULL,                     -- the verifier's reason code
    headers_json TEXT    NOT NULL CHECK (json_valid(headers_json)),
    body_sha256  TEXT    NOT NULL,
    body_len     INTEGER NOT NULL CHECK (body_len >= 0)
) STRICT;

-- Appointments as last fetched from Zocdoc (AppointmentStatusResponseData), plus local facts.
CREATE TABLE appointments (
    id                     TEXT    PRIMARY KEY,        -- Zocdoc's appointment_id
    status                 TEXT    NOT NULL,           -- appointment_status
    start_time             TEXT    NOT NULL,           -- RFC 3339 UTC (Zocdoc's offset is in raw_json)
    created_time_utc       TEXT,
    last_modified_time_utc TEXT,
    provider_location_id   TEXT    NOT NULL,
    practice_id            TEXT,
    visit_reason_id        TEXT    NOT NULL,
    visit_type             TEXT,
    patient_type           TEXT,
    cancellation_reason    TEXT,
    source                 TEXT,
    arrived_at             TEXT,                       -- set by the desk; not a Zocdoc status
    no_show                INTEGER NOT NULL DEFAULT 0 CHECK (no_show IN (0, 1)),
    raw_json               TEXT    NOT NULL CHECK (json_valid(raw_json)),
    fetched_at             TEXT    NOT NULL
) STRICT;
CREATE INDEX appointments_start_time ON appointments (start_time);
CREATE INDEX appointments_last_modified ON appointments (last_modified_time_utc);

-- What changed on an appointment, when: old and new values as text (JSON for structured ones).
CREATE TABLE appointment_changes (
    id             INTEGER PRIMARY KEY,
    appointment_id TEXT    NOT NULL REFERENCES appointments (id),
    at             TEXT    NOT NULL,
    kind           TEXT    NOT NULL,
    old_value      TEXT,
    new_value      TEXT
) STRICT;
CREATE INDEX appointment_changes_appointment ON appointment_changes (appointment_id, at);

-- Watermarks of the resync and other workers.
CREATE TABLE sync_state (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

-- Who did what to which appointment; each row's hash covers the previous row's hash.
CREATE TABLE audit_log (
    id             INTEGER PRIMARY KEY,
    at             TEXT    NOT NULL,
    actor          TEXT    NOT NULL,
    action         TEXT    NOT NULL,
    appointment_id TEXT,
    prev_hash      TEXT    NOT NULL,
    hash           TEXT    NOT NULL UNIQUE
) STRICT;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
"#,
    // 2: processing of received webhooks (when a failed row is tried again, rows given up on);
    // patients' details fetched on demand.
    r#"
-- A failed row waits until `next_attempt_at`; a row Zocdoc no longer knows (404) or whose payload
-- could not be read is given up (`gave_up_at`, with `last_error`) and stays visible, never deleted.
ALTER TABLE received_webhooks ADD COLUMN next_attempt_at TEXT;
ALTER TABLE received_webhooks ADD COLUMN gave_up_at TEXT;

-- The patient behind an appointment (PHI), fetched when staff open it; the latest copy only.
CREATE TABLE participants (
    appointment_id TEXT PRIMARY KEY,                   -- Zocdoc's appointment_id
    details_json   TEXT NOT NULL CHECK (json_valid(details_json)),
    fetched_at     TEXT NOT NULL
) STRICT;
"#,
    // 3: no index on received_webhooks.appointment_id: nothing looks webhooks up by appointment,
    // and under load every such random index page is one more page to encrypt per commit.
    r#"
DROP INDEX received_webhooks_appointment;
"#,
    // 4: content dedupe keys lead with the update's timestamp (`update:<updated>:<id>:<type>`, each
    // part escaped), so the unique index grows at its right edge as events arrive instead of
    // dirtying a random page per event. Keys of the old `appointment:<id>:<type>:<updated>` form
    // are rewritten; `sha256:` keys stay. No old key starts with `update:`, so no rewrite collides.
    r#"
UPDATE received_webhooks
SET dedupe_key = 'update:' || replace(replace(parts.updated, '%', '%25'), ':', '%3A')
                 || ':' || parts.appointment || ':' || parts.update_type
FROM (
    SELECT row_id,
           appointment,
           substr(tail, 1, instr(tail, ':') - 1) AS update_type,
           substr(tail, instr(tail, ':') + 1)    AS updated
    FROM (
        SELECT row_id,
               substr(rest, 1, instr(rest, ':') - 1) AS appointment,
               substr(rest, instr(rest, ':') + 1)    AS tail
        FROM (
            SELECT id AS row_id, substr(dedupe_key, 13) AS rest
            FROM received_webhooks
            WHERE substr(dedupe_key, 1, 12) = 'appointment:'
        )
    )
) AS parts
WHERE received_webhooks.id = parts.row_id;
"#,
    // 5: the analytics read a year of appointments and their dating history from indexes alone.
    // Reading by `appointments_start_time` fetched each row from a random page of the table, and
    // every such page is decrypted: 100,000 appointments took seconds. The covering index starts
    // with `start_time`, so it also serves everything the old index did, which goes.
    r#"
CREATE INDEX appointments_by_start_covering ON appointments (
    start_time, status, no_show, created_time_utc, provider_location_id, visit_reason_id,
    patient_type, (raw_json ->> '$.developer_patient_id'), id
);
DROP INDEX appointments_start_time;

-- Only the history rows that date a cancellation or a reschedule, with every column read.
CREATE INDEX appointment_changes_dating ON appointment_changes (
    appointment_id, at, kind, new_value, old_value
) WHERE kind = 'start_moved'
     OR (kind IN ('created', 'status_changed')
         AND new_value IN ('cancelled', 'rescheduled', 'pending_reschedule'));
"#,
    // 6: the directory's names for the ids an appointment carries, cached so that each id is
    // fetched from Zocdoc once (again after 7 days). Not patient data.
    r#"
-- GET /v1/provider_locations/{id}. Both names NULL: Zocdoc answered 404 (asked again later).
CREATE TABLE directory_provider_locations (
    provider_location_id TEXT PRIMARY KEY,
    provider_name        TEXT,
    location_name        TEXT,                         -- NULL for a virtual provider location
    fetched_at           TEXT NOT NULL
) STRICT;

-- GET /v1/visit_reasons/{id}. NULL name: Zocdoc answered 404 (asked again later).
CREATE TABLE directory_visit_reasons (
    visit_reason_id TEXT PRIMARY KEY,
    name            TEXT,
    fetched_at      TEXT NOT NULL
) STRICT;
"#,
    // 7: the Caspio outbox: one row per push request of an appointment to a table.
    r#"
-- pending -> pushed | failed. At most one open (pending or failed) row per appointment and table:
-- a new request reopens it. Pushed rows stay as history; `pushed_json` holds the values written
-- (patient data when the practice includes it: this database is encrypted), so "changed since
-- the last push" compares with it.
CREATE TABLE caspio_outbox (
    id             INTEGER PRIMARY KEY,
    appointment_id TEXT    NOT NULL REFERENCES appointments (id),
    target_table   TEXT    NOT NULL,
    state          TEXT    NOT NULL CHECK (state IN ('pending', 'pushed', 'failed')),
    action         TEXT    CHECK (action IN ('insert', 'update', 'unchanged')),
    attempts       INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error     TEXT,                               -- the staff message of the last failure
    error_code     TEXT,                               -- its stable code, e.g. caspio_forbidden
    pushed_json    TEXT    CHECK (pushed_json IS NULL OR json_valid(pushed_json)),
    requested_at   TEXT    NOT NULL,
    updated_at     TEXT    NOT NULL,
    pushed_at      TEXT,
    CHECK ((state = 'pushed') = (pushed_at IS NOT NULL))
) STRICT;
CREATE UNIQUE INDEX caspio_outbox_open ON caspio_outbox (appointment_id, target_table)
    WHERE state <> 'pushed';
CREATE INDEX caspio_outbox_state ON caspio_outbox (target_table, state, id);
"#,
];

/// The schema version this build writes: the number of migrations.
pub(super) fn latest_version() -> i64 {
    i64::try_from(MIGRATIONS.len()).expect("the number of migrations fits an i64")
}

/// Why the schema could not be brought up to date.
#[derive(Debug, thiserror::Error)]
pub(super) enum MigrationError {
    /// The database has a schema version this build does not know (written by a newer build).
    #[error(
        "schema version {found} is unknown to this build, which knows versions 0 to {supported}"
    )]
    UnknownVersion { found: i64, supported: i64 },
    /// SQLite failed while migrating.
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
}

/// Applies the migrations not yet applied. Running it again changes nothing.
pub(super) fn migrate(conn: &mut Connection) -> Result<(), MigrationError> {
    let supported = latest_version();
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let found: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
        let index = usize::try_from(found)
            .ok()
            .filter(|&index| index <= MIGRATIONS.len())
            .ok_or(MigrationError::UnknownVersion { found, supported })?;
        let Some(sql) = MIGRATIONS.get(index) else {
            return Ok(());
        };
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", found + 1)?;
        tx.commit()?;
        tracing::info!(version = found + 1, "database schema migrated");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database left at `version` by an older build.
    fn database_at(version: usize) -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        for sql in &MIGRATIONS[..version] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", i64::try_from(version).unwrap())
            .unwrap();
        conn
    }

    fn insert_webhook(conn: &Connection, dedupe_key: &str) {
        conn.execute(
            "INSERT INTO received_webhooks (received_at, webhook_timestamp, verdict, dedupe_key, \
             body, body_sha256, headers_json) VALUES ('t', 0, 'stored', ?1, x'', '', '{}')",
            [dedupe_key],
        )
        .unwrap();
    }

    #[test]
    fn migration_4_rewrites_content_keys_to_lead_with_the_update_time() {
        let mut conn = database_at(3);
        for key in [
            "appointment:62g4ar44-1yv9:updated:2023-06-14T17:06:54.9430804Z",
            "appointment:x%3Aupdated:created:t",
            "appointment:a%25b:cancelled:2023-06-14 17:06:54",
            "appointment:a::",
            "sha256:00ff",
        ] {
            insert_webhook(&conn, key);
        }
        migrate(&mut conn).unwrap();
        let keys: Vec<String> = conn
            .prepare("SELECT dedupe_key FROM received_webhooks ORDER BY id")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            keys,
            [
                "update:2023-06-14T17%3A06%3A54.9430804Z:62g4ar44-1yv9:updated",
                "update:t:x%3Aupdated:created",
                "update:2023-06-14 17%3A06%3A54:a%25b:cancelled",
                "update::a:",
                "sha256:00ff",
            ]
        );
        let redelivered = br#"{"event_type":"appointment_updated","data":{"data_type":"appointment_data",
            "appointment_data":{"appointment_id":"62g4ar44-1yv9","appointment_update_type":"updated",
            "appointment_updated_timestamp":"2023-06-14T17:06:54.9430804Z"}}}"#;
        assert_eq!(
            deskbridge_zocdoc::webhook::dedupe_key(redelivered).as_str(),
            keys[0],
            "a retry arriving after the upgrade finds the migrated row"
        );
    }
}
