//! The encrypted store: one SQLCipher database per environment, keyed with 32 random bytes that
//! live only in the secret store.
//!
//! First run: generate the key, store it in the secret store, read it back and compare, and only
//! then create the database. Later runs read the key and prove it opens the file. If the database
//! exists and its key cannot be had (keyring locked or unreachable, entry missing or damaged, key
//! wrong), opening fails with its own error: a new key is never made over existing data, and
//! there is no unencrypted fallback.
//!
//! The database runs in WAL mode with `synchronous = FULL` (every commit is fsynced; on macOS
//! with `F_FULLFSYNC`), temporary tables in memory and foreign keys enforced. On Unix the folder
//! is private to the user (0700) and the database files are 0600.

mod schema;

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use jiff::Timestamp;
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, params};
use zeroize::Zeroizing;

use crate::environment::Environment;
use crate::random::{RandomError, RandomSource};
use crate::secrets::{SecretError, SecretName, SecretPurpose, SecretStore, SecretValue};

/// The database's file name inside the environment's data directory.
pub const DATABASE_FILE_NAME: &str = "deskbridge.sqlite3";

/// The unencrypted benchmark database's file name (feature `plaintext-benchmark`): never the
/// encrypted database's name, so neither can be mistaken for the other.
#[cfg(feature = "plaintext-benchmark")]
pub const PLAINTEXT_BENCHMARK_FILE_NAME: &str = "benchmark-plaintext.sqlite3";

/// Length of the raw SQLCipher key.
const KEY_LEN: usize = 32;

/// How long a statement waits for another connection's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Held while a connection is opened and keyed. SQLCipher (4.20) sets itself up on first use
/// without guarding against a concurrent first use: two connections keyed at the same moment in a
/// fresh process can fail with "sqlcipherCodecAttach: sqlcipher not initialized". Keying is cheap
/// (a raw key, no derivation), so connections are simply opened one at a time.
static CONNECTING: Mutex<()> = Mutex::new(());

/// Companion files SQLite keeps next to the database; their presence also means "data exists".
const COMPANION_SUFFIXES: [&str; 3] = ["-wal", "-shm", "-journal"];

/// An open connection to one environment's encrypted database.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    environment: Environment,
    keying: Keying,
}

/// How a connection is unlocked.
enum Keying {
    /// The SQLCipher key: the only choice in any build that receives webhooks.
    Encrypted(DatabaseKey),
    /// No encryption: only with the `plaintext-benchmark` feature, for measuring SQLCipher's cost.
    #[cfg(feature = "plaintext-benchmark")]
    Plaintext,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("environment", &self.environment)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Why the store could not be opened. Every message says what happened and what to do, and none
/// contains a key.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The secret store failed (locked, unreachable, or another platform failure).
    #[error("Deskbridge cannot get the {environment} database key from the keyring. {error}")]
    Keyring {
        /// The environment whose database was being opened.
        environment: Environment,
        /// What the secret store reported.
        error: SecretError,
    },
    /// The database exists but the secret store has no key for it.
    #[error(
        "The {environment} database exists ({}), but the keyring does not give its key. If \
         the keyring is locked, unlock it and try again. Otherwise the key is missing: \
         Deskbridge will not make a new key, because that would lock away the data already \
         stored. Restore the keyring from a backup or contact support; do not delete the \
         database file.",
        path.display()
    )]
    KeyMissing {
        /// The environment whose database was being opened.
        environment: Environment,
        /// The database file.
        path: PathBuf,
    },
    /// The key in the secret store does not open the database.
    #[error(
        "The key in the keyring does not open the {environment} database ({}): the key or the \
         file has been changed or damaged. Nothing was changed. Contact support; do not delete \
         the database file.",
        path.display()
    )]
    WrongKey {
        /// The environment whose database was being opened.
        environment: Environment,
        /// The database file.
        path: PathBuf,
    },
    /// The secret store holds something that is not a database key.
    #[error(
        "The {environment} database key in the keyring is damaged (it is not 64 hexadecimal \
         digits). Nothing was changed. Contact support; do not delete the database file."
    )]
    KeyMalformed {
        /// The environment whose database was being opened.
        environment: Environment,
    },
    /// A new key was written but did not read back the same, so no database was created.
    #[error(
        "The keyring accepted the new {environment} database key but did not give it back \
         unchanged, so Deskbridge did not create the database. Check that the keyring is \
         unlocked and working, then try again."
    )]
    KeyNotKept {
        /// The environment whose database was being created.
        environment: Environment,
    },
    /// SQLCipher refused the key statement.
    #[error(
        "The database encryption refused the {environment} key. Nothing was changed. Contact \
         support."
    )]
    KeyRejected {
        /// The environment whose database was being opened.
        environment: Environment,
    },
    /// No random bytes for a new key.
    #[error(transparent)]
    Random(#[from] RandomError),
    /// This build's SQLite has no encryption; Deskbridge refuses to store data unencrypted.
    #[error(
        "This copy of Deskbridge was built without database encryption and will not store data \
         unencrypted. Reinstall Deskbridge."
    )]
    NotEncrypted,
    /// The database was written by a newer Deskbridge.
    #[error(
        "The {environment} database was written by a newer version of Deskbridge (schema \
         {found}; this version knows up to {supported}). Update Deskbridge."
    )]
    SchemaTooNew {
        /// The environment whose database was being opened.
        environment: Environment,
        /// The database's schema version.
        found: i64,
        /// The newest schema version this build knows.
        supported: i64,
    },
    /// The database would not switch to write-ahead logging (needed for durable, concurrent use).
    #[error(
        "The {environment} database could not switch to write-ahead logging (it stayed in \
         {mode} mode). Check that the data folder is on a local disk, then restart Deskbridge."
    )]
    JournalMode {
        /// The environment whose database was being opened.
        environment: Environment,
        /// The journal mode SQLite kept.
        mode: String,
    },
    /// An unencrypted benchmark database was asked for outside the sandbox.
    #[cfg(feature = "plaintext-benchmark")]
    #[error(
        "An unencrypted benchmark database is only allowed in the sandbox, not in {environment}."
    )]
    PlaintextRefused {
        /// The environment that was asked for.
        environment: Environment,
    },
    /// A file or folder could not be created or secured.
    #[error(
        "Deskbridge could not {action} {}: {source}. Check that the disk is present, not full \
         and writable, then try again.",
        path.display()
    )]
    Io {
        /// What was being done, e.g. "create the data folder".
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// SQLite failed while opening or setting up the database.
    #[error(
        "The {environment} database could not be {action}: {source}. Restart Deskbridge; if it \
         keeps happening, contact support."
    )]
    Database {
        /// The environment whose database was being opened.
        environment: Environment,
        /// What was being done, e.g. "opened".
        action: &'static str,
        /// SQLite's error.
        source: rusqlite::Error,
    },
}

