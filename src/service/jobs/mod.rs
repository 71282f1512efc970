//! The periodic work: auto-closing solutions nobody answered, reminding requesters, and
//! purging old raw mail and quarantine. Each job acts as of its clock's time, so an
//! operator (or a test) can run one "as of" another moment; each acts on every ticket at
//! most once, whoever else runs it at the same time, and records its run.

mod digest;
mod kind;
mod purge;
mod reminders;

pub use kind::JobKind;

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{TicketError, TicketService};
use crate::clock::{Clock, FixedClock};
use crate::config::Settings;
use crate::files::Files;
use crate::quarantine::{Quarantine, QuarantineError};
use crate::store::{JobRun, Store, StoreError};

/// How many tickets or files one run handles at most; the next run goes on.
const BATCH: i64 = 10_000;

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

/// What a run did, one line per ticket or file acted on; or, for a dry run, what it would
/// do.
#[derive(Debug, Clone)]
pub struct JobReport {
    pub job: JobKind,
    pub as_of: DateTime<Utc>,
    pub lines: Vec<String>,
    /// Nothing was written: the lines say what a run would do.
    pub dry_run: bool,
}

impl JobReport {
    /// One line for logs and `jobs list`.
    pub fn summary(&self) -> String {
        let n = self.lines.len();
        let (done, would) = match self.job {
            JobKind::AutoClose => ("closed", "would close"),
            JobKind::ResolutionReminder | JobKind::WaitingReminder => ("reminded", "would remind"),
            JobKind::Purge => ("deleted", "would delete"),
            JobKind::WeeklyDigest => ("sent the digest to", "would send the digest to"),
        };
        let what = match self.job {
            JobKind::AutoClose => "ticket(s)",
            JobKind::ResolutionReminder | JobKind::WaitingReminder => "requester(s)",
            JobKind::Purge => "file(s)",
            JobKind::WeeklyDigest => "contact(s)",
        };
        match (n, self.dry_run) {
            (0, _) => "nothing to do".into(),
            (n, false) => format!("{done} {n} {what}"),
            (n, true) => format!("{would} {n} {what}"),
        }
    }
}

/// A job as `jobs list` shows it.
#[derive(Debug, Clone)]
pub struct JobStatus {
    pub kind: JobKind,
    /// Its cron schedule (with seconds, UTC).
    pub schedule: String,
    /// What it does with the settings in effect.
    pub description: String,
    /// Whether the settings leave it on.
    pub enabled: bool,
    /// Its last run, by any instance, if it ever ran.
    pub last_run: Option<JobRun>,
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

    /// Every job, in the order a catch-up runs them, with its last run.
    pub async fn list(&self) -> Result<Vec<JobStatus>, JobError> {
        let s = &self.settings;
        let mut list = Vec::with_capacity(JobKind::ALL.len());
        for &kind in JobKind::ALL {
            list.push(JobStatus {
                kind,
                schedule: kind.schedule(s).to_string(),
                description: kind.describe(s),
                enabled: kind.enabled(s),
                last_run: self.store.last_job_run(kind.name()).await?,
            });
        }
        Ok(list)
    }

    /// The moment a run is as of by default: the clock's time.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
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

    /// Runs `job` once as of `as_of` rather than now: to catch up by hand, or to act now
    /// on what that day would find due. The run is recorded at the clock's time, and the
    /// notifications it queues are due at once rather than at `as_of` (a running daemon
    /// would otherwise hold them until then).
    pub async fn run_as_of(
        &self,
        job: JobKind,
        started_by: &str,
        as_of: DateTime<Utc>,
    ) -> Result<JobReport, JobError> {
        let report = self.run_claimed(job, started_by, None, as_of).await?;
        let report = report.expect("a run without a tick is never claimed by another instance");
        if as_of > self.clock.now() {
            self.store
                .bring_forward_notifications(as_of, self.clock.now())
                .await?;
        }
        Ok(report)
    }

    /// What `job` would do as of `as_of`, writing nothing: no ticket, notification, file
    /// or record of the run changes.
    pub async fn dry_run(&self, job: JobKind, as_of: DateTime<Utc>) -> Result<JobReport, JobError> {
        let lines = self.work(job, as_of, true).await?;
        Ok(JobReport {
            job,
            as_of,
            lines,
            dry_run: true,
        })
    }

    /// The job's work as of `as_of`: what it did, or with `dry_run` what it would do.
    async fn work(
        &self,
        job: JobKind,
        as_of: DateTime<Utc>,
        dry_run: bool,
    ) -> Result<Vec<String>, JobError> {
        match job {
            _ if !job.enabled(&self.settings) => Ok(Vec::new()),
            JobKind::AutoClose if dry_run => self.auto_close_preview(as_of).await,
            JobKind::AutoClose => self.auto_close(as_of).await,
            JobKind::ResolutionReminder => self.resolution_reminders(as_of, dry_run).await,
            JobKind::WaitingReminder => self.waiting_reminders(as_of, dry_run).await,
            JobKind::Purge => self.purge(as_of, dry_run).await,
            JobKind::WeeklyDigest => self.weekly_digest(as_of, dry_run).await,
        }
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
        let result = self.work(job, as_of, false).await;
        let finished = self.clock.now();
        match result {
            Ok(lines) => {
                let report = JobReport {
                    job,
                    as_of,
                    lines,
                    dry_run: false,
                };
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

    /// What the auto-close would close as of `as_of`.
    async fn auto_close_preview(&self, as_of: DateTime<Utc>) -> Result<Vec<String>, JobError> {
        let days = i64::from(self.settings.auto_close_days);
        let due = self
            .store
            .due_for_auto_close(as_of - chrono::Duration::days(days), BATCH)
            .await?;
        Ok(due
            .iter()
            .map(|n| format!("{n} would be closed (auto_closed)"))
            .collect())
    }
}
