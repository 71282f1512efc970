//! The tickets one person may see, as the portal lists them: those they requested, those
//! they follow as an observer, and their organisation's unless private. Filtered by
//! status and by words of the title (or the number), newest first, a page at a time; the
//! names the people in copy go by on a ticket's page; and the mail of fresh links a person
//! asks for when theirs no longer opens.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::rows::{storable, to_millis};
use super::tickets::page_of;
use super::{Doing, Store, StoreError};
use crate::domain::{
    EmailAddress, Event, EventContext, Notification, Status, TicketNumber, TicketSummary,
};

/// What a person asks of their list.
#[derive(Debug, Clone, Default)]
pub struct VisibleFilter {
    /// Only these statuses; all when empty.
    pub statuses: Vec<Status>,
    /// Words of the title, or a ticket number.
    pub search: Option<String>,
    /// The page, from 0.
    pub page: u32,
    pub per_page: u32,
}

impl Store {
    /// A page of the tickets `person` may see (`organisation`: theirs, unless they write
    /// from a public mail domain), and whether more follow.
    pub async fn list_visible_tickets(
        &self,
        person: &EmailAddress,
        organisation: Option<&str>,
        filter: &VisibleFilter,
    ) -> Result<(Vec<TicketSummary>, bool), StoreError> {
        let mut sql = String::from(
            "SELECT t.number, t.title, t.status, t.priority, t.requester, t.updated_at FROM tickets t \
             WHERE (lower(t.requester) = $1 \
                    OR EXISTS (SELECT 1 FROM observers o WHERE o.ticket_id = t.id AND o.email = $1) \
                    OR (t.organisation = $2 AND t.private = 0))",
        );
        let mut next = 3;
        if !filter.statuses.is_empty() {
            let places: Vec<String> = (0..filter.statuses.len())
                .map(|i| format!("${}", next + i))
                .collect();
            next += filter.statuses.len();
            sql.push_str(&format!(" AND t.status IN ({})", places.join(", ")));
        }
        let search = filter
            .search
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        if search.is_some() {
            sql.push_str(&format!(
                " AND (t.number = ${} OR lower(t.title) LIKE ${} ESCAPE '\\')",
                next,
                next + 1
            ));
            next += 2;
        }
        sql.push_str(&format!(
            " ORDER BY t.updated_at DESC, t.id DESC LIMIT ${} OFFSET ${}",
            next,
            next + 1
        ));
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(person.key())
            // No organisation matches no ticket: an empty name is never stored.
            .bind(organisation.unwrap_or("").to_string());
        for status in &filter.statuses {
            query = query.bind(status.as_str().to_string());
        }
        if let Some(words) = search {
            query = query
                .bind(storable(&words.to_ascii_uppercase()))
                .bind(format!("%{}%", like_escaped(&words.to_lowercase())));
        }
        let per_page = filter.per_page.max(1);
        let rows = query
            .bind(i64::from(per_page) + 1)
            .bind(i64::from(filter.page) * i64::from(per_page))
            .fetch_all(&mut *self.conn().await?)
            .await
            .doing("listing a person's tickets")?;
        page_of(&rows, Some(per_page))
    }
}

impl Store {
    /// Queues the `portal_link` mail of fresh links for `person`, on the ticket they
    /// opened or follow that moved last (an open one before a closed one), and returns
    /// that ticket; `None`, and nothing queued, when they are on no ticket.
    pub async fn queue_portal_link(
        &self,
        person: &EmailAddress,
        at: DateTime<Utc>,
    ) -> Result<Option<TicketNumber>, StoreError> {
        // Read before the transaction: on SQLite, a transaction that reads and then writes
        // fails at once (no waiting) when another writer committed in between.
        let row = sqlx::query(
            "SELECT t.id, t.number FROM tickets t \
             WHERE lower(t.requester) = $1 \
                OR EXISTS (SELECT 1 FROM observers o WHERE o.ticket_id = t.id AND o.email = $1) \
             ORDER BY CASE WHEN t.status = $2 THEN 1 ELSE 0 END, t.updated_at DESC, t.id DESC \
             LIMIT 1",
        )
        .bind(person.key())
        .bind(Status::Closed.as_str())
        .fetch_optional(&mut *self.conn().await?)
        .await
        .doing("finding a person's latest ticket")?;
        let Some(row) = row else {
            return Ok(None);
        };
        let id: i64 = row.try_get("id").doing("reading a ticket")?;
        let number: String = row.try_get("number").doing("reading a ticket")?;
        let notification = Notification {
            event: Event::PortalLink,
            recipient: person.clone(),
            context: EventContext::default(),
        };
        let mut tx = self.pool.begin().await.doing("starting a transaction")?;
        super::outbox::queue_events(
            &mut tx,
            &self.webhooks,
            id,
            None,
            &[notification],
            to_millis(at),
        )
        .await?;
        tx.commit().await.doing("queueing fresh links")?;
        Ok(Some(super::rows::parse_stored("ticket number", &number)?))
    }

    /// The display names the headers gave the observers of ticket `ticket_id`, by
    /// lower-cased address; observers added without one are not listed.
    pub async fn observer_names(
        &self,
        ticket_id: i64,
    ) -> Result<std::collections::HashMap<String, String>, StoreError> {
        let rows = sqlx::query(
            "SELECT email, name FROM observers WHERE ticket_id = $1 AND name IS NOT NULL",
        )
        .bind(ticket_id)
        .fetch_all(&mut *self.conn().await?)
        .await
        .doing("reading the observers' names")?;
        rows.iter()
            .map(|r| {
                let email: String = r.try_get("email").doing("reading an observer")?;
                let name: String = r.try_get("name").doing("reading an observer's name")?;
                Ok((email, name))
            })
            .collect()
    }
}

/// `text` with the wildcards of LIKE taken literally.
pub(super) fn like_escaped(text: &str) -> String {
    storable(text)
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
