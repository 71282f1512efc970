//! The notification outbox: rows written with the operation that caused them, claimed by
//! the delivery worker under a lease, then marked sent, retried later or failed.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::rows::{from_millis, parse_stored, storable, to_millis, values_placeholders};
use super::{Doing, Store, StoreError};
use crate::domain::{EmailAddress, Event, EventContext, Priority, Status, TicketNumber};

mod claim;
mod counts;
mod listing;
mod queue;
mod webhooks;

pub use claim::{Claimed, PersonalJob, Unreadable};
pub use listing::OutboxEntry;
pub(super) use queue::{queue_events, stored_context};
pub use webhooks::{Channel, WebhookJob};

/// A notification claimed for delivery, with what it needs to be written.
#[derive(Debug, Clone)]
pub struct OutboxJob {
    pub id: i64,
    pub event: Event,
    pub context: EventContext,
    pub recipient: EmailAddress,
    pub attempts: u32,
    pub ticket_id: i64,
    pub ticket: TicketNumber,
    pub article_id: Option<i64>,
    /// When the event happened (the row was queued with it).
    pub created_at: DateTime<Utc>,
    /// The ticket as the event left it; `None` on rows queued before these were kept.
    pub facts: Option<TicketFacts>,
    /// The recipient's display name as their mail showed it, when it did.
    pub recipient_name: Option<String>,
}

/// A notification the server accepted, to be recorded as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMail {
    /// The outbox row.
    pub id: i64,
    /// The Message-ID it went out with, without angle brackets.
    pub message_id: String,
}

/// What a notification states about its ticket, as of its event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketFacts {
    pub status: Status,
    pub title: String,
    pub priority: Priority,
    /// When the solution was proposed: the auto-close date counts from it.
    pub resolved_at: Option<DateTime<Utc>>,
}

impl TicketFacts {
    fn from_row(row: &sqlx::any::AnyRow) -> Result<Option<Self>, StoreError> {
        let status: Option<String> = row
            .try_get("ticket_status")
            .doing("reading a notification")?;
        let Some(status) = status else {
            return Ok(None);
        };
        let title: Option<String> = row
            .try_get("ticket_title")
            .doing("reading a notification")?;
        let priority: Option<String> = row
            .try_get("ticket_priority")
            .doing("reading a notification")?;
        let resolved_at: Option<i64> = row
            .try_get("ticket_resolved_at")
            .doing("reading a notification")?;
        Ok(Some(Self {
            status: parse_stored("status", &status)?,
            title: title.unwrap_or_default(),
            priority: parse_stored("priority", priority.as_deref().unwrap_or(""))?,
            resolved_at: resolved_at.map(from_millis).transpose()?,
        }))
    }
}

