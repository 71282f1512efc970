//! The notification outbox: rows written with the operation that caused them, claimed by
//! the delivery worker under a lease, then marked sent, retried later or failed.

use chrono::{DateTime, Duration, Utc};
use sqlx::Row;

use sqlx::AnyConnection;

use super::rows::{from_millis, parse_stored, storable, to_millis};
use super::{Backend, Doing, Store, StoreError};
use crate::domain::{
    EmailAddress, Event, EventContext, Notification, Priority, Status, TicketNumber,
};

mod listing;
mod webhooks;

pub use listing::OutboxEntry;
pub use webhooks::{Channel, WebhookJob};

/// Writes what an operation causes to the outbox inside its transaction: the mail of
/// `notifications`, their SMS to the contacts who chose them (when an `[sms]` gateway is
/// configured), and a row for each webhook that hears one of their events.
pub(super) async fn queue_events(
    tx: &mut AnyConnection,
    webhooks: &crate::domain::Subscriptions,
    ticket_id: i64,
    article_id: Option<i64>,
    notifications: &[Notification],
    at: i64,
) -> Result<(), StoreError> {
    queue_rows(tx, Channel::Email, ticket_id, article_id, notifications, at).await?;
    if webhooks.sms() {
        queue_rows(tx, Channel::Sms, ticket_id, article_id, notifications, at).await?;
    }
    webhooks::queue_webhooks(tx, webhooks, ticket_id, article_id, notifications, at).await
}

/// Writes `notifications` to the outbox inside the operation's transaction, due at `at`,
/// as rows of `channel`: mail, or (with [`Channel::Sms`]) a text for each recipient whose
/// contact chose SMS and has a number, and nothing for the others.
async fn queue_rows(
    tx: &mut AnyConnection,
    channel: Channel,
    ticket_id: i64,
    article_id: Option<i64>,
    notifications: &[Notification],
    at: i64,
) -> Result<(), StoreError> {
    if notifications.is_empty() {
        return Ok(());
    }
    // One statement for all of them: each statement is a round trip to the database (on
    // SQLite, to its worker thread). The ticket's facts are copied from its row as this
    // transaction left it, so the mail says what this event did even if the ticket moves
    // on before it is sent; the recipient's display name likewise (the requester's, or the
    // observer's).
    // $1 is the time and $2 the ticket, shared by every row; each row then has six
    // parameters of its own, named columnN by the VALUES list on both backends, the last
    // one its place in the list, which keeps the ids in the order of the notifications.
    let mut sql = format!(
        "INSERT INTO outbox (ticket_id, article_id, event, recipient, context, next_attempt_at, created_at, \
         ticket_status, ticket_title, ticket_priority, ticket_resolved_at, recipient_name, channel) \
         SELECT t.id, v.column1, v.column2, v.column3, v.column4, $1, $1, \
         t.status, t.title, t.priority, t.resolved_at, \
         CASE WHEN lower(t.requester) = v.column5 THEN t.requester_name \
         ELSE (SELECT o.name FROM observers o WHERE o.ticket_id = t.id AND o.email = v.column5) END, '{}' \
         FROM (VALUES ",
        channel.as_str()
    );
    for i in 0..notifications.len() {
        let p = 2 + i * 6;
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!(
            "(${}, ${}, ${}, ${}, ${}, ${})",
            p + 1,
            p + 2,
            p + 3,
            p + 4,
            p + 5,
            p + 6
        ));
    }
    sql.push_str(") AS v CROSS JOIN tickets t");
    if channel == Channel::Sms {
        sql.push_str(
            " JOIN contacts c ON c.email = v.column5 AND c.sms <> 0 AND c.phone IS NOT NULL",
        );
    }
    sql.push_str(" WHERE t.id = $2 ORDER BY v.column6");
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(at)
        .bind(ticket_id);
    for (place, n) in (0_i64..).zip(notifications) {
        let context = (!n.context.is_empty())
            .then(|| serde_json::to_string(&n.context).expect("the context serializes"));
        query = query
            .bind(article_id)
            .bind(n.event.as_str())
            .bind(n.recipient.as_str().to_string())
            .bind(context)
            .bind(n.recipient.key())
            .bind(place);
    }
    query
        .execute(&mut *tx)
        .await
        .doing("queueing notifications")?;
    Ok(())
}

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

