//! Writing what one inbound message causes, in one transaction: the ticket or comment, its
//! article and attachments, the message's deduplication row, threading references and the
//! outbox rows. Either all of it is committed or none.

use chrono::{DateTime, Utc};
use sqlx::{Any, AnyConnection, Connection, Row};

use super::actions::update_status;
use super::{Doing, Store, StoreError, storable, storable_opt, to_millis};
use crate::domain::{
    Direction, EmailAddress, Impact, Notification, Priority, Status, TicketNumber, TicketType,
    Urgency, Visibility,
};

/// A ticket to open.
#[derive(Debug, Clone)]
pub struct NewTicket {
    pub title: String,
    /// `None`: the text of the ticket's first article, copied by the database (for large
    /// mails, so that their text is not held twice in memory).
    pub description: Option<String>,
    pub ticket_type: TicketType,
    pub category: Option<String>,
    pub impact: Impact,
    pub urgency: Urgency,
    pub requester: EmailAddress,
    pub requester_name: Option<String>,
    pub organisation: Option<String>,
    pub language: String,
    /// The closed ticket this one continues, when a customer wrote to a closed ticket.
    pub follow_up_of: Option<i64>,
    pub observers: Vec<EmailAddress>,
}

/// A file to record on an article. Its bytes are already stored under `sha256`, or it was
/// refused and `refused_reason` says why.
#[derive(Debug, Clone)]
pub struct NewAttachment {
    pub filename: String,
    pub content_type: String,
    pub size: u64,
    pub sha256: Option<String>,
    pub content_id: Option<String>,
    pub inline: bool,
    pub refused_reason: Option<String>,
}

/// An article to add.
#[derive(Debug, Clone)]
pub struct NewArticle {
    pub author: EmailAddress,
    pub author_name: Option<String>,
    pub direction: Direction,
    pub visibility: Visibility,
    pub subject: String,
    pub body_text: String,
    pub body_html: Option<String>,
    /// The mail's whole text when `body_text` keeps only the new reply.
    pub body_original: Option<String>,
    pub message_id: Option<String>,
    pub raw_ref: Option<String>,
    pub note: Option<String>,
    pub attachments: Vec<NewAttachment>,
}

impl NewArticle {
    /// An article written here (by an agent at the CLI, or by ticketgate itself) rather
    /// than received: text only, no files, no mail behind it.
    pub fn written(
        author: EmailAddress,
        author_name: Option<String>,
        direction: Direction,
        visibility: Visibility,
        subject: &str,
        body: &str,
    ) -> NewArticle {
        NewArticle {
            author,
            author_name,
            direction,
            visibility,
            subject: subject.to_string(),
            body_text: body.to_string(),
            body_html: None,
            body_original: None,
            message_id: None,
            raw_ref: None,
            note: None,
            attachments: Vec::new(),
        }
    }
}

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
        add_observers: Vec<EmailAddress>,
    },
    /// Record a system note on a ticket (a bounce of a notification), notifying nobody.
    Note { ticket_id: i64 },
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

