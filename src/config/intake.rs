//! `[intake]`: the Maildir `ticketgate run` watches, and how often a message that fails for
//! a temporary reason is tried before it is quarantined.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::error::Errors;

/// The `[intake]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawIntake {
    /// The Maildir watched (new/ → cur/); by default `<data_dir>/inbox`.
    maildir: Option<PathBuf>,
    /// How often new/ is scanned, in milliseconds.
    poll_interval_ms: u64,
    /// Attempts, with a doubling pause, before a message failing for a temporary reason
    /// (database down, disk full) is quarantined.
    retry_budget: u32,
}

impl Default for RawIntake {
    fn default() -> Self {
        Self {
            maildir: None,
            poll_interval_ms: 250,
            retry_budget: 8,
        }
    }
}

/// The validated `[intake]` section.
#[derive(Debug)]
pub(super) struct IntakeSettings {
    pub(super) maildir: PathBuf,
    /// More than 0.
    pub(super) poll_interval_ms: u64,
    /// At least 1.
    pub(super) retry_budget: u32,
}

impl RawIntake {
    /// Validates `[intake]`, recording each error with its key; the Maildir defaults to
    /// `inbox` under `data_dir`.
    pub(super) fn validate(self, data_dir: &Path, errors: &mut Errors) -> IntakeSettings {
        if self.poll_interval_ms == 0 {
            errors.push("intake.poll_interval_ms", "must be more than 0");
        }
        if self.retry_budget == 0 {
            errors.push("intake.retry_budget", "must be at least 1");
        }
        IntakeSettings {
            maildir: self.maildir.unwrap_or_else(|| data_dir.join("inbox")),
            poll_interval_ms: self.poll_interval_ms,
            retry_budget: self.retry_budget,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_maildir_is_under_data_dir_and_a_zero_budget_is_refused() {
        let mut errors = Errors::default();
        let raw = RawIntake {
            retry_budget: 0,
            ..RawIntake::default()
        };
        let intake = raw.validate(Path::new("/srv/tg"), &mut errors);
        assert_eq!(intake.maildir, PathBuf::from("/srv/tg/inbox"));
        assert_eq!(
            errors.into_messages(),
            ["intake.retry_budget: must be at least 1"]
        );
    }
}
