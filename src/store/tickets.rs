//! The ticket aggregate: reading tickets (by number, as lists, with their history) and the
//! writes every writer shares: opening one, moving its status (with the dates that go with
//! it), adding observers.

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, Row};

use super::rows::{
    address, bind_each, from_millis, get, list_placeholders, opt_millis, parse_stored, storable,
    storable_opt, ticket_number, to_millis,
};
use super::{Doing, Store, StoreError};
use crate::domain::{
    EmailAddress, IncidentDetails, NewTicket, Priority, Status, Ticket, TicketDetails,
    TicketNumber, TicketSummary,
};

/// A ticket's columns as `ticket_from_row` reads them, from `tickets t`: its own, and the
/// number of the ticket it follows up. That one is read by its key in a subquery, not
/// joined: PostgreSQL keeps a prepared statement's generic plan, made when `tickets` was
/// nearly empty, and the join it chose then scanned the whole table for each ticket read
/// until the statistics caught up (BENCHMARKS.md, PostgreSQL with three instances).
pub(super) const TICKET_COLUMNS: &str =
    "t.*, (SELECT f.number FROM tickets f WHERE f.id = t.follow_up_of) AS follow_up_number";

impl Store {
    /// The ticket with this number, with its observers.
    pub async fn ticket_by_number(
        &self,
        number: &TicketNumber,
    ) -> Result<Option<Ticket>, StoreError> {
        ticket_on(&mut *self.conn().await?, number).await
    }

    /// The tickets of `ids` that exist, with their observers, by id, in two reads
    /// whatever their number: what a group of notifications needs.
    pub async fn tickets_by_ids(
        &self,
        ids: &[i64],
    ) -> Result<std::collections::HashMap<i64, Ticket>, StoreError> {
        let mut tickets = std::collections::HashMap::new();
        if ids.is_empty() {
            return Ok(tickets);
        }
        let places = list_placeholders(ids.len(), 0);
        let mut conn = self.conn().await?;
        let query = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {TICKET_COLUMNS} FROM tickets t WHERE t.id IN ({places})"
        )));
        for row in bind_each(ids.iter().copied(), query)
            .fetch_all(&mut *conn)
            .await
            .doing("looking up tickets")?
        {
            let ticket = ticket_from_row(&row)?;
            tickets.insert(ticket.id, ticket);
        }
        let query = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT ticket_id, email FROM observers WHERE ticket_id IN ({places}) \
             ORDER BY added_at, email"
        )));
        for row in bind_each(ids.iter().copied(), query)
            .fetch_all(&mut *conn)
            .await
            .doing("reading tickets' observers")?
        {
            let id: i64 = row.try_get("ticket_id").doing("reading an observer")?;
            let email: String = row.try_get("email").doing("reading an observer")?;
            let email = EmailAddress::parse(&email)
                .map_err(|_| StoreError::Corrupt(format!("observer {email:?}")))?;
            if let Some(ticket) = tickets.get_mut(&id) {
                ticket.observers.push(email);
            }
        }
        Ok(tickets)
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
        page_of(&rows, limit)
    }

    /// Tickets not resolved or closed whose latest public article written by a person
    /// (not a system note) came from the customer side: the team owes them an answer. The
    /// `limit` most recently updated (all with `None`), and whether more match.
    pub async fn list_waiting_on_us(
        &self,
        limit: Option<u32>,
    ) -> Result<(Vec<TicketSummary>, bool), StoreError> {
        let fetch = limit.map_or(i64::MAX, |l| i64::from(l) + 1);
        let rows = sqlx::query(
            "SELECT t.number, t.title, t.status, t.priority, t.requester, t.updated_at FROM tickets t \
             WHERE t.status NOT IN ('resolved', 'closed') \
             AND (SELECT a.direction FROM articles a WHERE a.ticket_id = t.id \
                  AND a.visibility = 'public' AND a.direction IN ('inbound', 'outbound') \
                  ORDER BY a.id DESC LIMIT 1) = 'inbound' \
             ORDER BY t.updated_at DESC, t.id DESC LIMIT $1",
        )
        .bind(fetch)
        .fetch_all(&mut *self.conn().await?)
        .await
        .doing("listing tickets waiting on an answer")?;
        page_of(&rows, limit)
    }

    /// A ticket with every article and attachment, oldest article first.
    pub async fn ticket_details(
        &self,
        number: &TicketNumber,
    ) -> Result<Option<TicketDetails>, StoreError> {
        // One connection for the four statements: each acquisition of a pooled connection
        // is a round trip to its SQLite worker thread and back (BENCHMARKS.md, the JSON API).
        let mut conn = self.conn().await?;
        let Some(ticket) = ticket_on(&mut conn, number).await? else {
            return Ok(None);
        };
        let rows = sqlx::query("SELECT * FROM articles WHERE ticket_id = $1 ORDER BY id")
            .bind(ticket.id)
            .fetch_all(&mut *conn)
            .await
            .doing("reading a ticket's articles")?;
        let mut articles = rows
            .iter()
            .map(super::articles::article_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let rows = sqlx::query(
            "SELECT a.* FROM attachments a JOIN articles r ON r.id = a.article_id \
             WHERE r.ticket_id = $1 ORDER BY a.id",
        )
        .bind(ticket.id)
        .fetch_all(&mut *conn)
        .await
        .doing("reading a ticket's attachments")?;
        for row in &rows {
            let (article_id, attachment) = super::articles::attachment_from_row(row)?;
            if let Some(article) = articles.iter_mut().find(|a| a.id == article_id) {
                article.attachments.push(attachment);
            }
        }
        Ok(Some(TicketDetails { ticket, articles }))
    }
}

