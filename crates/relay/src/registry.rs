//! The endpoint registry: a small JSON file on the relay host that lists each endpoint's id, name,
//! token SHA-256, creation time and revocation — never a token in clear, never patient data.
//!
//! The command line (`deskbridge-relay endpoint add|list|revoke`) changes it under an exclusive
//! lock on a sidecar `.lock` file, and writes it atomically (temporary file, fsync, rename, fsync
//! of the folder), so the relay never reads half a file. The running relay notices a change by
//! the file's identity (inode, size, modification time) and reloads it: a new endpoint works at
//! once, a revoked one is refused and its tunnel closed.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::SystemTime;

use deskbridge_core::random::{RandomError, RandomSource};
use deskbridge_core::secrets::SecretValue;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::token::{EndpointId, MAX_TOKEN_LEN, TokenHash, generate_token};

/// The file format this crate reads and writes.
const FORMAT: u32 = 1;

/// The longest endpoint name.
pub const MAX_NAME_LEN: usize = 100;

/// One endpoint as the relay knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Its id (part of its public URL).
    pub id: EndpointId,
    /// The operator's name for it, e.g. "Main St".
    pub name: String,
    /// The SHA-256 of its tunnel token.
    pub token_sha256: TokenHash,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it was revoked, if it was.
    pub revoked_at: Option<Timestamp>,
}

impl Endpoint {
    /// True unless revoked.
    pub fn is_active(&self) -> bool {
        self.revoked_at.is_none()
    }
}

/// Why a registry operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The file could not be read, written or locked.
    #[error("the endpoint registry {} could not be {action}: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// The file is not a registry this version understands.
    #[error("the endpoint registry {} is not valid: {problem}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// No endpoint has that id.
    #[error("no endpoint has the id {0}")]
    UnknownEndpoint(EndpointId),
    /// The endpoint was already revoked.
    #[error("the endpoint {0} is already revoked")]
    AlreadyRevoked(EndpointId),
    /// The name is empty, too long or has control characters.
    #[error("an endpoint name must be 1 to {MAX_NAME_LEN} characters without control characters")]
    InvalidName,
    /// No randomness for the id or token.
    #[error(transparent)]
    Random(#[from] RandomError),
}

/// Why a tunnel connection is not let in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Unknown endpoint, or the token does not match (not told apart, so ids cannot be probed).
    #[error("the endpoint or its token is not valid")]
    Unauthorized,
    /// The token matches, but the endpoint is revoked.
    #[error("the endpoint has been revoked")]
    Revoked,
}

/// A loaded registry: endpoints by id.
#[derive(Debug, Clone, Default)]
pub struct Endpoints {
    by_id: HashMap<EndpointId, Endpoint>,
}

impl Endpoints {
    /// The endpoint with this id, revoked or not.
    pub fn get(&self, id: &EndpointId) -> Option<&Endpoint> {
        self.by_id.get(id)
    }

    /// True when the endpoint exists and is not revoked.
    pub fn is_active(&self, id: &EndpointId) -> bool {
        self.get(id).is_some_and(Endpoint::is_active)
    }

    /// Every endpoint, oldest first.
    pub fn list(&self) -> Vec<&Endpoint> {
        let mut all: Vec<_> = self.by_id.values().collect();
        all.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        all
    }

