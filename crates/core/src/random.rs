//! Randomness, passed in: keys are made from the operating system's randomness, and tests can
//! substitute a source of their own.

use std::fmt;

/// A source of random bytes for keys.
pub trait RandomSource: Send + Sync + fmt::Debug {
    /// Fills `dest` entirely with random bytes.
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomError>;
}

/// The operating system's cryptographically secure randomness.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRandom;

impl RandomSource for OsRandom {
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomError> {
        getrandom::fill(dest).map_err(|err| RandomError(err.to_string()))
    }
}

/// The operating system could not provide random bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the computer could not provide secure random numbers for a new key ({0}); restart the computer \
     and try again, or contact support"
)]
pub struct RandomError(pub String);

/// Predictable bytes (`seed`, `seed + 1`, …) so tests know the key they will get. Not random.
#[cfg(test)]
#[derive(Debug, Clone, Copy)]
pub(crate) struct PatternRandom(pub(crate) u8);

#[cfg(test)]
impl RandomSource for PatternRandom {
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomError> {
        let mut next = self.0;
        for byte in dest {
            *byte = next;
            next = next.wrapping_add(1);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_randomness_fills_the_whole_buffer_and_differs_between_calls() {
        let mut a = [0u8; 32];
        let mut b = [0u8; 32];
        OsRandom.fill(&mut a).unwrap();
        OsRandom.fill(&mut b).unwrap();
        assert_ne!(a, [0u8; 32]);
        assert_ne!(a, b);
    }
}
