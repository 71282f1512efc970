//! Queueing what an operation causes, inside its transaction: a mail per notification,
//! the SMS of the contacts who chose them, and a row per webhook that hears the event.

use sqlx::AnyConnection;

use super::Channel;
use crate::domain::{EventContext, Notification};
use crate::store::rows::values_placeholders;
use crate::store::{Doing, StoreError};

/// Writes what an operation causes to the outbox inside its transaction: the mail of
/// `notifications`, their SMS to the contacts who chose them (when an `[sms]` gateway is
/// configured), and a row for each webhook that hears one of their events.
pub(in crate::store) async fn queue_events(
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
    super::webhooks::queue_webhooks(tx, webhooks, ticket_id, article_id, notifications, at).await
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
    // Chunks of rows keep each statement under the databases' limits on bound values
    // (SQLite's 32,766, PostgreSQL's 65,535): a ticket with 10,000 observers is 10,000 rows.
    for (chunk, first) in notifications
        .chunks(ROWS_PER_STATEMENT)
        .zip((0_i64..).step_by(ROWS_PER_STATEMENT))
    {
        queue_chunk(tx, channel, ticket_id, article_id, chunk, first, at).await?;
    }
    Ok(())
}

/// Rows per outbox `INSERT`: 6 values each, 3,002 in all, well under every limit.
const ROWS_PER_STATEMENT: usize = 500;

/// Queues one chunk of [`queue_rows`]; `first` is the place of its first row in the list.
async fn queue_chunk(
    tx: &mut AnyConnection,
    channel: Channel,
    ticket_id: i64,
    article_id: Option<i64>,
    notifications: &[Notification],
    first: i64,
    at: i64,
) -> Result<(), StoreError> {
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
         FROM (VALUES {}) AS v CROSS JOIN tickets t",
        channel.as_str(),
        values_placeholders(notifications.len(), 6, 2)
    );
    if channel == Channel::Sms {
        sql.push_str(
            " JOIN contacts c ON c.email = v.column5 AND c.sms <> 0 AND c.phone IS NOT NULL",
        );
    }
    sql.push_str(" WHERE t.id = $2 ORDER BY v.column6");
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(at)
        .bind(ticket_id);
    for (place, n) in (first..).zip(notifications) {
        query = query
            .bind(article_id)
            .bind(n.event.as_str())
            .bind(n.recipient.as_str().to_string())
            .bind(stored_context(&n.context))
            .bind(n.recipient.key())
            .bind(place);
    }
    query
        .execute(&mut *tx)
        .await
        .doing("queueing notifications")?;
    Ok(())
}

/// A notification's context as its outbox row keeps it: JSON, or nothing when empty.
pub(in crate::store) fn stored_context(context: &EventContext) -> Option<String> {
    (!context.is_empty()).then(|| serde_json::to_string(context).expect("the context serializes"))
}