    /// Checks a tunnel token for an endpoint. The token is hashed and compared in constant time
    /// even when the endpoint is unknown, so the answer's timing tells nothing.
    pub fn authenticate(&self, id: &EndpointId, token: &[u8]) -> Result<&Endpoint, AuthError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(AuthError::Unauthorized);
        }
        let endpoint = self.get(id);
        let expected = endpoint.map_or(TokenHash::NEVER, |endpoint| endpoint.token_sha256);
        let matches = expected.matches(token);
        match endpoint {
            Some(endpoint) if matches && endpoint.is_active() => Ok(endpoint),
            Some(_) if matches => Err(AuthError::Revoked),
            _ => Err(AuthError::Unauthorized),
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileContents {
    format: u32,
    endpoints: Vec<Record>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Record {
    id: String,
    name: String,
    token_sha256: String,
    created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    revoked_at: Option<String>,
}

/// The registry file and the operations on it.
#[derive(Debug, Clone)]
pub struct Registry {
    path: PathBuf,
}

impl Registry {
    /// The registry kept at `path` (created by the first `add`).
    pub fn new(path: impl Into<PathBuf>) -> Registry {
        Registry { path: path.into() }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the file; a file that does not exist yet is an empty registry.
    pub fn load(&self) -> Result<Endpoints, RegistryError> {
        let text = match fs::read(&self.path) {
            Ok(text) => text,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                return Ok(Endpoints::default());
            }
            Err(source) => return Err(self.io("read", source)),
        };
        self.parse(&text)
    }

    /// Makes a new endpoint named `name`. Returns it and its token, which exists nowhere else:
    /// show it once and forget it.
    pub fn add(
        &self,
        name: &str,
        random: &dyn RandomSource,
        now: Timestamp,
    ) -> Result<(Endpoint, SecretValue), RegistryError> {
        let name = name.trim();
        if name.is_empty()
            || name.chars().count() > MAX_NAME_LEN
            || name.chars().any(char::is_control)
        {
            return Err(RegistryError::InvalidName);
        }
        let _lock = self.lock()?;
        let mut endpoints = self.load()?;
        let id = loop {
            let id = EndpointId::generate(random)?;
            if endpoints.get(&id).is_none() {
                break id;
            }
        };
        let token = generate_token(random)?;
        let endpoint = Endpoint {
            id: id.clone(),
            name: name.to_owned(),
            token_sha256: TokenHash::of(token.expose()),
            created_at: now,
            revoked_at: None,
        };
        endpoints.by_id.insert(id, endpoint.clone());
        self.save(&endpoints)?;
        Ok((endpoint, token))
    }

    /// Revokes an endpoint: its URL answers 404 and its tunnel is closed. The record stays.
    pub fn revoke(&self, id: &EndpointId, now: Timestamp) -> Result<Endpoint, RegistryError> {
        let _lock = self.lock()?;
        let mut endpoints = self.load()?;
        let endpoint = endpoints
            .by_id
            .get_mut(id)
            .ok_or_else(|| RegistryError::UnknownEndpoint(id.clone()))?;
        if !endpoint.is_active() {
            return Err(RegistryError::AlreadyRevoked(id.clone()));
        }
        endpoint.revoked_at = Some(now);
        let endpoint = endpoint.clone();
        self.save(&endpoints)?;
        Ok(endpoint)
    }

    fn io(&self, action: &'static str, source: io::Error) -> RegistryError {
        RegistryError::Io {
            action,
            path: self.path.clone(),
            source,
        }
    }

    fn malformed(&self, problem: impl Into<String>) -> RegistryError {
        RegistryError::Malformed {
            path: self.path.clone(),
            problem: problem.into(),
        }
    }

    fn parse(&self, text: &[u8]) -> Result<Endpoints, RegistryError> {
        let contents: FileContents =
            serde_json::from_slice(text).map_err(|error| self.malformed(error.to_string()))?;
        if contents.format != FORMAT {
            return Err(self.malformed(format!(
                "format {} is not supported (this relay reads format {FORMAT})",
                contents.format
            )));
        }
        let mut by_id = HashMap::with_capacity(contents.endpoints.len());
        for record in contents.endpoints {
            let id: EndpointId = record
                .id
                .parse()
                .map_err(|_| self.malformed(format!("{:?} is not an endpoint id", record.id)))?;
            let token_sha256 = TokenHash::from_hex(&record.token_sha256)
                .ok_or_else(|| self.malformed(format!("the token hash of {id} is not valid")))?;
            let timestamp = |text: &str| {
                text.parse::<Timestamp>()
                    .map_err(|_| self.malformed(format!("{text:?} ({id}) is not a time")))
            };
            let endpoint = Endpoint {
                id: id.clone(),
                name: record.name,
                token_sha256,
                created_at: timestamp(&record.created_at)?,
                revoked_at: record.revoked_at.as_deref().map(timestamp).transpose()?,
            };
            if by_id.insert(id.clone(), endpoint).is_some() {
                return Err(self.malformed(format!("the id {id} appears twice")));
            }
        }
        Ok(Endpoints { by_id })
    }

    fn save(&self, endpoints: &Endpoints) -> Result<(), RegistryError> {
        let contents = FileContents {
            format: FORMAT,
            endpoints: endpoints
                .list()
                .into_iter()
                .map(|endpoint| Record {
                    id: endpoint.id.to_string(),
                    name: endpoint.name.clone(),
                    token_sha256: endpoint.token_sha256.to_hex(),
                    created_at: endpoint.created_at.to_string(),
                    revoked_at: endpoint.revoked_at.map(|at| at.to_string()),
                })
                .collect(),
        };
        let mut text = serde_json::to_vec_pretty(&contents)
            .map_err(|error| self.malformed(error.to_string()))?;
        text.push(b'\n');
        let dir = self.dir();
        fs::create_dir_all(&dir).map_err(|source| self.io("given a folder", source))?;
        let temp = self.sidecar(&format!("tmp-{}", std::process::id()));
        let written = (|| {
            let mut file = private_file(&temp)?;
            file.write_all(&text)?;
            file.sync_all()?;
            fs::rename(&temp, &self.path)?;
            sync_dir(&dir)
        })();
        if let Err(source) = written {
            let _ = fs::remove_file(&temp);
            return Err(self.io("written", source));
        }
        Ok(())
    }

    fn lock(&self) -> Result<File, RegistryError> {
        fs::create_dir_all(self.dir()).map_err(|source| self.io("given a folder", source))?;
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.sidecar("lock"))
            .map_err(|source| self.io("locked", source))?;
        file.lock().map_err(|source| self.io("locked", source))?;
        Ok(file)
    }

    fn dir(&self) -> PathBuf {
        match self.path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
            _ => PathBuf::from("."),
        }
    }

    fn sidecar(&self, suffix: &str) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(".");
        name.push(suffix);
        PathBuf::from(name)
    }
}

