//! Fault injection per route (429s, 5xx, added latency, tokens treated as expired) and the
//! per-route call counter that lets a test bound how many API calls a client made.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// One route of the emulated API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    /// `POST /oauth/token`.
    Token,
    /// `GET /v1/appointments`.
    ListAppointments,
    /// `GET /v1/appointments/{appointment_id}`.
    GetAppointment,
    /// `GET /v1/appointments/{appointment_id}/participants`.
    GetParticipants,
    /// `POST /v1/appointments`.
    BookAppointment,
    /// `PUT /v1/appointments/update-status`.
    UpdateStatus,
    /// `POST /v1/appointments/confirm`.
    Confirm,
    /// `POST /v1/appointments/cancel`.
    Cancel,
    /// `POST /v1/appointments/reschedule`.
    Reschedule,
    /// `POST /v1/webhook/mock-request`.
    MockWebhook,
    /// `GET /v1/provider_locations/{provider_location_id}`.
    GetProviderLocation,
    /// `GET /v1/visit_reasons/{visit_reason_id}`.
    GetVisitReason,
}

impl Route {
    /// Every route.
    pub const ALL: [Route; 12] = [
        Route::Token,
        Route::ListAppointments,
        Route::GetAppointment,
        Route::GetParticipants,
        Route::BookAppointment,
        Route::UpdateStatus,
        Route::Confirm,
        Route::Cancel,
        Route::Reschedule,
        Route::MockWebhook,
        Route::GetProviderLocation,
        Route::GetVisitReason,
    ];

    /// The snake_case name used by the admin endpoints, e.g. `list_appointments`.
    pub fn name(self) -> &'static str {
        match self {
            Route::Token => "token",
            Route::ListAppointments => "list_appointments",
            Route::GetAppointment => "get_appointment",
            Route::GetParticipants => "get_participants",
            Route::BookAppointment => "book_appointment",
            Route::UpdateStatus => "update_status",
            Route::Confirm => "confirm",
            Route::Cancel => "cancel",
            Route::Reschedule => "reschedule",
            Route::MockWebhook => "mock_webhook",
            Route::GetProviderLocation => "get_provider_location",
            Route::GetVisitReason => "get_visit_reason",
        }
    }

    /// Parses [`Route::name`].
    pub fn parse(name: &str) -> Option<Route> {
        Route::ALL.into_iter().find(|route| route.name() == name)
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The faults one route injects. Probabilities are drawn from the emulator's seeded randomness,
/// so a run is reproducible. The default injects nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultConfig {
    /// Probability (0..=1) of answering 429 without a body.
    pub rate_429: f64,
    /// `Retry-After` seconds sent with an injected 429 (Zocdoc promises none, so `None` by default).
    pub retry_after_seconds: Option<u64>,
    /// Probability (0..=1) of answering [`FaultConfig::status_5xx`] without a body.
    pub rate_5xx: f64,
    /// The status of an injected server error (500, 502, 503 or 504).
    pub status_5xx: u16,
    /// Real time added before the route answers (network latency is not compressed).
    #[serde(rename = "latency_ms", with = "millis")]
    pub latency: Duration,
    /// Probability (0..=1) that a valid token is refused with 401 as if it had expired
    /// (`/oauth/token` ignores this).
    pub expired_token_rate: f64,
}

impl Default for FaultConfig {
    fn default() -> Self {
        FaultConfig {
            rate_429: 0.0,
            retry_after_seconds: None,
            rate_5xx: 0.0,
            status_5xx: 500,
            latency: Duration::ZERO,
            expired_token_rate: 0.0,
        }
    }
}

impl FaultConfig {
    /// Checks the probabilities and the status; the admin endpoint answers 400 with this message.
    pub fn validate(&self) -> Result<(), String> {
        for (name, rate) in [
            ("rate_429", self.rate_429),
            ("rate_5xx", self.rate_5xx),
            ("expired_token_rate", self.expired_token_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!("{name} must lie between 0 and 1, got {rate}"));
            }
        }
        if !(500..=599).contains(&self.status_5xx) {
            return Err(format!(
                "status_5xx must be a 5xx status, got {}",
                self.status_5xx
            ));
        }
        Ok(())
    }
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        duration: &Duration,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(u64::try_from(duration.as_millis()).unwrap_or(u64::MAX))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Duration, D::Error> {
        u64::deserialize(deserializer).map(Duration::from_millis)
    }
}

