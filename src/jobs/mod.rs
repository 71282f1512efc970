//! The periodic work: auto-closing solutions nobody answered, reminding requesters, and
//! purging old raw mail and quarantine. Each job acts as of its clock's time, so an
//! operator (or a test) can run one "as of" another moment; each acts on every ticket at
//! most once, whoever else runs it at the same time, and records its run.

pub mod scheduler;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::clock::{Clock, FixedClock};
use crate::config::Settings;
use crate::domain::NewArticle;
use crate::domain::{Direction, Event, EventContext, Notification, Status, Visibility};
use crate::files::Files;
use crate::quarantine::{Quarantine, QuarantineError};
use crate::service::{TicketError, TicketService};
use crate::store::{ReminderCommit, Store, StoreError};

/// How many tickets or files one run handles at most; the next run goes on.
const BATCH: i64 = 10_000;

/// A periodic job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    AutoClose,
    ResolutionReminder,
    WaitingReminder,
    Purge,
}

impl JobKind {
    /// Every job, in the order a catch-up runs them: closing first, so nobody is reminded
    /// of a ticket that closes in the same pass.
    pub const ALL: &'static [JobKind] = &[
        JobKind::AutoClose,
        JobKind::ResolutionReminder,
        JobKind::WaitingReminder,
        JobKind::Purge,
    ];

    /// The name used on the command line and in logs.
    pub fn name(self) -> &'static str {
        match self {
            JobKind::AutoClose => "auto-close",
            JobKind::ResolutionReminder => "resolution-reminder",
            JobKind::WaitingReminder => "waiting-reminder",
            JobKind::Purge => "purge",
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
        }
    }

    /// Its cron schedule.
    pub fn schedule(self, s: &Settings) -> &str {
        match self {
            JobKind::AutoClose => &s.jobs.auto_close,
            JobKind::ResolutionReminder => &s.jobs.resolution_reminder,
            JobKind::WaitingReminder => &s.jobs.waiting_reminder,
            JobKind::Purge => &s.jobs.purge,
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

/// Why a job run stopped.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Ticket(#[from] TicketError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Quarantine(#[from] QuarantineError),
}

/// What a run did, one line per ticket or file acted on.
#[derive(Debug, Clone)]
pub struct JobReport {
    pub job: JobKind,
    pub as_of: DateTime<Utc>,
    pub lines: Vec<String>,
}

impl JobReport {
    /// One line for logs and `jobs list`.
    pub fn summary(&self) -> String {
        match (self.job, self.lines.len()) {
            (_, 0) => "nothing to do".into(),
            (JobKind::AutoClose, n) => format!("closed {n} ticket(s)"),
            (JobKind::ResolutionReminder | JobKind::WaitingReminder, n) => {
                format!("reminded {n} requester(s)")
            }
            (JobKind::Purge, n) => format!("deleted {n} file(s)"),
        }
    }
}

/// Runs jobs against one store, as of one clock.
#[derive(Debug, Clone)]
pub struct Jobs {
    store: Store,
    settings: Arc<Settings>,
    /// What a run is as of by default, and when runs are recorded to start and end.
    clock: Arc<dyn Clock>,
    files: Files,
    quarantine: Quarantine,
}

impl Jobs {
    pub fn new(store: Store, settings: Arc<Settings>, clock: Arc<dyn Clock>) -> Self {
        Self {
            files: Files::new(&settings, &store),
            quarantine: Quarantine::new(&settings.data_dir),
            store,
            settings,
            clock,
        }
    }

    /// The settings the jobs run on.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The store the jobs run on.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The clock runs are recorded by.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Runs `job` once as of the clock's time, whatever ran before, records the run
    /// (`started_by`: manual, or a test) and logs what it did.
    pub async fn run(&self, job: JobKind, started_by: &str) -> Result<JobReport, JobError> {
        self.run_as_of(job, started_by, self.clock.now()).await
    }

    /// Runs `job` once as of `as_of` rather than now: to see what a run on that day will
    /// do, or to catch up by hand. The run is recorded at the clock's time.
    pub async fn run_as_of(
        &self,
        job: JobKind,
        started_by: &str,
        as_of: DateTime<Utc>,
    ) -> Result<JobReport, JobError> {
        let report = self.run_claimed(job, started_by, None, as_of).await?;
        Ok(report.expect("a run without a tick is never claimed by another instance"))
    }

    /// Runs `job` for the schedule's `tick`, unless an instance sharing the database
    /// already claimed that tick (`None`): however many instances fire on one tick, one
    /// of them acts.
    pub async fn run_tick(
        &self,
        job: JobKind,
        tick: DateTime<Utc>,
        started_by: &str,
    ) -> Result<Option<JobReport>, JobError> {
        self.run_claimed(job, started_by, Some(tick), self.clock.now())
            .await
    }

    #[tracing::instrument(name = "job", skip_all, fields(job = %job, started_by))]
    async fn run_claimed(
        &self,
        job: JobKind,
        started_by: &str,
        tick: Option<DateTime<Utc>>,
        as_of: DateTime<Utc>,
    ) -> Result<Option<JobReport>, JobError> {
        let Some(run_id) = self
            .store
            .start_job_run(job.name(), started_by, tick, as_of, self.clock.now())
            .await?
        else {
            tracing::debug!(tick = ?tick, "this tick was run by another instance");
            return Ok(None);
        };
        let result = match job {
            _ if !job.enabled(&self.settings) => Ok(Vec::new()),
            JobKind::AutoClose => self.auto_close(as_of).await,
            JobKind::ResolutionReminder => self.resolution_reminders(as_of).await,
            JobKind::WaitingReminder => self.waiting_reminders(as_of).await,
            JobKind::Purge => self.purge(as_of).await,
        };
        let finished = self.clock.now();
        match result {
            Ok(lines) => {
                let report = JobReport { job, as_of, lines };
                let summary = report.summary();
                self.store
                    .finish_job_run(run_id, finished, report.lines.len(), &summary, None)
                    .await?;
                if report.lines.is_empty() {
                    tracing::debug!(%as_of, "{summary}");
                } else {
                    tracing::info!(%as_of, "{summary}");
                }
                Ok(Some(report))
            }
            Err(e) => {
                let message = e.to_string();
                if let Err(record) = self
                    .store
                    .finish_job_run(run_id, finished, 0, "failed", Some(&message))
                    .await
                {
                    tracing::warn!(error = %record, "could not record the failed run");
                }
                Err(e)
            }
        }
    }

    /// Closes what is due as of `as_of`, each closing dated then.
    async fn auto_close(&self, as_of: DateTime<Utc>) -> Result<Vec<String>, JobError> {
        let as_of_clock = Arc::new(FixedClock::new(as_of));
        let service = TicketService::new(self.store.clone(), self.settings.clone(), as_of_clock);
        let closed = service.auto_close_due().await?;
        Ok(closed
            .iter()
            .map(|d| {
                tracing::info!(ticket = %d.ticket, notifications = d.notifications, "auto-closed");
                format!(
                    "{} closed (auto_closed), {} notification(s) queued",
                    d.ticket, d.notifications
                )
            })
            .collect())
    }

    async fn resolution_reminders(&self, as_of: DateTime<Utc>) -> Result<Vec<String>, JobError> {
        let s = &self.settings;
        let close_after = Duration::days(i64::from(s.auto_close_days));
        let remind_after = close_after - Duration::days(i64::from(s.jobs.resolution_reminder_days));
        // Tickets already due for closing are the auto-close's, not the reminder's.
        self.remind(
            Event::ResolutionReminder,
            as_of,
            as_of - remind_after,
            Some(as_of - close_after),
        )
        .await
    }

    async fn waiting_reminders(&self, as_of: DateTime<Utc>) -> Result<Vec<String>, JobError> {
        let after = Duration::days(i64::from(self.settings.jobs.waiting_reminder_days));
        self.remind(Event::WaitingReminder, as_of, as_of - after, None)
            .await
    }

    /// Sends `event` (a reminder) to the requester of each ticket that entered the status
    /// it is about between `since_not_before` and `since_before`, once per wait.
    async fn remind(
        &self,
        event: Event,
        as_of: DateTime<Utc>,
        since_before: DateTime<Utc>,
        since_not_before: Option<DateTime<Utc>>,
    ) -> Result<Vec<String>, JobError> {
        let (kind, status, awaited) = match event {
            Event::ResolutionReminder => (
                "resolution",
                Status::Resolved,
                "the solution waits for an answer",
            ),
            _ => ("waiting", Status::WaitingCustomer, "an answer is awaited"),
        };
        let due = self
            .store
            .due_for_reminder(kind, status, since_before, since_not_before, BATCH)
            .await?;
        let mut lines = Vec::new();
        for d in due {
            let Some(ticket) = self.store.ticket_by_number(&d.number).await? else {
                continue;
            };
            let note = format!("Reminder sent to {}: {awaited}.", ticket.requester);
            let reminder = ReminderCommit {
                ticket_id: d.ticket_id,
                kind,
                cycle_at: d.cycle_at,
                status,
                article: NewArticle::written(
                    self.settings.sender_address(),
                    Some("ticketgate".into()),
                    Direction::System,
                    Visibility::Internal,
                    &ticket.title,
                    &note,
                ),
                notifications: vec![Notification {
                    event,
                    recipient: ticket.requester.clone(),
                    context: EventContext::default(),
                }],
                at: as_of,
            };
            if self.store.commit_reminder(&reminder).await? {
                tracing::info!(ticket = %ticket.number, requester = %ticket.requester, kind, "reminder queued");
                lines.push(format!(
                    "{} {} reminder queued for {}",
                    ticket.number, kind, ticket.requester
                ));
            }
        }
        Ok(lines)
    }

    async fn purge(&self, as_of: DateTime<Utc>) -> Result<Vec<String>, JobError> {
        let j = &self.settings.jobs;
        let mut lines = Vec::new();
        if j.purge_raw_mail_days > 0 {
            let cutoff = as_of - Duration::days(i64::from(j.purge_raw_mail_days));
            for (article, path, unshared) in self.store.raw_mail_before(cutoff, BATCH).await? {
                if unshared {
                    if let Err(e) = self.files.remove_raw(&path).await {
                        tracing::warn!(error = %e, article, "raw mail not purged");
                        continue;
                    }
                    lines.push(format!("raw mail {path} deleted"));
                }
                self.store.forget_raw_mail(article, as_of).await?;
            }
        }
        if j.purge_quarantine_days > 0 {
            let cutoff = as_of - Duration::days(i64::from(j.purge_quarantine_days));
            for entry in self.quarantine.list()? {
                if entry.quarantined_at < cutoff {
                    self.quarantine.remove(&entry.id)?;
                    tracing::info!(id = %entry.id, reason = %entry.reason, "quarantined mail purged");
                    lines.push(format!(
                        "quarantined {} deleted (since {})",
                        entry.id,
                        entry.quarantined_at.format("%Y-%m-%d")
                    ));
                }
            }
        }
        Ok(lines)
    }
}