/// An address that bounced one of our notifications: nothing more is sent to it until
/// `until`.
#[derive(Debug, Clone)]
pub struct Undeliverable {
    pub address: EmailAddress,
    pub until: DateTime<Utc>,
    pub reason: String,
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
            "SELECT m.content_digest, t.number FROM messages m LEFT JOIN tickets t ON t.id = m.ticket_id \
             WHERE m.message_id = $1",
        )
        .bind(storable(message_id))
        .fetch_all(&mut *conn)
        .await
        .doing("looking for an earlier delivery of the message")?;
        let mut earlier = EarlierDelivery::None;
        for row in rows {
            let digest: String = row.try_get("content_digest").doing("reading a digest")?;
            if digest == content_digest {
                let n: Option<String> = row.try_get("number").doing("reading a ticket number")?;
                let ticket = n.map(|n| super::parse_stored("number", &n)).transpose()?;
                return Ok(EarlierDelivery::Same(ticket));
            }
            earlier = EarlierDelivery::OtherContent;
        }
        Ok(earlier)
    }

    /// Commits everything a message causes, or nothing. A message committed before (same
    /// Message-ID and content) gives [`Committed::Duplicate`] and writes nothing.
    ///
    /// In a [`super::Batch`] the message's writes are a savepoint of the batch's
    /// transaction, committed with the batch.
    pub async fn commit_inbound(&self, commit: &InboundCommit) -> Result<Committed, StoreError> {
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await.doing("starting a transaction")?;
        let at = to_millis(commit.at);
        let (ticket_id, number, outcome) = match &commit.write {
            InboundWrite::Open(ticket) => {
                let (id, number) = insert_ticket(&mut tx, ticket, commit.at).await?;
                (id, number.clone(), Committed::Opened(number))
            }
            InboundWrite::Comment {
                ticket_id,
                expected_status,
                new_status,
                add_observers,
            } => {
                let Some(number) =
                    update_status(&mut tx, *ticket_id, *expected_status, *new_status, at).await?
                else {
                    tx.rollback().await.doing("rolling back a stale comment")?;
                    let number = number_of(&mut *conn, *ticket_id).await?;
                    return Ok(Committed::Stale(number));
                };
                for observer in add_observers {
                    insert_observer(&mut tx, *ticket_id, observer, at).await?;
                }
                (*ticket_id, number.clone(), Committed::Commented(number))
            }
            InboundWrite::Note { ticket_id } => {
                sqlx::query("UPDATE tickets SET updated_at = $1 WHERE id = $2")
                    .bind(at)
                    .bind(*ticket_id)
                    .execute(&mut *tx)
                    .await
                    .doing("updating a ticket")?;
                let number = number_of(&mut *tx, *ticket_id).await?;
                (*ticket_id, number.clone(), Committed::Noted(number))
            }
        };
        let article_id = insert_article(&mut tx, ticket_id, &commit.article, at).await?;
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
        if let Some(message_id) = &commit.article.message_id {
            sqlx::query(
                "INSERT INTO thread_refs (message_id, ticket_id, created_at) VALUES ($1, $2, $3)",
            )
            .bind(storable(message_id))
            .bind(ticket_id)
            .bind(at)
            .execute(&mut *tx)
            .await
            .doing("recording a threading reference")?;
        }
        super::outbox::queue_notifications(
            &mut tx,
            ticket_id,
            Some(article_id),
            &commit.notifications,
            at,
        )
        .await?;
        if let Some(mark) = &commit.undeliverable {
            super::contacts::mark_undeliverable(&mut tx, mark, at).await?;
        }
        let outcome_name = match outcome {
            Committed::Opened(_) => "created",
            Committed::Commented(_) => "commented",
            _ => "noted",
        };
        // The dedup row goes last, complete: one statement instead of a placeholder row
        // updated at the end. A concurrent delivery of the same message (another instance)
        // meets the unique index here, waits for the first to commit, and rolls back all
        // it wrote, its ticket number included.
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
        if recorded.rows_affected() == 0 {
            tx.rollback().await.doing("rolling back a duplicate")?;
            let earlier = find_duplicate(
                &mut conn,
                &commit.message.message_id,
                &commit.message.content_digest,
            )
            .await?;
            return Ok(Committed::Duplicate(earlier.flatten()));
        }
        tx.commit().await.doing("committing the message")?;
        tracing::debug!(ticket = %number, article_id, "committed");
        Ok(outcome)
    }
}

/// [`Store::find_duplicate`] on a connection the caller holds.
async fn find_duplicate(
    conn: &mut AnyConnection,
    message_id: &str,
    content_digest: &str,
) -> Result<Option<Option<TicketNumber>>, StoreError> {
    let row = sqlx::query(
        "SELECT t.number FROM messages m LEFT JOIN tickets t ON t.id = m.ticket_id \
         WHERE m.message_id = $1 AND m.content_digest = $2",
    )
    .bind(storable(message_id))
    .bind(content_digest.to_string())
    .fetch_optional(conn)
    .await
    .doing("looking for an earlier delivery of the message")?;
    row.map(|r| {
        let n: Option<String> = r.try_get("number").doing("reading a ticket number")?;
        n.map(|n| super::parse_stored("number", &n)).transpose()
    })
    .transpose()
}

