//! Received messages: whether one was handled before (same Message-ID and content), the
//! references replies are threaded by, and everything one message causes, written in one
//! transaction: the ticket or comment, its article and attachments, the message's
//! deduplication row, threading references and outbox rows. Either all of it is committed
//! or none.

use chrono::{DateTime, Utc};
use sqlx::{AnyConnection, Connection, Row};

use super::articles::insert_article;
use super::contacts::{Undeliverable, mark_undeliverable, save_language};
use super::rows::{optional_ticket_number, storable, to_millis};
use super::ticket_updates::{Change, delete_observer, update_fields};
use super::tickets::{insert_observer, insert_ticket, number_of, update_status};
use super::{Doing, Store, StoreError};
use crate::domain::{
    EmailAddress, NewArticle, NewTicket, Notification, Status, TicketFields, TicketNumber,
};

/// The identity of an inbound message, by which a second delivery is recognised.
#[derive(Debug, Clone)]
pub struct MessageRecord {
    /// The Message-ID, or empty when the mail had none.
    pub message_id: String,
    pub content_digest: String,
    /// Where the message came from (file path, Maildir entry, `stdin`).
    pub source: String,
}

/// Where the article goes.
#[derive(Debug, Clone)]
pub enum InboundWrite {
    /// Open a new ticket with the article as its first one.
    Open(Box<NewTicket>),
    /// Add a comment to a ticket, moving it to `new_status` when given, provided it is
    /// still in `expected_status` (else nothing is written: [`Committed::Stale`]).
    Comment {
        ticket_id: i64,
        expected_status: Status,
        new_status: Option<Status>,
        changes: CommentChanges,
    },
    /// Record a system note on a ticket (a bounce of a notification), notifying nobody.
    Note { ticket_id: i64 },
}

/// What a customer's command in a comment changes besides the status, each written only
/// if the ticket is still as the command was decided on (else nothing is written, as for a
/// stale status).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommentChanges {
    pub add_observers: Vec<EmailAddress>,
    pub remove_observers: Vec<EmailAddress>,
    pub fields: Option<Change<TicketFields>>,
    /// The language a person chose for their notifications.
    pub language: Option<(EmailAddress, String)>,
}

/// Everything one inbound message writes.
#[derive(Debug, Clone)]
pub struct InboundCommit {
    pub write: InboundWrite,
    pub article: NewArticle,
    pub notifications: Vec<Notification>,
    pub message: MessageRecord,
    pub at: DateTime<Utc>,
    /// A delivery report's verdict on one of our recipients, recorded with the report.
    pub undeliverable: Option<Undeliverable>,
}

/// What an earlier delivery of a message was, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EarlierDelivery {
    /// Never seen.
    None,
    /// The same Message-ID and content: handled before, on this ticket if it went to one.
    Same(Option<TicketNumber>),
    /// The Message-ID was seen with other content: a different mail.
    OtherContent,
}

/// What the commit did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Committed {
    Opened(TicketNumber),
    Commented(TicketNumber),
    Noted(TicketNumber),
    /// The same message was committed before (by another delivery or another instance).
    Duplicate(Option<TicketNumber>),
    /// The ticket changed status while the message was handled: nothing written; handling
    /// the message again decides on the new status.
    Stale(TicketNumber),
}