/// An outbox row claimed for delivery, by the channel it leaves by.
#[derive(Debug, Clone)]
pub enum Claimed {
    Email(OutboxJob),
    Webhook(WebhookJob),
    /// The text of a notification, to its recipient's phone.
    Sms(OutboxJob),
}

impl Store {
    /// Claims the oldest due mail notification for `lease`, or `None` when none is due.
    /// Webhook rows are left to [`Store::claim_delivery`].
    pub async fn claim_notification(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        claimed_by: &str,
    ) -> Result<Option<OutboxJob>, StoreError> {
        Ok(
            match self
                .claim(now, lease, claimed_by, Some(Channel::Email))
                .await?
            {
                Some(Claimed::Email(job)) => Some(job),
                Some(Claimed::Webhook(_) | Claimed::Sms(_)) | None => None,
            },
        )
    }

    /// Claims the oldest due outbox row of any channel (or of `channel` only) for
    /// `lease`, or `None` when nothing is due. A row whose lease ran out (its worker died
    /// mid-send) is due again.
    pub async fn claim_delivery(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        claimed_by: &str,
        channel: Option<Channel>,
    ) -> Result<Option<Claimed>, StoreError> {
        self.claim(now, lease, claimed_by, channel).await
    }

    async fn claim(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        claimed_by: &str,
        channel: Option<Channel>,
    ) -> Result<Option<Claimed>, StoreError> {
        let now_ms = to_millis(now);
        // On PostgreSQL, instances claim side by side: a row another worker is claiming is
        // skipped, not waited for. SQLite has one writer at a time, so the plain subquery
        // is enough there; the due condition is checked again on the row itself all the
        // same, so that a row is never claimed twice whatever the isolation. One statement
        // serves both; `$lock` goes after the subquery's LIMIT. `$4` is the channel, or
        // `%` for any.
        macro_rules! claim {
            ($lock:literal) => {
                concat!(
                    "UPDATE outbox SET status = 'sending', lease_until = $2, claimed_by = $3, attempts = attempts + 1 \
                     WHERE id = (SELECT id FROM outbox WHERE ((status = 'pending' AND next_attempt_at <= $1) \
                                 OR (status = 'sending' AND lease_until < $1)) AND channel LIKE $4 ORDER BY id LIMIT 1",
                    $lock,
                    ") AND ((status = 'pending' AND next_attempt_at <= $1) OR (status = 'sending' AND lease_until < $1)) \
                     RETURNING id, event, context, recipient, attempts, ticket_id, article_id, created_at, \
                     ticket_status, ticket_title, ticket_priority, ticket_resolved_at, recipient_name, channel"
                )
            };
        }
        let sql = match self.backend {
            Backend::Postgres => claim!(" FOR UPDATE SKIP LOCKED"),
            Backend::Sqlite => claim!(""),
        };
        let row = sqlx::query(sql)
            .bind(now_ms)
            .bind(to_millis(now + lease))
            .bind(claimed_by.to_string())
            .bind(channel.map_or("%", Channel::as_str))
            .fetch_optional(&mut *self.conn().await?)
            .await
            .doing("claiming a notification")?;
        let Some(row) = row else { return Ok(None) };
        let ticket_id: Option<i64> = row.try_get("ticket_id").doing("reading a notification")?;
        let number = match ticket_id {
            Some(id) => {
                let row = sqlx::query("SELECT number FROM tickets WHERE id = $1")
                    .bind(id)
                    .fetch_one(&mut *self.conn().await?)
                    .await
                    .doing("reading a notification's ticket")?;
                Some(
                    row.try_get::<String, _>("number")
                        .doing("reading a ticket number")?,
                )
            }
            None => None,
        };
        let channel: String = row.try_get("channel").doing("reading a notification")?;
        if channel == Channel::Webhook.as_str() {
            return Ok(Some(Claimed::Webhook(WebhookJob::from_row(
                &row,
                number.as_deref(),
            )?)));
        }
        let (Some(ticket_id), Some(number)) = (ticket_id, number) else {
            return Err(StoreError::Corrupt(
                "an email notification without a ticket".into(),
            ));
        };
        let recipient: String = row.try_get("recipient").doing("reading a notification")?;
        let event: String = row.try_get("event").doing("reading a notification")?;
        let context: Option<String> = row.try_get("context").doing("reading a notification")?;
        let context = match context {
            Some(json) => serde_json::from_str(&json)
                .map_err(|e| StoreError::Corrupt(format!("outbox context {json:?}: {e}")))?,
            None => EventContext::default(),
        };
        let job = OutboxJob {
            id: row.try_get("id").doing("reading a notification")?,
            event: parse_stored("event", &event)?,
            context,
            recipient: EmailAddress::parse(&recipient)
                .map_err(|_| StoreError::Corrupt(format!("recipient {recipient:?}")))?,
            attempts: row
                .try_get::<i64, _>("attempts")
                .doing("reading a notification")?
                .max(0) as u32,
            ticket_id,
            ticket: parse_stored("number", &number)?,
            article_id: row.try_get("article_id").doing("reading a notification")?,
            created_at: from_millis(row.try_get("created_at").doing("reading a notification")?)?,
            facts: TicketFacts::from_row(&row)?,
            recipient_name: row
                .try_get("recipient_name")
                .doing("reading a notification")?,
        };
        Ok(Some(if channel == Channel::Sms.as_str() {
            Claimed::Sms(job)
        } else {
            Claimed::Email(job)
        }))
    }

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

