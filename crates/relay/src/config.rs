//! The relay's configuration: built-in defaults, then a TOML file, then `DESKBRIDGE_RELAY_*`
//! environment variables, then validation with errors that name the setting and say what is
//! wrong. `deskbridge-relay.example.toml` beside this crate shows and explains every setting.
//!
//! Each setting has one environment variable: `DESKBRIDGE_RELAY_` followed by its TOML path in
//! capitals with `_` for `.`, e.g. `limits.deadline_ms` → `DESKBRIDGE_RELAY_LIMITS_DEADLINE_MS`.
//! An unknown `DESKBRIDGE_RELAY_*` variable (a typo) is an error, not silently ignored, and so is
//! an unknown key in the file. (`DESKBRIDGE_RELAY_CONFIG` names the file itself.)

use std::ffi::OsString;
use std::fs;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::direct::MAX_BODY_BYTES;
use crate::http_server::Limits;

/// The prefix of the relay's environment variables.
pub const ENV_PREFIX: &str = "DESKBRIDGE_RELAY_";

/// The environment variable that names the configuration file.
pub const CONFIG_FILE_ENV: &str = "DESKBRIDGE_RELAY_CONFIG";

/// Zocdoc waits 5 s for an answer; the relay must have answered (or hung up) before that.
pub const MAX_DEADLINE_MS: u64 = 4_500;

/// Dead tunnel peers must be noticed within this.
pub const MAX_PEER_TIMEOUT_MS: u64 = 30_000;

/// The relay's settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RelayConfig {
    /// The address and port to listen on.
    pub listen: SocketAddr,
    /// The public base URL Zocdoc and the desk apps use, e.g. `https://relay.example.com`. Only
    /// needed to print the URLs of a new endpoint.
    pub public_url: Option<String>,
    /// The endpoint registry file.
    pub registry: PathBuf,
    /// How often the registry file is checked for changes, in milliseconds.
    pub registry_poll_ms: u64,
    /// Serve plain HTTP (no `[tls]`): only behind a TLS terminator that passes dropped
    /// connections through (see the crate's README).
    pub plain_http: bool,
    /// The certificate chain and key, in PEM files.
    pub tls: Option<TlsFiles>,
    /// Limits and timeouts of the public side.
    pub limits: LimitsConfig,
    /// Tunnel timings.
    pub tunnel: TunnelConfig,
}

/// TLS certificate chain and private key files (PEM).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    /// The certificate chain, leaf first (e.g. Let's Encrypt's `fullchain.pem`).
    pub cert: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// Limits and timeouts of the public side.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// How long a webhook may take, from its headers to the app's outcome, before the relay
    /// closes the connection unanswered (Zocdoc then retries). Milliseconds, at most 4500.
    pub deadline_ms: u64,
    /// Connections served at once (public and tunnel upgrades); more wait in the accept queue.
    pub max_connections: usize,
    /// How long a client may take to send its request line and headers, in milliseconds.
    pub header_read_timeout_ms: u64,
    /// How long a client may take to complete the TLS handshake, in milliseconds.
    pub tls_handshake_timeout_ms: u64,
    /// How long shutdown waits for webhooks in flight, in milliseconds (at least the deadline).
    pub shutdown_grace_ms: u64,
    /// Request body bytes held at once across all requests; beyond it, requests are closed
    /// unanswered (and retried by Zocdoc). At least 1 MiB.
    pub max_buffered_body_bytes: usize,
}

/// Tunnel timings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TunnelConfig {
    /// How often the relay pings an app, in milliseconds.
    pub ping_interval_ms: u64,
    /// An app silent for this long is taken for dead and disconnected, in milliseconds (more
    /// than the ping interval, at most 30000).
    pub peer_timeout_ms: u64,
    /// How long an app has to say hello after the upgrade, in milliseconds.
    pub hello_timeout_ms: u64,
    /// Deliveries queued for one app before further webhooks are closed unanswered.
    pub queue_len: usize,
}

impl Default for RelayConfig {
    fn default() -> Self {
        RelayConfig {
            listen: SocketAddr::from(([0, 0, 0, 0], 8443)),
            public_url: None,
            registry: PathBuf::from("/var/lib/deskbridge-relay/endpoints.json"),
            registry_poll_ms: 2_000,
            plain_http: false,
            tls: None,
            limits: LimitsConfig::default(),
            tunnel: TunnelConfig::default(),
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            deadline_ms: 4_000,
            max_connections: 1_024,
            header_read_timeout_ms: 5_000,
            tls_handshake_timeout_ms: 5_000,
            shutdown_grace_ms: 5_000,
            max_buffered_body_bytes: 64 * 1024 * 1024,
        }
    }
}