impl Store {
    /// Who holds notifications claimed and not yet done: one of them may be a process
    /// that died while sending.
    pub async fn notification_claimers(&self) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT DISTINCT claimed_by FROM outbox WHERE status = 'sending' AND claimed_by IS NOT NULL",
        )
        .fetch_all(&mut *self.conn().await?)
        .await
        .doing("listing notification claims")?;
        rows.iter()
            .map(|r| {
                r.try_get("claimed_by")
                    .doing("reading a notification claim")
            })
            .collect()
    }

    /// Puts the notifications `claimed_by` (a process known to be dead) back to pending at
    /// once; their ids. One of them may have reached the server before the process died,
    /// and so arrive twice (with the same Message-ID).
    pub async fn release_notification_claims(
        &self,
        claimed_by: &str,
    ) -> Result<Vec<i64>, StoreError> {
        let rows = sqlx::query(
            "UPDATE outbox SET status = 'pending', lease_until = NULL, claimed_by = NULL \
             WHERE status = 'sending' AND claimed_by = $1 RETURNING id",
        )
        .bind(claimed_by.to_string())
        .fetch_all(&mut *self.conn().await?)
        .await
        .doing("releasing notification claims")?;
        rows.iter()
            .map(|r| r.try_get("id").doing("reading a released notification"))
            .collect()
    }

    /// Records a notification as sent with `message_id` (see
    /// [`Store::mark_notifications_sent`]).
    pub async fn mark_notification_sent(
        &self,
        job: &OutboxJob,
        message_id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mail = SentMail {
            id: job.id,
            message_id: message_id.to_string(),
        };
        self.mark_notifications_sent(&[mail], at).await
    }

    /// Records the notifications of `sent` as sent, each with its Message-ID, in one
    /// statement: what a worker sent as a group costs one write. The Message-ID is what a
    /// delivery report about the mail is matched by ([`Store::sent_notification`]).
    pub async fn mark_notifications_sent(
        &self,
        sent: &[SentMail],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if sent.is_empty() {
            return Ok(());
        }
        // The rows of a VALUES list are named column1, column2… on both databases.
        let update = format!(
            "UPDATE outbox SET status = 'sent', sent_at = $1, message_id = v.column2, lease_until = NULL, \
             last_error = NULL FROM (VALUES {}) AS v WHERE outbox.id = v.column1",
            values_placeholders(sent.len(), 2, 1)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(update)).bind(to_millis(at));
        for mail in sent {
            query = query.bind(mail.id).bind(mail.message_id.clone());
        }
        query
            .execute(&mut *self.conn().await?)
            .await
            .doing("marking notifications sent")?;
        Ok(())
    }

    /// Puts a notification back for another try at `next_attempt`.
    pub async fn retry_notification(
        &self,
        id: i64,
        error: &str,
        next_attempt: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE outbox SET status = 'pending', lease_until = NULL, last_error = $1, next_attempt_at = $2 WHERE id = $3")
            .bind(storable(error))
            .bind(to_millis(next_attempt))
            .bind(id)
            .execute(&mut *self.conn().await?)
            .await
            .doing("scheduling a notification retry")?;
        Ok(())
    }

    /// Puts a notification back for another try at `next_attempt`, taking back the try
    /// its claim counted: the server could not be reached, so the notification itself was
    /// not tried, and its retries are kept for what its own tries meet.
    pub async fn defer_untried_notification(
        &self,
        id: i64,
        error: &str,
        next_attempt: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE outbox SET status = 'pending', lease_until = NULL, last_error = $1, next_attempt_at = $2, \
             attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END WHERE id = $3",
        )
        .bind(storable(error))
        .bind(to_millis(next_attempt))
        .bind(id)
        .execute(&mut *self.conn().await?)
        .await
        .doing("putting a notification back")?;
        Ok(())
    }

    /// Gives up on a notification, keeping the server's answer.
    pub async fn fail_notification(&self, id: i64, error: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE outbox SET status = 'failed', lease_until = NULL, last_error = $1 WHERE id = $2")
            .bind(storable(error))
            .bind(id)
            .execute(&mut *self.conn().await?)
            .await
            .doing("marking a notification failed")?;
        Ok(())
    }

    /// Sets a notification aside without sending it: `held` by the loop governor (limits,
    /// an undeliverable address) or `skipped` for the recipient's preferences. `outbox
    /// retry` puts it back.
    pub async fn hold_notification(
        &self,
        id: i64,
        status: HoldKind,
        reason: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE outbox SET status = $1, lease_until = NULL, held_reason = $2 WHERE id = $3",
        )
        .bind(status.as_str())
        .bind(reason.to_string())
        .bind(id)
        .execute(&mut *self.conn().await?)
        .await
        .doing("holding a notification back")?;
        Ok(())
    }

    /// Marks a mail about no ticket sent: there is no ticket for replies to thread to.
    pub async fn mark_personal_sent(
        &self,
        id: i64,
        message_id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE outbox SET status = 'sent', sent_at = $1, message_id = $2, lease_until = NULL, last_error = NULL WHERE id = $3")
            .bind(to_millis(at))
            .bind(message_id.to_string())
            .bind(id)
            .execute(&mut *self.conn().await?)
            .await
            .doing("marking a notification sent")?;
        Ok(())
    }

    /// The Message-ID of the newest customer mail on a ticket: what a notification answers.
    pub async fn last_inbound_message_id(
        &self,
        ticket_id: i64,
    ) -> Result<Option<String>, StoreError> {
        let row = sqlx::query(
            "SELECT message_id FROM articles WHERE ticket_id = $1 AND direction = 'inbound' \
             AND message_id IS NOT NULL ORDER BY id DESC LIMIT 1",
        )
        .bind(ticket_id)
        .fetch_optional(&mut *self.conn().await?)
        .await
        .doing("reading a ticket's last message")?;
        row.map(|r| r.try_get("message_id").doing("reading a Message-ID"))
            .transpose()
    }
}

/// Why a notification was set aside instead of sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldKind {
    /// Held back by the loop governor: a limit, or an address that bounces.
    Held,
    /// Not wanted: the recipient's preferences exclude it.
    Skipped,
}

impl HoldKind {
    fn as_str(self) -> &'static str {
        match self {
            HoldKind::Held => "held",
            HoldKind::Skipped => "skipped",
        }
    }
}

/// A notification we sent, found again by its Message-ID.
#[derive(Debug, Clone)]
pub struct SentNotification {
    pub ticket: TicketNumber,
    pub recipient: EmailAddress,
}

impl Store {
    /// The notification sent with `message_id`, if one was: what a delivery report about
    /// our own mail is recorded on, and whose thread token a reply is checked against.
    pub async fn sent_notification(
        &self,
        message_id: &str,
    ) -> Result<Option<SentNotification>, StoreError> {
        let row = sqlx::query(
            "SELECT (SELECT t.number FROM tickets t WHERE t.id = o.ticket_id) AS number, \
             o.recipient FROM outbox o WHERE o.message_id = $1 AND o.ticket_id IS NOT NULL LIMIT 1",
        )
        .bind(storable(message_id))
        .fetch_optional(&mut *self.conn().await?)
        .await
        .doing("looking up a sent notification")?;
        row.map(|r| {
            let n: String = r.try_get("number").doing("reading a ticket number")?;
            let recipient: String = r.try_get("recipient").doing("reading a recipient")?;
            Ok(SentNotification {
                ticket: parse_stored("number", &n)?,
                recipient: EmailAddress::parse(&recipient)
                    .map_err(|_| StoreError::Corrupt(format!("recipient {recipient:?}")))?,
            })
        })
        .transpose()
    }
}
