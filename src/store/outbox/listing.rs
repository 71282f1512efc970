//! The outbox as operators see it: notifications listed with their state and last error,
//! one released by hand, every waiting one made due now.

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::domain::TicketNumber;
use crate::store::rows::{from_millis, parse_stored, to_millis};
use crate::store::{Doing, Store, StoreError};

/// One outbox row as an operator sees it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct OutboxEntry {
    pub id: i64,
    /// `None` for a webhook row about a mail set aside in the quarantine.
    pub ticket: Option<TicketNumber>,
    /// How it leaves: `email` or `webhook`.
    pub channel: String,
    pub event: String,
    /// An address, or the webhook's name.
    pub recipient: String,
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    /// Why the governor held it back, or why preferences skipped it.
    pub held_reason: Option<String>,
    pub next_attempt_at: DateTime<Utc>,
}

impl Store {
    /// Notifications, newest first; only those of `status` when given.
    pub async fn list_outbox(
        &self,
        status: Option<&str>,
        limit: i64,
    ) -> Result<Vec<OutboxEntry>, StoreError> {
        let rows = match status {
            Some(status) => sqlx::query(
                "SELECT o.id, t.number, o.channel, o.event, o.recipient, o.status, o.attempts, o.last_error, o.held_reason, o.next_attempt_at \
                 FROM outbox o LEFT JOIN tickets t ON t.id = o.ticket_id WHERE o.status = $1 ORDER BY o.id DESC LIMIT $2",
            )
            .bind(status.to_string())
            .bind(limit)
            .fetch_all(&mut *self.conn().await?)
            .await,
            None => sqlx::query(
                "SELECT o.id, t.number, o.channel, o.event, o.recipient, o.status, o.attempts, o.last_error, o.held_reason, o.next_attempt_at \
                 FROM outbox o LEFT JOIN tickets t ON t.id = o.ticket_id ORDER BY o.id DESC LIMIT $1",
            )
            .bind(limit)
            .fetch_all(&mut *self.conn().await?)
            .await,
        }
        .doing("listing the outbox")?;
        rows.iter()
            .map(|r| {
                let number: Option<String> = r.try_get("number").doing("reading the outbox")?;
                Ok(OutboxEntry {
                    id: r.try_get("id").doing("reading the outbox")?,
                    ticket: number.map(|n| parse_stored("number", &n)).transpose()?,
                    channel: r.try_get("channel").doing("reading the outbox")?,
                    event: r.try_get("event").doing("reading the outbox")?,
                    recipient: r.try_get("recipient").doing("reading the outbox")?,
                    status: r.try_get("status").doing("reading the outbox")?,
                    attempts: r.try_get("attempts").doing("reading the outbox")?,
                    last_error: r.try_get("last_error").doing("reading the outbox")?,
                    held_reason: r.try_get("held_reason").doing("reading the outbox")?,
                    next_attempt_at: from_millis(
                        r.try_get("next_attempt_at").doing("reading the outbox")?,
                    )?,
                })
            })
            .collect()
    }

    /// Makes a failed, held, skipped or waiting notification due now (it meets the
    /// governor again); `false` when there is no such row (or it was already sent).
    pub async fn requeue_notification(
        &self,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE outbox SET status = 'pending', next_attempt_at = $1, attempts = 0, lease_until = NULL, held_reason = NULL \
             WHERE id = $2 AND status IN ('pending', 'failed', 'held', 'skipped')",
        )
        .bind(to_millis(now))
        .bind(id)
        .execute(&mut *self.conn().await?)
        .await
        .doing("requeueing a notification")?;
        Ok(done.rows_affected() == 1)
    }

    /// Makes every waiting mail notification due now: the SMTP server answers again
    /// after an outage, and what waited for it need not wait for its next try. Says how
    /// many.
    pub async fn make_waiting_mail_due(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE outbox SET next_attempt_at = $1 \
             WHERE channel = 'email' AND status = 'pending' AND next_attempt_at > $1",
        )
        .bind(to_millis(now))
        .execute(&mut *self.conn().await?)
        .await
        .doing("making notifications due")?;
        Ok(done.rows_affected())
    }

    /// Makes every waiting notification due now, for `outbox flush`.
    pub async fn make_pending_due(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query("UPDATE outbox SET next_attempt_at = $1 WHERE status = 'pending' AND next_attempt_at > $1")
            .bind(to_millis(now))
            .execute(&mut *self.conn().await?)
            .await
            .doing("making notifications due")?;
        Ok(done.rows_affected())
    }
}