/// A read from the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("reading the database failed: {0}")]
    Database(#[from] rusqlite::Error),
    /// A stored value has an unexpected form.
    #[error("row {id} of {table} has an unreadable {column}")]
    Corrupt {
        /// The table.
        table: &'static str,
        /// The row's id.
        id: i64,
        /// The column.
        column: &'static str,
    },
}

/// What happened to an authentic webhook's row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// Its timestamp was within the tolerance.
    Stored,
    /// Its timestamp was outside the tolerance: stored and flagged.
    Stale,
}

impl Verdict {
    /// The value kept in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Stored => "stored",
            Verdict::Stale => "stale",
        }
    }

    fn parse(text: &str) -> Option<Verdict> {
        match text {
            "stored" => Some(Verdict::Stored),
            "stale" => Some(Verdict::Stale),
            _ => None,
        }
    }
}

/// One received (authentic) webhook, as the tools list it: never its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedSummary {
    /// Row id.
    pub id: i64,
    /// When the desk received it.
    pub received_at: Timestamp,
    /// Stored or stale.
    pub verdict: Verdict,
    /// For stale ones: webhook timestamp minus the time of receipt, in seconds.
    pub skew_seconds: Option<i64>,
    /// The appointment it is about (`None` when the payload could not be read).
    pub appointment_id: Option<String>,
    /// `created`, `updated`, `cancelled`, or whatever Zocdoc sent.
    pub update_type: Option<String>,
    /// How many further deliveries of the same event arrived.
    pub duplicates: i64,
    /// When the last of those arrived.
    pub last_duplicate_at: Option<Timestamp>,
}

/// One rejected request, as the tools list it. Rejected requests have no stored body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedSummary {
    /// Row id.
    pub id: i64,
    /// When the desk received it.
    pub received_at: Timestamp,
    /// The verifier's reason code, e.g. `no_matching_signature`.
    pub reason: String,
    /// The signature-relevant headers it carried, as JSON (name → list of values).
    pub headers_json: String,
    /// SHA-256 of the body, hex.
    pub body_sha256: String,
    /// Body length in bytes.
    pub body_len: i64,
}

impl Store {
    /// Opens (creating on first run) the encrypted database of `environment` below
    /// `app_data_dir`, with its key from `secrets`; `random` makes the key on first run.
    pub fn open(
        app_data_dir: &Path,
        environment: Environment,
        secrets: &dyn SecretStore,
        random: &dyn RandomSource,
    ) -> Result<Store, OpenError> {
        let dir = environment.data_dir(app_data_dir);
        create_private_dir(&dir).map_err(|source| OpenError::Io {
            action: "create the data folder",
            path: dir.clone(),
            source,
        })?;
        let path = dir.join(DATABASE_FILE_NAME);
        let existing = data_exists(&path)?;
        let name = SecretName::new(environment, SecretPurpose::DatabaseKey);
        let keyring = |error| OpenError::Keyring { environment, error };
        let key = match secrets.get(&name).map_err(keyring)? {
            Some(stored) => {
                DatabaseKey::from_secret(&stored).ok_or(OpenError::KeyMalformed { environment })?
            }
            None if existing => {
                tracing::error!(%environment, "database exists but its key is missing");
                return Err(OpenError::KeyMissing { environment, path });
            }
            None => create_key(secrets, &name, random)?,
        };
        if !existing {
            create_private_file(&path).map_err(|source| OpenError::Io {
                action: "create the database file",
                path: path.clone(),
                source,
            })?;
        }
        let mut store = Store::connect(path, environment, Keying::Encrypted(key))?;
        migrate(&mut store.conn, environment)?;
        tracing::info!(%environment, created = !existing, "encrypted store opened");
        Ok(store)
    }

    /// Benchmark only (feature `plaintext-benchmark`): an UNENCRYPTED sandbox database in its own
    /// file ([`PLAINTEXT_BENCHMARK_FILE_NAME`]) with the same schema and settings, to measure
    /// what SQLCipher costs. Never reads or writes the keyring and never touches the encrypted
    /// database; refuses the production environment.
    #[cfg(feature = "plaintext-benchmark")]
    pub fn open_plaintext_for_benchmark(
        app_data_dir: &Path,
        environment: Environment,
    ) -> Result<Store, OpenError> {
        if environment != Environment::Sandbox {
            return Err(OpenError::PlaintextRefused { environment });
        }
        let dir = environment.data_dir(app_data_dir);
        create_private_dir(&dir).map_err(|source| OpenError::Io {
            action: "create the data folder",
            path: dir.clone(),
            source,
        })?;
        let path = dir.join(PLAINTEXT_BENCHMARK_FILE_NAME);
        if !data_exists(&path)? {
            create_private_file(&path).map_err(|source| OpenError::Io {
                action: "create the database file",
                path: path.clone(),
                source,
            })?;
        }
        tracing::warn!(%environment, "benchmark: opening an UNENCRYPTED database");
        let mut store = Store::connect(path, environment, Keying::Plaintext)?;
        migrate(&mut store.conn, environment)?;
        Ok(store)
    }

    /// Another connection to the same database, with the same key (the secret store is not
    /// asked again).
    pub fn try_clone(&self) -> Result<Store, OpenError> {
        let keying = match &self.keying {
            Keying::Encrypted(key) => Keying::Encrypted(DatabaseKey(key.0.clone())),
            #[cfg(feature = "plaintext-benchmark")]
            Keying::Plaintext => Keying::Plaintext,
        };
        Store::connect(self.path.clone(), self.environment, keying)
    }

    /// The environment this database belongs to.
    pub fn environment(&self) -> Environment {
        self.environment
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version (number of applied migrations).
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(self
            .conn
            .pragma_query_value(None, "user_version", |row| row.get(0))?)
    }

