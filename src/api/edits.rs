//! The rest of an agent's changes to a ticket (assignment, observers, hand-set fields) and
//! its stored bytes (a file, the raw mail of an article). Changes honour `If-Match` as
//! the others do; the bytes are always downloads, never shown by a browser from our origin.

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::body::JsonObject;
use super::tickets::{ChangeAnswer, IfMatch, NUMBER, change_of, changed, ticket_number};
use super::{Api, Problem, require};
use crate::domain::{EmailAddress, Impact, TicketType, Urgency};
use crate::service::{ApiToken, FieldEdits, Scope};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignBody {
    /// An `[[agent]]`, by name or address.
    agent: String,
    #[serde(default, rename = "as")]
    by: Option<String>,
}

/// `POST /api/v1/tickets/{number}/assign`.
#[utoipa::path(post, path = "/v1/tickets/{number}/assign", operation_id = "assign_ticket", tag = "tickets",
    params(("number" = String, Path, description = NUMBER), IfMatch), request_body = AssignBody,
    responses((status = 200, description = "Assigned; the agent is told", body = ChangeAnswer, headers(("ETag" = String))),
        (status = 409, description = "Already assigned to this agent, or the ticket is closed", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The ticket changed since the version If-Match names", body = Problem, content_type = "application/problem+json")))]
pub async fn assign(
    State(api): State<Api>,
    Extension(token): Extension<ApiToken>,
    Path(number): Path<String>,
    headers: HeaderMap,
    body: Result<JsonObject<AssignBody>, Problem>,
) -> Result<Response, Problem> {
    require(&token, Scope::Write)?;
    let JsonObject(body) = body?;
    let change = change_of(&api, &number, &headers, body.by.as_deref()).await?;
    let edited = api
        .tickets
        .assign(&change.number, &body.agent, &change.acting)
        .await
        .map_err(|e| Problem::of_ticket(&e))?;
    changed(&api, &change.number, StatusCode::OK, edited.done).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObserverBody {
    #[schema(format = Email)]
    email: String,
    #[serde(default, rename = "as")]
    by: Option<String>,
}

/// `POST /api/v1/tickets/{number}/observers`: someone else told of the ticket's updates.
#[utoipa::path(post, path = "/v1/tickets/{number}/observers", operation_id = "add_observer", tag = "tickets",
    params(("number" = String, Path, description = NUMBER), IfMatch), request_body = ObserverBody,
    responses((status = 201, description = "Added", body = ChangeAnswer, headers(("ETag" = String))),
        (status = 409, description = "Already told of the ticket", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The ticket changed since the version If-Match names", body = Problem, content_type = "application/problem+json")))]
pub async fn add_observer(
    State(api): State<Api>,
    Extension(token): Extension<ApiToken>,
    Path(number): Path<String>,
    headers: HeaderMap,
    body: Result<JsonObject<ObserverBody>, Problem>,
) -> Result<Response, Problem> {
    require(&token, Scope::Write)?;
    let JsonObject(body) = body?;
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
#[utoipa::path(delete, path = "/v1/tickets/{number}/observers/{email}", operation_id = "remove_observer", tag = "tickets",
    params(("number" = String, Path, description = NUMBER),
        ("email" = String, Path, format = Email, description = "The observer's address"), IfMatch),
    responses((status = 200, description = "Removed", body = ChangeAnswer, headers(("ETag" = String))),
        (status = 409, description = "Not an observer of the ticket", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The ticket changed since the version If-Match names", body = Problem, content_type = "application/problem+json")))]
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

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(min_properties = 1)]
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
#[utoipa::path(patch, path = "/v1/tickets/{number}", operation_id = "set_ticket_fields", tag = "tickets",
    params(("number" = String, Path, description = NUMBER), IfMatch), request_body = FieldsBody,
    responses((status = 200, description = "Set", body = ChangeAnswer, headers(("ETag" = String))),
        (status = 204, description = "Every field already had that value: nothing changed"),
        (status = 412, description = "The ticket changed since the version If-Match names", body = Problem, content_type = "application/problem+json")))]
pub async fn set_fields(
    State(api): State<Api>,
    Extension(token): Extension<ApiToken>,
    Path(number): Path<String>,
    headers: HeaderMap,
    body: Result<JsonObject<FieldsBody>, Problem>,
) -> Result<Response, Problem> {
    require(&token, Scope::Write)?;
    let JsonObject(body) = body?;
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
#[utoipa::path(get, path = "/v1/tickets/{number}/files/{sha256}", operation_id = "download_file", tag = "tickets",
    params(("number" = String, Path, description = NUMBER),
        ("sha256" = String, Path, description = "The file's SHA-256, as the ticket lists it")),
    responses((status = 200, description = "The file, as a download", content_type = "application/octet-stream",
        body = Vec<u8>)))]
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
#[utoipa::path(get, path = "/v1/tickets/{number}/articles/{id}/raw", operation_id = "download_raw_mail", tag = "tickets",
    params(("number" = String, Path, description = NUMBER),
        ("id" = i64, Path, description = "The article's id, as the ticket lists it")),
    responses((status = 200, description = "The mail, as a download", content_type = "message/rfc822",
        body = Vec<u8>)))]
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