    /// Records a notification as sent with `message_id`, which from now on threads replies
    /// to its ticket.
    pub async fn mark_notification_sent(
        &self,
        job: &OutboxJob,
        message_id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.doing("starting a transaction")?;
        sqlx::query("UPDATE outbox SET status = 'sent', sent_at = $1, message_id = $2, lease_until = NULL, last_error = NULL WHERE id = $3")
            .bind(to_millis(at))
            .bind(message_id.to_string())
            .bind(job.id)
            .execute(&mut *tx)
            .await
            .doing("marking a notification sent")?;
        sqlx::query(
            "INSERT INTO thread_refs (message_id, ticket_id, created_at) VALUES ($1, $2, $3)",
        )
        .bind(message_id.to_string())
        .bind(job.ticket_id)
        .bind(to_millis(at))
        .execute(&mut *tx)
        .await
        .doing("recording a notification's Message-ID")?;
        tx.commit().await.doing("committing a sent notification")
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

    /// How many notifications went to `recipient` since `since`: what the per-recipient
    /// limits count.
    pub async fn sent_to_recipient_since(
        &self,
        recipient: &EmailAddress,
        since: DateTime<Utc>,
    ) -> Result<u32, StoreError> {
        let row = sqlx::query(
            // The address's key, as EmailAddress::key folds it (ASCII letters only): lower()
            // folds the same on SQLite and, the column being byte-ordered, on PostgreSQL.
            "SELECT COUNT(*) AS n FROM outbox WHERE lower(recipient) = $1 AND sent_at >= $2 AND channel = 'email'",
        )
        .bind(recipient.key())
        .bind(to_millis(since))
        .fetch_one(&mut *self.conn().await?)
        .await
        .doing("counting a recipient's recent notifications")?;
        let n: i64 = row.try_get("n").doing("counting notifications")?;
        Ok(n.max(0) as u32)
    }

    /// How many notifications a ticket caused since `since`: what the per-ticket limits
    /// count.
    pub async fn sent_for_ticket_since(
        &self,
        ticket_id: i64,
        since: DateTime<Utc>,
    ) -> Result<u32, StoreError> {
        let row =
            sqlx::query(
                "SELECT COUNT(*) AS n FROM outbox WHERE ticket_id = $1 AND sent_at >= $2 AND channel = 'email'",
            )
                .bind(ticket_id)
                .bind(to_millis(since))
                .fetch_one(&mut *self.conn().await?)
                .await
                .doing("counting a ticket's recent notifications")?;
        let n: i64 = row.try_get("n").doing("counting notifications")?;
        Ok(n.max(0) as u32)
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
            "SELECT t.number, o.recipient FROM outbox o JOIN tickets t ON t.id = o.ticket_id \
             WHERE o.message_id = $1 LIMIT 1",
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
