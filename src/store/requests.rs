//! Mails about a person rather than a ticket: the answer to a request for one's tickets
//! ("my tickets"), queued with the request's record in one transaction (a second delivery
//! is a duplicate, as any other), and the weekly digest, queued at most once a week per
//! contact whoever runs the job.

use chrono::{DateTime, Utc};
use sqlx::Connection;

use super::outbox::stored_context;
use super::rows::{storable, to_millis};
use super::{Doing, MessageRecord, Store, StoreError};
use crate::domain::{EmailAddress, Event, EventContext};
use sqlx::Row;

impl Store {
    /// Records `message`, a request for its sender's tickets, and queues the `my_tickets`
    /// mail to `recipient` in `language`. `false` when the message was recorded before:
    /// nothing is queued twice.
    pub async fn commit_my_tickets_request(
        &self,
        message: &MessageRecord,
        recipient: &EmailAddress,
        language: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let at = to_millis(at);
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await.doing("starting a transaction")?;
        let recorded = sqlx::query(
            "INSERT INTO messages (message_id, content_digest, outcome, source, received_at) \
             VALUES ($1, $2, 'answered', $3, $4) ON CONFLICT (message_id, content_digest) DO NOTHING",
        )
        .bind(storable(&message.message_id))
        .bind(message.content_digest.clone())
        .bind(storable(&message.source))
        .bind(at)
        .execute(&mut *tx)
        .await
        .doing("recording the message")?;
        if recorded.rows_affected() == 0 {
            tx.rollback().await.doing("rolling back a duplicate")?;
            return Ok(false);
        }
        let context = EventContext {
            language: Some(language.to_string()),
            ..EventContext::default()
        };
        sqlx::query(
            "INSERT INTO outbox (event, recipient, context, next_attempt_at, created_at, channel) \
             VALUES ($1, $2, $3, $4, $4, 'email')",
        )
        .bind(Event::MyTickets.as_str())
        .bind(recipient.as_str().to_string())
        .bind(stored_context(&context))
        .bind(at)
        .execute(&mut *tx)
        .await
        .doing("queueing the answer")?;
        tx.commit().await.doing("committing the request")?;
        Ok(true)
    }
}

impl Store {
    /// The contacts who asked for the weekly digest whose key sorts after `after`, at most
    /// `limit`, in order: a job goes through them page by page.
    pub async fn weekly_digest_contacts(
        &self,
        after: &str,
        limit: i64,
    ) -> Result<Vec<EmailAddress>, StoreError> {
        let rows = sqlx::query(
            "SELECT email FROM contacts WHERE digest = 'weekly' AND email > $1 ORDER BY email LIMIT $2",
        )
        .bind(after.to_string())
        .bind(limit)
        .fetch_all(&mut *self.conn().await?)
        .await
        .doing("listing the contacts of the weekly digest")?;
        rows.iter()
            .map(|r| {
                let email: String = r.try_get("email").doing("reading a contact")?;
                EmailAddress::parse(&email)
                    .map_err(|_| StoreError::Corrupt(format!("contact {email:?}")))
            })
            .collect()
    }

    /// Queues the weekly digest of `person` for `week` (`2026-W49`), unless it was queued
    /// for that week already, by this run or another instance's: whether it was queued now.
    /// The contact's row is marked in the same transaction, so two runs at the same tick
    /// queue it once.
    pub async fn queue_weekly_digest(
        &self,
        person: &EmailAddress,
        week: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let at = to_millis(at);
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await.doing("starting a transaction")?;
        let marked = sqlx::query(
            "UPDATE contacts SET digest_week = $1 \
             WHERE email = $2 AND digest = 'weekly' AND COALESCE(digest_week, '') <> $1",
        )
        .bind(week.to_string())
        .bind(person.key())
        .execute(&mut *tx)
        .await
        .doing("marking a contact's weekly digest")?;
        if marked.rows_affected() == 0 {
            tx.rollback()
                .await
                .doing("rolling back a digest already queued")?;
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO outbox (event, recipient, next_attempt_at, created_at, channel) \
             VALUES ($1, $2, $3, $3, 'email')",
        )
        .bind(Event::WeeklyDigest.as_str())
        .bind(person.as_str().to_string())
        .bind(at)
        .execute(&mut *tx)
        .await
        .doing("queueing a weekly digest")?;
        tx.commit().await.doing("committing a weekly digest")?;
        Ok(true)
    }
}
