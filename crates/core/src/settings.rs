//! The desk's settings that are not secret: practice name and time zone, the relay's tunnel URL,
//! the direct listener's address, the Caspio account and mapping. Kept as JSON in the environment's data folder (secrets live
//! in the keyring, never here), written atomically.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use crate::caspio_push::Mapping;

/// The settings file's name inside an environment's data folder.
pub const SETTINGS_FILE_NAME: &str = "settings.json";

/// The desk's settings. Every field is optional: a fresh desk has none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeskSettings {
    /// The practice's name, shown in the header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub practice_name: Option<String>,
    /// The practice's IANA time zone, e.g. `America/New_York`; the computer's when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// The relay's tunnel URL (`wss://…/tunnel/…`); its token is in the keyring.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay_url: Option<String>,
    /// The direct listener's address, for LAN set-ups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direct_listen: Option<SocketAddr>,
    /// The practice's Caspio integration host, e.g. `c1abc123.caspio.com`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caspio_host: Option<String>,
    /// The client id of the Caspio web services profile (its secret is in the keyring).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caspio_client_id: Option<String>,
    /// Where appointments go in Caspio and how; unset: every field into the column of the same
    /// name in `Appointments`, patient details off ([`Mapping::default_appointments`]). It is
    /// checked against the table's live fields before every push.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caspio_mapping: Option<Mapping>,
}

/// Why settings could not be read, checked or written.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The file could not be read or written.
    #[error("the settings file {path} could not be {action}: {source}")]
    Io {
        /// Read or written.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid settings.
    #[error("the settings file {path} is damaged ({source}); fix or delete it and set them again")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        source: serde_json::Error,
    },
    /// The time zone is not one this computer knows.
    #[error(
        "\u{201c}{0}\u{201d} is not a time zone this computer knows (use a name like America/New_York)"
    )]
    UnknownTimeZone(String),
    /// The practice name is empty or too long.
    #[error("the practice name must be 1 to 100 characters")]
    PracticeName,
}

impl DeskSettings {
    /// The settings in `data_dir`; defaults when there is no file yet.
    pub fn load(data_dir: &Path) -> Result<DeskSettings, SettingsError> {
        let path = data_dir.join(SETTINGS_FILE_NAME);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|source| SettingsError::Damaged { path, source }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                Ok(DeskSettings::default())
            }
            Err(source) => Err(SettingsError::Io {
                action: "read",
                path,
                source,
            }),
        }
    }

    /// Checks the settings, then replaces the file in `data_dir` atomically.
    pub fn save(&self, data_dir: &Path) -> Result<(), SettingsError> {
        self.validate()?;
        let path = data_dir.join(SETTINGS_FILE_NAME);
        let io = |action| {
            let path = path.clone();
            move |source| SettingsError::Io {
                action,
                path,
                source,
            }
        };
        let mut file = tempfile::NamedTempFile::new_in(data_dir).map_err(io("written"))?;
        serde_json::to_writer_pretty(file.as_file_mut(), self)
            .map_err(std::io::Error::from)
            .map_err(io("written"))?;
        file.as_file().sync_all().map_err(io("written"))?;
        file.persist(&path)
            .map_err(|error| error.error)
            .map_err(io("written"))?;
        Ok(())
    }

    /// Checks what can be checked without a network: the name's length and the time zone.
    pub fn validate(&self) -> Result<(), SettingsError> {
        if let Some(name) = &self.practice_name {
            let length = name.trim().chars().count();
            if length == 0 || length > 100 {
                return Err(SettingsError::PracticeName);
            }
        }
        if let Some(zone) = &self.time_zone {
            TimeZone::get(zone).map_err(|_| SettingsError::UnknownTimeZone(zone.clone()))?;
        }
        Ok(())
    }

    /// The Caspio mapping: the one set, else the default for the practice's time zone.
    pub fn caspio_mapping(&self) -> Mapping {
        self.caspio_mapping.clone().unwrap_or_else(|| {
            Mapping::default_appointments(self.time_zone().iana_name().unwrap_or("UTC"))
        })
    }

    /// The practice's time zone: the one set, else the computer's.
    pub fn time_zone(&self) -> TimeZone {
        self.time_zone
            .as_deref()
            .and_then(|zone| TimeZone::get(zone).ok())
            .unwrap_or_else(TimeZone::system)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_and_default_when_absent() {
        let dir = tempfile::TempDir::new().unwrap();
        assert_eq!(
            DeskSettings::load(dir.path()).unwrap(),
            DeskSettings::default()
        );
        let settings = DeskSettings {
            practice_name: Some("Riverside Family Medicine".to_owned()),
            time_zone: Some("America/Chicago".to_owned()),
            relay_url: Some("wss://relay.example.com/tunnel/ep_1".to_owned()),
            direct_listen: Some("127.0.0.1:8787".parse().unwrap()),
            caspio_host: Some("c1abc123.caspio.com".to_owned()),
            caspio_client_id: Some("profile-1".to_owned()),
            caspio_mapping: Some(Mapping {
                include_patient_details: true,
                ..Mapping::default_appointments("America/Chicago")
            }),
        };
        settings.save(dir.path()).unwrap();
        assert_eq!(DeskSettings::load(dir.path()).unwrap(), settings);
        assert_eq!(settings.time_zone().iana_name(), Some("America/Chicago"));
    }

    #[test]
    fn bad_settings_are_refused_with_what_to_do() {
        let dir = tempfile::TempDir::new().unwrap();
        let unknown_zone = DeskSettings {
            time_zone: Some("Mars/Olympus".to_owned()),
            ..DeskSettings::default()
        };
        let error = unknown_zone.save(dir.path()).unwrap_err();
        assert!(error.to_string().contains("America/New_York"), "{error}");
        assert!(!dir.path().join(SETTINGS_FILE_NAME).exists());
        let blank = DeskSettings {
            practice_name: Some("  ".to_owned()),
            ..DeskSettings::default()
        };
        assert!(matches!(blank.validate(), Err(SettingsError::PracticeName)));

        std::fs::write(dir.path().join(SETTINGS_FILE_NAME), "{ not json").unwrap();
        let damaged = DeskSettings::load(dir.path()).unwrap_err();
        assert!(damaged.to_string().contains("delete it"), "{damaged}");
    }
}
