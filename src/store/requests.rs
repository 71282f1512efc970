//! Requests answered by mail without a ticket: a person asking for their tickets ("my
//! tickets"). The message is recorded (so that a second delivery is a duplicate, as any
//! other) and its answer queued, about no ticket, in one transaction.

use chrono::{DateTime, Utc};
use sqlx::Connection;

use super::outbox::stored_context;
use super::rows::{storable, to_millis};
use super::{Doing, MessageRecord, Store, StoreError};
use crate::domain::{EmailAddress, Event, EventContext};

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
