//! When and how long the client waits before trying a request again: the bounded
//! [`RetryPolicy`], exponential backoff with jitter, `Retry-After`, and the injectable [`Clock`]
//! and [`Jitter`] that make tests deterministic and fast.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use jiff::Timestamp;

/// Time as the client sees it: a monotonic clock for token expiry, the wall clock for a
/// `Retry-After` date, and sleeping between attempts. Tests substitute a clock whose sleep
/// returns at once and advances its own time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Monotonic now.
    fn now(&self) -> Instant;
    /// Wall-clock now.
    fn now_utc(&self) -> Timestamp;
    /// Waits for `duration`.
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// The real clock: `Instant::now`, `Timestamp::now`, `tokio::time::sleep`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn now_utc(&self) -> Timestamp {
        Timestamp::now()
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

/// How often and how long the client retries. Every count is a bound: a call makes at most
/// `1 + rate_limit_retries + server_retries` requests, plus one after a token refresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The first backoff; each further one doubles, up to `max_delay`.
    pub base_delay: Duration,
    /// The longest computed backoff.
    pub max_delay: Duration,
    /// How many 429 answers are retried (reads and writes: a 429 means Zocdoc refused the
    /// request without performing it).
    pub rate_limit_retries: u32,
    /// How many 5xx answers and connection failures of a read are retried. Writes: none.
    pub server_retries: u32,
    /// The longest `Retry-After` honoured by waiting; a longer one ends the call with
    /// `RateLimited` carrying it, so the caller can schedule the retry instead of hanging.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    /// Half a second doubling to 20 s; 6 retries of a 429 (about 30 s in all), 3 of a failed
    /// read; a `Retry-After` of up to 2 minutes is honoured.
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
    /// `min(max_delay, base_delay * 2^retry)` fixed, the other half scaled by `fraction`. The
    /// fixed half keeps the backoff growing; the random half spreads clients apart.
    pub fn backoff(&self, retry: u32, fraction: f64) -> Duration {
        let exponential = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(retry))
            .min(self.max_delay);
        let half = exponential / 2;
        half + half.mul_f64(fraction.clamp(0.0, 1.0))
    }
}

/// Reads `Retry-After`: delay-seconds, or an HTTP date (a date in the past means now). `None`
/// when absent or unreadable.
pub(crate) fn parse_retry_after(value: &str, now_utc: Timestamp) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = jiff::fmt::rfc2822::DateTimeParser::new()
        .parse_timestamp(value)
        .ok()?;
    Some(
        now_utc
            .duration_until(date)
            .try_into()
            .unwrap_or(Duration::ZERO),
    )
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
        assert_eq!(policy.backoff(2, 0.5), Duration::from_millis(300));
        assert_eq!(policy.backoff(u32::MAX, 1.0), Duration::from_millis(1000));
        assert_eq!(policy.backoff(0, 7.0), Duration::from_millis(100));
    }

    #[test]
    fn default_policy_is_bounded() {
        let policy = RetryPolicy::default();
        let total: Duration = (0..policy.rate_limit_retries)
            .map(|n| policy.backoff(n, 1.0))
            .sum();
        assert!(total <= Duration::from_secs(40), "{total:?}");
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now: Timestamp = "2015-10-21T07:27:00Z".parse().unwrap();
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("-3", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
