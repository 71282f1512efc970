//! Claiming the next due outbox row under a lease: one statement on both backends, with
//! `FOR UPDATE SKIP LOCKED` on PostgreSQL so that instances claim side by side. On SQLite
//! a read first looks whether anything is due, so that an idle look takes no write lock.

use chrono::{DateTime, Duration, Utc};
use sqlx::Row;

use super::{Channel, OutboxJob, TicketFacts, WebhookJob};
use crate::domain::{EmailAddress, Event, EventContext};
use crate::store::rows::{from_millis, parse_stored, to_millis};
use crate::store::{Backend, Doing, Store, StoreError};

/// An outbox row claimed for delivery, by the channel it leaves by.
#[derive(Debug, Clone)]
pub enum Claimed {
    Email(OutboxJob),
    Webhook(WebhookJob),
    /// The text of a notification, to its recipient's phone.
    Sms(OutboxJob),
    /// A mail about no ticket, to one person (`my_tickets`).
    Personal(PersonalJob),
}

/// A mail about no ticket, claimed for delivery.
#[derive(Debug, Clone)]
pub struct PersonalJob {
    pub id: i64,
    pub event: Event,
    pub context: EventContext,
    pub recipient: EmailAddress,
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
}

impl Store {
    /// Claims the next due mail notification for `lease`, or `None` when none is due.
    /// Rows of the other channels are left to [`Store::claim_delivery`].
    pub async fn claim_notification(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        claimed_by: &str,
    ) -> Result<Option<OutboxJob>, StoreError> {
        Ok(
            match self
                .claim_of(now, lease, claimed_by, Channel::Email)
                .await?
            {
                Some(Claimed::Email(job)) => Some(job),
                Some(Claimed::Webhook(_) | Claimed::Sms(_) | Claimed::Personal(_)) | None => None,
            },
        )
    }

    /// Claims the next due outbox row of `channel` (of any, mail first, with `None`) for
    /// `lease`, or `None` when nothing is due. A row whose lease ran out (its worker died
    /// mid-send) is due again.
    pub async fn claim_delivery(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        claimed_by: &str,
        channel: Option<Channel>,
    ) -> Result<Option<Claimed>, StoreError> {
        let Some(channel) = channel else {
            for channel in Channel::ALL {
                if let Some(claimed) = self.claim_of(now, lease, claimed_by, channel).await? {
                    return Ok(Some(claimed));
                }
            }
            return Ok(None);
        };
        self.claim_of(now, lease, claimed_by, channel).await
    }

    /// Claims the next due row of `channel`: one whose lease ran out first (its worker
    /// died mid-send), else the pending one due the longest, in queue order.
    async fn claim_of(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        claimed_by: &str,
        channel: Channel,
    ) -> Result<Option<Claimed>, StoreError> {
        let first = self
            .claim_group(now, lease, claimed_by, channel, 1)
            .await?
            .into_iter()
            .next();
        first.transpose().map_err(|unreadable| unreadable.error)
    }