/// The ticket with this number, with its observers, read on `conn`.
async fn ticket_on(
    conn: &mut AnyConnection,
    number: &TicketNumber,
) -> Result<Option<Ticket>, StoreError> {
    let sql = format!("SELECT {TICKET_COLUMNS} FROM tickets t WHERE t.number = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(number.as_str().to_string())
        .fetch_optional(&mut *conn)
        .await
        .doing("looking up a ticket by number")?;
    with_observers(conn, row).await
}

/// The ticket of `row` (a `tickets` row with its `follow_up_number`), if any, with its
/// observers read on `conn`.
pub(super) async fn with_observers(
    conn: &mut AnyConnection,
    row: Option<AnyRow>,
) -> Result<Option<Ticket>, StoreError> {
    let Some(row) = row else { return Ok(None) };
    let mut ticket = ticket_from_row(&row)?;
    let rows =
        sqlx::query("SELECT email FROM observers WHERE ticket_id = $1 ORDER BY added_at, email")
            .bind(ticket.id)
            .fetch_all(&mut *conn)
            .await
            .doing("reading a ticket's observers")?;
    ticket.observers = rows
        .iter()
        .map(|r| {
            let email: String = r.try_get("email").doing("reading an observer")?;
            EmailAddress::parse(&email)
                .map_err(|_| StoreError::Corrupt(format!("observer {email:?}")))
        })
        .collect::<Result<_, _>>()?;
    Ok(Some(ticket))
}

/// Inserts ticket `t` on `tx`, numbered from `numbers` when there is one (see
/// `ticket_numbers.rs`); its id and number.
pub(super) async fn insert_ticket(
    tx: &mut AnyConnection,
    numbers: Option<&super::ticket_numbers::NumberSource>,
    t: &NewTicket,
    at: DateTime<Utc>,
) -> Result<(i64, TicketNumber), StoreError> {
    let number = super::ticket_numbers::next_number(tx, numbers, at).await?;
    let millis = to_millis(at);
    let row = sqlx::query(
        "INSERT INTO tickets (number, title, description, ticket_type, category, impact, urgency, priority, \
         status, requester, requester_name, organisation, language, follow_up_of, created_at, updated_at, status_since, \
         customer_reference, service_reference, impacted_users, incident_started_at, onsite_contact, onsite_phone, \
         onsite_availability) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15, $15, \
         $16, $17, $18, $19, $20, $21, $22) RETURNING id",
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
    .bind(storable_opt(t.details.customer_reference.as_deref()))
    .bind(storable_opt(t.details.service_reference.as_deref()))
    .bind(t.details.impacted_users.map(i64::from))
    .bind(t.details.incident_started_at.map(to_millis))
    .bind(storable_opt(t.details.onsite_contact.as_deref()))
    .bind(storable_opt(t.details.onsite_phone.as_deref()))
    .bind(storable_opt(t.details.onsite_availability.as_deref()))
    .fetch_one(&mut *tx)
    .await
    .doing("inserting a ticket")?;
    let id: i64 = row.try_get("id").doing("reading the new ticket id")?;
    for observer in &t.observers {
        insert_observer(tx, id, &observer.address, observer.name.as_deref(), millis).await?;
    }
    Ok((id, number))
}

/// Adds `email` to the ticket's observers; whether it was new to them (an address already
/// there is left as it is).
pub(super) async fn insert_observer(
    tx: &mut AnyConnection,
    ticket_id: i64,
    email: &EmailAddress,
    name: Option<&str>,
    at: i64,
) -> Result<bool, StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO observers (ticket_id, email, name, added_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (ticket_id, email) DO NOTHING",
    )
    .bind(ticket_id)
    .bind(email.key())
    .bind(storable_opt(name))
    .bind(at)
    .execute(&mut *tx)
    .await
    .doing("adding an observer")?;
    Ok(inserted.rows_affected() > 0)
}

/// The number of ticket `ticket_id`.
pub(super) async fn number_of<'e>(
    executor: impl sqlx::Executor<'e, Database = Any>,
    ticket_id: i64,
) -> Result<TicketNumber, StoreError> {
    let row = sqlx::query("SELECT number FROM tickets WHERE id = $1")
        .bind(ticket_id)
        .fetch_one(executor)
        .await
        .doing("reading a ticket number")?;
    ticket_number(&row, "number")
}

