//! Reading tickets: by number, by threading reference, and as lists.

use sqlx::Row;

use super::{
    ArticleRecord, AttachmentRecord, Doing, Store, StoreError, TicketDetails, TicketRecord,
    TicketSummary,
};
use crate::domain::{EmailAddress, Status, TicketNumber};

impl Store {
    /// The ticket with this number, with its observers.
    pub async fn ticket_by_number(
        &self,
        number: &TicketNumber,
    ) -> Result<Option<TicketRecord>, StoreError> {
        const SQL: &str = "SELECT t.*, f.number AS follow_up_number FROM tickets t \
             LEFT JOIN tickets f ON f.id = t.follow_up_of WHERE t.number = $1";
        let row = sqlx::query(SQL)
            .bind(number.as_str().to_string())
            .fetch_optional(&mut *self.conn().await?)
            .await
            .doing("looking up a ticket by number")?;
        let Some(row) = row else { return Ok(None) };
        let mut ticket = TicketRecord::from_row(&row)?;
        ticket.observers = self.observers(ticket.id).await?;
        Ok(Some(ticket))
    }

    async fn observers(&self, ticket_id: i64) -> Result<Vec<EmailAddress>, StoreError> {
        let rows = sqlx::query(
            "SELECT email FROM observers WHERE ticket_id = $1 ORDER BY added_at, email",
        )
        .bind(ticket_id)
        .fetch_all(&mut *self.conn().await?)
        .await
        .doing("reading a ticket's observers")?;
        rows.iter()
            .map(|r| {
                let email: String = r.try_get("email").doing("reading an observer")?;
                EmailAddress::parse(&email)
                    .map_err(|_| StoreError::Corrupt(format!("observer {email:?}")))
            })
            .collect()
    }

    /// The ticket a Message-ID belongs to (a customer's mail or one of our notifications).
    /// The first ticket that recorded the id wins: a later mail reusing it (a broken
    /// mailer, or someone copying a Message-ID) cannot pull replies away from that ticket.
    /// Within one millisecond the older ticket wins, so that both backends pick the same.
    pub async fn ticket_for_message_id(
        &self,
        message_id: &str,
    ) -> Result<Option<TicketNumber>, StoreError> {
        let row = sqlx::query(
            "SELECT t.number FROM thread_refs r JOIN tickets t ON t.id = r.ticket_id \
             WHERE r.message_id = $1 ORDER BY r.created_at, r.ticket_id LIMIT 1",
        )
        .bind(super::storable(message_id))
        .fetch_optional(&mut *self.conn().await?)
        .await
        .doing("looking up a threading reference")?;
        row.map(|r| {
            let n: String = r.try_get("number").doing("reading a ticket number")?;
            super::parse_stored("number", &n)
        })
        .transpose()
    }

    /// Tickets, most recently updated first, optionally of one status: all of them. On a
    /// large database prefer [`Store::list_tickets_page`].
    pub async fn list_tickets(
        &self,
        status: Option<Status>,
    ) -> Result<Vec<TicketSummary>, StoreError> {
        let (tickets, _) = self.list_tickets_page(status, None).await?;
        Ok(tickets)
    }

    /// The `limit` tickets most recently updated (all with `None`), optionally of one
    /// status, and whether more match. Both forms walk an index in order and stop at the
    /// limit: a page of a million tickets costs what a page of a hundred does.
    pub async fn list_tickets_page(
        &self,
        status: Option<Status>,
        limit: Option<u32>,
    ) -> Result<(Vec<TicketSummary>, bool), StoreError> {
        // One more than asked tells whether more match; no limit is the largest one.
        let fetch = limit.map_or(i64::MAX, |l| i64::from(l) + 1);
        let rows =
            match status {
                Some(s) => sqlx::query(
                    "SELECT number, title, status, priority, requester, updated_at FROM tickets \
                 WHERE status = $1 ORDER BY updated_at DESC, id DESC LIMIT $2",
                )
                .bind(s.as_str().to_string())
                .bind(fetch)
                .fetch_all(&mut *self.conn().await?)
                .await,
                None => sqlx::query(
                    "SELECT number, title, status, priority, requester, updated_at FROM tickets \
                 ORDER BY updated_at DESC, id DESC LIMIT $1",
                )
                .bind(fetch)
                .fetch_all(&mut *self.conn().await?)
                .await,
            }
            .doing("listing tickets")?;
        let more = limit.is_some_and(|l| rows.len() as u64 > u64::from(l));
        let shown = rows.len().min(limit.map_or(usize::MAX, |l| l as usize));
        let tickets = rows[..shown]
            .iter()
            .map(TicketSummary::from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((tickets, more))
    }

    /// A ticket with every article and attachment, oldest article first.
    pub async fn ticket_details(
        &self,
        number: &TicketNumber,
    ) -> Result<Option<TicketDetails>, StoreError> {
        let Some(ticket) = self.ticket_by_number(number).await? else {
            return Ok(None);
        };
        let rows = sqlx::query("SELECT * FROM articles WHERE ticket_id = $1 ORDER BY id")
            .bind(ticket.id)
            .fetch_all(&mut *self.conn().await?)
            .await
            .doing("reading a ticket's articles")?;
        let mut articles = rows
            .iter()
            .map(ArticleRecord::from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let rows = sqlx::query(
            "SELECT a.* FROM attachments a JOIN articles r ON r.id = a.article_id \
             WHERE r.ticket_id = $1 ORDER BY a.id",
        )
        .bind(ticket.id)
        .fetch_all(&mut *self.conn().await?)
        .await
        .doing("reading a ticket's attachments")?;
        for row in &rows {
            let (article_id, attachment) = AttachmentRecord::from_row(row)?;
            if let Some(article) = articles.iter_mut().find(|a| a.id == article_id) {
                article.attachments.push(attachment);
            }
        }
        Ok(Some(TicketDetails { ticket, articles }))
    }
}

impl Store {
    /// One article, without its attachments.
    pub async fn article(&self, article_id: i64) -> Result<Option<ArticleRecord>, StoreError> {
        let row = sqlx::query("SELECT * FROM articles WHERE id = $1")
            .bind(article_id)
            .fetch_optional(&mut *self.conn().await?)
            .await
            .doing("reading an article")?;
        row.as_ref().map(ArticleRecord::from_row).transpose()
    }
}

impl Store {
    /// The files of one article.
    pub async fn article_attachments(
        &self,
        article_id: i64,
    ) -> Result<Vec<AttachmentRecord>, StoreError> {
        let rows = sqlx::query("SELECT * FROM attachments WHERE article_id = $1 ORDER BY id")
            .bind(article_id)
            .fetch_all(&mut *self.conn().await?)
            .await
            .doing("reading an article's attachments")?;
        rows.iter()
            .map(|r| AttachmentRecord::from_row(r).map(|(_, a)| a))
            .collect()
    }
}
