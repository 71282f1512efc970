//! `[jobs]`: when the scheduler's periodic jobs run (auto-close, reminders, purge) and how
//! far back each looks, and the one reading of a cron schedule that the check here and the
//! scheduler share.

use chrono::{DateTime, Timelike, Utc};
use serde::Deserialize;

use super::error::Errors;

/// The `[jobs]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawJobs {
    /// When resolved tickets past `tickets.auto_close_days` are closed.
    auto_close: String,
    /// When requesters are reminded of a solution awaiting their approval.
    resolution_reminder: String,
    /// When requesters are reminded that we wait for them.
    waiting_reminder: String,
    /// When old raw mail and quarantined messages are deleted.
    purge: String,
    /// When the contacts who asked for it get the week's list of their tickets.
    weekly_digest: String,
    /// Days before the auto-close that the reminder goes (0: none); read by the
    /// cross-section check against `tickets.auto_close_days`.
    pub(super) resolution_reminder_days: u32,
    /// Days a waiting_customer ticket waits before its reminder (0: never).
    waiting_reminder_days: u32,
    /// Days raw mail is kept (0: forever).
    purge_raw_mail_days: u32,
    /// Days a quarantined message is kept (0: forever).
    purge_quarantine_days: u32,
}

impl Default for RawJobs {
    fn default() -> Self {
        Self {
            auto_close: "0 */10 * * * *".into(),
            resolution_reminder: "0 5 * * * *".into(),
            waiting_reminder: "0 15 * * * *".into(),
            purge: "0 30 3 * * *".into(),
            weekly_digest: "0 0 7 * * Mon".into(),
            resolution_reminder_days: 2,
            waiting_reminder_days: 3,
            purge_raw_mail_days: 365,
            purge_quarantine_days: 90,
        }
    }
}

/// When each periodic job runs and how far it looks. A day count of 0 turns the job off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobsSettings {
    /// When resolved tickets past `tickets.auto_close_days` are closed. Each schedule is a
    /// cron expression the scheduler accepts (with seconds, UTC: `sec min hour day month
    /// weekday`).
    pub auto_close: String,
    /// When requesters are reminded of a solution awaiting their approval.
    pub resolution_reminder: String,
    /// When requesters are reminded that we wait for them.
    pub waiting_reminder: String,
    /// When old raw mail and quarantined messages are deleted.
    pub purge: String,
    /// When the contacts who asked for it get the week's list of their open tickets.
    pub weekly_digest: String,
    /// Days before the auto-close that the requester is reminded of the waiting solution.
    pub resolution_reminder_days: u32,
    /// Days a waiting_customer ticket waits before the requester is reminded of it.
    pub waiting_reminder_days: u32,
    /// Days raw mail is kept (the article keeps its text; only the original bytes go).
    pub purge_raw_mail_days: u32,
    /// Days a quarantined message is kept.
    pub purge_quarantine_days: u32,
}

impl RawJobs {
    /// Validates `[jobs]`, recording each error with its key. That the resolution reminder
    /// comes before the auto-close is checked with `[tickets]`, by the caller.
    pub(super) fn validate(self, errors: &mut Errors) -> JobsSettings {
        for (key, expr) in [
            ("auto_close", &self.auto_close),
            ("resolution_reminder", &self.resolution_reminder),
            ("waiting_reminder", &self.waiting_reminder),
            ("purge", &self.purge),
            ("weekly_digest", &self.weekly_digest),
        ] {
            if let Err(e) = check_cron(expr) {
                errors.push(format_args!("jobs.{key}"), e);
            }
        }
        for (key, value) in [
            ("waiting_reminder_days", self.waiting_reminder_days),
            ("purge_raw_mail_days", self.purge_raw_mail_days),
            ("purge_quarantine_days", self.purge_quarantine_days),
        ] {
            errors.at_most(format_args!("jobs.{key}"), value.into(), 3650);
        }
        JobsSettings {
            auto_close: self.auto_close,
            resolution_reminder: self.resolution_reminder,
            waiting_reminder: self.waiting_reminder,
            purge: self.purge,
            weekly_digest: self.weekly_digest,
            resolution_reminder_days: self.resolution_reminder_days,
            waiting_reminder_days: self.waiting_reminder_days,
            purge_raw_mail_days: self.purge_raw_mail_days,
            purge_quarantine_days: self.purge_quarantine_days,
        }
    }
}

/// A job's schedule: six fields, seconds first, UTC, read as the scheduler reads it. The
/// configuration is checked and the scheduler names its ticks with this one reading.
#[derive(Debug, Clone)]
pub struct CronSchedule(croner::Cron);

impl CronSchedule {
    /// `None` when `expr` is not a schedule the scheduler accepts.
    pub fn parse(expr: &str) -> Option<CronSchedule> {
        croner::parser::CronParser::builder()
            .seconds(croner::parser::Seconds::Required)
            .dom_and_dow(true)
            .build()
            .parse(expr)
            .ok()
            .map(CronSchedule)
    }

    /// The tick a run started at `now` answers: the latest time of the schedule at or
    /// before it. Half a second of slack lets a scheduler that fires a little early still
    /// name the tick it fired for; every instance firing for one tick names the same one.
    pub fn tick(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let slack = now + chrono::Duration::milliseconds(500);
        let whole_second = slack.with_nanosecond(0).unwrap_or(slack);
        self.0.find_previous_occurrence(&whole_second, true).ok()
    }
}

/// Whether `expr` is a schedule the scheduler accepts (six fields, seconds first).
pub fn check_cron(expr: &str) -> Result<(), String> {
    CronSchedule::parse(expr).map(drop).ok_or_else(|| {
        format!("`{expr}` is not a cron schedule like \"0 */10 * * * *\" (sec min hour day month weekday, UTC)")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_need_six_fields() {
        assert!(check_cron("0 */10 * * * *").is_ok());
        assert!(check_cron("*/10 * * * *").is_err());
        assert!(check_cron("every day").is_err());
    }

    #[test]
    fn a_run_names_the_tick_it_answers() {
        use chrono::TimeZone;
        let every_ten_minutes = CronSchedule::parse("0 */10 * * * *").unwrap();
        let at = |h, m, s| Utc.with_ymd_and_hms(2026, 11, 24, h, m, s).unwrap();
        // Fired on time, a little late, or a little early: the same tick.
        assert_eq!(every_ten_minutes.tick(at(9, 10, 0)), Some(at(9, 10, 0)));
        assert_eq!(every_ten_minutes.tick(at(9, 10, 3)), Some(at(9, 10, 0)));
        let early = at(9, 10, 0) - chrono::Duration::milliseconds(200);
        assert_eq!(every_ten_minutes.tick(early), Some(at(9, 10, 0)));
        // A catch-up between ticks answers the last one.
        assert_eq!(every_ten_minutes.tick(at(9, 17, 42)), Some(at(9, 10, 0)));
    }

    #[test]
    fn a_schedule_or_a_day_count_out_of_range_is_named_by_its_key() {
        let mut errors = Errors::default();
        let raw = RawJobs {
            purge: "*/10 * * * *".into(),
            purge_quarantine_days: 4000,
            ..RawJobs::default()
        };
        raw.validate(&mut errors);
        let errors = errors.into_messages();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].starts_with("jobs.purge: `*/10 * * * *` is not a cron schedule"));
        assert_eq!(
            errors[1],
            "jobs.purge_quarantine_days: 4000 is over the most accepted, 3650"
        );
    }
}
