//! The periodic jobs, by name, with their schedules and what each does under the settings
//! in effect.

use std::fmt;
use std::str::FromStr;

use crate::config::Settings;

/// A periodic job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    AutoClose,
    ResolutionReminder,
    WaitingReminder,
    Purge,
    WeeklyDigest,
}

impl JobKind {
    /// Every job, in the order a catch-up runs them: closing first, so nobody is reminded
    /// of a ticket that closes in the same pass.
    pub const ALL: &'static [JobKind] = &[
        JobKind::AutoClose,
        JobKind::ResolutionReminder,
        JobKind::WaitingReminder,
        JobKind::Purge,
        JobKind::WeeklyDigest,
    ];

    /// The name used on the command line and in logs.
    pub fn name(self) -> &'static str {
        match self {
            JobKind::AutoClose => "auto-close",
            JobKind::ResolutionReminder => "resolution-reminder",
            JobKind::WaitingReminder => "waiting-reminder",
            JobKind::Purge => "purge",
            JobKind::WeeklyDigest => "weekly-digest",
        }
    }

    /// What it does, for `jobs list`.
    pub fn describe(self, s: &Settings) -> String {
        let j = &s.jobs;
        match self {
            JobKind::AutoClose => format!(
                "closes resolved tickets with no customer reply for {} days",
                s.auto_close_days
            ),
            JobKind::ResolutionReminder if j.resolution_reminder_days == 0 => {
                "off (jobs.resolution_reminder_days = 0)".into()
            }
            JobKind::ResolutionReminder => format!(
                "reminds the requester {} days before the auto-close, once",
                j.resolution_reminder_days
            ),
            JobKind::WaitingReminder if j.waiting_reminder_days == 0 => {
                "off (jobs.waiting_reminder_days = 0)".into()
            }
            JobKind::WaitingReminder => format!(
                "reminds the requester after {} days in waiting_customer, once per wait",
                j.waiting_reminder_days
            ),
            JobKind::Purge => format!(
                "deletes raw mail older than {} and quarantined mail older than {}",
                days_or_never(j.purge_raw_mail_days),
                days_or_never(j.purge_quarantine_days)
            ),
            JobKind::WeeklyDigest => {
                "sends the contacts who asked for it the list of their open tickets, once a week"
                    .into()
            }
        }
    }

    /// Its cron schedule.
    pub fn schedule(self, s: &Settings) -> &str {
        match self {
            JobKind::AutoClose => &s.jobs.auto_close,
            JobKind::ResolutionReminder => &s.jobs.resolution_reminder,
            JobKind::WaitingReminder => &s.jobs.waiting_reminder,
            JobKind::Purge => &s.jobs.purge,
            JobKind::WeeklyDigest => &s.jobs.weekly_digest,
        }
    }

    /// Whether the configuration turned it off.
    pub fn enabled(self, s: &Settings) -> bool {
        let j = &s.jobs;
        match self {
            JobKind::AutoClose => true,
            JobKind::ResolutionReminder => j.resolution_reminder_days > 0,
            JobKind::WaitingReminder => j.waiting_reminder_days > 0,
            JobKind::Purge => j.purge_raw_mail_days > 0 || j.purge_quarantine_days > 0,
            JobKind::WeeklyDigest => true,
        }
    }
}

fn days_or_never(days: u32) -> String {
    if days == 0 {
        "never".into()
    } else {
        format!("{days} days")
    }
}

impl fmt::Display for JobKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

impl FromStr for JobKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase().replace('_', "-");
        JobKind::ALL
            .iter()
            .copied()
            .find(|j| j.name() == wanted)
            .ok_or_else(|| {
                format!(
                    "`{s}` is not a job; the jobs are: {}",
                    JobKind::ALL
                        .iter()
                        .map(|j| j.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
    }
}