async fn insert_ticket(
    tx: &mut AnyConnection,
    t: &NewTicket,
    at: DateTime<Utc>,
) -> Result<(i64, TicketNumber), StoreError> {
    let period = TicketNumber::period(at);
    let counter = sqlx::query(
        "INSERT INTO ticket_counters (period, last_value) VALUES ($1, 1) \
         ON CONFLICT (period) DO UPDATE SET last_value = ticket_counters.last_value + 1 RETURNING last_value",
    )
    .bind(period)
    .fetch_one(&mut *tx)
    .await
    .doing("allocating a ticket number")?;
    let counter: i64 = counter
        .try_get("last_value")
        .doing("reading the ticket counter")?;
    let number = TicketNumber::new(at, counter.max(1) as u64);
    let millis = to_millis(at);
    let row = sqlx::query(
        "INSERT INTO tickets (number, title, description, ticket_type, category, impact, urgency, priority, \
         status, requester, requester_name, organisation, language, follow_up_of, created_at, updated_at, status_since) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15, $15) RETURNING id",
    )
    .bind(number.as_str().to_string())
    .bind(storable(&t.title))
    .bind(storable(t.description.as_deref().unwrap_or("")))
    .bind(t.ticket_type.as_str())
    .bind(storable_opt(t.category.as_deref()))
    .bind(t.impact.as_str())
    .bind(t.urgency.as_str())
    .bind(Priority::derive(t.impact, t.urgency).as_str())
    .bind(Status::New.as_str())
    .bind(t.requester.as_str().to_string())
    .bind(storable_opt(t.requester_name.as_deref()))
    .bind(storable_opt(t.organisation.as_deref()))
    .bind(t.language.clone())
    .bind(t.follow_up_of)
    .bind(millis)
    .fetch_one(&mut *tx)
    .await
    .doing("inserting a ticket")?;
    let id: i64 = row.try_get("id").doing("reading the new ticket id")?;
    for observer in &t.observers {
        insert_observer(tx, id, observer, millis).await?;
    }
    Ok((id, number))
}

/// Adds `email` to the ticket's observers; whether it was new to them (an address already
/// there is left as it is).
pub(super) async fn insert_observer(
    tx: &mut AnyConnection,
    ticket_id: i64,
    email: &EmailAddress,
    at: i64,
) -> Result<bool, StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO observers (ticket_id, email, added_at) VALUES ($1, $2, $3) \
         ON CONFLICT (ticket_id, email) DO NOTHING",
    )
    .bind(ticket_id)
    .bind(email.key())
    .bind(at)
    .execute(&mut *tx)
    .await
    .doing("adding an observer")?;
    Ok(inserted.rows_affected() > 0)
}

/// Marks the ticket updated (and moves its status), returning its number.
/// The number of ticket `ticket_id`.
async fn number_of<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    ticket_id: i64,
) -> Result<TicketNumber, StoreError> {
    let row = sqlx::query("SELECT number FROM tickets WHERE id = $1")
        .bind(ticket_id)
        .fetch_one(executor)
        .await
        .doing("reading a ticket number")?;
    let n: String = row.try_get("number").doing("reading a ticket number")?;
    super::parse_stored("number", &n)
}

pub(super) async fn insert_article(
    tx: &mut AnyConnection,
    ticket_id: i64,
    a: &NewArticle,
    at: i64,
) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "INSERT INTO articles (ticket_id, author, author_name, direction, visibility, subject, body_text, \
         body_html, message_id, raw_ref, note, created_at, body_original) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
    )
    .bind(ticket_id)
    .bind(a.author.as_str().to_string())
    .bind(storable_opt(a.author_name.as_deref()))
    .bind(a.direction.as_str())
    .bind(a.visibility.as_str())
    .bind(storable(&a.subject))
    .bind(storable(&a.body_text))
    .bind(storable_opt(a.body_html.as_deref()))
    .bind(storable_opt(a.message_id.as_deref()))
    .bind(storable_opt(a.raw_ref.as_deref()))
    .bind(storable_opt(a.note.as_deref()))
    .bind(at)
    .bind(storable_opt(a.body_original.as_deref()))
    .fetch_one(&mut *tx)
    .await
    .doing("inserting an article")?;
    let article_id: i64 = row.try_get("id").doing("reading the new article id")?;
    for f in &a.attachments {
        sqlx::query(
            "INSERT INTO attachments (article_id, filename, content_type, size, sha256, content_id, inline, refused_reason) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(article_id)
        .bind(storable(&f.filename))
        .bind(storable(&f.content_type))
        .bind(f.size as i64)
        .bind(f.sha256.clone())
        .bind(storable_opt(f.content_id.as_deref()))
        .bind(i64::from(f.inline))
        .bind(storable_opt(f.refused_reason.as_deref()))
        .execute(&mut *tx)
        .await
        .doing("recording an attachment")?;
    }
    Ok(article_id)
}
