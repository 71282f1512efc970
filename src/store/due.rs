//! What falls due with time: resolved tickets the auto-close closes, and tickets due for a
//! reminder, with reminders recorded once per wait.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::articles::insert_article;
use super::rows::{ticket_number, to_millis};
use super::{Doing, Store, StoreError};
use crate::domain::{NewArticle, Notification, Status, TicketNumber};

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
        rows.iter().map(|r| ticket_number(r, "number")).collect()
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
                Ok(DueReminder {
                    ticket_id: r.try_get("id").doing("reading a ticket id")?,
                    number: ticket_number(r, "number")?,
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
        super::outbox::queue_events(
            &mut tx,
            &self.webhooks,
            reminder.ticket_id,
            Some(article_id),
            &reminder.notifications,
            at,
        )
        .await?;
        tx.commit().await.doing("committing a reminder")?;
        Ok(true)
    }
}