    /// The most recent received (authentic) webhooks, newest first: no bodies.
    pub fn list_received(&self, limit: u32) -> Result<Vec<ReceivedSummary>, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT id, received_at, verdict, skew_seconds, appointment_id, update_type,
                    duplicates, last_duplicate_at
             FROM received_webhooks ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = statement.query_map([limit], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, Option<i64>>(3)?,
                row.get::<_, Option<String>>(4)?,
                row.get::<_, Option<String>>(5)?,
                row.get::<_, i64>(6)?,
                row.get::<_, Option<String>>(7)?,
            ))
        })?;
        let table = "received_webhooks";
        rows.map(|row| {
            let (id, received_at, verdict, skew_seconds, appointment_id, update_type, dups, last) =
                row?;
            let corrupt = |column| StoreError::Corrupt { table, id, column };
            Ok(ReceivedSummary {
                id,
                received_at: parse_timestamp(&received_at).ok_or(corrupt("received_at"))?,
                verdict: Verdict::parse(&verdict).ok_or(corrupt("verdict"))?,
                skew_seconds,
                appointment_id,
                update_type,
                duplicates: dups,
                last_duplicate_at: match last {
                    Some(text) => Some(parse_timestamp(&text).ok_or(corrupt("last_duplicate_at"))?),
                    None => None,
                },
            })
        })
        .collect()
    }

    /// Checks every page's authentication code (`PRAGMA cipher_integrity_check`) and the
    /// database's structure (`PRAGMA integrity_check`). Returns the problems found; empty means
    /// the database is sound. A check that cannot even run (a damaged page stops it) counts as a
    /// problem.
    pub fn integrity_check(&self) -> Result<Vec<String>, StoreError> {
        let mut problems = Vec::new();
        for pragma in ["PRAGMA cipher_integrity_check", "PRAGMA integrity_check"] {
            let mut statement = self.conn.prepare(pragma)?;
            let rows: Result<Vec<String>, rusqlite::Error> = statement
                .query_map([], |row| row.get::<_, String>(0))
                .and_then(Iterator::collect);
            match rows {
                Ok(rows) => problems.extend(rows.into_iter().filter(|row| row != "ok")),
                Err(error) => problems.push(format!("{pragma} stopped: {error}")),
            }
        }
        Ok(problems)
    }

    /// The most recent rejected requests, newest first.
    pub fn list_rejected(&self, limit: u32) -> Result<Vec<RejectedSummary>, StoreError> {
        let mut statement = self.conn.prepare_cached(
            "SELECT id, received_at, reason, headers_json, body_sha256, body_len
             FROM rejected_webhooks ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = statement.query_map([limit], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, String>(4)?,
                row.get::<_, i64>(5)?,
            ))
        })?;
        rows.map(|row| {
            let (id, received_at, reason, headers_json, body_sha256, body_len) = row?;
            Ok(RejectedSummary {
                id,
                received_at: parse_timestamp(&received_at).ok_or(StoreError::Corrupt {
                    table: "rejected_webhooks",
                    id,
                    column: "received_at",
                })?,
                reason,
                headers_json,
                body_sha256,
                body_len,
            })
        })
        .collect()
    }

    /// The connection, for this crate's readers and for tests that inspect or sabotage it.
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The connection, mutably (transactions), for this crate's workers.
    pub(crate) fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// Opens an existing database file, keys it, proves the key, and sets the connection up.
    fn connect(
        path: PathBuf,
        environment: Environment,
        keying: Keying,
    ) -> Result<Store, OpenError> {
        // Never let SQLite create a file: `open` creates it (0600) only after the key is kept.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_NOFOLLOW;
        let connecting = CONNECTING.lock().unwrap_or_else(PoisonError::into_inner);
        let conn =
            Connection::open_with_flags(&path, flags).map_err(|source| OpenError::Database {
                environment,
                action: "opened",
                source,
            })?;
        match &keying {
            Keying::Encrypted(key) => unlock(&conn, key, environment, &path)?,
            #[cfg(feature = "plaintext-benchmark")]
            Keying::Plaintext => {}
        }
        drop(connecting);
        configure(&conn, environment)?;
        restrict_files(&path).map_err(|source| OpenError::Io {
            action: "make private",
            path: path.clone(),
            source,
        })?;
        Ok(Store {
            conn,
            path,
            environment,
            keying,
        })
    }
}

/// Proves the build encrypts, keys the connection, and proves the key opens the file.
fn unlock(
    conn: &Connection,
    key: &DatabaseKey,
    environment: Environment,
    path: &Path,
) -> Result<(), OpenError> {
    let database = |action| {
        move |source| OpenError::Database {
            environment,
            action,
            source,
        }
    };
    let cipher: Option<String> = conn
        .query_row("PRAGMA cipher_version", [], |row| row.get(0))
        .optional()
        .map_err(database("checked for encryption"))?;
    if cipher.is_none_or(|version| version.is_empty()) {
        return Err(OpenError::NotEncrypted);
    }
    // A wrong key is an expected, typed outcome here: keep SQLCipher from logging it.
    conn.execute_batch("PRAGMA cipher_log_level = NONE;")
        .map_err(database("set up"))?;
    // The statement holds the key: its error text is never passed on.
    conn.execute_batch(&key.pragma())
        .map_err(|_| OpenError::KeyRejected { environment })?;
    // Pages are authenticated with HMAC-SHA256 rather than SQLCipher 4's default SHA-512: as
    // strong for a page MAC, and about twice as fast where the CPU has SHA extensions, which is
    // most of what encryption costs when webhooks arrive in bursts. It describes the file, so
    // every connection says it before touching a page.
    conn.execute_batch(CIPHER_SETTINGS)
        .map_err(database("set up encryption"))?;
    match conn.query_row("SELECT count(*) FROM sqlite_master", [], |row| {
        row.get::<_, i64>(0)
    }) {
        Ok(_) => Ok(()),
        Err(err) if err.sqlite_error_code() == Some(ErrorCode::NotADatabase) => {
            tracing::error!(%environment, "the database key does not open the database");
            Err(OpenError::WrongKey {
                environment,
                path: path.to_path_buf(),
            })
        }
        Err(source) => Err(database("read")(source)),
    }
}

