//! Tickets found by what an integration asks for (status, requester, organisation, type,
//! priority, updated since, words of the title or a number), a page at a time in order of
//! their last update. Pages go by keyset: a page ends at a (last update, id) that the next
//! one starts after, so that paging through a desk that keeps moving neither repeats nor
//! skips a ticket, and a page costs the same deep in the list as on top.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::rows::{storable, to_millis};
use super::tickets::summary_from_row;
use super::visible::like_escaped;
use super::{Doing, Store, StoreError};
use crate::domain::{EmailAddress, Priority, Status, TicketSummary, TicketType};

/// What a search asks for; every field set narrows it.
#[derive(Debug, Clone, Default)]
pub struct TicketQuery {
    pub status: Option<Status>,
    /// Only the tickets still to be worked on: neither resolved nor closed.
    pub open_only: bool,
    pub requester: Option<EmailAddress>,
    pub organisation: Option<String>,
    pub ticket_type: Option<TicketType>,
    pub priority: Option<Priority>,
    pub updated_since: Option<DateTime<Utc>>,
    /// Words of the title, or a ticket number.
    pub search: Option<String>,
    /// Least recently updated first; most recently by default.
    pub oldest_first: bool,
    /// Where the previous page ended: its last ticket's update (ms) and id.
    pub after: Option<(i64, i64)>,
    pub limit: u32,
}

impl Store {
    /// A page of the tickets `query` asks for, and where the next page starts when more
    /// match.
    pub async fn query_tickets(
        &self,
        query: &TicketQuery,
    ) -> Result<(Vec<TicketSummary>, Option<(i64, i64)>), StoreError> {
        let mut conditions: Vec<String> = Vec::new();
        let mut texts: Vec<String> = Vec::new();
        let place = |texts: &mut Vec<String>, value: String| {
            texts.push(value);
            format!("${}", texts.len())
        };
        if let Some(status) = query.status {
            let p = place(&mut texts, status.as_str().to_string());
            conditions.push(format!("status = {p}"));
        }
        if query.open_only {
            // Written as the partial index `tickets_open` is, so that it serves the query.
            conditions.push("status NOT IN ('resolved', 'closed')".to_string());
        }
        if let Some(requester) = &query.requester {
            let p = place(&mut texts, requester.key());
            conditions.push(format!("lower(requester) = {p}"));
        }
        if let Some(organisation) = &query.organisation {
            let p = place(&mut texts, organisation.to_lowercase());
            conditions.push(format!("organisation = {p}"));
        }
        if let Some(kind) = query.ticket_type {
            let p = place(&mut texts, kind.as_str().to_string());
            conditions.push(format!("ticket_type = {p}"));
        }
        if let Some(priority) = query.priority {
            let p = place(&mut texts, priority.as_str().to_string());
            conditions.push(format!("priority = {p}"));
        }
        if let Some(words) = query
            .search
            .as_deref()
            .map(str::trim)
            .filter(|w| !w.is_empty())
        {
            let number = place(&mut texts, storable(&words.to_ascii_uppercase()));
            let like = place(
                &mut texts,
                format!("%{}%", like_escaped(&words.to_lowercase())),
            );
            conditions.push(format!(
                "(number = {number} OR lower(title) LIKE {like} ESCAPE '\\')"
            ));
        }
        // The numbers follow the texts.
        let mut numbers: Vec<i64> = Vec::new();
        let at = |numbers: &mut Vec<i64>, value: i64| {
            numbers.push(value);
            format!("${}", texts.len() + numbers.len())
        };
        if let Some(since) = query.updated_since {
            let p = at(&mut numbers, to_millis(since));
            conditions.push(format!("updated_at >= {p}"));
        }
        let (order, beyond) = if query.oldest_first {
            ("ASC", ">")
        } else {
            ("DESC", "<")
        };
        if let Some((updated, id)) = query.after {
            let u = at(&mut numbers, updated);
            let i = at(&mut numbers, id);
            conditions.push(format!(
                "(updated_at {beyond} {u} OR (updated_at = {u} AND id {beyond} {i}))"
            ));
        }
        let limit = at(&mut numbers, i64::from(query.limit.max(1)) + 1);
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let sql = format!(
            "SELECT id, number, title, status, priority, requester, updated_at FROM tickets \
             {filter} ORDER BY updated_at {order}, id {order} LIMIT {limit}"
        );
        let mut statement = sqlx::query(sqlx::AssertSqlSafe(sql));
        for text in texts {
            statement = statement.bind(text);
        }
        for number in numbers {
            statement = statement.bind(number);
        }
        let rows = statement
            .fetch_all(&mut *self.conn().await?)
            .await
            .doing("searching tickets")?;
        let shown = rows.len().min(query.limit.max(1) as usize);
        let next = if rows.len() > shown {
            let last = &rows[shown - 1];
            Some((
                last.try_get("updated_at").doing("reading a ticket")?,
                last.try_get("id").doing("reading a ticket")?,
            ))
        } else {
            None
        };
        let tickets = rows[..shown]
            .iter()
            .map(summary_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok((tickets, next))
    }
}