    /// Claims up to `limit` due rows of `channel` in one statement: rows whose lease ran
    /// out (their worker died mid-send) before pending ones, each kind due the longest
    /// first. They come back in queue order: when each was due, then by id. A worker that sends many rows takes them a group at a
    /// time, so that the claims cost one write for the group, not one each (on SQLite, a
    /// write waits its turn behind the intake's batches).
    pub async fn claim_group(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        claimed_by: &str,
        channel: Channel,
        limit: u32,
    ) -> Result<Vec<Result<Claimed, Unreadable>>, StoreError> {
        let now_ms = to_millis(now);
        if self.backend == Backend::Sqlite && !self.any_due(channel, now_ms).await? {
            return Ok(Vec::new());
        }
        // Each common table reads from the index `outbox_claim` (channel, status,
        // next_attempt_at, id) in its order and stops at the limit, however long the
        // queue: a claim costs the same with ten rows due or a hundred thousand. On
        // PostgreSQL, instances claim side by side: a row another worker is claiming is
        // skipped, not waited for. SQLite has one writer at a time, so the plain reads are
        // enough there; the due condition is checked again on the row itself all the
        // same, so that a row is never claimed twice whatever the isolation. `$lock` goes
        // after each LIMIT. The ticket's number comes back with the row.
        macro_rules! claim {
            ($lock:literal) => {
                concat!(
                    "WITH expired AS (SELECT id FROM outbox WHERE channel = $4 AND status = 'sending' \
                       AND lease_until < $1 ORDER BY id LIMIT $5",
                    $lock,
                    "), due AS (SELECT id FROM outbox WHERE channel = $4 AND status = 'pending' \
                       AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $5",
                    $lock,
                    ") UPDATE outbox SET status = 'sending', lease_until = $2, claimed_by = $3, attempts = attempts + 1 \
                     WHERE id IN (SELECT id FROM expired UNION ALL SELECT id FROM due LIMIT $5) \
                     AND ((status = 'pending' AND next_attempt_at <= $1) OR (status = 'sending' AND lease_until < $1)) \
                     RETURNING id, event, context, recipient, attempts, ticket_id, article_id, created_at, \
                     ticket_status, ticket_title, ticket_priority, ticket_resolved_at, recipient_name, channel, \
                     next_attempt_at, \
                     (SELECT number FROM tickets WHERE tickets.id = outbox.ticket_id) AS ticket_number"
                )
            };
        }
        let sql = match self.backend {
            Backend::Postgres => claim!(" FOR UPDATE SKIP LOCKED"),
            Backend::Sqlite => claim!(""),
        };
        let rows = sqlx::query(sql)
            .bind(now_ms)
            .bind(to_millis(now + lease))
            .bind(claimed_by.to_string())
            .bind(channel.as_str())
            .bind(i64::from(limit.max(1)))
            .fetch_all(&mut *self.conn().await?)
            .await
            .doing("claiming notifications")?;
        let mut claimed = rows
            .iter()
            .map(|row| {
                let id: i64 = row.try_get("id").doing("reading a notification")?;
                let due: i64 = row
                    .try_get("next_attempt_at")
                    .doing("reading a notification")?;
                let claimed = claimed_from_row(row).map_err(|error| Unreadable { id, error });
                Ok(((due, id), claimed))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        claimed.sort_by_key(|(order, _)| *order);
        Ok(claimed.into_iter().map(|(_, c)| c).collect())
    }
}

impl Store {
    /// Whether a row of `channel` is due at `now_ms`: pending and due, or claimed by a
    /// worker whose lease ran out. A read, which SQLite serves beside a writer: the claim
    /// is an `UPDATE`, which waits for the write lock even when it finds nothing, behind
    /// the intake's batch, in busy_timeout's sleeps, holding one of the pool's four
    /// connections meanwhile. The outbox's seven senders look four times a second when
    /// idle: while mail was ingested, the portal's pages waited for a connection
    /// (BENCHMARKS.md, the portal).
    async fn any_due(&self, channel: Channel, now_ms: i64) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT CASE WHEN EXISTS (SELECT 1 FROM outbox WHERE channel = $1 \
               AND status = 'pending' AND next_attempt_at <= $2) \
             OR EXISTS (SELECT 1 FROM outbox WHERE channel = $1 AND status = 'sending' \
               AND lease_until < $2) THEN 1 ELSE 0 END AS due",
        )
        .bind(channel.as_str())
        .bind(now_ms)
        .fetch_one(&mut *self.conn().await?)
        .await
        .doing("looking for due notifications")?;
        let due: i64 = row.try_get("due").doing("looking for due notifications")?;
        Ok(due != 0)
    }
}

/// A claimed row that cannot be read back as a notification (a stored value that no
/// longer parses): the worker gives it up with the reason, rather than leave it to hold
/// up the rows claimed with it.
#[derive(Debug, thiserror::Error)]
#[error("notification {id} cannot be read: {error}")]
pub struct Unreadable {
    pub id: i64,
    #[source]
    pub error: StoreError,
}

