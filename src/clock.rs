//! Where "now" comes from, so that tests (and `jobs run --now`) can set the time instead of
//! sleeping through it.

use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use chrono::{DateTime, Utc};

/// The variable naming a file that holds a whole number of seconds (negative: back) by
/// which [`SystemClock`] is shifted, read again at every reading: a test hook, so that a
/// test can make a running daemon's clock jump back and forth. Nothing else reads it.
pub const SHIFT_HOOK_ENV: &str = "TICKETGATE_TEST_CLOCK_SHIFT_FILE";

/// A source of the current time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;
}

/// The system's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + test_shift()
    }
}

/// The shift the file named by [`SHIFT_HOOK_ENV`] holds; none when the variable is unset
/// (it is read once), the file missing or not a number.
fn test_shift() -> chrono::Duration {
    static FILE: OnceLock<Option<PathBuf>> = OnceLock::new();
    let file = FILE.get_or_init(|| std::env::var_os(SHIFT_HOOK_ENV).map(PathBuf::from));
    let Some(file) = file else {
        return chrono::Duration::zero();
    };
    std::fs::read_to_string(file)
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .map(chrono::Duration::seconds)
        .unwrap_or_default()
}

/// A clock that says what it is told: for tests and for replaying a day by hand.
#[derive(Debug)]
pub struct FixedClock(Mutex<DateTime<Utc>>);

impl FixedClock {
    /// A clock stopped at `at`.
    pub fn new(at: DateTime<Utc>) -> Self {
        Self(Mutex::new(at))
    }

    /// Moves the clock to `at`.
    pub fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = at;
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: chrono::Duration) {
        let mut now = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *now += by;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}
