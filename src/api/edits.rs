//! The rest of an agent's changes to a ticket (assignment, observers, hand-set fields) and
//! its stored bytes (a file, the raw mail of an article). Changes honour `If-Match` as
//! the others do; the bytes are always downloads, never shown by a browser from our origin.

use axum::Extension;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::tickets::{change_of, changed, json_problem, ticket_number};
use super::{Api, Problem, require};
use crate::domain::{EmailAddress, Impact, TicketType, Urgency};
use crate::service::{ApiToken, FieldEdits, Scope};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignBody {
    /// An `[[agent]]`, by name or address.
    agent: String,
    #[serde(default, rename = "as")]
    by: Option<String>,
}

/// `POST /api/v1/tickets/{number}/assign`.
pub async fn assign(
    State(api): State<Api>,
    Extension(token): Extension<ApiToken>,
    Path(number): Path<String>,
    headers: HeaderMap,
    body: Result<Json<AssignBody>, JsonRejection>,
) -> Result<Response, Problem> {
    require(&token, Scope::Write)?;
    let Json(body) = body.map_err(json_problem)?;
    let change = change_of(&api, &number, &headers, body.by.as_deref()).await?;
    let edited = api
        .tickets
        .assign(&change.number, &body.agent, &change.acting)
        .await
        .map_err(|e| Problem::of_ticket(&e))?;
    changed(&api, &change.number, StatusCode::OK, edited.done).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObserverBody {
    email: String,
    #[serde(default, rename = "as")]
    by: Option<String>,
}

/// `POST /api/v1/tickets/{number}/observers`: someone else told of the ticket's updates.
pub async fn add_observer(
    State(api): State<Api>,
    Extension(token): Extension<ApiToken>,
    Path(number): Path<String>,
    headers: HeaderMap,
    body: Result<Json<ObserverBody>, JsonRejection>,
) -> Result<Response, Problem> {
    require(&token, Scope::Write)?;
    let Json(body) = body.map_err(json_problem)?;
    let email = address(&body.email)?;
    let change = change_of(&api, &number, &headers, body.by.as_deref()).await?;
    let edited = api
        .tickets
        .add_observer(&change.number, &email, &change.acting)
        .await
        .map_err(|e| Problem::of_ticket(&e))?;
    changed(&api, &change.number, StatusCode::CREATED, edited.done).await
}

/// `DELETE /api/v1/tickets/{number}/observers/{email}`.
pub async fn remove_observer(
    State(api): State<Api>,
    Extension(token): Extension<ApiToken>,
    Path((number, email)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, Problem> {
    require(&token, Scope::Write)?;
    let email = address(&email)?;
    let change = change_of(&api, &number, &headers, None).await?;
    let edited = api
        .tickets
        .remove_observer(&change.number, &email, &change.acting)
        .await
        .map_err(|e| Problem::of_ticket(&e))?;
    changed(&api, &change.number, StatusCode::OK, edited.done).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldsBody {
    #[serde(default, rename = "type")]
    ticket_type: Option<TicketType>,
    /// An empty one clears it.
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    impact: Option<Impact>,
    #[serde(default)]
    urgency: Option<Urgency>,
    #[serde(default)]
    private: Option<bool>,
    #[serde(default, rename = "as")]
    by: Option<String>,
}

/// `PATCH /api/v1/tickets/{number}`: the hand-set fields; the priority follows from
/// impact and urgency. Setting what is set already changes nothing and says so.
pub async fn set_fields(
    State(api): State<Api>,
    Extension(token): Extension<ApiToken>,
    Path(number): Path<String>,
    headers: HeaderMap,
    body: Result<Json<FieldsBody>, JsonRejection>,
) -> Result<Response, Problem> {
    require(&token, Scope::Write)?;
    let Json(body) = body.map_err(json_problem)?;
    let edits = FieldEdits {
        ticket_type: body.ticket_type,
        category: body.category.map(Some),
        impact: body.impact,
        urgency: body.urgency,
        private: body.private,
    };
    let change = change_of(&api, &number, &headers, body.by.as_deref()).await?;
    match api
        .tickets
        .set_fields(&change.number, &edits, &change.acting)
        .await
        .map_err(|e| Problem::of_ticket(&e))?
    {
        Some(edited) => changed(&api, &change.number, StatusCode::OK, edited.done).await,
        None => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}

/// `GET /api/v1/tickets/{number}/files/{sha256}`: a stored file, as a download.
pub async fn file(
    State(api): State<Api>,
    Path((number, sha256)): Path<(String, String)>,
) -> Result<Response, Problem> {
    let number = ticket_number(&number)?;
    let (record, bytes) = api
        .tickets
        .attachment_content(&number, &sha256)
        .await
        .map_err(|e| Problem::of_ticket(&e))?;
    Ok(download(
        bytes,
        "application/octet-stream",
        &record.filename,
    ))
}

/// `GET /api/v1/tickets/{number}/articles/{id}/raw`: the mail an article came from, byte
/// for byte.
pub async fn raw_mail(
    State(api): State<Api>,
    Path((number, article)): Path<(String, String)>,
) -> Result<Response, Problem> {
    let number = ticket_number(&number)?;
    let article: i64 = article
        .parse()
        .map_err(|_| Problem::not_found(format!("there is no article {article}")))?;
    let bytes = api
        .tickets
        .raw_mail(&number, article)
        .await
        .map_err(|e| Problem::of_ticket(&e))?;
    Ok(download(
        bytes,
        "message/rfc822",
        &format!("{number}-{article}.eml"),
    ))
}

/// `bytes` as a download named `name`, as the portal sends a file: never shown in place.
fn download(bytes: Vec<u8>, content_type: &'static str, name: &str) -> Response {
    let disposition = HeaderValue::from_str(&crate::http::content_disposition(name))
        .unwrap_or(HeaderValue::from_static("attachment"));
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response()
}

fn address(text: &str) -> Result<EmailAddress, Problem> {
    EmailAddress::parse(text.trim())
        .map_err(|_| Problem::invalid_field(format!("`{text}` is not an email address")))
}
