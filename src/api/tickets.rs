//! `/api/v1/tickets`: the list, one ticket with its history, and the changes an agent
//! makes (a comment, a status). A ticket's answer carries its `ETag`; a change may name it
//! in `If-Match`, and is refused with 412 when the ticket has moved on since.

use axum::Extension;
use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::{Api, Problem, require};
use crate::domain::{Status, Ticket, TicketNumber};
use crate::service::{ApiToken, Scope, TicketError};

/// The most tickets one page holds.
const MAX_PAGE: u32 = 200;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    status: Option<Status>,
    /// 1 to 200; 50 when absent.
    limit: Option<u32>,
}

/// `GET /api/v1/tickets`: the most recently updated tickets, of one status if asked.
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
    let page = api
        .tickets
        .list(query.status, Some(limit))
        .await
        .map_err(|e| Problem::of_ticket(&e))?;
    Ok(Json(json!({ "tickets": page.tickets, "more": page.more })).into_response())
}

/// `GET /api/v1/tickets/{number}`: the ticket, its articles (with their visibility) and
/// their files, with its `ETag`.
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommentBody {
    text: String,
    /// Seen by agents only, and nobody is told.
    #[serde(default)]
    internal: bool,
    /// The `[[agent]]` writing (name or address); the team when absent.
    #[serde(default, rename = "as")]
    agent: Option<String>,
}

/// `POST /api/v1/tickets/{number}/comments`: an agent's comment.
pub async fn comment(
    State(api): State<Api>,
    Extension(token): Extension<ApiToken>,
    Path(number): Path<String>,
    headers: HeaderMap,
    body: Result<Json<CommentBody>, JsonRejection>,
) -> Result<Response, Problem> {
    require(&token, Scope::Write)?;
    let number = ticket_number(&number)?;
    let Json(body) = body.map_err(json_problem)?;
    if body.text.trim().is_empty() {
        return Err(Problem::new(
            "empty-text",
            "The comment has no text",
            StatusCode::UNPROCESSABLE_ENTITY,
            "write the comment's text in `text`",
        ));
    }
    unchanged(&api, &number, &headers).await?;
    let acting = api
        .tickets
        .agent(body.agent.as_deref())
        .map_err(|e| Problem::of_ticket(&e))?;
    let done = api
        .tickets
        .comment(&number, &acting, &body.text, body.internal)
        .await
        .map_err(|e| Problem::of_ticket(&e))?;
    changed(&api, &number, StatusCode::CREATED, done).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    status: Status,
    /// The solution, when the status is `resolved`.
    #[serde(default)]
    solution: Option<String>,
    #[serde(default, rename = "as")]
    agent: Option<String>,
}

/// `POST /api/v1/tickets/{number}/status`: moves the ticket (a solution with `resolved`;
/// `in_progress` from resolved or closed reopens it).
pub async fn status(
    State(api): State<Api>,
    Extension(token): Extension<ApiToken>,
    Path(number): Path<String>,
    headers: HeaderMap,
    body: Result<Json<StatusBody>, JsonRejection>,
) -> Result<Response, Problem> {
    require(&token, Scope::Write)?;
    let number = ticket_number(&number)?;
    let Json(body) = body.map_err(json_problem)?;
    let current = unchanged(&api, &number, &headers).await?;
    let tickets = &api.tickets;
    let acting = tickets
        .agent(body.agent.as_deref())
        .map_err(|e| Problem::of_ticket(&e))?;
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

/// The ticket as it is when `If-Match` names its current version (or names none); 412
/// when it names another.
pub(super) async fn unchanged(
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
    let body = json!({
        "ticket": done.ticket.as_str(),
        "status": done.status,
        "notifications": done.notifications,
    });
    Ok((status, [(header::ETAG, etag(&ticket))], Json(body)).into_response())
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

/// A body that is not the JSON asked for: 415 without the JSON type, 400 when it cannot
/// be parsed, 422 when a field is wrong or unknown.
pub(super) fn json_problem(rejection: JsonRejection) -> Problem {
    let status = rejection.status();
    let kind = match status {
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "media-type",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid-field",
        _ => "bad-json",
    };
    Problem::new(
        kind,
        "The body cannot be used",
        status,
        rejection.body_text(),
    )
}