/// The claimed row `row` of [`Store::claim_group`], by its channel.
fn claimed_from_row(row: &sqlx::any::AnyRow) -> Result<Claimed, StoreError> {
    let ticket_id: Option<i64> = row.try_get("ticket_id").doing("reading a notification")?;
    let number: Option<String> = match ticket_id {
        Some(_) => Some(
            row.try_get::<Option<String>, _>("ticket_number")
                .doing("reading a ticket number")?
                .ok_or_else(|| {
                    StoreError::Corrupt("a notification of a ticket that is gone".into())
                })?,
        ),
        None => None,
    };
    let channel: String = row.try_get("channel").doing("reading a notification")?;
    if channel == Channel::Webhook.as_str() {
        return Ok(Claimed::Webhook(WebhookJob::from_row(
            row,
            number.as_deref(),
        )?));
    }
    let recipient: String = row.try_get("recipient").doing("reading a notification")?;
    let recipient = EmailAddress::parse(&recipient)
        .map_err(|_| StoreError::Corrupt(format!("recipient {recipient:?}")))?;
    let event: String = row.try_get("event").doing("reading a notification")?;
    let event: Event = parse_stored("event", &event)?;
    let context: Option<String> = row.try_get("context").doing("reading a notification")?;
    let context = match context {
        Some(json) => serde_json::from_str(&json)
            .map_err(|e| StoreError::Corrupt(format!("outbox context {json:?}: {e}")))?,
        None => EventContext::default(),
    };
    let attempts = row
        .try_get::<i64, _>("attempts")
        .doing("reading a notification")?
        .max(0) as u32;
    let created_at = from_millis(row.try_get("created_at").doing("reading a notification")?)?;
    let id: i64 = row.try_get("id").doing("reading a notification")?;
    let (Some(ticket_id), Some(number)) = (ticket_id, number) else {
        if !event.about_a_ticket() {
            return Ok(Claimed::Personal(PersonalJob {
                id,
                event,
                context,
                recipient,
                attempts,
                created_at,
            }));
        }
        return Err(StoreError::Corrupt(
            "an email notification without a ticket".into(),
        ));
    };
    let job = OutboxJob {
        id,
        event,
        context,
        recipient,
        attempts,
        ticket_id,
        ticket: parse_stored("number", &number)?,
        article_id: row.try_get("article_id").doing("reading a notification")?,
        created_at,
        facts: TicketFacts::from_row(row)?,
        recipient_name: row
            .try_get("recipient_name")
            .doing("reading a notification")?,
    };
    Ok(if channel == Channel::Sms.as_str() {
        Claimed::Sms(job)
    } else {
        Claimed::Email(job)
    })
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, Utc};
    use sqlx::{Connection, Executor};

    use crate::store::{Channel, Store};

    /// An idle lane's look writes nothing: while another connection holds SQLite's write
    /// lock (an intake's batch), a claim that finds nothing due answers at once. As an
    /// `UPDATE` it waited for the lock (busy_timeout, 15 s) and then failed.
    #[tokio::test]
    async fn a_claim_with_nothing_due_does_not_wait_for_the_write_lock() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("claim.db").display());
        let store = Store::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        let mut batch = sqlx::AnyConnection::connect(&url).await.unwrap();
        batch.execute("BEGIN IMMEDIATE").await.unwrap();
        for channel in Channel::ALL {
            let claim = store.claim_group(Utc::now(), Duration::minutes(5), "test", channel, 64);
            let claimed = tokio::time::timeout(std::time::Duration::from_secs(5), claim)
                .await
                .unwrap_or_else(|_| panic!("the {channel:?} claim waited for the write lock"))
                .unwrap();
            assert!(claimed.is_empty(), "{channel:?}: nothing is due");
        }
        batch.execute("ROLLBACK").await.unwrap();
        store.close().await;
    }
}
