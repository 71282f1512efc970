//! What the scheduler's jobs read and write: tickets due for auto-close or a reminder,
//! reminders recorded once per wait, old raw mail to purge, and the record of each run.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::Row;

use super::inbound::{NewArticle, insert_article};
use super::{Doing, Store, StoreError, from_millis, parse_stored, to_millis};
use crate::domain::{Notification, Status, TicketNumber};

/// A ticket due for a reminder, and the wait it is reminded of.
#[derive(Debug, Clone)]
pub struct DueReminder {
    pub ticket_id: i64,
    pub number: TicketNumber,
    /// When the ticket entered the status being waited on: a reminder is sent once per
    /// such moment.
    pub cycle_at: i64,
}

/// A reminder to record with its notification and its note on the ticket.
#[derive(Debug, Clone)]
pub struct ReminderCommit {
    pub ticket_id: i64,
    pub kind: &'static str,
    pub cycle_at: i64,
    pub status: Status,
    pub article: NewArticle,
    pub notifications: Vec<Notification>,
    pub at: DateTime<Utc>,
}

/// One run of a job, as `jobs list` shows the last one.
#[derive(Debug, Clone, Serialize)]
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
    /// Resolved tickets with no customer reply since `cutoff` whose solution was proposed
    /// before it: what the auto-close closes, oldest first (ties in ticket order: without
    /// it, which of them a `limit` keeps would be up to each database's sort).
    pub async fn due_for_auto_close(
        &self,
        cutoff: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<TicketNumber>, StoreError> {
        let rows = sqlx::query(
            "SELECT t.number FROM tickets t WHERE t.status = 'resolved' AND t.resolved_at < $1 \
             AND NOT EXISTS (SELECT 1 FROM articles a WHERE a.ticket_id = t.id \
                             AND a.direction = 'inbound' AND a.created_at >= $1) \
             ORDER BY t.resolved_at, t.id LIMIT $2",
        )
        .bind(to_millis(cutoff))
        .bind(limit)
        .fetch_all(&mut *self.conn().await?)
        .await
        .doing("listing tickets due for auto-close")?;
        rows.iter()
            .map(|r| {
                let n: String = r.try_get("number").doing("reading a ticket number")?;
                parse_stored("number", &n)
            })
            .collect()
    }

    /// Tickets in `status` since before `since_before` (and, when given, not before
    /// `since_not_before`) that have no `kind` reminder for this wait yet, the longest
    /// waiting first (ties in ticket order, the same on both backends).
    pub async fn due_for_reminder(
        &self,
        kind: &'static str,
        status: Status,
        since_before: DateTime<Utc>,
        since_not_before: Option<DateTime<Utc>>,
        limit: i64,
    ) -> Result<Vec<DueReminder>, StoreError> {
        let rows = sqlx::query(
            "SELECT t.id, t.number, t.status_since FROM tickets t \
             WHERE t.status = $1 AND t.status_since < $2 AND t.status_since >= $3 \
             AND NOT EXISTS (SELECT 1 FROM ticket_reminders r WHERE r.ticket_id = t.id \
                             AND r.kind = $4 AND r.cycle_at = t.status_since) \
             ORDER BY t.status_since, t.id LIMIT $5",
        )
        .bind(status.as_str())
        .bind(to_millis(since_before))
        .bind(since_not_before.map_or(i64::MIN, to_millis))
        .bind(kind)
        .bind(limit)
        .fetch_all(&mut *self.conn().await?)
        .await
        .doing("listing tickets due for a reminder")?;
        rows.iter()
            .map(|r| {
                let n: String = r.try_get("number").doing("reading a ticket number")?;
                Ok(DueReminder {
                    ticket_id: r.try_get("id").doing("reading a ticket id")?,
                    number: parse_stored("number", &n)?,
                    cycle_at: r.try_get("status_since").doing("reading status_since")?,
                })
            })
            .collect()
    }

    /// Records a reminder with its note and notifications, unless this wait was reminded
    /// of already or the ticket left the status meanwhile; whether it was recorded.
    pub async fn commit_reminder(&self, reminder: &ReminderCommit) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.doing("starting a transaction")?;
        let at = to_millis(reminder.at);
        let inserted = sqlx::query(
            "INSERT INTO ticket_reminders (ticket_id, kind, cycle_at, sent_at) \
             SELECT id, $2, $3, $4 FROM tickets WHERE id = $1 AND status = $5 AND status_since = $3 \
             ON CONFLICT (ticket_id, kind, cycle_at) DO NOTHING RETURNING ticket_id",
        )
        .bind(reminder.ticket_id)
        .bind(reminder.kind)
        .bind(reminder.cycle_at)
        .bind(at)
        .bind(reminder.status.as_str())
        .fetch_optional(&mut *tx)
        .await
        .doing("recording a reminder")?;
        if inserted.is_none() {
            tx.rollback().await.doing("rolling back a reminder")?;
            return Ok(false);
        }
        let article_id = insert_article(&mut tx, reminder.ticket_id, &reminder.article, at).await?;
        super::outbox::queue_notifications(
            &mut tx,
            reminder.ticket_id,
            Some(article_id),
            &reminder.notifications,
            at,
        )
        .await?;
        tx.commit().await.doing("committing a reminder")?;
        Ok(true)
    }

    /// Articles whose raw mail was kept since before `cutoff`, with its path, and whether
    /// no later article shares the file; oldest first, ties in article order.
    pub async fn raw_mail_before(
        &self,
        cutoff: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<(i64, String, bool)>, StoreError> {
        let rows = sqlx::query(
            "SELECT a.id, a.raw_ref, NOT EXISTS (SELECT 1 FROM articles b \
                 WHERE b.raw_ref = a.raw_ref AND b.created_at >= $1) AS unshared \
             FROM articles a WHERE a.raw_ref IS NOT NULL AND a.created_at < $1 \
             ORDER BY a.created_at, a.id LIMIT $2",
        )
        .bind(to_millis(cutoff))
        .bind(limit)
        .fetch_all(&mut *self.conn().await?)
        .await
        .doing("listing old raw mail")?;
        rows.iter()
            .map(|r| {
                let unshared: bool = match r.try_get::<bool, _>("unshared") {
                    Ok(b) => b,
                    Err(_) => r.try_get::<i64, _>("unshared").doing("reading a flag")? != 0,
                };
                Ok((
                    r.try_get("id").doing("reading an article id")?,
                    r.try_get("raw_ref").doing("reading a raw path")?,
                    unshared,
                ))
            })
            .collect()
    }

    /// Forgets the raw mail of article `id` once its file is deleted; the article keeps
    /// its text and says that the original was purged.
    pub async fn forget_raw_mail(&self, id: i64, at: DateTime<Utc>) -> Result<(), StoreError> {
        let note = format!("The original mail was purged on {}.", at.format("%Y-%m-%d"));
        sqlx::query(
            "UPDATE articles SET raw_ref = NULL, \
             note = CASE WHEN note IS NULL THEN $2 ELSE note || ' ' || $2 END WHERE id = $1",
        )
        .bind(id)
        .bind(note)
        .execute(&mut *self.conn().await?)
        .await
        .doing("forgetting purged raw mail")?;
        Ok(())
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