/// Brings the schema up to date.
fn migrate(conn: &mut Connection, environment: Environment) -> Result<(), OpenError> {
    schema::migrate(conn).map_err(|err| match err {
        schema::MigrationError::UnknownVersion { found, supported } => OpenError::SchemaTooNew {
            environment,
            found,
            supported,
        },
        schema::MigrationError::Sqlite(source) => OpenError::Database {
            environment,
            action: "brought up to date",
            source,
        },
    })
}

/// Durability and safety settings of every connection.
fn configure(conn: &Connection, environment: Environment) -> Result<(), OpenError> {
    let database = |source| OpenError::Database {
        environment,
        action: "set up",
        source,
    };
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
        .map_err(database)?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(OpenError::JournalMode { environment, mode });
    }
    conn.execute_batch(
        "PRAGMA synchronous = FULL;
         PRAGMA temp_store = MEMORY;
         PRAGMA foreign_keys = ON;",
    )
    .map_err(database)?;
    #[cfg(target_os = "macos")]
    conn.execute_batch("PRAGMA fullfsync = ON; PRAGMA checkpoint_fullfsync = ON;")
        .map_err(database)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(database)
}

/// SQLCipher settings every connection applies right after the key: they describe the file. Any
/// other SQLCipher client (the `sqlcipher` shell in support's hands, a test holding a lock) must
/// run them after `PRAGMA key` to read a Deskbridge database.
pub const CIPHER_SETTINGS: &str = "PRAGMA cipher_hmac_algorithm = HMAC_SHA256;";

/// The raw SQLCipher key. Wiped from memory when dropped.
struct DatabaseKey(Zeroizing<[u8; KEY_LEN]>);

impl DatabaseKey {
    /// The key as kept in the secret store: 64 lowercase hex digits.
    fn to_secret(&self) -> SecretValue {
        SecretValue::from_text(hex::encode(self.0.as_slice()))
    }

    /// Reads a key kept by [`DatabaseKey::to_secret`].
    fn from_secret(secret: &SecretValue) -> Option<DatabaseKey> {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        hex::decode_to_slice(secret.expose(), bytes.as_mut_slice()).ok()?;
        Some(DatabaseKey(bytes))
    }

    /// `PRAGMA key` with the raw key (no passphrase derivation).
    fn pragma(&self) -> Zeroizing<String> {
        const PREFIX: &str = "PRAGMA key = \"x'";
        const SUFFIX: &str = "'\";";
        let hex = Zeroizing::new(hex::encode(self.0.as_slice()));
        // Sized up front so the buffer holding the key is never reallocated (and left unwiped).
        let mut sql = Zeroizing::new(String::with_capacity(
            PREFIX.len() + hex.len() + SUFFIX.len(),
        ));
        sql.push_str(PREFIX);
        sql.push_str(&hex);
        sql.push_str(SUFFIX);
        sql
    }
}

/// First run: a new key, kept in the secret store and read back before any database exists.
fn create_key(
    secrets: &dyn SecretStore,
    name: &SecretName,
    random: &dyn RandomSource,
) -> Result<DatabaseKey, OpenError> {
    let environment = name.environment();
    let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
    random.fill(bytes.as_mut_slice())?;
    let key = DatabaseKey(bytes);
    let secret = key.to_secret();
    let keyring = |error| OpenError::Keyring { environment, error };
    secrets.set(name, &secret).map_err(keyring)?;
    let kept = secrets.get(name).map_err(keyring)?;
    if !kept.is_some_and(|kept| kept.constant_time_eq(&secret)) {
        tracing::error!(%environment, "the keyring did not keep the new database key");
        return Err(OpenError::KeyNotKept { environment });
    }
    tracing::info!(%environment, "created and stored a new database key");
    Ok(key)
}

/// True when the database or any of its companion files exists: then there is data to protect.
fn data_exists(path: &Path) -> Result<bool, OpenError> {
    let mut candidates = vec![path.to_path_buf()];
    candidates.extend(
        COMPANION_SUFFIXES
            .iter()
            .map(|suffix| companion(path, suffix)),
    );
    for candidate in candidates {
        match fs::symlink_metadata(&candidate) {
            Ok(_) => return Ok(true),
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(OpenError::Io {
                    action: "check",
                    path: candidate,
                    source,
                });
            }
        }
    }
    Ok(false)
}

/// `<database>-wal` and friends.
fn companion(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Creates the folder (and missing parents) readable only by the user.
fn create_private_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
    }
    #[cfg(not(unix))]
    {
        fs::create_dir_all(dir)
    }
}

/// Creates the empty database file readable only by the user; fails if it exists.
fn create_private_file(path: &Path) -> io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path).map(drop)
}

