//! The record of each job run: claimed per schedule tick (so that instances sharing a
//! database run each tick once), finished with what it did, read back by `jobs list`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

use super::rows::{from_millis, to_millis};
use super::{Doing, Store, StoreError};

/// One run of a job, as `jobs list` shows the last one.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JobRun {
    pub job: String,
    pub started_by: String,
    pub as_of: DateTime<Utc>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub acted: i64,
    pub summary: Option<String>,
    pub error: Option<String>,
}

impl Store {
    /// Makes the notifications a run as of a later moment queued (dated `as_of`) due at
    /// `now` instead: a run by hand "as of" next week acts now, and a running daemon
    /// would otherwise hold its mail until next week. Their number.
    pub async fn bring_forward_notifications(
        &self,
        as_of: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE outbox SET next_attempt_at = $2 \
             WHERE status = 'pending' AND created_at = $1 AND next_attempt_at > $2",
        )
        .bind(to_millis(as_of))
        .bind(to_millis(now))
        .execute(&mut *self.conn().await?)
        .await
        .doing("making a manual run's notifications due now")?;
        Ok(done.rows_affected())
    }

    /// Records that `job` started; the run's id. A scheduled run passes the `tick` it
    /// answers: when another instance already claimed that tick, nothing is recorded and
    /// the answer is `None` (that run is the other instance's).
    pub async fn start_job_run(
        &self,
        job: &str,
        started_by: &str,
        tick: Option<DateTime<Utc>>,
        as_of: DateTime<Utc>,
        started_at: DateTime<Utc>,
    ) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query(
            "INSERT INTO job_runs (job, started_by, tick_at, as_of, started_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (job, tick_at) DO NOTHING RETURNING id",
        )
        .bind(job.to_string())
        .bind(started_by.to_string())
        .bind(tick.map(to_millis))
        .bind(to_millis(as_of))
        .bind(to_millis(started_at))
        .fetch_optional(&mut *self.conn().await?)
        .await
        .doing("recording a job run")?;
        row.map(|r| r.try_get("id").doing("reading a job run id"))
            .transpose()
    }

    /// Records how run `id` ended.
    pub async fn finish_job_run(
        &self,
        id: i64,
        finished_at: DateTime<Utc>,
        acted: usize,
        summary: &str,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE job_runs SET finished_at = $2, acted = $3, summary = $4, error = $5 WHERE id = $1",
        )
        .bind(id)
        .bind(to_millis(finished_at))
        .bind(acted as i64)
        .bind(summary.to_string())
        .bind(error.map(str::to_string))
        .execute(&mut *self.conn().await?)
        .await
        .doing("recording the end of a job run")?;
        Ok(())
    }

    /// The last run of `job`, if it ever ran.
    pub async fn last_job_run(&self, job: &str) -> Result<Option<JobRun>, StoreError> {
        let row = sqlx::query(
            "SELECT job, started_by, as_of, started_at, finished_at, acted, summary, error \
             FROM job_runs WHERE job = $1 ORDER BY id DESC LIMIT 1",
        )
        .bind(job.to_string())
        .fetch_optional(&mut *self.conn().await?)
        .await
        .doing("reading the last job run")?;
        let Some(r) = row else { return Ok(None) };
        let finished: Option<i64> = r.try_get("finished_at").doing("reading a job run")?;
        Ok(Some(JobRun {
            job: r.try_get("job").doing("reading a job run")?,
            started_by: r.try_get("started_by").doing("reading a job run")?,
            as_of: from_millis(r.try_get("as_of").doing("reading a job run")?)?,
            started_at: from_millis(r.try_get("started_at").doing("reading a job run")?)?,
            finished_at: finished.map(from_millis).transpose()?,
            acted: r.try_get("acted").doing("reading a job run")?,
            summary: r.try_get("summary").doing("reading a job run")?,
            error: r.try_get("error").doing("reading a job run")?,
        }))
    }
}
