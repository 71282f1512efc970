//! `/api/v1/tickets`: the list, one ticket with its history, and a status change; what
//! every change to a ticket starts and ends with. A ticket's answer carries its `ETag`; a
//! change may name it in `If-Match`, and is refused with 412 when the ticket has moved on
//! since.

use axum::Extension;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::body::JsonObject;
use super::{Api, Problem, require};
use crate::domain::{
    EmailAddress, Priority, Status, Ticket, TicketDetails, TicketNumber, TicketSummary, TicketType,
};
use crate::service::{Acting, ApiToken, Scope, TicketError};
use crate::store::TicketQuery;

/// The most tickets one page holds.
const MAX_PAGE: u32 = 200;

/// The path parameter every ticket's address has.
pub(super) const NUMBER: &str = "The ticket's number, like 2612N00001";

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// A status, or `open` for every ticket neither resolved nor closed.
    #[param(pattern = "^(open|new|in_progress|waiting_customer|resolved|closed)$")]
    status: Option<String>,
    /// The requester's address.
    #[param(format = Email)]
    requester: Option<String>,
    organisation: Option<String>,
    #[serde(rename = "type")]
    ticket_type: Option<TicketType>,
    priority: Option<Priority>,
    /// RFC 3339: `2026-12-01T00:00:00Z`.
    updated_since: Option<DateTime<Utc>>,
    /// Words of the title, or a ticket number.
    q: Option<String>,
    /// `-updated` (most recently updated first, the default) or `updated`.
    #[param(pattern = "^-?updated$")]
    sort: Option<String>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]*$")]
    cursor: Option<String>,
    /// 1 to 200; 50 when absent.
    #[param(minimum = 1, maximum = 200)]
    limit: Option<u32>,
}

/// A page of tickets.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TicketPage {
    tickets: Vec<TicketSummary>,
    /// Pass it as `cursor` for the next page; null on the last one.
    next_cursor: Option<String>,
}

/// What a change did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChangeAnswer {
    ticket: TicketNumber,
    /// The ticket's status after the change.
    status: Status,
    /// How many notifications it queued.
    notifications: usize,
}

/// `GET /api/v1/tickets`: the tickets the filters ask for, a page at a time; the answer's
/// `next_cursor` (null on the last page) asks for the next one.
#[utoipa::path(get, path = "/v1/tickets", operation_id = "list_tickets", tag = "tickets", params(ListQuery),
    responses((status = 200, description = "A page of the tickets asked for", body = TicketPage)))]
pub async fn list(
    State(api): State<Api>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, Problem> {
    let Query(query) = query.map_err(|e| Problem::bad_request(e.body_text()))?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(Problem::bad_request(format!(
            "limit must be between 1 and {MAX_PAGE}"
        )));
    }
    let oldest_first = match query.sort.as_deref() {
        None | Some("-updated") => false,
        Some("updated") => true,
        Some(other) => {
            return Err(Problem::bad_request(format!(
                "sort `{other}`: use -updated (newest first) or updated"
            )));
        }
    };
    let requester = query
        .requester
        .as_deref()
        .map(|r| EmailAddress::parse(r.trim()))
        .transpose()
        .map_err(|_| Problem::bad_request("requester must be an email address"))?;
    let after = given(query.cursor)
        .as_deref()
        .map(cursor_from)
        .transpose()?;
    let (status, open_only) = match query.status.as_deref() {
        None => (None, false),
        Some("open") => (None, true),
        Some(name) => (
            Some(
                name.parse::<Status>()
                    .map_err(|e| Problem::bad_request(format!("status: {e}, or open")))?,
            ),
            false,
        ),
    };
    let search = TicketQuery {
        status,
        open_only,
        requester,
        organisation: given(query.organisation),
        ticket_type: query.ticket_type,
        priority: query.priority,
        updated_since: query.updated_since,
        search: given(query.q),
        oldest_first,
        after,
        limit,
    };
    let (tickets, next) = api
        .tickets
        .search(&search)
        .await
        .map_err(|e| Problem::of_ticket(&e))?;
    Ok(Json(TicketPage {
        tickets,
        next_cursor: next.map(|(updated, id)| B64.encode(format!("{updated}.{id}"))),
    })
    .into_response())
}

/// A filter's value, `None` when it is blank (`?requester=` filters nothing).
fn given(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

/// The position a cursor names; a cursor that is not one of ours is a bad request.
fn cursor_from(text: &str) -> Result<(i64, i64), Problem> {
    let bad = || Problem::bad_request("cursor: pass the next_cursor of the previous page as it is");
    let decoded = B64.decode(text).map_err(|_| bad())?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
    let (updated, id) = decoded.split_once('.').ok_or_else(bad)?;
    Ok((
        updated.parse().map_err(|_| bad())?,
        id.parse().map_err(|_| bad())?,
    ))
}

/// `GET /api/v1/tickets/{number}`: the ticket, its articles (with their visibility) and
/// their files, with its `ETag`.
#[utoipa::path(get, path = "/v1/tickets/{number}", operation_id = "show_ticket", tag = "tickets",
    params(("number" = String, Path, description = NUMBER)),
    responses((status = 200, description = "The ticket with its history", body = TicketDetails,
        headers(("ETag" = String, description = "The ticket's version, for If-Match")))))]
