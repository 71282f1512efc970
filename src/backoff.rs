//! Pauses between tries that double up to a cap: one rule for every place that retries
//! (the intake's messages and connections, the outbox's notifications), so that each says
//! only its own numbers.
//!
//! [`Backoff`] is stateless, a pause for the n-th failure, because some callers keep the
//! count elsewhere (the outbox keeps it in the database, the intake driver per message);
//! [`Pauses`] walks it one failure at a time for a loop retrying one thing.

use std::time::Duration;

/// Pauses doubling from `first` up to `max`, optionally jittered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    first: Duration,
    max: Duration,
    jitter: bool,
}

impl Backoff {
    /// Pauses of `first`, twice that, four times… never more than `max`.
    pub const fn new(first: Duration, max: Duration) -> Self {
        Self {
            first,
            max,
            jitter: false,
        }
    }

    /// The same pauses, each with a random part of up to half of it taken off, so that
    /// many clients failing at once (daemons losing one server) do not retry in step.
    pub const fn with_jitter(self) -> Self {
        Self {
            jitter: true,
            ..self
        }
    }

    /// The pause after `failures` earlier failures in a row (0 for the pause after the
    /// first one): `first × 2^failures`, at most `max`; with jitter, between half of that
    /// and all of it.
    pub fn delay(&self, failures: u32) -> Duration {
        let factor = 1u32.checked_shl(failures).unwrap_or(u32::MAX);
        let full = self.first.saturating_mul(factor).min(self.max);
        if self.jitter {
            full.mul_f64(0.5 + fastrand::f64() * 0.5)
        } else {
            full
        }
    }

    /// A counter of failures in a row over these pauses.
    pub fn pauses(self) -> Pauses {
        Pauses {
            backoff: self,
            failures: 0,
        }
    }
}

/// A [`Backoff`] walked one failure at a time: for a loop that retries one thing until it
/// works, then starts over from the first pause.
#[derive(Debug, Clone)]
pub struct Pauses {
    backoff: Backoff,
    failures: u32,
}

impl Pauses {
    /// The pause after one more failure.
    pub fn after_failure(&mut self) -> Duration {
        let pause = self.backoff.delay(self.failures);
        self.failures = self.failures.saturating_add(1);
        pause
    }

    /// It worked: the next failure pauses for the first pause again.
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::Backoff;
    use std::time::Duration;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn pauses_double_from_the_first_up_to_the_cap() {
        let b = Backoff::new(SECOND, 300 * SECOND);
        let pauses: Vec<u64> = (0..11).map(|n| b.delay(n).as_secs()).collect();
        assert_eq!(pauses, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        let small = Backoff::new(Duration::from_millis(200), SECOND);
        assert_eq!(small.delay(0), Duration::from_millis(200));
        assert_eq!(small.delay(1), Duration::from_millis(400));
        assert_eq!(small.delay(3), SECOND);
    }

    #[test]
    fn a_long_run_of_failures_stays_at_the_cap() {
        let b = Backoff::new(Duration::from_secs(30), Duration::from_secs(3600));
        for n in [7, 31, 32, 1000, u32::MAX] {
            assert_eq!(b.delay(n), Duration::from_secs(3600), "failure {n}");
        }
    }

    #[test]
    fn jitter_takes_off_at_most_half() {
        let b = Backoff::new(SECOND, 8 * SECOND).with_jitter();
        for n in 0..6 {
            let full = SECOND * (1 << n.min(3));
            for _ in 0..50 {
                let p = b.delay(n);
                assert!(p <= full && p >= full / 2, "failure {n}: {p:?}");
            }
        }
    }

    #[test]
    fn pauses_count_failures_until_reset() {
        let mut p = Backoff::new(SECOND, 8 * SECOND).pauses();
        let walked: Vec<u64> = (0..5).map(|_| p.after_failure().as_secs()).collect();
        assert_eq!(walked, [1, 2, 4, 8, 8]);
        p.reset();
        assert_eq!(p.after_failure(), SECOND);
    }
}
