//! The emulators' clock: emulated time that a test sets and advances by hand, or that runs at a
//! multiple of real time so that a scenario day plays in minutes.
//!
//! Every time an emulator reasons about (token expiry, the no-show window, webhook backoff and its
//! 48-hour horizon, scenario events, `last_modified_time_utc`) comes from a [`Clock`]. Durations of
//! the *network* (a receiver's 5-second answer deadline, injected latency) stay in real time: a
//! receiver does not answer faster because the emulated day runs faster.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};
use tokio::sync::watch;

/// The longest single real-time sleep; a sleeper re-reads the clock at least this often.
const MAX_REAL_SLEEP: Duration = Duration::from_secs(3600);

/// Emulated time, shared by everything in one emulator (cheap to clone: clones share the time).
///
/// A clock runs at a `rate` relative to real time: `1.0` is real time, `720.0` plays a day in two
/// minutes, `0.0` stands still until [`Clock::set`] or [`Clock::advance`] moves it.
#[derive(Clone, Debug)]
pub struct Clock {
    inner: Arc<ClockInner>,
}

#[derive(Debug)]
struct ClockInner {
    state: Mutex<ClockState>,
    /// Bumped on every jump (set, advance, rate change) so sleepers re-check the time.
    jumps: watch::Sender<u64>,
}

#[derive(Debug, Clone, Copy)]
struct ClockState {
    /// The emulated time at `anchor_real`.
    anchor_emulated: Timestamp,
    anchor_real: Instant,
    rate: f64,
}

impl ClockState {
    fn now(&self) -> Timestamp {
        if self.rate == 0.0 {
            return self.anchor_emulated;
        }
        let real = self.anchor_real.elapsed().as_secs_f64();
        let emulated =
            SignedDuration::try_from_secs_f64(real * self.rate).unwrap_or(SignedDuration::MAX);
        self.anchor_emulated
            .checked_add(emulated)
            .unwrap_or(Timestamp::MAX)
    }
}

impl Clock {
    /// A clock that follows the system's wall clock.
    pub fn system() -> Clock {
        Clock::scaled(Timestamp::now(), 1.0)
    }

    /// A clock that stands at `start` until a test moves it.
    pub fn manual(start: Timestamp) -> Clock {
        Clock::scaled(start, 0.0)
    }

    /// A clock that starts at `start` and runs `rate` times as fast as real time.
    ///
    /// # Panics
    /// If `rate` is negative or not finite.
    pub fn scaled(start: Timestamp, rate: f64) -> Clock {
        assert_valid_rate(rate);
        let (jumps, _) = watch::channel(0);
        Clock {
            inner: Arc::new(ClockInner {
                state: Mutex::new(ClockState {
                    anchor_emulated: start,
                    anchor_real: Instant::now(),
                    rate,
                }),
                jumps,
            }),
        }
    }

    /// The emulated time now.
    pub fn now(&self) -> Timestamp {
        self.state().now()
    }

    /// How many times faster than real time the clock runs (0 = stands still).
    pub fn rate(&self) -> f64 {
        self.state().rate
    }

    /// Moves the clock to `time` (forwards or backwards); it keeps running at its rate from there.
    pub fn set(&self, time: Timestamp) {
        self.rebase(|state| {
            state.anchor_emulated = time;
        });
    }

    /// Moves the clock forwards (or backwards, for a negative duration) by `by`.
    pub fn advance(&self, by: SignedDuration) {
        self.rebase(|state| {
            state.anchor_emulated =
                state
                    .anchor_emulated
                    .checked_add(by)
                    .unwrap_or(if by.is_negative() {
                        Timestamp::MIN
                    } else {
                        Timestamp::MAX
                    });
        });
    }

    /// Changes how fast the clock runs from now on, without a jump in emulated time.
    ///
    /// # Panics
    /// If `rate` is negative or not finite.
    pub fn set_rate(&self, rate: f64) {
        assert_valid_rate(rate);
        self.rebase(|state| state.rate = rate);
    }

