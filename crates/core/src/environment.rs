//! Which Zocdoc environment the desk works against, and the data directory each one owns.
//!
//! Sandbox and production never share a database: each environment gets its own folder below the
//! application's data directory.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The app's identifier (as in `src-tauri/tauri.conf.json`): the application data folder is named
/// after it, so the desktop app and `deskbridge-cli` find the same databases.
pub const APP_IDENTIFIER: &str = "app.deskbridge.desk";

/// A Zocdoc environment. Credentials, data and relay endpoints are kept apart per environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Environment {
    /// Zocdoc's developer sandbox: test data only.
    Sandbox,
    /// Zocdoc's production API: real patients.
    Production,
}

impl Environment {
    /// The stable lowercase name used in folder names, settings and keyring entries.
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Sandbox => "sandbox",
            Environment::Production => "production",
        }
    }

    /// The data directory of this environment below the application's data directory.
    pub fn data_dir(self, app_data_dir: &Path) -> PathBuf {
        app_data_dir.join(self.as_str())
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text did not name an environment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown environment {0:?}: expected \"sandbox\" or \"production\"")]
pub struct UnknownEnvironment(pub String);

impl FromStr for Environment {
    type Err = UnknownEnvironment;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "sandbox" => Ok(Environment::Sandbox),
            "production" => Ok(Environment::Production),
            _ => Err(UnknownEnvironment(s.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for env in [Environment::Sandbox, Environment::Production] {
            assert_eq!(env.as_str().parse::<Environment>(), Ok(env));
            assert_eq!(env.to_string(), env.as_str());
        }
        assert_eq!(
            " Production ".parse::<Environment>(),
            Ok(Environment::Production)
        );
        assert_eq!(
            "prod".parse::<Environment>(),
            Err(UnknownEnvironment("prod".to_owned()))
        );
    }

    #[test]
    fn environments_never_share_a_data_dir() {
        let base = Path::new("/data/deskbridge");
        let sandbox = Environment::Sandbox.data_dir(base);
        let production = Environment::Production.data_dir(base);
        assert_eq!(sandbox, Path::new("/data/deskbridge/sandbox"));
        assert_eq!(production, Path::new("/data/deskbridge/production"));
        assert!(!sandbox.starts_with(&production) && !production.starts_with(&sandbox));
    }
}