fn private_file(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path)
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// What identifies one version of the file: a rewrite (a rename) changes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fingerprint {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

impl Fingerprint {
    fn of(path: &Path) -> io::Result<Option<Fingerprint>> {
        match fs::metadata(path) {
            Ok(meta) => {
                #[cfg(unix)]
                let inode = std::os::unix::fs::MetadataExt::ino(&meta);
                #[cfg(not(unix))]
                let inode = 0;
                Ok(Some(Fingerprint {
                    modified: meta.modified().ok(),
                    len: meta.len(),
                    inode,
                }))
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(error),
        }
    }
}

/// The registry as the running relay sees it: a snapshot, reloaded when the file changes.
#[derive(Debug)]
pub struct LiveRegistry {
    registry: Registry,
    current: RwLock<(Option<Fingerprint>, Arc<Endpoints>)>,
}

impl LiveRegistry {
    /// Loads the registry; a missing file is an empty registry, a malformed one an error.
    pub fn open(registry: Registry) -> Result<LiveRegistry, RegistryError> {
        let fingerprint =
            Fingerprint::of(registry.path()).map_err(|source| registry.io("read", source))?;
        let endpoints = registry.load()?;
        Ok(LiveRegistry {
            registry,
            current: RwLock::new((fingerprint, Arc::new(endpoints))),
        })
    }

    /// The endpoints as last loaded.
    pub fn snapshot(&self) -> Arc<Endpoints> {
        Arc::clone(
            &self
                .current
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .1,
        )
    }