impl Store {
    /// The ticket a customer's Message-ID belongs to, read whole in one query (our own
    /// notifications' ids name their ticket and are verified, not looked up: see
    /// `pipeline::thread`). The first ticket that recorded the id wins: a later mail
    /// reusing it (a broken mailer, or someone copying a Message-ID) cannot pull replies
    /// away from that ticket. Within one millisecond the older ticket wins, so that both
    /// backends pick the same.
    pub async fn ticket_by_message_id(
        &self,
        message_id: &str,
    ) -> Result<Option<crate::domain::Ticket>, StoreError> {
        let mut conn = self.conn().await?;
        // The ticket is read by its key, not joined (see `TICKET_COLUMNS`). The mails that
        // thread are those that opened or commented a ticket: a delivery report's note
        // (`noted`) is not a message of the conversation.
        let sql = format!(
            "SELECT {} FROM tickets t WHERE t.id = (SELECT m.ticket_id FROM messages m \
             WHERE m.message_id = $1 AND m.outcome IN ('created', 'commented') \
             ORDER BY m.received_at, m.ticket_id LIMIT 1)",
            super::tickets::TICKET_COLUMNS
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(storable(message_id))
            .fetch_optional(&mut *conn)
            .await
            .doing("looking up a threading reference")?;
        super::tickets::with_observers(&mut conn, row).await
    }

    /// Whether this message was handled before: the same Message-ID with the same
    /// content (a second delivery), or with other content (a broken mailer reusing ids).
    /// One query for both when there is a Message-ID.
    pub async fn earlier_delivery(
        &self,
        message_id: &str,
        content_digest: &str,
    ) -> Result<EarlierDelivery, StoreError> {
        let mut conn = self.conn().await?;
        if message_id.is_empty() {
            // Mails without an id all share the empty one: only the content tells them apart.
            return Ok(
                match find_duplicate(&mut conn, message_id, content_digest).await? {
                    Some(ticket) => EarlierDelivery::Same(ticket),
                    None => EarlierDelivery::None,
                },
            );
        }
        let rows = sqlx::query(
            "SELECT m.content_digest, (SELECT t.number FROM tickets t WHERE t.id = m.ticket_id) \
             AS number FROM messages m WHERE m.message_id = $1",
        )
        .bind(storable(message_id))
        .fetch_all(&mut *conn)
        .await
        .doing("looking for an earlier delivery of the message")?;
        let mut earlier = EarlierDelivery::None;
        for row in rows {
            let digest: String = row.try_get("content_digest").doing("reading a digest")?;
            if digest == content_digest {
                return Ok(EarlierDelivery::Same(optional_ticket_number(
                    &row, "number",
                )?));
            }
            earlier = EarlierDelivery::OtherContent;
        }
        Ok(earlier)
    }

    /// Commits everything a message causes, or nothing. A message committed before (same
    /// Message-ID and content) gives [`Committed::Duplicate`] and writes nothing.
    ///
    /// In a [`super::Batch`] the message's writes are committed with the batch: in a
    /// savepoint of its transaction on PostgreSQL, straight into it on SQLite, where a
    /// message that fails part-way spoils the batch ([`StoreError::Spoiled`]).
    pub async fn commit_inbound(&self, commit: &InboundCommit) -> Result<Committed, StoreError> {
        let mut conn = self.conn().await?;
        if self.writes_in_place() {
            let why =
                match write_inbound(&mut conn, &self.webhooks, self.numbers.as_deref(), commit)
                    .await
                {
                    Ok(Written::Done(outcome)) => return Ok(outcome),
                    Ok(Written::Stale(_)) => "its ticket changed while it was handled".to_string(),
                    Ok(Written::Duplicate) => "it was committed meanwhile".to_string(),
                    Err(e) => e.to_string(),
                };
            self.spoil_batch();
            return Err(StoreError::Spoiled { why });
        }
        let mut tx = conn.begin().await.doing("starting a transaction")?;
        let written = write_inbound(&mut tx, &self.webhooks, self.numbers.as_deref(), commit)
            .await
            .map_err(|e| self.busy_in_batch(e))?;
        match written {
            Written::Done(outcome) => {
                tx.commit().await.doing("committing the message")?;
                self.mail_joined_batch(&mut conn).await?;
                tracing::debug!(?outcome, "committed");
                Ok(outcome)
            }
            Written::Stale(ticket_id) => {
                tx.rollback().await.doing("rolling back a stale comment")?;
                Ok(Committed::Stale(number_of(&mut *conn, ticket_id).await?))
            }
            Written::Duplicate => {
                tx.rollback().await.doing("rolling back a duplicate")?;
                let earlier = find_duplicate(
                    &mut conn,
                    &commit.message.message_id,
                    &commit.message.content_digest,
                )
                .await?;
                Ok(Committed::Duplicate(earlier.flatten()))
            }
        }
    }
}

/// What writing a message's rows gave.
enum Written {
    /// Everything is written.
    Done(Committed),
    /// The ticket `.0` to comment on was no longer as the message was decided on: what
    /// was written must be rolled back.
    Stale(i64),
    /// The same message was recorded by another delivery: what was written must be rolled
    /// back.
    Duplicate,
}

/// Writes everything `commit` causes on `tx`, the message's record last.
async fn write_inbound(
    tx: &mut AnyConnection,
    webhooks: &crate::domain::Subscriptions,
    numbers: Option<&super::ticket_numbers::NumberSource>,
    commit: &InboundCommit,
) -> Result<Written, StoreError> {
    let at = to_millis(commit.at);
    let Some((ticket_id, outcome)) = write_ticket(tx, numbers, commit, at).await? else {
        let InboundWrite::Comment { ticket_id, .. } = &commit.write else {
            unreachable!("only a comment waits for its ticket's status");
        };
        return Ok(Written::Stale(*ticket_id));
    };
    let article_id = write_article(tx, commit, ticket_id, at).await?;
    super::outbox::queue_events(
        tx,
        webhooks,
        ticket_id,
        Some(article_id),
        &commit.notifications,
        at,
    )
    .await?;
    if let Some(mark) = &commit.undeliverable {
        mark_undeliverable(tx, mark, at).await?;
    }
    if !record_message(tx, commit, &outcome, ticket_id, article_id, at).await? {
        return Ok(Written::Duplicate);
    }
    tracing::debug!(?outcome, article_id, "written");
    Ok(Written::Done(outcome))
}

/// Opens the ticket, or moves the one commented or noted; its id and what was done.
/// `None` when the ticket to comment on is no longer in the status the mail was decided
/// on: the caller rolls back.
async fn write_ticket(
    tx: &mut AnyConnection,
    numbers: Option<&super::ticket_numbers::NumberSource>,
    commit: &InboundCommit,
    at: i64,
) -> Result<Option<(i64, Committed)>, StoreError> {
    Ok(Some(match &commit.write {
        InboundWrite::Open(ticket) => {
            let (id, number) = insert_ticket(tx, numbers, ticket, commit.at).await?;
            (id, Committed::Opened(number))
        }
        InboundWrite::Comment {
            ticket_id,
            expected_status,
            new_status,
            changes,
        } => {
            let Some(number) =
                update_status(tx, *ticket_id, *expected_status, *new_status, at).await?
            else {
                return Ok(None);
            };
            if !apply_comment_changes(tx, *ticket_id, changes, at).await? {
                return Ok(None);
            }
            (*ticket_id, Committed::Commented(number))
        }
        InboundWrite::Note { ticket_id } => {
            sqlx::query("UPDATE tickets SET updated_at = $1 WHERE id = $2")
                .bind(at)
                .bind(*ticket_id)
                .execute(&mut *tx)
                .await
                .doing("updating a ticket")?;
            (
                *ticket_id,
                Committed::Noted(number_of(&mut *tx, *ticket_id).await?),
            )
        }
    }))
}

/// Writes what a command changes; `false` when the ticket was no longer as it was read.
async fn apply_comment_changes(
    tx: &mut AnyConnection,
    ticket_id: i64,
    changes: &CommentChanges,
    at: i64,
) -> Result<bool, StoreError> {
    if let Some(fields) = &changes.fields
        && !update_fields(tx, ticket_id, fields).await?
    {
        return Ok(false);
    }
    for observer in &changes.add_observers {
        if !insert_observer(tx, ticket_id, observer, None, at).await? {
            return Ok(false);
        }
    }
    for observer in &changes.remove_observers {
        if !delete_observer(tx, ticket_id, observer).await? {
            return Ok(false);
        }
    }
    if let Some((person, language)) = &changes.language {
        save_language(tx, person, language, at).await?;
    }
    Ok(true)
}

/// Writes the message's article and the description of a ticket it opened when that was
/// left to the database; the article's id. Replies thread to the message by its record
/// ([`record_message`]).
async fn write_article(
    tx: &mut AnyConnection,
    commit: &InboundCommit,
    ticket_id: i64,
    at: i64,
) -> Result<i64, StoreError> {
    let article_id = insert_article(tx, ticket_id, &commit.article, at).await?;
    if let InboundWrite::Open(ticket) = &commit.write
        && ticket.description.is_none()
    {
        sqlx::query(
            "UPDATE tickets SET description = (SELECT body_text FROM articles WHERE id = $1) WHERE id = $2",
        )
        .bind(article_id)
        .bind(ticket_id)
        .execute(&mut *tx)
        .await
        .doing("copying a ticket's description from its article")?;
    }
    Ok(article_id)
}

/// Records the message, last and complete: one statement instead of a placeholder row
/// updated at the end. A concurrent delivery of the same message (another instance) meets
/// the unique index here, waits for the first to commit, and finds it there: `false`, and
/// the caller rolls back all it wrote, its ticket number included.
async fn record_message(
    tx: &mut AnyConnection,
    commit: &InboundCommit,
    outcome: &Committed,
    ticket_id: i64,
    article_id: i64,
    at: i64,
) -> Result<bool, StoreError> {
    let outcome_name = match outcome {
        Committed::Opened(_) => "created",
        Committed::Commented(_) => "commented",
        _ => "noted",
    };
    let recorded = sqlx::query(
        "INSERT INTO messages (message_id, content_digest, outcome, source, received_at, ticket_id, article_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (message_id, content_digest) DO NOTHING",
    )
    .bind(storable(&commit.message.message_id))
    .bind(commit.message.content_digest.clone())
    .bind(outcome_name)
    .bind(storable(&commit.message.source))
    .bind(at)
    .bind(ticket_id)
    .bind(article_id)
    .execute(&mut *tx)
    .await
    .doing("recording the message")?;
    Ok(recorded.rows_affected() > 0)
}

/// The ticket an earlier delivery of the message went to (`Some(None)`: it went to none),
/// on a connection the caller holds.
async fn find_duplicate(
    conn: &mut AnyConnection,
    message_id: &str,
    content_digest: &str,
) -> Result<Option<Option<TicketNumber>>, StoreError> {
    let row = sqlx::query(
        "SELECT (SELECT t.number FROM tickets t WHERE t.id = m.ticket_id) AS number \
         FROM messages m WHERE m.message_id = $1 AND m.content_digest = $2",
    )
    .bind(storable(message_id))
    .bind(content_digest.to_string())
    .fetch_optional(conn)
    .await
    .doing("looking for an earlier delivery of the message")?;
    row.map(|r| optional_ticket_number(&r, "number"))
        .transpose()
}
