//! How tickets move without an agent: the words that approve or refuse a solution, how
//! long a closed ticket can still be reopened by mail, and when the scheduler's jobs run.

use chrono::{DateTime, Timelike, Utc};
use serde::Deserialize;

/// The `[jobs]` table as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawJobs {
    auto_close: String,
    resolution_reminder: String,
    waiting_reminder: String,
    purge: String,
    resolution_reminder_days: u32,
    waiting_reminder_days: u32,
    purge_raw_mail_days: u32,
    purge_quarantine_days: u32,
}

impl Default for RawJobs {
    fn default() -> Self {
        Self {
            auto_close: "0 */10 * * * *".into(),
            resolution_reminder: "0 5 * * * *".into(),
            waiting_reminder: "0 15 * * * *".into(),
            purge: "0 30 3 * * *".into(),
            resolution_reminder_days: 2,
            waiting_reminder_days: 3,
            purge_raw_mail_days: 365,
            purge_quarantine_days: 90,
        }
    }
}

/// The approval words of the seeds' portals, in English and French.
pub(super) fn default_approval_words() -> Vec<String> {
    [
        "approve",
        "approved",
        "accept",
        "ok",
        "approuver",
        "approuvé",
        "accepter",
        "valider",
    ]
    .map(String::from)
    .to_vec()
}

/// Words that refuse a solution outright.
pub(super) fn default_refusal_words() -> Vec<String> {
    ["refuse", "reject", "no", "refuser", "non"]
        .map(String::from)
        .to_vec()
}

/// When each periodic job runs and how far it looks. A day count of 0 turns the job off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobsSettings {
    /// Cron expressions (with seconds, UTC): `sec min hour day month weekday`.
    pub auto_close: String,
    pub resolution_reminder: String,
    pub waiting_reminder: String,
    pub purge: String,
    /// Days before the auto-close that the requester is reminded of the waiting solution.
    pub resolution_reminder_days: u32,
    /// Days a waiting_customer ticket waits before the requester is reminded of it.
    pub waiting_reminder_days: u32,
    /// Days raw mail is kept (the article keeps its text; only the original bytes go).
    pub purge_raw_mail_days: u32,
    /// Days a quarantined message is kept.
    pub purge_quarantine_days: u32,
}

/// Validates `[jobs]`, pushing each error with its key.
pub(super) fn jobs(raw: RawJobs, auto_close_days: u32, errors: &mut Vec<String>) -> JobsSettings {
    for (key, expr) in [
        ("auto_close", &raw.auto_close),
        ("resolution_reminder", &raw.resolution_reminder),
        ("waiting_reminder", &raw.waiting_reminder),
        ("purge", &raw.purge),
    ] {
        if let Err(e) = check_cron(expr) {
            errors.push(format!("jobs.{key}: {e}"));
        }
    }
    if raw.resolution_reminder_days > 0 && raw.resolution_reminder_days >= auto_close_days {
        errors.push(format!(
            "jobs.resolution_reminder_days: {} must be under tickets.auto_close_days ({auto_close_days}), or 0 to turn the reminder off",
            raw.resolution_reminder_days
        ));
    }
    for (key, value) in [
        ("waiting_reminder_days", raw.waiting_reminder_days),
        ("purge_raw_mail_days", raw.purge_raw_mail_days),
        ("purge_quarantine_days", raw.purge_quarantine_days),
    ] {
        if value > 3650 {
            errors.push(format!(
                "jobs.{key}: {value} is over the most accepted, 3650"
            ));
        }
    }
    JobsSettings {
        auto_close: raw.auto_close,
        resolution_reminder: raw.resolution_reminder,
        waiting_reminder: raw.waiting_reminder,
        purge: raw.purge,
        resolution_reminder_days: raw.resolution_reminder_days,
        waiting_reminder_days: raw.waiting_reminder_days,
        purge_raw_mail_days: raw.purge_raw_mail_days,
        purge_quarantine_days: raw.purge_quarantine_days,
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

/// Lower-cased, trimmed words; an empty list is an error, as nobody could approve.
pub(super) fn words(key: &str, raw: &[String], errors: &mut Vec<String>) -> Vec<String> {
    let words: Vec<String> = raw
        .iter()
        .map(|w| w.trim().to_lowercase())
        .filter(|w| !w.is_empty())
        .collect();
    if words.is_empty() {
        errors.push(format!("tickets.{key}: give at least one word"));
    }
    words
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
    fn a_reminder_after_the_auto_close_is_refused() {
        let mut errors = Vec::new();
        let raw = RawJobs {
            resolution_reminder_days: 7,
            ..RawJobs::default()
        };
        jobs(raw, 7, &mut errors);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].starts_with("jobs.resolution_reminder_days"));
    }
}