/// Makes the database and its companion files readable only by the user.
fn restrict_files(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mut files = vec![path.to_path_buf()];
        files.extend(
            COMPANION_SUFFIXES
                .iter()
                .map(|suffix| companion(path, suffix)),
        );
        for file in files {
            match fs::set_permissions(&file, fs::Permissions::from_mode(0o600)) {
                Err(err) if err.kind() != io::ErrorKind::NotFound => return Err(err),
                _ => {}
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Times are stored as RFC 3339 in UTC with exactly six fractional digits, so text order is time
/// order.
pub(crate) fn format_timestamp(timestamp: Timestamp) -> String {
    jiff::fmt::temporal::DateTimePrinter::new()
        .precision(Some(6))
        .timestamp_to_string(&timestamp)
}

/// Reads a time stored by [`format_timestamp`].
pub(crate) fn parse_timestamp(text: &str) -> Option<Timestamp> {
    text.parse().ok()
}

/// An authentic webhook to be written.
#[derive(Clone)]
pub(crate) struct NewReceived {
    pub(crate) received_at: Timestamp,
    pub(crate) webhook_timestamp: i64,
    /// `Some` for stale ones.
    pub(crate) skew_seconds: Option<i64>,
    pub(crate) dedupe_key: String,
    pub(crate) body: Bytes,
    pub(crate) body_sha256: String,
    pub(crate) headers_json: String,
    pub(crate) appointment_id: Option<String>,
    pub(crate) update_type: Option<String>,
    pub(crate) payload_error: Option<&'static str>,
}

impl fmt::Debug for NewReceived {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewReceived")
            .field("appointment_id", &self.appointment_id)
            .field("update_type", &self.update_type)
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

/// Whether a received webhook got its own row or was counted on an existing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Inserted {
    /// A new row.
    New(i64),
    /// The row that already holds this dedupe key.
    Duplicate(i64),
}

/// Inserts an authentic webhook, or counts it on the row with the same dedupe key.
pub(crate) fn insert_received(conn: &Connection, row: &NewReceived) -> rusqlite::Result<Inserted> {
    let received_at = format_timestamp(row.received_at);
    let verdict = match row.skew_seconds {
        Some(_) => Verdict::Stale,
        None => Verdict::Stored,
    };
    let id: Option<i64> = conn
        .prepare_cached(
            "INSERT INTO received_webhooks (received_at, webhook_timestamp, verdict, skew_seconds,
                 dedupe_key, body, body_sha256, headers_json, appointment_id, update_type,
                 payload_error)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
             ON CONFLICT (dedupe_key) DO NOTHING
             RETURNING id",
        )?
        .query_row(
            params![
                received_at,
                row.webhook_timestamp,
                verdict.as_str(),
                row.skew_seconds,
                row.dedupe_key,
                &row.body[..],
                row.body_sha256,
                row.headers_json,
                row.appointment_id,
                row.update_type,
                row.payload_error,
            ],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(id) = id {
        return Ok(Inserted::New(id));
    }
    conn.prepare_cached(
        "UPDATE received_webhooks
         SET duplicates = duplicates + 1, last_duplicate_at = ?2
         WHERE dedupe_key = ?1
         RETURNING id",
    )?
    .query_row(params![row.dedupe_key, received_at], |r| r.get(0))
    .map(Inserted::Duplicate)
}

/// A request that failed verification, to be written without its body.
#[derive(Debug, Clone)]
pub(crate) struct NewRejected {
    pub(crate) received_at: Timestamp,
    pub(crate) reason: &'static str,
    pub(crate) headers_json: String,
    pub(crate) body_sha256: String,
    pub(crate) body_len: usize,
}

/// Inserts a rejected request.
pub(crate) fn insert_rejected(conn: &Connection, row: &NewRejected) -> rusqlite::Result<i64> {
    let body_len = i64::try_from(row.body_len).unwrap_or(i64::MAX);
    conn.prepare_cached(
        "INSERT INTO rejected_webhooks (received_at, reason, headers_json, body_sha256, body_len)
         VALUES (?1, ?2, ?3, ?4, ?5)
         RETURNING id",
    )?
    .query_row(
        params![
            format_timestamp(row.received_at),
            row.reason,
            row.headers_json,
            row.body_sha256,
            body_len,
        ],
        |r| r.get(0),
    )
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use tempfile::TempDir;

    use super::*;
    use crate::random::PatternRandom;
    use crate::secrets::{MemoryFailure, MemorySecrets};

    const SANDBOX: Environment = Environment::Sandbox;

    fn key_name(environment: Environment) -> SecretName {
        SecretName::new(environment, SecretPurpose::DatabaseKey)
    }

    fn open(dir: &Path, secrets: &MemorySecrets) -> Result<Store, OpenError> {
        Store::open(dir, SANDBOX, secrets, &PatternRandom(7))
    }

    fn db_path(dir: &Path) -> PathBuf {
        SANDBOX.data_dir(dir).join(DATABASE_FILE_NAME)
    }

    fn pattern_hex(seed: u8) -> String {
        let mut bytes = [0u8; KEY_LEN];
        PatternRandom(seed).fill(&mut bytes).unwrap();
        hex::encode(bytes)
    }

    fn table_names(store: &Store) -> Vec<String> {
        let mut statement = store
            .conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap();
        statement
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn first_open_creates_the_key_then_the_database() {
        let dir = TempDir::new().unwrap();
        let secrets = MemorySecrets::new();
        let store = open(dir.path(), &secrets).unwrap();

        let kept = secrets.get(&key_name(SANDBOX)).unwrap().unwrap();
        assert_eq!(kept.expose_text(), Some(pattern_hex(7).as_str()));
        assert_eq!(secrets.writes(), 1);
        assert_eq!(store.path(), db_path(dir.path()));
        assert_eq!(store.environment(), SANDBOX);
        assert!(store.path().is_file());
        assert_eq!(store.schema_version().unwrap(), schema::latest_version());
        assert_eq!(
            table_names(&store),
            [
                "appointment_changes",
                "appointments",
                "audit_log",
                "caspio_outbox",
                "directory_provider_locations",
                "directory_visit_reasons",
                "participants",
                "received_webhooks",
                "rejected_webhooks",
                "sync_state",
            ]
        );
        // The key is nowhere in the data folder.
        for entry in fs::read_dir(store.path().parent().unwrap()).unwrap() {
            let bytes = fs::read(entry.unwrap().path()).unwrap();
            let text = String::from_utf8_lossy(&bytes);
            assert!(!text.contains(&pattern_hex(7)));
            assert!(
                !bytes
                    .windows(KEY_LEN)
                    .any(|w| hex::encode(w) == pattern_hex(7))
            );
        }
    }

    #[cfg(unix)]
    #[test]
    fn folder_and_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = TempDir::new().unwrap();
        let store = open(dir.path(), &MemorySecrets::new()).unwrap();
        let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(store.path().parent().unwrap()), 0o700);
        assert_eq!(mode(store.path()), 0o600);
        for suffix in ["-wal", "-shm"] {
            let companion = companion(store.path(), suffix);
            assert!(companion.exists(), "{suffix} exists in WAL mode");
            assert_eq!(mode(&companion), 0o600, "{suffix}");
        }
    }

    #[test]
    fn reopening_reuses_the_key_and_keeps_the_data() {
        let dir = TempDir::new().unwrap();
        let secrets = MemorySecrets::new();
        let store = open(dir.path(), &secrets).unwrap();
        store
            .conn
            .execute(
                "INSERT INTO sync_state (key, value, updated_at) VALUES ('w', '1', 'now')",
                [],
            )
            .unwrap();
        drop(store);

        // Another seed would make another key: it must not be used.
        let store = Store::open(dir.path(), SANDBOX, &secrets, &PatternRandom(99)).unwrap();
        assert_eq!(secrets.writes(), 1);
        let value: String = store
            .conn
            .query_row("SELECT value FROM sync_state WHERE key = 'w'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(value, "1");
        let clone = store.try_clone().unwrap();
        assert_eq!(clone.schema_version().unwrap(), schema::latest_version());
    }

    #[cfg(unix)]
    #[test]
    fn reopening_makes_loose_permissions_private_again() {
        use std::os::unix::fs::PermissionsExt;
        let dir = TempDir::new().unwrap();
        let secrets = MemorySecrets::new();
        let path = open(dir.path(), &secrets).unwrap().path().to_path_buf();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        fs::set_permissions(path.parent().unwrap(), fs::Permissions::from_mode(0o755)).unwrap();
        open(dir.path(), &secrets).unwrap();
        let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
    }

    #[test]
    fn a_missing_key_for_an_existing_database_is_an_error_and_no_new_key_is_made() {
        let dir = TempDir::new().unwrap();
        let secrets = MemorySecrets::new();
        drop(open(dir.path(), &secrets).unwrap());
        let before = fs::read(db_path(dir.path())).unwrap();
        assert!(secrets.delete(&key_name(SANDBOX)).unwrap());

        let err = open(dir.path(), &secrets).unwrap_err();
        assert!(
            matches!(&err, OpenError::KeyMissing { environment: SANDBOX, path } if *path == db_path(dir.path())),
            "{err:?}"
        );
        assert!(err.to_string().contains("will not make a new key"), "{err}");
        assert_eq!(secrets.writes(), 1, "no key was written");
        assert!(!secrets.contains(&key_name(SANDBOX)));
        assert_eq!(
            fs::read(db_path(dir.path())).unwrap(),
            before,
            "file untouched"
        );
    }

    #[test]
    fn a_leftover_wal_file_alone_counts_as_existing_data() {
        let dir = TempDir::new().unwrap();
        let secrets = MemorySecrets::new();
        let data_dir = SANDBOX.data_dir(dir.path());
        fs::create_dir_all(&data_dir).unwrap();
        fs::write(companion(&db_path(dir.path()), "-wal"), b"frames").unwrap();
        assert!(matches!(
            open(dir.path(), &secrets),
            Err(OpenError::KeyMissing { .. })
        ));
        assert_eq!(secrets.writes(), 0);
    }

    #[test]
    fn a_locked_keyring_is_an_error_with_or_without_a_database() {
        let dir = TempDir::new().unwrap();
        let secrets = MemorySecrets::new();
        secrets.fail_with(Some(MemoryFailure::Locked));
        let err = open(dir.path(), &secrets).unwrap_err();
        assert!(
            matches!(
                &err,
                OpenError::Keyring {
                    error: SecretError::Locked { .. },
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("locked"), "{err}");
        assert!(!db_path(dir.path()).exists(), "no database without a key");

        secrets.fail_with(None);
        drop(open(dir.path(), &secrets).unwrap());
        secrets.fail_with(Some(MemoryFailure::Locked));
        assert!(matches!(
            open(dir.path(), &secrets),
            Err(OpenError::Keyring {
                error: SecretError::Locked { .. },
                ..
            })
        ));
        assert_eq!(secrets.writes(), 1);
    }

    #[test]
    fn an_unreachable_keyring_is_its_own_error() {
        let dir = TempDir::new().unwrap();
        let secrets = MemorySecrets::new();
        drop(open(dir.path(), &secrets).unwrap());
        secrets.fail_with(Some(MemoryFailure::Unavailable));
        let err = open(dir.path(), &secrets).unwrap_err();
        assert!(
            matches!(
                &err,
                OpenError::Keyring {
                    error: SecretError::Unavailable { .. },
                    ..
                }
            ),
            "{err:?}"
        );
        secrets.fail_with(Some(MemoryFailure::Platform));
        assert!(matches!(
            open(dir.path(), &secrets),
            Err(OpenError::Keyring {
                error: SecretError::Platform { .. },
                ..
            })
        ));
    }

    #[test]
    fn a_wrong_key_is_detected_and_nothing_is_changed() {
        let dir = TempDir::new().unwrap();
        let secrets = MemorySecrets::new();
        drop(open(dir.path(), &secrets).unwrap());
        let before = fs::read(db_path(dir.path())).unwrap();
        secrets
            .set(
                &key_name(SANDBOX),
                &SecretValue::from_text(pattern_hex(200)),
            )
            .unwrap();

        let err = open(dir.path(), &secrets).unwrap_err();
        assert!(
            matches!(
                err,
                OpenError::WrongKey {
                    environment: SANDBOX,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(!err.to_string().contains(&pattern_hex(200)));
        assert_eq!(fs::read(db_path(dir.path())).unwrap(), before);
        assert_eq!(
            secrets
                .get(&key_name(SANDBOX))
                .unwrap()
                .unwrap()
                .expose_text(),
            Some(pattern_hex(200).as_str()),
            "the (wrong) entry is left for support to look at"
        );
    }

    #[test]
    fn a_damaged_key_entry_is_its_own_error() {
        let dir = TempDir::new().unwrap();
        let secrets = MemorySecrets::new();
        drop(open(dir.path(), &secrets).unwrap());
        for damaged in ["", "not hex", &pattern_hex(7)[..62]] {
            secrets
                .set(
                    &key_name(SANDBOX),
                    &SecretValue::from_text(damaged.to_owned()),
                )
                .unwrap();
            assert!(
                matches!(
                    open(dir.path(), &secrets),
                    Err(OpenError::KeyMalformed {
                        environment: SANDBOX
                    })
                ),
                "{damaged:?}"
            );
        }
    }

    #[test]
    fn a_keyring_that_loses_the_new_key_stops_the_first_run() {
        let dir = TempDir::new().unwrap();
        let secrets = MemorySecrets::new();
        secrets.fail_with(Some(MemoryFailure::ForgetWrites));
        assert!(matches!(
            open(dir.path(), &secrets),
            Err(OpenError::KeyNotKept {
                environment: SANDBOX
            })
        ));
        assert!(
            !db_path(dir.path()).exists(),
            "no database without a kept key"
        );

        // Once the keyring works, the first run completes.
        secrets.fail_with(None);
        open(dir.path(), &secrets).unwrap();
    }

    #[test]
    fn a_kept_key_without_a_database_is_used_not_replaced() {
        let dir = TempDir::new().unwrap();
        let secrets = MemorySecrets::new();
        secrets
            .set(&key_name(SANDBOX), &SecretValue::from_text(pattern_hex(42)))
            .unwrap();
        let store = open(dir.path(), &secrets).unwrap();
        assert_eq!(secrets.writes(), 1, "the existing key was not replaced");
        drop(store);
        secrets
            .set(&key_name(SANDBOX), &SecretValue::from_text(pattern_hex(7)))
            .unwrap();
        assert!(
            matches!(open(dir.path(), &secrets), Err(OpenError::WrongKey { .. })),
            "the database was made with the kept key"
        );
    }

    #[test]
    fn environments_have_their_own_database_and_key() {
        let dir = TempDir::new().unwrap();
        let secrets = MemorySecrets::new();
        let sandbox = Store::open(dir.path(), SANDBOX, &secrets, &PatternRandom(1)).unwrap();
        let production = Store::open(
            dir.path(),
            Environment::Production,
            &secrets,
            &PatternRandom(2),
        )
        .unwrap();
        assert_ne!(sandbox.path(), production.path());
        let sandbox_key = secrets.get(&key_name(SANDBOX)).unwrap().unwrap();
        let production_key = secrets
            .get(&key_name(Environment::Production))
            .unwrap()
            .unwrap();
        assert!(!sandbox_key.constant_time_eq(&production_key));
    }

    #[test]
    fn migrations_are_idempotent() {
        let dir = TempDir::new().unwrap();
        let secrets = MemorySecrets::new();
        let mut store = open(dir.path(), &secrets).unwrap();
        let tables = table_names(&store);
        schema::migrate(&mut store.conn).unwrap();
        schema::migrate(&mut store.conn).unwrap();
        assert_eq!(store.schema_version().unwrap(), schema::latest_version());
        assert_eq!(table_names(&store), tables);
        drop(store);
        let store = open(dir.path(), &secrets).unwrap();
        assert_eq!(store.schema_version().unwrap(), schema::latest_version());
        assert_eq!(table_names(&store), tables);
    }

    #[test]
    fn a_database_from_a_newer_build_is_refused() {
        let dir = TempDir::new().unwrap();
        let secrets = MemorySecrets::new();
        let store = open(dir.path(), &secrets).unwrap();
        store.conn.pragma_update(None, "user_version", 99).unwrap();
        drop(store);
        let err = open(dir.path(), &secrets).unwrap_err();
        assert!(
            matches!(
                err,
                OpenError::SchemaTooNew {
                    found: 99,
                    supported,
                    ..
                } if supported == schema::latest_version()
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("Update Deskbridge"));
    }

    #[test]
    fn connections_are_durable_and_encrypted() {
        let dir = TempDir::new().unwrap();
        let store = open(dir.path(), &MemorySecrets::new()).unwrap();
        for connection in [store.try_clone().unwrap(), store] {
            let pragma = |name: &str| -> String {
                connection
                    .conn
                    .query_row(&format!("PRAGMA {name}"), [], |row| {
                        row.get::<_, rusqlite::types::Value>(0)
                    })
                    .map(|value| match value {
                        rusqlite::types::Value::Integer(i) => i.to_string(),
                        rusqlite::types::Value::Text(t) => t,
                        other => format!("{other:?}"),
                    })
                    .unwrap()
            };
            assert_eq!(pragma("journal_mode"), "wal");
            assert_eq!(pragma("synchronous"), "2", "FULL");
            assert_eq!(pragma("temp_store"), "2", "MEMORY");
            assert_eq!(pragma("foreign_keys"), "1");
            assert_eq!(pragma("busy_timeout"), "5000");
            assert_eq!(pragma("cipher_hmac_algorithm"), "HMAC_SHA256");
            assert!(!pragma("cipher_version").is_empty());
            #[cfg(target_os = "macos")]
            assert_eq!(pragma("fullfsync"), "1");
        }
    }

    #[test]
    fn without_the_key_the_file_is_unreadable() {
        let dir = TempDir::new().unwrap();
        let store = open(dir.path(), &MemorySecrets::new()).unwrap();
        store
            .conn
            .execute(
                "INSERT INTO sync_state (key, value, updated_at) VALUES ('marker', 'x', 'y')",
                [],
            )
            .unwrap();
        let path = store.path().to_path_buf();
        drop(store);
        let header = fs::read(&path).unwrap();
        assert!(!header.starts_with(b"SQLite format 3"));

        let plain = Connection::open(&path).unwrap();
        plain
            .execute_batch("PRAGMA cipher_log_level = NONE;")
            .unwrap();
        let err = plain
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| {
                r.get::<_, i64>(0)
            })
            .unwrap_err();
        assert_eq!(err.sqlite_error_code(), Some(ErrorCode::NotADatabase));

        let wrong = Connection::open(&path).unwrap();
        wrong
            .execute_batch("PRAGMA cipher_log_level = NONE;")
            .unwrap();
        let key = DatabaseKey::from_secret(&SecretValue::from_text(pattern_hex(8))).unwrap();
        wrong.execute_batch(&key.pragma()).unwrap();
        let err = wrong
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| {
                r.get::<_, i64>(0)
            })
            .unwrap_err();
        assert_eq!(err.sqlite_error_code(), Some(ErrorCode::NotADatabase));
    }

    #[test]
    fn the_audit_log_is_append_only() {
        let dir = TempDir::new().unwrap();
        let store = open(dir.path(), &MemorySecrets::new()).unwrap();
        store
            .conn
            .execute(
                "INSERT INTO audit_log (at, actor, action, appointment_id, prev_hash, hash)
                 VALUES ('t', 'desk', 'arrived', 'a1', '', 'h1')",
                [],
            )
            .unwrap();
        let update = store
            .conn
            .execute("UPDATE audit_log SET actor = 'someone else'", []);
        assert!(update.unwrap_err().to_string().contains("append-only"));
        let delete = store.conn.execute("DELETE FROM audit_log", []);
        assert!(delete.unwrap_err().to_string().contains("append-only"));
    }

    fn received(dedupe_key: &str, appointment_id: &str, skew_seconds: Option<i64>) -> NewReceived {
        NewReceived {
            received_at: Timestamp::from_second(1_700_000_000).unwrap(),
            webhook_timestamp: 1_700_000_000,
            skew_seconds,
            dedupe_key: dedupe_key.to_owned(),
            body: Bytes::from_static(b"{}"),
            body_sha256: "00".to_owned(),
            headers_json: "{}".to_owned(),
            appointment_id: Some(appointment_id.to_owned()),
            update_type: Some("created".to_owned()),
            payload_error: None,
        }
    }

    #[test]
    fn received_rows_are_deduplicated_and_listed_newest_first() {
        let dir = TempDir::new().unwrap();
        let store = open(dir.path(), &MemorySecrets::new()).unwrap();
        let first = insert_received(&store.conn, &received("k1", "a1", None)).unwrap();
        let Inserted::New(first_id) = first else {
            panic!("{first:?}")
        };
        let mut later = received("k1", "a1", None);
        later.received_at = Timestamp::from_second(1_700_000_060).unwrap();
        assert_eq!(
            insert_received(&store.conn, &later).unwrap(),
            Inserted::Duplicate(first_id)
        );
        let second = insert_received(&store.conn, &received("k2", "a2", Some(-900))).unwrap();
        assert!(matches!(second, Inserted::New(id) if id > first_id));

        let listed = store.list_received(10).unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[0].appointment_id.as_deref(), Some("a2"));
        assert_eq!(listed[0].verdict, Verdict::Stale);
        assert_eq!(listed[0].skew_seconds, Some(-900));
        assert_eq!(listed[1].id, first_id);
        assert_eq!(listed[1].verdict, Verdict::Stored);
        assert_eq!(listed[1].duplicates, 1);
        assert_eq!(listed[1].last_duplicate_at, Some(later.received_at));
        assert_eq!(listed[1].received_at.as_second(), 1_700_000_000);
        assert_eq!(store.list_received(1).unwrap().len(), 1);
    }

    #[test]
    fn rejected_rows_are_listed_newest_first() {
        let dir = TempDir::new().unwrap();
        let store = open(dir.path(), &MemorySecrets::new()).unwrap();
        for reason in ["missing_signature", "no_matching_signature"] {
            insert_rejected(
                &store.conn,
                &NewRejected {
                    received_at: Timestamp::from_second(1_700_000_000).unwrap(),
                    reason,
                    headers_json: r#"{"webhook-signature":["v1:x"]}"#.to_owned(),
                    body_sha256: "ab".to_owned(),
                    body_len: 12,
                },
            )
            .unwrap();
        }
        let listed = store.list_rejected(10).unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[0].reason, "no_matching_signature");
        assert_eq!(listed[1].reason, "missing_signature");
        assert_eq!(listed[0].body_len, 12);
        assert_eq!(listed[0].headers_json, r#"{"webhook-signature":["v1:x"]}"#);
    }

    #[test]
    fn timestamps_sort_as_text() {
        let early = Timestamp::from_second(1_700_000_000).unwrap();
        let late = early
            .checked_add(jiff::SignedDuration::from_nanos(1_500))
            .unwrap();
        let (a, b) = (format_timestamp(early), format_timestamp(late));
        assert_eq!(a, "2023-11-14T22:13:20.000000Z");
        assert_eq!(b, "2023-11-14T22:13:20.000001Z");
        assert!(a < b);
        assert_eq!(parse_timestamp(&a), Some(early));
    }

    #[cfg(feature = "plaintext-benchmark")]
    #[test]
    fn the_plaintext_benchmark_database_is_separate_and_sandbox_only() {
        let dir = TempDir::new().unwrap();
        let secrets = MemorySecrets::new();
        let encrypted = open(dir.path(), &secrets).unwrap();
        let plain = Store::open_plaintext_for_benchmark(dir.path(), SANDBOX).unwrap();
        assert_ne!(plain.path(), encrypted.path());
        assert_eq!(
            plain.path().file_name().unwrap(),
            PLAINTEXT_BENCHMARK_FILE_NAME
        );
        assert_eq!(secrets.writes(), 1, "the keyring is not used");
        assert_eq!(plain.schema_version().unwrap(), schema::latest_version());
        assert_eq!(table_names(&plain), table_names(&encrypted));
        assert!(
            plain
                .try_clone()
                .unwrap()
                .list_received(1)
                .unwrap()
                .is_empty()
        );
        assert!(
            fs::read(plain.path())
                .unwrap()
                .starts_with(b"SQLite format 3")
        );
        assert!(
            !fs::read(encrypted.path())
                .unwrap()
                .starts_with(b"SQLite format 3")
        );
        assert!(matches!(
            Store::open_plaintext_for_benchmark(dir.path(), Environment::Production),
            Err(OpenError::PlaintextRefused {
                environment: Environment::Production
            })
        ));
        assert!(!Environment::Production.data_dir(dir.path()).exists());
    }

    #[test]
    fn debug_output_shows_no_key() {
        let dir = TempDir::new().unwrap();
        let store = open(dir.path(), &MemorySecrets::new()).unwrap();
        let shown = format!("{store:?}");
        assert!(!shown.contains(&pattern_hex(7)), "{shown}");
        assert!(shown.contains("Sandbox"));
    }

    #[test]
    fn integrity_check_passes_a_sound_database_and_catches_a_damaged_page() {
        let dir = TempDir::new().unwrap();
        let secrets = MemorySecrets::new();
        let store = open(dir.path(), &secrets).unwrap();
        assert_eq!(store.integrity_check().unwrap(), Vec::<String>::new());
        store
            .conn
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .unwrap();
        drop(store);

        // Flip bytes inside the second page: its authentication code no longer matches.
        let path = db_path(dir.path());
        let mut bytes = fs::read(&path).unwrap();
        assert!(bytes.len() > 4096 + 200, "the database has a second page");
        for byte in &mut bytes[4096 + 100..4096 + 116] {
            *byte ^= 0xFF;
        }
        fs::write(&path, bytes).unwrap();
        let store = open(dir.path(), &secrets).unwrap();
        let problems = store.integrity_check().unwrap();
        assert!(!problems.is_empty(), "a damaged page went unnoticed");
    }
}