impl Default for TunnelConfig {
    fn default() -> Self {
        TunnelConfig {
            ping_interval_ms: 10_000,
            peer_timeout_ms: 25_000,
            hello_timeout_ms: 10_000,
            queue_len: 256,
        }
    }
}

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("the configuration file {} could not be read: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// The file is not valid TOML or has unknown or mistyped settings.
    #[error("the configuration file {} is not valid: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// An environment variable starts with the prefix but names no setting.
    #[error(
        "{variable} is not a setting of deskbridge-relay (check the spelling; the settings are {known})"
    )]
    UnknownVariable {
        /// The variable.
        variable: String,
        /// Every variable there is.
        known: String,
    },
    /// An environment variable's value is not valid for its setting.
    #[error("{variable}: {problem}")]
    Variable {
        /// The variable.
        variable: String,
        /// What is wrong with its value.
        problem: String,
    },
    /// A setting is out of range or conflicts with another.
    #[error("{setting}: {problem}")]
    Invalid {
        /// The setting (TOML path).
        setting: &'static str,
        /// What is wrong and what to do.
        problem: String,
    },
}

fn parse<T: std::str::FromStr>(value: &str) -> Result<T, String>
where
    T::Err: std::fmt::Display,
{
    value
        .trim()
        .parse()
        .map_err(|error| format!("{value:?} is not valid: {error}"))
}

fn tls_files(config: &mut RelayConfig) -> &mut TlsFiles {
    config.tls.get_or_insert_with(|| TlsFiles {
        cert: PathBuf::new(),
        key: PathBuf::new(),
    })
}

/// Every environment variable, after the prefix.
const VARIABLES: &[&str] = &[
    "LISTEN",
    "PUBLIC_URL",
    "REGISTRY",
    "REGISTRY_POLL_MS",
    "PLAIN_HTTP",
    "TLS_CERT",
    "TLS_KEY",
    "LIMITS_DEADLINE_MS",
    "LIMITS_MAX_CONNECTIONS",
    "LIMITS_HEADER_READ_TIMEOUT_MS",
    "LIMITS_TLS_HANDSHAKE_TIMEOUT_MS",
    "LIMITS_SHUTDOWN_GRACE_MS",
    "LIMITS_MAX_BUFFERED_BODY_BYTES",
    "TUNNEL_PING_INTERVAL_MS",
    "TUNNEL_PEER_TIMEOUT_MS",
    "TUNNEL_HELLO_TIMEOUT_MS",
    "TUNNEL_QUEUE_LEN",
];

/// Sets the setting of one variable (named without the prefix); `None` for an unknown name.
fn set(c: &mut RelayConfig, suffix: &str, value: &str) -> Option<Result<(), String>> {
    let path = || PathBuf::from(value);
    Some(match suffix {
        "LISTEN" => parse(value).map(|v| c.listen = v),
        "PUBLIC_URL" => {
            c.public_url = Some(value.to_owned());
            Ok(())
        }
        "REGISTRY" => {
            c.registry = path();
            Ok(())
        }
        "REGISTRY_POLL_MS" => parse(value).map(|v| c.registry_poll_ms = v),
        "PLAIN_HTTP" => parse(value).map(|v| c.plain_http = v),
        "TLS_CERT" => {
            tls_files(c).cert = path();
            Ok(())
        }
        "TLS_KEY" => {
            tls_files(c).key = path();
            Ok(())
        }
        "LIMITS_DEADLINE_MS" => parse(value).map(|v| c.limits.deadline_ms = v),
        "LIMITS_MAX_CONNECTIONS" => parse(value).map(|v| c.limits.max_connections = v),
        "LIMITS_HEADER_READ_TIMEOUT_MS" => {
            parse(value).map(|v| c.limits.header_read_timeout_ms = v)
        }
        "LIMITS_TLS_HANDSHAKE_TIMEOUT_MS" => {
            parse(value).map(|v| c.limits.tls_handshake_timeout_ms = v)
        }
        "LIMITS_SHUTDOWN_GRACE_MS" => parse(value).map(|v| c.limits.shutdown_grace_ms = v),
        "LIMITS_MAX_BUFFERED_BODY_BYTES" => {
            parse(value).map(|v| c.limits.max_buffered_body_bytes = v)
        }
        "TUNNEL_PING_INTERVAL_MS" => parse(value).map(|v| c.tunnel.ping_interval_ms = v),
        "TUNNEL_PEER_TIMEOUT_MS" => parse(value).map(|v| c.tunnel.peer_timeout_ms = v),
        "TUNNEL_HELLO_TIMEOUT_MS" => parse(value).map(|v| c.tunnel.hello_timeout_ms = v),
        "TUNNEL_QUEUE_LEN" => parse(value).map(|v| c.tunnel.queue_len = v),
        _ => return None,
    })
}

