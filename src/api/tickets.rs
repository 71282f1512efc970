//! `/api/v1/tickets`: the list, one ticket with its history, and the changes an agent
//! makes (a comment, a status). A ticket's answer carries its `ETag`; a change may name it
//! in `If-Match`, and is refused with 412 when the ticket has moved on since.

use axum::Extension;
use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::{Api, Problem, require};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chrono::{DateTime, Utc};

use crate::domain::{
    ByteSize, EmailAddress, Priority, Status, Ticket, TicketNumber, TicketType,
    content_type_from_name, sanitize_filename,
};
use crate::service::{Acting, ApiToken, CommentInput, Scope, TicketError, Upload};
use crate::store::TicketQuery;

/// The most tickets one page holds.
const MAX_PAGE: u32 = 200;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    status: Option<Status>,
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
    sort: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// 1 to 200; 50 when absent.
    limit: Option<u32>,
}

/// `GET /api/v1/tickets`: the tickets the filters ask for, a page at a time; the answer's
/// `next_cursor` (null on the last page) asks for the next one.
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
    let after = query.cursor.as_deref().map(cursor_from).transpose()?;
    let search = TicketQuery {
        status: query.status,
        requester,
        organisation: query.organisation,
        ticket_type: query.ticket_type,
        priority: query.priority,
        updated_since: query.updated_since,
        search: query.q,
        oldest_first,
        after,
        limit,
    };
    let (tickets, next) = api
        .tickets
        .search(&search)
        .await
        .map_err(|e| Problem::of_ticket(&e))?;
    Ok(Json(json!({
        "tickets": tickets,
        "next_cursor": next.map(|(updated, id)| B64.encode(format!("{updated}.{id}"))),
    }))
    .into_response())
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
    by: Option<String>,
}

/// `POST /api/v1/tickets/{number}/comments`: an agent's comment, as JSON, or as
/// `multipart/form-data` with its files (fields `text`, `internal`, `as`, and `files`);
/// a file over the size limit refuses the whole comment (413), nothing written.
pub async fn comment(
    State(api): State<Api>,
    Extension(token): Extension<ApiToken>,
    Path(number): Path<String>,
    headers: HeaderMap,
    request: axum::extract::Request,
) -> Result<Response, Problem> {
    require(&token, Scope::Write)?;
    let multipart = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("multipart/form-data"));
    let (body, attachments) = if multipart {
        let form = axum::extract::Multipart::from_request(request, &())
            .await
            .map_err(|e| Problem::bad_request(e.body_text()))?;
        comment_form(form, api.tickets.max_attachment_bytes()).await?
    } else {
        let Json(body) = Json::<CommentBody>::from_request(request, &())
            .await
            .map_err(json_problem)?;
        (body, Vec::new())
    };
    if body.text.trim().is_empty() {
        return Err(Problem::new(
            "empty-text",
            "The comment has no text",
            StatusCode::UNPROCESSABLE_ENTITY,
            "write the comment's text in `text`",
        ));
    }
    let change = change_of(&api, &number, &headers, body.by.as_deref()).await?;
    let input = CommentInput {
        body: body.text,
        internal: body.internal,
        attachments,
        ..CommentInput::default()
    };
    let done = api
        .tickets
        .comment_with(&change.number, &change.acting, input)
        .await
        .map_err(|e| Problem::of_ticket(&e))?;
    changed(&api, &change.number, StatusCode::CREATED, done).await
}

/// A comment's multipart form: its fields, and its files named and typed as they will be
/// stored (a file over `max_bytes` is refused as soon as it is, never held whole).
async fn comment_form(
    mut form: axum::extract::Multipart,
    max_bytes: u64,
) -> Result<(CommentBody, Vec<Upload>), Problem> {
    let unreadable = |e: axum::extract::multipart::MultipartError| {
        Problem::new(
            "bad-form",
            "The form cannot be read",
            e.status(),
            e.body_text(),
        )
    };
    let mut body = CommentBody {
        text: String::new(),
        internal: false,
        by: None,
    };
    let mut uploads = Vec::new();
    while let Some(mut field) = form.next_field().await.map_err(unreadable)? {
        match field.name().unwrap_or_default() {
            "text" => body.text = field.text().await.map_err(unreadable)?,
            "internal" => body.internal = field.text().await.map_err(unreadable)? == "true",
            "as" => body.by = Some(field.text().await.map_err(unreadable)?),
            "files" => {
                let name = field.file_name().map(str::to_string);
                let mut bytes = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(unreadable)? {
                    bytes.extend_from_slice(&chunk);
                    if bytes.len() as u64 > max_bytes {
                        return Err(Problem::new(
                            "file-too-large",
                            "A file is too large",
                            StatusCode::PAYLOAD_TOO_LARGE,
                            format!(
                                "{} is over the {} limit per file (max_attachment_bytes)",
                                name.as_deref().unwrap_or("a file"),
                                ByteSize(max_bytes)
                            ),
                        ));
                    }
                }
                let content_type = content_type_from_name(name.as_deref().unwrap_or(""));
                uploads.push(Upload {
                    filename: sanitize_filename(name.as_deref(), content_type),
                    content_type: content_type.to_string(),
                    bytes,
                });
            }
            other => {
                return Err(Problem::new(
                    "invalid-field",
                    "A field is unknown",
                    StatusCode::UNPROCESSABLE_ENTITY,
                    format!("`{other}`: the fields are text, internal, as and files"),
                ));
            }
        }
    }
    Ok((body, uploads))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusBody {
    status: Status,
    /// The solution, when the status is `resolved`.
    #[serde(default)]
    solution: Option<String>,
    #[serde(default, rename = "as")]
    by: Option<String>,
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
    let Json(body) = body.map_err(json_problem)?;
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