    /// Reloads the file if it changed. Returns the new endpoints when it did. A version of the
    /// file that cannot be used (malformed, or the file gone after it was loaded) is reported
    /// once, as an error, and the last good endpoints stay in force: a registry deleted by
    /// mistake must not turn every webhook into a 404, which Zocdoc would never retry.
    pub fn refresh(&self) -> Result<Option<Arc<Endpoints>>, RegistryError> {
        let path = self.registry.path();
        let fingerprint =
            Fingerprint::of(path).map_err(|source| self.registry.io("read", source))?;
        let previous = {
            let current = self.current.read().unwrap_or_else(PoisonError::into_inner);
            if fingerprint == current.0 {
                return Ok(None);
            }
            current.0
        };
        let loaded = match fingerprint {
            None if previous.is_some() => Err(self.registry.io(
                "found (it was there before: keeping the endpoints last read)",
                io::Error::from(io::ErrorKind::NotFound),
            )),
            _ => self.registry.load().map(Arc::new),
        };
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        match loaded {
            Ok(endpoints) => {
                *current = (fingerprint, Arc::clone(&endpoints));
                Ok(Some(endpoints))
            }
            Err(error) => {
                // Remember this version, so that it is reported once and not re-read per request.
                current.0 = fingerprint;
                Err(error)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use deskbridge_core::random::OsRandom;
    use tempfile::TempDir;

    use super::*;

    fn now() -> Timestamp {
        Timestamp::from_second(1_700_000_000).unwrap()
    }

    #[test]
    fn add_list_revoke_and_nothing_secret_on_disk() {
        let dir = TempDir::new().unwrap();
        let registry = Registry::new(dir.path().join("relay").join("endpoints.json"));
        assert!(registry.load().unwrap().list().is_empty());

        let (main, token) = registry.add("  Main St ", &OsRandom, now()).unwrap();
        let (north, _) = registry.add("North", &OsRandom, now()).unwrap();
        assert_eq!(main.name, "Main St");
        let loaded = registry.load().unwrap();
        assert_eq!(loaded.list().len(), 2);
        assert_eq!(loaded.get(&main.id), Some(&main));
        assert_eq!(loaded.authenticate(&main.id, token.expose()), Ok(&main));
        assert_eq!(
            loaded.authenticate(&north.id, token.expose()),
            Err(AuthError::Unauthorized)
        );

        let text = fs::read_to_string(registry.path()).unwrap();
        assert!(!text.contains(token.expose_text().unwrap()));
        assert!(text.contains(&main.token_sha256.to_hex()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(registry.path()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }

        let revoked = registry.revoke(&main.id, now()).unwrap();
        assert_eq!(revoked.revoked_at, Some(now()));
        let loaded = registry.load().unwrap();
        assert!(!loaded.is_active(&main.id));
        assert!(loaded.is_active(&north.id));
        assert_eq!(
            loaded.authenticate(&main.id, token.expose()),
            Err(AuthError::Revoked)
        );
        assert!(matches!(
            registry.revoke(&main.id, now()),
            Err(RegistryError::AlreadyRevoked(_))
        ));
        let unknown = EndpointId::generate(&OsRandom).unwrap();
        assert!(matches!(
            registry.revoke(&unknown, now()),
            Err(RegistryError::UnknownEndpoint(_))
        ));
        // No temporary file is left behind.
        let names: Vec<_> = fs::read_dir(dir.path().join("relay"))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(names.iter().all(|name| !name.contains("tmp")), "{names:?}");
    }

    #[test]
    fn bad_names_are_refused() {
        let dir = TempDir::new().unwrap();
        let registry = Registry::new(dir.path().join("endpoints.json"));
        for name in ["", "   ", "a\nb", &"x".repeat(MAX_NAME_LEN + 1)] {
            assert!(matches!(
                registry.add(name, &OsRandom, now()),
                Err(RegistryError::InvalidName)
            ));
        }
    }

    #[test]
    fn malformed_files_are_refused_with_a_reason() {
        let dir = TempDir::new().unwrap();
        let path = dir.path().join("endpoints.json");
        let registry = Registry::new(&path);
        for (text, needle) in [
            ("not json", "expected"),
            (r#"{"format":2,"endpoints":[]}"#, "format 2"),
            (r#"{"format":1,"endpoints":[],"extra":1}"#, "unknown field"),
            (
                r#"{"format":1,"endpoints":[{"id":"x","name":"a","token_sha256":"","created_at":""}]}"#,
                "not an endpoint id",
            ),
        ] {
            fs::write(&path, text).unwrap();
            let error = registry.load().unwrap_err().to_string();
            assert!(error.contains(needle), "{error}");
        }
    }

    #[test]
    fn the_live_registry_reloads_only_on_change_and_keeps_the_last_good_one() {
        let dir = TempDir::new().unwrap();
        let path = dir.path().join("endpoints.json");
        let registry = Registry::new(&path);
        let live = LiveRegistry::open(registry.clone()).unwrap();
        assert!(live.snapshot().list().is_empty());
        assert!(live.refresh().unwrap().is_none());

        let (main, _) = registry.add("Main St", &OsRandom, now()).unwrap();
        let reloaded = live.refresh().unwrap().expect("changed");
        assert!(reloaded.is_active(&main.id));
        assert!(live.refresh().unwrap().is_none());

        registry.revoke(&main.id, now()).unwrap();
        live.refresh().unwrap().expect("changed");
        assert!(!live.snapshot().is_active(&main.id));

        fs::write(&path, "garbage").unwrap();
        assert!(live.refresh().is_err());
        assert!(live.refresh().unwrap().is_none(), "reported once");
        assert!(
            live.snapshot().get(&main.id).is_some(),
            "last good snapshot"
        );

        // Deleted by mistake: the endpoints last read stay in force.
        registry.revoke(&main.id, now()).unwrap_err();
        fs::remove_file(&path).unwrap();
        let error = live.refresh().unwrap_err().to_string();
        assert!(error.contains("keeping the endpoints last read"), "{error}");
        assert!(live.refresh().unwrap().is_none(), "reported once");
        assert!(live.snapshot().get(&main.id).is_some());

        // A good file again (written anew by the command line) is taken.
        let (north, _) = registry.add("North", &OsRandom, now()).unwrap();
        let reloaded = live.refresh().unwrap().expect("changed");
        assert!(reloaded.is_active(&north.id));
        assert!(reloaded.get(&main.id).is_none());
    }
}