/// Moves ticket `ticket_id` to `new_status` (or only touches it) if it is still in
/// `expected`; its number, or `None` when another writer moved it first. The one place that
/// keeps the status's dates: `resolved_at` dates the current proposal (auto-close counts
/// from it), `closed_at` the current closing (the reopen window counts from it), and
/// `status_since` when the ticket entered its status (reminders count from it). A reopen
/// clears the first two.
pub(super) async fn update_status(
    tx: &mut sqlx::AnyConnection,
    ticket_id: i64,
    expected: Status,
    new_status: Option<Status>,
    at: i64,
) -> Result<Option<TicketNumber>, StoreError> {
    let status = new_status.unwrap_or(expected);
    let row = sqlx::query(
        "UPDATE tickets SET status = $1, updated_at = $2, \
         resolved_at = CASE WHEN $1 = 'resolved' AND status <> 'resolved' THEN $2 \
                            WHEN $1 IN ('resolved', 'closed') THEN resolved_at ELSE NULL END, \
         closed_at = CASE WHEN $1 = 'closed' AND status <> 'closed' THEN $2 \
                          WHEN $1 = 'closed' THEN closed_at ELSE NULL END, \
         status_since = CASE WHEN $1 <> status THEN $2 ELSE status_since END \
         WHERE id = $3 AND status = $4 RETURNING number",
    )
    .bind(status.as_str())
    .bind(at)
    .bind(ticket_id)
    .bind(expected.as_str())
    .fetch_optional(&mut *tx)
    .await
    .doing("updating a ticket")?;
    row.map(|r| ticket_number(&r, "number")).transpose()
}

/// Reads a row of `tickets` as listed.
/// A page of summaries from `rows`, fetched with one more than `limit` (no limit: all of
/// them): at most `limit`, and whether more matched.
pub(super) fn page_of(
    rows: &[AnyRow],
    limit: Option<u32>,
) -> Result<(Vec<TicketSummary>, bool), StoreError> {
    let more = limit.is_some_and(|l| rows.len() as u64 > u64::from(l));
    let shown = rows.len().min(limit.map_or(usize::MAX, |l| l as usize));
    let tickets = rows[..shown]
        .iter()
        .map(summary_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok((tickets, more))
}

pub(super) fn summary_from_row(row: &AnyRow) -> Result<TicketSummary, StoreError> {
    Ok(TicketSummary {
        number: parse_stored("number", &get::<String>(row, "number")?)?,
        title: get(row, "title")?,
        status: parse_stored("status", &get::<String>(row, "status")?)?,
        priority: parse_stored("priority", &get::<String>(row, "priority")?)?,
        requester: address("requester", &get::<String>(row, "requester")?)?,
        updated_at: from_millis(get(row, "updated_at")?)?,
    })
}

/// Reads a row of `tickets` joined with the number of the ticket it follows up (as
/// `follow_up_number`); observers are filled in by the caller.
fn ticket_from_row(row: &AnyRow) -> Result<Ticket, StoreError> {
    let follow_up: Option<String> = get(row, "follow_up_number")?;
    Ok(Ticket {
        id: get(row, "id")?,
        number: parse_stored("number", &get::<String>(row, "number")?)?,
        title: get(row, "title")?,
        description: get(row, "description")?,
        ticket_type: parse_stored("ticket_type", &get::<String>(row, "ticket_type")?)?,
        category: get(row, "category")?,
        impact: parse_stored("impact", &get::<String>(row, "impact")?)?,
        urgency: parse_stored("urgency", &get::<String>(row, "urgency")?)?,
        priority: parse_stored("priority", &get::<String>(row, "priority")?)?,
        status: parse_stored("status", &get::<String>(row, "status")?)?,
        requester: address("requester", &get::<String>(row, "requester")?)?,
        requester_name: get(row, "requester_name")?,
        organisation: get(row, "organisation")?,
        private: get::<i64>(row, "private")? != 0,
        details: IncidentDetails {
            customer_reference: get(row, "customer_reference")?,
            service_reference: get(row, "service_reference")?,
            impacted_users: get::<Option<i64>>(row, "impacted_users")?
                .and_then(|n| u32::try_from(n).ok()),
            incident_started_at: opt_millis(get(row, "incident_started_at")?)?,
            onsite_contact: get(row, "onsite_contact")?,
            onsite_phone: get(row, "onsite_phone")?,
            onsite_availability: get(row, "onsite_availability")?,
        },
        language: get(row, "language")?,
        assignee: get(row, "assignee")?,
        follow_up_of: follow_up
            .map(|n| parse_stored("follow_up_of", &n))
            .transpose()?,
        observers: Vec::new(),
        created_at: from_millis(get(row, "created_at")?)?,
        updated_at: from_millis(get(row, "updated_at")?)?,
        resolved_at: opt_millis(get(row, "resolved_at")?)?,
        closed_at: opt_millis(get(row, "closed_at")?)?,
    })
}
