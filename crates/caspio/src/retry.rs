//! When and how long the client waits before trying a request again: the bounded
//! [`RetryPolicy`], exponential backoff with jitter, `Retry-After`, and the injectable [`Clock`]
//! and [`Jitter`] that make tests deterministic and fast.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

/// Time as the client sees it: a monotonic clock for token expiry, and sleeping between attempts.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Monotonic now.
    fn now(&self) -> Instant;
    /// Waits for `duration`.
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// The real clock: `Instant::now` and `tokio::time::sleep`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// A source of jitter: a number in `0.0..=1.0` for each backoff.
pub trait Jitter: Send + Sync + fmt::Debug {
    /// The next fraction, in `0.0..=1.0`.
    fn fraction(&self) -> f64;
}

/// Uniform random jitter (a fast non-cryptographic generator: jitter needs no secrecy).
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomJitter;

impl Jitter for RandomJitter {
    fn fraction(&self) -> f64 {
        fastrand::f64()
    }
}

/// How often and how long the client retries. A call makes at most
/// `1 + rate_limit_retries + server_retries` requests, plus one after a token refresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The first backoff; each further one doubles, up to `max_delay`.
    pub base_delay: Duration,
    /// The longest computed backoff.
    pub max_delay: Duration,
    /// How many 429 answers are retried (a 429 means the call was refused, not performed).
    pub rate_limit_retries: u32,
    /// How many 5xx answers and connection failures are retried.
    pub server_retries: u32,
    /// The longest `Retry-After` honoured by waiting; a longer one ends the call.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    /// Half a second doubling to 20 s; 6 retries of a 429, 3 of a 5xx or broken connection; a
    /// `Retry-After` of up to 2 minutes is honoured.
    fn default() -> Self {
        Self {
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(20),
            rate_limit_retries: 6,
            server_retries: 3,
            max_retry_after: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (0 for the first), with "equal jitter": half of
    /// `min(max_delay, base_delay * 2^retry)` fixed, the other half scaled by `fraction`.
    pub fn backoff(&self, retry: u32, fraction: f64) -> Duration {
        let exponential = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(retry))
            .min(self.max_delay);
        let half = exponential / 2;
        half + half.mul_f64(fraction.clamp(0.0, 1.0))
    }
}

/// The retry budget of one call.
#[derive(Debug)]
pub(crate) struct Budget<'a> {
    policy: &'a RetryPolicy,
    pub(crate) attempts: u32,
    rate_limited: u32,
    failed: u32,
}

impl<'a> Budget<'a> {
    pub(crate) fn new(policy: &'a RetryPolicy) -> Self {
        Self {
            policy,
            attempts: 0,
            rate_limited: 0,
            failed: 0,
        }
    }

    /// The wait before retrying a 429, or `None` to give up.
    pub(crate) fn after_rate_limit(
        &mut self,
        retry_after: Option<Duration>,
        jitter: f64,
    ) -> Option<Duration> {
        if self.rate_limited >= self.policy.rate_limit_retries
            || retry_after.is_some_and(|delay| delay > self.policy.max_retry_after)
        {
            return None;
        }
        let delay = retry_after.unwrap_or_else(|| self.policy.backoff(self.rate_limited, jitter));
        self.rate_limited += 1;
        Some(delay)
    }

    /// The wait before retrying a 5xx or a broken connection, or `None` to give up.
    pub(crate) fn after_failure(&mut self, jitter: f64) -> Option<Duration> {
        if self.failed >= self.policy.server_retries {
            return None;
        }
        let delay = self.policy.backoff(self.failed, jitter);
        self.failed += 1;
        Some(delay)
    }
}

/// Reads `Retry-After` as delay-seconds; `None` when absent or not a number.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_equal_jitter() {
        let policy = RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
            ..RetryPolicy::default()
        };
        let lows: Vec<u128> = (0..6).map(|n| policy.backoff(n, 0.0).as_millis()).collect();
        let highs: Vec<u128> = (0..6).map(|n| policy.backoff(n, 1.0).as_millis()).collect();
        assert_eq!(lows, [50, 100, 200, 400, 500, 500]);
        assert_eq!(highs, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(policy.backoff(u32::MAX, 1.0), Duration::from_millis(1000));
    }

    #[test]
    fn budget_bounds_each_kind_of_retry() {
        let policy = RetryPolicy {
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(40),
            rate_limit_retries: 2,
            server_retries: 1,
            max_retry_after: Duration::from_secs(5),
        };
        let mut budget = Budget::new(&policy);
        assert_eq!(
            budget.after_rate_limit(Some(Duration::from_secs(3)), 0.0),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            budget.after_rate_limit(None, 1.0),
            Some(Duration::from_millis(20))
        );
        assert_eq!(budget.after_rate_limit(None, 1.0), None);
        assert_eq!(budget.after_failure(0.0), Some(Duration::from_millis(5)));
        assert_eq!(budget.after_failure(0.0), None);
        let mut budget = Budget::new(&policy);
        assert_eq!(
            budget.after_rate_limit(Some(Duration::from_secs(6)), 0.0),
            None
        );
    }

    #[test]
    fn retry_after_reads_seconds() {
        assert_eq!(parse_retry_after(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("soon"), None);
    }
}
