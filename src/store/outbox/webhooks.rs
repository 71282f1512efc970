//! Webhook rows of the outbox: one per webhook per event, queued in the operation's own
//! transaction beside the mail it causes, claimed and retried as mail is, and recorded as
//! delivered without a Message-ID (nothing threads back to a POST).

use chrono::{DateTime, Utc};
use sqlx::{AnyConnection, Row};

use super::TicketFacts;
use crate::domain::{Event, Notification, Subscriptions, TicketNumber, WebhookEvent};
use crate::store::rows::{from_millis, parse_stored, to_millis, values_placeholders};
use crate::store::{Doing, Store, StoreError};

/// The channel an outbox row leaves by, as the `channel` column names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Email,
    Webhook,
    /// A short text to a contact's phone, through the `[sms]` gateway.
    Sms,
}

impl Channel {
    /// Every channel, mail first.
    pub const ALL: [Channel; 3] = [Channel::Email, Channel::Webhook, Channel::Sms];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Webhook => "webhook",
            Channel::Sms => "sms",
        }
    }
}

/// A webhook row claimed for delivery, with what its payload is written from.
#[derive(Debug, Clone)]
pub struct WebhookJob {
    /// The row's id: the `webhook-id` of every try, so that receivers can deduplicate.
    pub id: i64,
    /// The webhook's configured name.
    pub webhook: String,
    pub event: WebhookEvent,
    pub attempts: u32,
    /// `None` for a mail set aside in the quarantine.
    pub ticket: Option<TicketNumber>,
    /// The article the event wrote, if any.
    pub article_id: Option<i64>,
    /// When the event happened.
    pub created_at: DateTime<Utc>,
    /// The ticket as the event left it.
    pub facts: Option<TicketFacts>,
    /// The event's details as JSON: the notification's context, or the quarantine entry.
    pub context: Option<String>,
}

impl WebhookJob {
    /// Reads a claimed row (the claim's RETURNING list, the ticket's number beside it).
    pub(super) fn from_row(
        row: &sqlx::any::AnyRow,
        number: Option<&str>,
    ) -> Result<Self, StoreError> {
        let event: String = row.try_get("event").doing("reading a webhook row")?;
        Ok(Self {
            id: row.try_get("id").doing("reading a webhook row")?,
            webhook: row.try_get("recipient").doing("reading a webhook row")?,
            event: event
                .parse()
                .map_err(|e: String| StoreError::Corrupt(format!("outbox event: {e}")))?,
            attempts: row
                .try_get::<i64, _>("attempts")
                .doing("reading a webhook row")?
                .max(0) as u32,
            ticket: number.map(|n| parse_stored("number", n)).transpose()?,
            article_id: row.try_get("article_id").doing("reading a webhook row")?,
            created_at: from_millis(row.try_get("created_at").doing("reading a webhook row")?)?,
            facts: TicketFacts::from_row(row)?,
            context: row.try_get("context").doing("reading a webhook row")?,
        })
    }
}

/// Queues one row per webhook that hears each event among `notifications`, in the
/// operation's transaction; the ticket's facts are copied as the transaction left them.
/// An event is heard once however many people its mail goes to.
pub(super) async fn queue_webhooks(
    tx: &mut AnyConnection,
    webhooks: &Subscriptions,
    ticket_id: i64,
    article_id: Option<i64>,
    notifications: &[Notification],
    at: i64,
) -> Result<(), StoreError> {
    if webhooks.is_empty() {
        return Ok(());
    }
    let mut rows: Vec<(Event, &str, Option<String>)> = Vec::new();
    let mut seen: Vec<Event> = Vec::new();
    for n in notifications {
        if seen.contains(&n.event) {
            continue;
        }
        seen.push(n.event);
        let context = super::queue::stored_context(&n.context);
        for name in webhooks.hearing(WebhookEvent::Notification(n.event)) {
            rows.push((n.event, name, context.clone()));
        }
    }
    if rows.is_empty() {
        return Ok(());
    }
    // As queue_rows: $1 the time, $2 the ticket, then five per row, the last
    // one its place, which keeps the ids in the order of the events.
    let sql = format!(
        "INSERT INTO outbox (ticket_id, article_id, event, recipient, context, next_attempt_at, created_at, \
         ticket_status, ticket_title, ticket_priority, ticket_resolved_at, channel) \
         SELECT t.id, v.column1, v.column2, v.column3, v.column4, $1, $1, \
         t.status, t.title, t.priority, t.resolved_at, 'webhook' FROM (VALUES {}) AS v \
         CROSS JOIN tickets t WHERE t.id = $2 ORDER BY v.column5",
        values_placeholders(rows.len(), 5, 2)
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(at)
        .bind(ticket_id);
    for (place, (event, name, context)) in (0_i64..).zip(rows) {
        query = query
            .bind(article_id)
            .bind(event.as_str())
            .bind(name.to_string())
            .bind(context)
            .bind(place);
    }
    query
        .execute(&mut *tx)
        .await
        .doing("queueing webhook events")?;
    Ok(())
}

impl Store {
    /// Queues a `mail_quarantined` row for each webhook that hears it, with `details` (the
    /// quarantine entry, as JSON) for its payload. The quarantine is files, not rows, so
    /// there is no transaction to share: this follows the file's write.
    pub async fn queue_quarantine_webhooks(
        &self,
        details: &serde_json::Value,
        at: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let names: Vec<&str> = self
            .webhooks
            .hearing(WebhookEvent::MailQuarantined)
            .collect();
        if names.is_empty() {
            return Ok(0);
        }
        let mut tx = self.pool.begin().await.doing("starting a transaction")?;
        for name in &names {
            sqlx::query(
                "INSERT INTO outbox (event, recipient, context, next_attempt_at, created_at, channel) \
                 VALUES ($1, $2, $3, $4, $4, 'webhook')",
            )
            .bind(WebhookEvent::MailQuarantined.as_str())
            .bind(name.to_string())
            .bind(details.to_string())
            .bind(to_millis(at))
            .execute(&mut *tx)
            .await
            .doing("queueing a quarantine webhook")?;
        }
        tx.commit().await.doing("committing a quarantine webhook")?;
        Ok(names.len())
    }

    /// Records a webhook row as delivered (the receiver answered 2xx).
    pub async fn mark_webhook_delivered(
        &self,
        id: i64,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE outbox SET status = 'sent', sent_at = $1, lease_until = NULL, last_error = NULL WHERE id = $2",
        )
        .bind(to_millis(at))
        .bind(id)
        .execute(&mut *self.conn().await?)
        .await
        .doing("marking a webhook delivered")?;
        Ok(())
    }

    /// The public text of article `id`, or `None` when it is internal or gone: what a
    /// webhook's payload may show of it.
    pub async fn public_article_text(&self, id: i64) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT body_text, visibility FROM articles WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *self.conn().await?)
            .await
            .doing("reading an article for a webhook")?;
        let Some(row) = row else { return Ok(None) };
        let visibility: String = row
            .try_get("visibility")
            .doing("reading an article for a webhook")?;
        if visibility != "public" {
            return Ok(None);
        }
        row.try_get("body_text")
            .doing("reading an article for a webhook")
    }
}
