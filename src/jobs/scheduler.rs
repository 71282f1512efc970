//! Runs the jobs inside `ticketgate run`: each once at start (what fell due while the
//! daemon was stopped is done at once), then on its cron schedule, never two runs of one
//! job at the same time in this process.

use std::sync::Arc;

use tokio::sync::Mutex;
use tokio_cron_scheduler::{Job, JobScheduler, JobSchedulerError};
use tokio_util::sync::CancellationToken;

use super::{JobKind, Jobs};

/// Runs one job and logs its failure; a failed run is tried again at the next tick.
async fn run_logged(jobs: &Jobs, job: JobKind, started_by: &str, guard: &Mutex<()>) {
    let Ok(_running) = guard.try_lock() else {
        tracing::info!(job = %job, "the previous run is still going: this tick is skipped");
        return;
    };
    if let Err(e) = jobs.run(job, started_by).await {
        tracing::error!(job = %job, error = %e, "job failed; it runs again at its next time");
    }
}

/// Catches up, then runs every enabled job on its schedule until `shutdown`.
pub async fn run(jobs: Jobs, shutdown: CancellationToken) {
    let enabled: Vec<(JobKind, Arc<Mutex<()>>)> = JobKind::ALL
        .iter()
        .copied()
        .filter(|j| j.enabled(jobs.settings()))
        .map(|j| (j, Arc::new(Mutex::new(()))))
        .collect();
    for (job, guard) in &enabled {
        if shutdown.is_cancelled() {
            return;
        }
        run_logged(&jobs, *job, "start", guard).await;
    }
    let mut scheduler = match schedule(&jobs, &enabled).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "the scheduler could not start: jobs run only by hand (`ticketgate jobs run`)");
            return;
        }
    };
    shutdown.cancelled().await;
    if let Err(e) = scheduler.shutdown().await {
        tracing::warn!(error = %e, "the scheduler did not stop cleanly");
    }
}

async fn schedule(
    jobs: &Jobs,
    enabled: &[(JobKind, Arc<Mutex<()>>)],
) -> Result<JobScheduler, JobSchedulerError> {
    let scheduler = JobScheduler::new().await?;
    for (job, guard) in enabled {
        let (job, guard, jobs) = (*job, guard.clone(), jobs.clone());
        let expr = job.schedule(jobs.settings()).to_string();
        scheduler
            .add(Job::new_async(expr.as_str(), move |_, _| {
                let (jobs, guard) = (jobs.clone(), guard.clone());
                Box::pin(async move { run_logged(&jobs, job, "schedule", &guard).await })
            })?)
            .await?;
        tracing::info!(job = %job, schedule = %expr, "job scheduled");
    }
    scheduler.start().await?;
    Ok(scheduler)
}