impl RelayConfig {
    /// Defaults, then `file` (if given), then the `DESKBRIDGE_RELAY_*` variables of `env`, then
    /// validation. The binary passes `std::env::vars_os()`; tests pass their own.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (OsString, OsString)>,
    ) -> Result<RelayConfig, ConfigError> {
        let mut config = match file {
            Some(path) => {
                let text = fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                toml::from_str(&text).map_err(|error: toml::de::Error| ConfigError::Parse {
                    path: path.to_owned(),
                    message: error.to_string(),
                })?
            }
            None => RelayConfig::default(),
        };
        config.apply_env(env)?;
        config.validate()?;
        Ok(config)
    }

    fn apply_env(
        &mut self,
        env: impl IntoIterator<Item = (OsString, OsString)>,
    ) -> Result<(), ConfigError> {
        let mut variables: Vec<(String, OsString)> = env
            .into_iter()
            .filter_map(|(name, value)| Some((name.into_string().ok()?, value)))
            .filter(|(name, _)| name.starts_with(ENV_PREFIX) && name != CONFIG_FILE_ENV)
            .collect();
        // A fixed order, so that the same environment always gives the same result.
        variables.sort();
        for (name, value) in variables {
            let suffix = &name[ENV_PREFIX.len()..];
            let value = value.into_string().map_err(|_| ConfigError::Variable {
                variable: name.clone(),
                problem: "the value is not valid UTF-8".to_owned(),
            })?;
            set(self, suffix, &value)
                .ok_or_else(|| ConfigError::UnknownVariable {
                    variable: name.clone(),
                    known: VARIABLES
                        .iter()
                        .map(|suffix| format!("{ENV_PREFIX}{suffix}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                })?
                .map_err(|problem| ConfigError::Variable {
                    variable: name.clone(),
                    problem,
                })?;
        }
        Ok(())
    }

    /// Checks every setting and their combinations.
    pub fn validate(&self) -> Result<(), ConfigError> {
        fn range<T: PartialOrd + std::fmt::Display>(
            setting: &'static str,
            value: T,
            min: T,
            max: T,
            why: &str,
        ) -> Result<(), ConfigError> {
            if value < min || value > max {
                return Err(ConfigError::Invalid {
                    setting,
                    problem: format!("{value} is out of range: it must be {min} to {max}{why}"),
                });
            }
            Ok(())
        }
        let limits = &self.limits;
        let tunnel = &self.tunnel;
        range(
            "limits.deadline_ms",
            limits.deadline_ms,
            100,
            MAX_DEADLINE_MS,
            " (Zocdoc gives up after 5 s, and the relay must hang up before it does)",
        )?;
        range(
            "limits.max_connections",
            limits.max_connections,
            1,
            100_000,
            "",
        )?;
        range(
            "limits.header_read_timeout_ms",
            limits.header_read_timeout_ms,
            100,
            60_000,
            "",
        )?;
        range(
            "limits.tls_handshake_timeout_ms",
            limits.tls_handshake_timeout_ms,
            100,
            60_000,
            "",
        )?;
        range(
            "limits.shutdown_grace_ms",
            limits.shutdown_grace_ms,
            limits.deadline_ms,
            60_000,
            " (at least the deadline, so webhooks in flight at shutdown get their answer)",
        )?;
        range(
            "limits.max_buffered_body_bytes",
            limits.max_buffered_body_bytes,
            MAX_BODY_BYTES,
            1 << 32,
            " (at least one largest body)",
        )?;
        range(
            "tunnel.ping_interval_ms",
            tunnel.ping_interval_ms,
            100,
            MAX_PEER_TIMEOUT_MS / 2,
            "",
        )?;
        range(
            "tunnel.peer_timeout_ms",
            tunnel.peer_timeout_ms,
            tunnel.ping_interval_ms.saturating_mul(2),
            MAX_PEER_TIMEOUT_MS,
            " (at least two ping intervals, and dead apps must be noticed within 30 s)",
        )?;
        range(
            "tunnel.hello_timeout_ms",
            tunnel.hello_timeout_ms,
            100,
            60_000,
            "",
        )?;
        range("tunnel.queue_len", tunnel.queue_len, 1, 65_536, "")?;
        range("registry_poll_ms", self.registry_poll_ms, 100, 60_000, "")?;
        if self.registry.as_os_str().is_empty() {
            return Err(ConfigError::Invalid {
                setting: "registry",
                problem: "the path of the endpoint registry file is empty".to_owned(),
            });
        }
        match (&self.tls, self.plain_http) {
            (Some(_), true) => {
                return Err(ConfigError::Invalid {
                    setting: "plain_http",
                    problem: "plain_http = true and [tls] are both set: choose one".to_owned(),
                });
            }
            (None, false) => {
                return Err(ConfigError::Invalid {
                    setting: "tls",
                    problem: "no TLS configured: set [tls] cert and key (PEM files), or set \
                              plain_http = true only behind a TLS terminator that passes dropped \
                              connections through (see the README: a proxy that answers 502 \
                              loses webhooks)"
                        .to_owned(),
                });
            }
            (Some(tls), false) => {
                for (setting, path) in [("tls.cert", &tls.cert), ("tls.key", &tls.key)] {
                    if path.as_os_str().is_empty() {
                        return Err(ConfigError::Invalid {
                            setting,
                            problem: "missing: [tls] needs both cert and key".to_owned(),
                        });
                    }
                }
            }
            (None, true) => {}
        }
        if let Some(url) = &self.public_url {
            check_public_url(url).map_err(|problem| ConfigError::Invalid {
                setting: "public_url",
                problem,
            })?;
        }
        Ok(())
    }

    /// The public side's limits for the HTTP server.
    pub fn server_limits(&self) -> Limits {
        Limits {
            max_connections: self.limits.max_connections,
            header_read_timeout: ms(self.limits.header_read_timeout_ms),
            shutdown_grace: ms(self.limits.shutdown_grace_ms),
            tls_handshake_timeout: ms(self.limits.tls_handshake_timeout_ms),
        }
    }

    /// The delivery deadline.
    pub fn deadline(&self) -> Duration {
        ms(self.limits.deadline_ms)
    }

    /// The public webhook URL of an endpoint (`https://host/hooks/ID`), when `public_url` is set.
    pub fn webhook_url(&self, endpoint_id: &str) -> Option<String> {
        let base = self.public_url.as_deref()?.trim_end_matches('/');
        Some(format!(
            "{base}{}{endpoint_id}",
            crate::server::HOOKS_PREFIX
        ))
    }

    /// The tunnel URL a desk app connects to (`wss://host/tunnel/ID`), when `public_url` is set.
    pub fn tunnel_url(&self, endpoint_id: &str) -> Option<String> {
        let base = self.public_url.as_deref()?.trim_end_matches('/');
        let base = match base.split_once("://") {
            Some(("http", rest)) => format!("ws://{rest}"),
            Some((_, rest)) => format!("wss://{rest}"),
            None => return None,
        };
        Some(format!(
            "{base}{}{endpoint_id}",
            crate::server::TUNNEL_PREFIX
        ))
    }
}

pub(crate) fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

fn check_public_url(url: &str) -> Result<(), String> {
    let uri: http::Uri = url
        .parse()
        .map_err(|error| format!("{url:?} is not a URL: {error}"))?;
    match uri.scheme_str() {
        Some("https" | "http") => {}
        _ => return Err(format!("{url:?} must start with https://")),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(format!("{url:?} has no host name"));
    }
    if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
        return Err(format!(
            "{url:?} must be the relay's base URL, with no path or query (e.g. https://relay.example.com)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        pairs
            .iter()
            .map(|(name, value)| (OsString::from(name), OsString::from(value)))
            .collect()
    }

    fn file(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("relay.toml");
        fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn the_defaults_need_a_tls_decision() {
        let error = RelayConfig::load(None, []).unwrap_err().to_string();
        assert!(error.contains("no TLS configured"), "{error}");
        let config =
            RelayConfig::load(None, env(&[("DESKBRIDGE_RELAY_PLAIN_HTTP", "true")])).unwrap();
        assert_eq!(config.limits.deadline_ms, 4_000);
        assert_eq!(config.deadline(), Duration::from_secs(4));
    }

    #[test]
    fn the_file_overrides_defaults_and_the_environment_overrides_the_file() {
        let (_dir, path) = file(
            r#"
            listen = "127.0.0.1:9000"
            public_url = "https://relay.example.com"
            registry = "/srv/endpoints.json"
            [tls]
            cert = "/etc/relay/fullchain.pem"
            key = "/etc/relay/privkey.pem"
            [limits]
            deadline_ms = 3000
            "#,
        );
        let config = RelayConfig::load(
            Some(&path),
            env(&[
                ("DESKBRIDGE_RELAY_LIMITS_DEADLINE_MS", "2500"),
                ("DESKBRIDGE_RELAY_TLS_KEY", "/run/key.pem"),
                ("DESKBRIDGE_RELAY_CONFIG", "ignored here"),
                ("PATH", "/usr/bin"),
            ]),
        )
        .unwrap();
        assert_eq!(config.listen, "127.0.0.1:9000".parse().unwrap());
        assert_eq!(config.limits.deadline_ms, 2_500);
        assert_eq!(config.limits.max_connections, 1_024);
        let tls = config.tls.as_ref().unwrap();
        assert_eq!(tls.cert, Path::new("/etc/relay/fullchain.pem"));
        assert_eq!(tls.key, Path::new("/run/key.pem"));
        assert_eq!(
            config.webhook_url("abc").unwrap(),
            "https://relay.example.com/hooks/abc"
        );
        assert_eq!(
            config.tunnel_url("abc").unwrap(),
            "wss://relay.example.com/tunnel/abc"
        );
    }

    #[test]
    fn mistakes_are_named() {
        let plain = ("DESKBRIDGE_RELAY_PLAIN_HTTP", "true");
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[plain, ("DESKBRIDGE_RELAY_DEADLINE_MS", "1")],
                "DESKBRIDGE_RELAY_DEADLINE_MS is not a setting",
            ),
            (
                &[plain, ("DESKBRIDGE_RELAY_LIMITS_DEADLINE_MS", "5000")],
                "limits.deadline_ms: 5000 is out of range",
            ),
            (
                &[plain, ("DESKBRIDGE_RELAY_LIMITS_DEADLINE_MS", "soon")],
                "DESKBRIDGE_RELAY_LIMITS_DEADLINE_MS: \"soon\" is not valid",
            ),
            (
                &[plain, ("DESKBRIDGE_RELAY_TUNNEL_PEER_TIMEOUT_MS", "31000")],
                "tunnel.peer_timeout_ms",
            ),
            (
                &[plain, ("DESKBRIDGE_RELAY_LIMITS_SHUTDOWN_GRACE_MS", "1000")],
                "limits.shutdown_grace_ms",
            ),
            (
                &[plain, ("DESKBRIDGE_RELAY_PUBLIC_URL", "ftp://x")],
                "public_url",
            ),
            (
                &[plain, ("DESKBRIDGE_RELAY_PUBLIC_URL", "https://x/hooks")],
                "no path",
            ),
            (
                &[plain, ("DESKBRIDGE_RELAY_TLS_CERT", "/c.pem")],
                "choose one",
            ),
            (
                &[("DESKBRIDGE_RELAY_TLS_CERT", "/c.pem")],
                "tls.key: missing",
            ),
            (
                &[plain, ("DESKBRIDGE_RELAY_LISTEN", "everywhere")],
                "DESKBRIDGE_RELAY_LISTEN",
            ),
        ];
        for (vars, needle) in cases {
            let error = RelayConfig::load(None, env(vars)).unwrap_err().to_string();
            assert!(error.contains(needle), "{needle}: {error}");
        }
    }

    #[test]
    fn unknown_or_mistyped_keys_in_the_file_are_errors_with_a_position() {
        for (text, needle) in [
            (
                "plain_http = true\ndeadline_ms = 3000\n",
                "unknown field `deadline_ms`",
            ),
            (
                "plain_http = true\n[limits]\nmax_connections = \"many\"\n",
                "line 3",
            ),
            ("plain_http = yes\n", "line 1"),
        ] {
            let (_dir, path) = file(text);
            let error = RelayConfig::load(Some(&path), []).unwrap_err().to_string();
            assert!(error.contains(needle), "{needle}: {error}");
        }
        let error = RelayConfig::load(Some(Path::new("/nonexistent/relay.toml")), [])
            .unwrap_err()
            .to_string();
        assert!(error.contains("could not be read"), "{error}");
    }

    #[test]
    fn the_example_configuration_is_valid_and_shows_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deskbridge-relay.example.toml");
        let config = RelayConfig::load(Some(&path), []).unwrap();
        assert_eq!(config.limits, LimitsConfig::default());
        assert_eq!(config.tunnel, TunnelConfig::default());
        assert_eq!(
            config.registry_poll_ms,
            RelayConfig::default().registry_poll_ms
        );
        assert!(config.tls.is_some());
        // Every variable in the table is documented in the example.
        let text = fs::read_to_string(&path).unwrap();
        for suffix in VARIABLES {
            assert!(text.contains(&format!("{ENV_PREFIX}{suffix}")), "{suffix}");
            assert!(
                set(&mut RelayConfig::default(), suffix, "1").is_some(),
                "{suffix}"
            );
        }
    }
}
