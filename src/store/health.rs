//! What the health checks and the periodic gauges read: a trivial query that proves the
//! database answers, a committed write that proves it takes writes, the oldest notification that is due and not sent, and the counts of
//! tickets and notifications by status.

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::store::rows::{from_millis, to_millis};
use crate::store::{Doing, Store, StoreError};

impl Store {
    /// Runs `SELECT 1`: the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .fetch_one(&mut *self.conn().await?)
            .await
            .doing("asking the database whether it answers")?;
        Ok(())
    }

    /// Rewrites and commits the one row of `write_probe`: the database takes writes now
    /// (its file is writable, it is not locked past the busy timeout, the server answers
    /// and is not read-only). Intake asks before it gives up a message whose every try
    /// failed for a reason that may pass, to tell the machine's faults from the message's.
    pub async fn write_probe(&self, now: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query("UPDATE write_probe SET at = $1 WHERE id = 1")
            .bind(to_millis(now))
            .execute(&mut *self.conn().await?)
            .await
            .doing("writing a probe row to learn whether the database takes writes")?;
        Ok(())
    }

    /// When the notification that has been due longest without being sent became due, if
    /// one is due at `now`: waiting, or claimed and still being sent (a claim leaves the
    /// time it fell due as it was, so a send that hangs, or a worker that died with its
    /// claim, keeps counting).
    pub async fn oldest_due_notification(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let row = sqlx::query(
            "SELECT MIN(next_attempt_at) AS oldest FROM outbox WHERE status IN ('pending', 'sending') AND next_attempt_at <= $1",
        )
        .bind(to_millis(now))
        .fetch_one(&mut *self.conn().await?)
        .await
        .doing("finding the oldest due notification")?;
        let oldest: Option<i64> = row
            .try_get("oldest")
            .doing("reading the oldest due notification")?;
        oldest.map(from_millis).transpose()
    }

    /// How many tickets there are in each status.
    pub async fn ticket_counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        self.counts(
            "SELECT status, COUNT(*) AS n FROM tickets GROUP BY status",
            "counting tickets by status",
        )
        .await
    }

    /// How many outbox rows there are in each status, by channel: `(status, channel, n)`.
    pub async fn notification_counts(&self) -> Result<Vec<(String, String, i64)>, StoreError> {
        let doing = "counting notifications by status";
        let rows = sqlx::query(
            "SELECT status, channel, COUNT(*) AS n FROM outbox GROUP BY status, channel",
        )
        .fetch_all(&mut *self.conn().await?)
        .await
        .doing(doing)?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("status").doing(doing)?,
                    r.try_get("channel").doing(doing)?,
                    r.try_get("n").doing(doing)?,
                ))
            })
            .collect()
    }

    async fn counts(
        &self,
        query: &'static str,
        doing: &'static str,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query(query)
            .fetch_all(&mut *self.conn().await?)
            .await
            .doing(doing)?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("status").doing(doing)?,
                    r.try_get("n").doing(doing)?,
                ))
            })
            .collect()
    }
}
