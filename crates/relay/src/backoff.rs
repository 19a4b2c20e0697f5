//! Exponential backoff with jitter for the tunnel client's reconnects: the randomness is passed
//! in, so tests know the waits they get.

use std::time::Duration;

use deskbridge_core::random::RandomSource;

/// How long to wait between reconnect attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The ceiling of the first wait.
    pub initial: Duration,
    /// The largest wait.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: Duration::from_millis(500),
            max: Duration::from_secs(30),
        }
    }
}

impl Backoff {
    /// The ceiling before attempt `attempt` (1 for the first retry): `initial · 2^(attempt−1)`,
    /// at most `max`.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(32);
        self.initial
            .saturating_mul(1u32 << doublings.min(31))
            .min(self.max)
    }

    /// The wait before attempt `attempt`: uniformly between half the ceiling and the ceiling
    /// ("equal jitter"), so that desks that lost the relay together do not all come back in the
    /// same instant, while the wait still grows. Without randomness, the ceiling.
    pub fn delay(&self, attempt: u32, random: &dyn RandomSource) -> Duration {
        let ceiling = self.ceiling(attempt);
        let mut bytes = [0u8; 8];
        if random.fill(&mut bytes).is_err() {
            return ceiling;
        }
        let fraction = u64::from_be_bytes(bytes) as f64 / u64::MAX as f64;
        let half = ceiling / 2;
        half + half.mul_f64(fraction)
    }
}

#[cfg(test)]
mod tests {
    use deskbridge_core::random::{OsRandom, RandomError};

    use super::*;

    #[derive(Debug)]
    struct Fixed(u8);

    impl RandomSource for Fixed {
        fn fill(&self, dest: &mut [u8]) -> Result<(), RandomError> {
            dest.fill(self.0);
            Ok(())
        }
    }

    #[derive(Debug)]
    struct Broken;

    impl RandomSource for Broken {
        fn fill(&self, _: &mut [u8]) -> Result<(), RandomError> {
            Err(RandomError("none".to_owned()))
        }
    }

    #[test]
    fn the_ceiling_doubles_up_to_the_cap() {
        let backoff = Backoff::default();
        let ceilings: Vec<_> = (1..=9).map(|n| backoff.ceiling(n).as_millis()).collect();
        assert_eq!(
            ceilings,
            [
                500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000
            ]
        );
        assert_eq!(backoff.ceiling(0), Duration::from_millis(500));
        assert_eq!(backoff.ceiling(u32::MAX), Duration::from_secs(30));
    }

    #[test]
    fn the_jitter_stays_between_half_the_ceiling_and_the_ceiling() {
        let backoff = Backoff::default();
        assert_eq!(backoff.delay(3, &Fixed(0)), Duration::from_secs(1));
        assert_eq!(backoff.delay(3, &Fixed(0xff)), Duration::from_secs(2));
        assert_eq!(backoff.delay(3, &Broken), Duration::from_secs(2));
        for attempt in 1..40 {
            let delay = backoff.delay(attempt, &OsRandom);
            let ceiling = backoff.ceiling(attempt);
            assert!(
                delay >= ceiling / 2 && delay <= ceiling,
                "{attempt}: {delay:?}"
            );
            assert!(delay <= Duration::from_secs(30));
        }
    }
}