/// The fault table: one [`FaultConfig`] per route that has one.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    table: Mutex<HashMap<Route, FaultConfig>>,
}

impl Faults {
    pub(crate) fn get(&self, route: Route) -> FaultConfig {
        self.lock().get(&route).cloned().unwrap_or_default()
    }

    pub(crate) fn set(&self, route: Route, config: FaultConfig) {
        self.lock().insert(route, config);
    }

    pub(crate) fn clear(&self) {
        self.lock().clear();
    }

    pub(crate) fn all(&self) -> BTreeMap<Route, FaultConfig> {
        self.lock()
            .iter()
            .map(|(route, config)| (*route, config.clone()))
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Route, FaultConfig>> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Counts every request that reached a route, whatever it was answered (faults and 401s too).
#[derive(Debug)]
pub(crate) struct CallCounter {
    counts: [AtomicU64; Route::ALL.len()],
}

impl Default for CallCounter {
    fn default() -> Self {
        CallCounter {
            counts: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

impl CallCounter {
    pub(crate) fn record(&self, route: Route) {
        self.counts[route.index()].fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> CallCounts {
        CallCounts {
            per_route: Route::ALL
                .into_iter()
                .map(|route| (route, self.counts[route.index()].load(Ordering::Relaxed)))
                .collect(),
        }
    }

    pub(crate) fn reset(&self) {
        for count in &self.counts {
            count.store(0, Ordering::Relaxed);
        }
    }
}

/// How many requests each route received since the start (or the last reset).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallCounts {
    per_route: BTreeMap<Route, u64>,
}

impl CallCounts {
    /// Requests to one route.
    pub fn get(&self, route: Route) -> u64 {
        self.per_route.get(&route).copied().unwrap_or(0)
    }

    /// Requests to the appointment, directory and webhook API (every route but `/oauth/token`).
    pub fn api_calls(&self) -> u64 {
        self.per_route
            .iter()
            .filter(|(route, _)| **route != Route::Token)
            .map(|(_, count)| count)
            .sum()
    }

    /// Requests to every route, `/oauth/token` included.
    pub fn total(&self) -> u64 {
        self.per_route.values().sum()
    }

    /// Every route with its count.
    pub fn per_route(&self) -> &BTreeMap<Route, u64> {
        &self.per_route
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_names_round_trip() {
        for (index, route) in Route::ALL.into_iter().enumerate() {
            assert_eq!(route.index(), index, "ALL is in declaration order");
            assert_eq!(Route::parse(route.name()), Some(route));
            assert_eq!(
                serde_json::to_value(route).unwrap(),
                serde_json::Value::String(route.name().into())
            );
        }
    }

    #[test]
    fn fault_configs_read_from_partial_json() {
        let config: FaultConfig =
            serde_json::from_str(r#"{"rate_429": 0.5, "latency_ms": 250}"#).unwrap();
        assert_eq!(config.rate_429, 0.5);
        assert_eq!(config.latency, Duration::from_millis(250));
        assert_eq!(config.status_5xx, 500);
        assert!(config.validate().is_ok());
        let bad = FaultConfig {
            rate_5xx: 1.5,
            ..FaultConfig::default()
        };
        assert!(bad.validate().is_err());
    }

    #[test]
    fn counts_are_per_route() {
        let counter = CallCounter::default();
        counter.record(Route::ListAppointments);
        counter.record(Route::ListAppointments);
        counter.record(Route::Token);
        let counts = counter.snapshot();
        assert_eq!(counts.get(Route::ListAppointments), 2);
        assert_eq!(counts.api_calls(), 2);
        assert_eq!(counts.total(), 3);
        counter.reset();
        assert_eq!(counter.snapshot().total(), 0);
    }
}
