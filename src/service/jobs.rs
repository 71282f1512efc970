//! The scheduler's jobs for front ends: each with its schedule and last run, and one run
//! by hand, now or as of another moment.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::clock::Clock;
use crate::config::Settings;
use crate::jobs::{JobError, JobKind, JobReport, Jobs};
use crate::store::{JobRun, Store};

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

/// Lists and runs jobs.
#[derive(Debug, Clone)]
pub struct JobService {
    jobs: Jobs,
    store: Store,
}

impl JobService {
    pub fn new(store: Store, settings: Arc<Settings>, clock: Arc<dyn Clock>) -> Self {
        Self {
            jobs: Jobs::new(store.clone(), settings, clock),
            store,
        }
    }

    /// Every job, in the order a catch-up runs them.
    pub async fn list(&self) -> Result<Vec<JobStatus>, JobError> {
        let s = self.jobs.settings();
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

    /// Runs `kind` now, or as of `as_of`, recorded as started by hand; what it did.
    pub async fn run(
        &self,
        kind: JobKind,
        as_of: Option<DateTime<Utc>>,
    ) -> Result<JobReport, JobError> {
        match as_of {
            Some(at) => self.jobs.run_as_of(kind, "manual", at).await,
            None => self.jobs.run(kind, "manual").await,
        }
    }
}