pub async fn show(State(api): State<Api>, Path(number): Path<String>) -> Result<Response, Problem> {
    let number = ticket_number(&number)?;
    let details = api
        .tickets
        .show(&number)
        .await
        .map_err(|e| Problem::of_ticket(&e))?;
    let tag = etag(&details.ticket);
    Ok(([(header::ETAG, tag)], Json(details)).into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    status: Status,
    /// The solution, when the status is `resolved`.
    #[serde(default)]
    solution: Option<String>,
    /// The `[[agent]]` acting (name or address); the team when absent.
    #[serde(default, rename = "as")]
    by: Option<String>,
}

/// `POST /api/v1/tickets/{number}/status`: moves the ticket (a solution with `resolved`;
/// `in_progress` from resolved or closed reopens it).
#[utoipa::path(post, path = "/v1/tickets/{number}/status", operation_id = "move_ticket", tag = "tickets",
    params(("number" = String, Path, description = NUMBER), IfMatch),
    request_body = StatusBody,
    responses((status = 200, description = "Moved", body = ChangeAnswer, headers(("ETag" = String))),
        (status = 409, description = "This move is not allowed from the ticket's status", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The ticket changed since the version If-Match names", body = Problem, content_type = "application/problem+json")))]
pub async fn status(
    State(api): State<Api>,
    Extension(token): Extension<ApiToken>,
    Path(number): Path<String>,
    headers: HeaderMap,
    body: Result<JsonObject<StatusBody>, Problem>,
) -> Result<Response, Problem> {
    require(&token, Scope::Write)?;
    let JsonObject(body) = body?;
    let Change {
        number,
        ticket: current,
        acting,
    } = change_of(&api, &number, &headers, body.by.as_deref()).await?;
    let tickets = &api.tickets;
    let done = match (body.status, body.solution.as_deref()) {
        (Status::Resolved, Some(solution)) if !solution.trim().is_empty() => {
            tickets.resolve(&number, solution, &acting).await
        }
        (Status::Resolved, _) => Err(TicketError::SolutionRequired),
        (Status::InProgress, _) if matches!(current.status, Status::Resolved | Status::Closed) => {
            tickets.reopen(&number, &acting).await
        }
        (to, _) => tickets.change_status(&number, to, &acting).await,
    }
    .map_err(|e| Problem::of_ticket(&e))?;
    changed(&api, &number, StatusCode::OK, done).await
}

/// What a change to a ticket starts from, its token's scope checked and its body read.
pub(super) struct Change {
    pub number: TicketNumber,
    /// The ticket as `If-Match` named it (or as it is, without one).
    pub ticket: Ticket,
    /// Who acts: the `[[agent]]` the body names with `as`, else the team.
    pub acting: Acting,
}

/// The [`Change`] of ticket `number` by `by`: 404 for no such ticket, 412 when `If-Match`
/// names another version, 422 for an agent that is not configured.
pub(super) async fn change_of(
    api: &Api,
    number: &str,
    headers: &HeaderMap,
    by: Option<&str>,
) -> Result<Change, Problem> {
    let number = ticket_number(number)?;
    let ticket = unchanged(api, &number, headers).await?;
    let acting = api.tickets.agent(by).map_err(|e| Problem::of_ticket(&e))?;
    Ok(Change {
        number,
        ticket,
        acting,
    })
}

/// The ticket as it is when `If-Match` names its current version (or names none); 412
/// when it names another.
async fn unchanged(
    api: &Api,
    number: &TicketNumber,
    headers: &HeaderMap,
) -> Result<Ticket, Problem> {
    let ticket = api
        .tickets
        .ticket(number)
        .await
        .map_err(|e| Problem::of_ticket(&e))?;
    if let Some(wanted) = headers.get(header::IF_MATCH) {
        let current = etag(&ticket);
        let matches = wanted
            .to_str()
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .any(|w| w == "*" || w == current.to_str().unwrap_or_default());
        if !matches {
            return Err(Problem::stale());
        }
    }
    Ok(ticket)
}

/// The answer to a change: what it did, with the ticket's new `ETag`.
pub(super) async fn changed(
    api: &Api,
    number: &TicketNumber,
    status: StatusCode,
    done: crate::service::Done,
) -> Result<Response, Problem> {
    let ticket = api
        .tickets
        .ticket(number)
        .await
        .map_err(|e| Problem::of_ticket(&e))?;
    let body = ChangeAnswer {
        ticket: done.ticket,
        status: done.status,
        notifications: done.notifications,
    };
    Ok((status, [(header::ETAG, etag(&ticket))], Json(body)).into_response())
}

/// The `If-Match` header a change may carry.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
pub(super) struct IfMatch {
    /// The `ETag` the ticket was read with: the change is refused (412) if it has changed
    /// since.
    #[param(rename = "If-Match")]
    #[allow(dead_code)]
    if_match: Option<String>,
}

/// A ticket's version: it changes with each update of the ticket.
fn etag(ticket: &Ticket) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "\"{}-{}\"",
        ticket.number,
        ticket.updated_at.timestamp_micros()
    ))
    .unwrap_or(HeaderValue::from_static("\"0\""))
}

pub(super) fn ticket_number(text: &str) -> Result<TicketNumber, Problem> {
    text.parse()
        .map_err(|_| Problem::not_found(format!("there is no ticket {text}")))
}
