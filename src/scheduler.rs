//! When the periodic work runs: inside `ticketgate run`, each job at start for its
//! schedule's last time unless that was run already (what fell due while the daemon was
//! stopped is done at once), then on its cron schedule, never two runs of one job at the
//! same time in this process. Every run answers a tick of its schedule and claims it in the
//! database first, so that instances sharing a database run each tick once between them.
//! What each job does is the service layer's ([`crate::service::Jobs`]): the scheduler is
//! one more caller of it, beside `ticketgate jobs run`.

use std::sync::Arc;

use tokio::sync::Mutex;
use tokio_cron_scheduler::{Job, JobScheduler, JobSchedulerError};
use tokio_util::sync::CancellationToken;

use crate::config::CronSchedule;
use crate::service::{JobKind, Jobs};

/// Runs one job for the tick at hand and logs its failure; a failed run is tried again at
/// the next tick. Nothing starts once the daemon is stopping: the database may be closing.
async fn run_logged(
    jobs: &Jobs,
    job: JobKind,
    schedule: &CronSchedule,
    started_by: &str,
    guard: &Mutex<()>,
    shutdown: &CancellationToken,
) {
    if shutdown.is_cancelled() {
        return;
    }
    let Ok(_running) = guard.try_lock() else {
        tracing::info!(job = %job, "the previous run is still going: this tick is skipped");
        return;
    };
    let Some(tick) = schedule.tick(jobs.clock().now()) else {
        tracing::error!(job = %job, "the schedule has no time before now: the job is not run");
        return;
    };
    let result = match jobs.run_tick(job, tick, started_by).await {
        // Another instance claimed this tick: nothing ran here.
        Ok(None) => return,
        Ok(Some(report)) => {
            metrics::counter!(crate::monitoring::JOB_ITEMS, "job" => job.name())
                .increment(report.lines.len() as u64);
            "ok"
        }
        Err(e) => {
            tracing::error!(job = %job, error = %e, "job failed; it runs again at its next time");
            "failed"
        }
    };
    metrics::counter!(crate::monitoring::JOB_RUNS, "job" => job.name(), "result" => result)
        .increment(1);
}

/// A job to run, with its schedule and the lock that keeps its runs from overlapping.
type Enabled = (JobKind, Arc<CronSchedule>, Arc<Mutex<()>>);

/// Catches up, then runs every enabled job on its schedule until `shutdown`. Runs are
/// recorded as started by the schedule (or the start) on `instance`.
pub async fn run(jobs: Jobs, instance: &str, shutdown: CancellationToken) {
    let at_start = format!("start on {instance}");
    let on_schedule: Arc<str> = format!("schedule on {instance}").into();
    let mut enabled: Vec<Enabled> = Vec::new();
    for job in JobKind::ALL.iter().copied() {
        if !job.enabled(jobs.settings()) {
            continue;
        }
        // The settings checked every schedule when they were loaded.
        let Some(schedule) = CronSchedule::parse(job.schedule(jobs.settings())) else {
            tracing::error!(job = %job, "the schedule cannot be read: the job is not run");
            continue;
        };
        enabled.push((job, Arc::new(schedule), Arc::new(Mutex::new(()))));
    }
    // The catch-up answers the schedule's last tick: done already (by this instance
    // before a restart, or by another one), it is not done again.
    for (job, schedule, guard) in &enabled {
        if shutdown.is_cancelled() {
            return;
        }
        run_logged(&jobs, *job, schedule, &at_start, guard, &shutdown).await;
    }
    let mut scheduler = match schedule(&jobs, &enabled, on_schedule, &shutdown).await {
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
    // A run the schedule started just before the stop runs in a task of the scheduler's:
    // it ends before this returns, and the daemon closes the database only after.
    for (_, _, guard) in &enabled {
        let _finished = guard.lock().await;
    }
}

async fn schedule(
    jobs: &Jobs,
    enabled: &[Enabled],
    started_by: Arc<str>,
    shutdown: &CancellationToken,
) -> Result<JobScheduler, JobSchedulerError> {
    let scheduler = JobScheduler::new().await?;
    for (job, schedule, guard) in enabled {
        let (job, schedule, guard, jobs) = (*job, schedule.clone(), guard.clone(), jobs.clone());
        let (started_by, shutdown) = (started_by.clone(), shutdown.clone());
        let expr = job.schedule(jobs.settings()).to_string();
        scheduler
            .add(Job::new_async(expr.as_str(), move |_, _| {
                let (jobs, schedule, guard) = (jobs.clone(), schedule.clone(), guard.clone());
                let (started_by, shutdown) = (started_by.clone(), shutdown.clone());
                Box::pin(async move {
                    run_logged(&jobs, job, &schedule, &started_by, &guard, &shutdown).await
                })
            })?)
            .await?;
        tracing::info!(job = %job, schedule = %expr, "job scheduled");
    }
    scheduler.start().await?;
    Ok(scheduler)
}