    /// Waits until the emulated time reaches `deadline`: in real time scaled by the rate, and at
    /// once when a jump ([`Clock::set`], [`Clock::advance`]) passes it.
    pub async fn sleep_until(&self, deadline: Timestamp) {
        loop {
            let mut jumps = self.inner.jumps.subscribe();
            let state = *self.state();
            let now = state.now();
            if now >= deadline {
                return;
            }
            if state.rate == 0.0 {
                // The clock stands still: only a jump can bring the deadline nearer.
                if jumps.changed().await.is_err() {
                    return;
                }
                continue;
            }
            let emulated = (deadline - now).as_secs_f64();
            let real = Duration::try_from_secs_f64(emulated / state.rate)
                .unwrap_or(MAX_REAL_SLEEP)
                .min(MAX_REAL_SLEEP);
            tokio::select! {
                () = tokio::time::sleep(real) => {}
                changed = jumps.changed() => if changed.is_err() { return },
            }
        }
    }

    /// Waits for `duration` of emulated time.
    pub async fn sleep(&self, duration: SignedDuration) {
        let deadline = self.now().checked_add(duration).unwrap_or(Timestamp::MAX);
        self.sleep_until(deadline).await;
    }

    fn state(&self) -> std::sync::MutexGuard<'_, ClockState> {
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Re-anchors at the current instant, applies `change`, and wakes every sleeper.
    fn rebase(&self, change: impl FnOnce(&mut ClockState)) {
        {
            let mut state = self.state();
            state.anchor_emulated = state.now();
            state.anchor_real = Instant::now();
            change(&mut state);
        }
        self.inner.jumps.send_modify(|generation| *generation += 1);
    }
}

fn assert_valid_rate(rate: f64) {
    assert!(
        rate.is_finite() && rate >= 0.0,
        "a clock rate must be finite and not negative, got {rate}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(second).unwrap()
    }

    #[test]
    fn a_manual_clock_stands_still_until_moved() {
        let clock = Clock::manual(at(1_000));
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(clock.now(), at(1_000));
        clock.advance(SignedDuration::from_secs(30));
        assert_eq!(clock.now(), at(1_030));
        clock.set(at(10));
        assert_eq!(clock.now(), at(10));
    }

    #[test]
    fn a_scaled_clock_runs_faster_than_real_time() {
        let clock = Clock::scaled(at(0), 1_000.0);
        std::thread::sleep(Duration::from_millis(20));
        let elapsed = clock.now() - at(0);
        assert!(elapsed >= SignedDuration::from_secs(20), "{elapsed:?}");
    }

    #[tokio::test]
    async fn a_jump_wakes_a_sleeper_on_a_stopped_clock() {
        let clock = Clock::manual(at(0));
        let sleeper = tokio::spawn({
            let clock = clock.clone();
            async move { clock.sleep_until(at(60)).await }
        });
        tokio::task::yield_now().await;
        clock.advance(SignedDuration::from_secs(30));
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished());
        clock.advance(SignedDuration::from_secs(30));
        tokio::time::timeout(Duration::from_secs(5), sleeper)
            .await
            .expect("the sleeper wakes once the clock passes its deadline")
            .unwrap();
    }

    #[tokio::test]
    async fn a_scaled_sleep_takes_the_scaled_real_time() {
        let clock = Clock::scaled(at(0), 3_600.0);
        let started = Instant::now();
        clock.sleep(SignedDuration::from_secs(360)).await;
        let real = started.elapsed();
        assert!(real >= Duration::from_millis(90), "{real:?}");
        assert!(real < Duration::from_secs(5), "{real:?}");
    }

    #[test]
    #[should_panic(expected = "clock rate")]
    fn a_negative_rate_is_refused() {
        let _ = Clock::scaled(at(0), -1.0);
    }
}
