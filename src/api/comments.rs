//! `POST /api/v1/tickets/{number}/comments`: an agent's comment, as JSON or as a
//! multipart form with its files.

use axum::Extension;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;

use super::body::JsonObject;
use super::tickets::{ChangeAnswer, IfMatch, NUMBER, change_of, changed};
use super::{Api, Problem, require};
use crate::domain::{ByteSize, content_type_from_name, sanitize_filename};
use crate::service::{ApiToken, CommentInput, Scope, Upload};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentBody {
    #[schema(min_length = 1, pattern = r"\S")]
    text: String,
    /// Seen by agents only, and nobody is told.
    #[serde(default)]
    internal: bool,
    /// The `[[agent]]` writing (name or address); the team when absent.
    #[serde(default, rename = "as")]
    by: Option<String>,
}

/// The same comment as a form, with its files. (Read by [`comment_form`]; the derive
/// only describes it, `deny_unknown_fields` saying that other fields are refused.)
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct CommentForm {
    #[schema(min_length = 1, pattern = r"\S")]
    text: String,
    /// `true` for a comment seen by agents only.
    internal: Option<bool>,
    #[schema(rename = "as")]
    by: Option<String>,
    /// Each within the size limit per file.
    #[schema(value_type = Vec<String>, format = Binary, required = false)]
    files: Vec<Vec<u8>>,
}

/// `POST /api/v1/tickets/{number}/comments`: an agent's comment, as JSON, or as
/// `multipart/form-data` with its files (fields `text`, `internal`, `as`, and `files`);
/// a file over the size limit refuses the whole comment (413), nothing written.
#[utoipa::path(post, path = "/v1/tickets/{number}/comments", operation_id = "comment_ticket", tag = "tickets",
    params(("number" = String, Path, description = NUMBER), IfMatch),
    request_body(content(
        (CommentBody = "application/json"),
        (CommentForm = "multipart/form-data"))),
    responses((status = 201, description = "Written; the requester and observers are told unless it is internal",
            body = ChangeAnswer, headers(("ETag" = String))),
        (status = 412, description = "The ticket changed since the version If-Match names", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "A file is over the size limit: nothing was written", body = Problem, content_type = "application/problem+json")))]
pub async fn comment(
    State(api): State<Api>,
    Extension(token): Extension<ApiToken>,
    Path(number): Path<String>,
    headers: HeaderMap,
    request: Request,
) -> Result<Response, Problem> {
    require(&token, Scope::Write)?;
    let multipart = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("multipart/form-data"));
    let (body, attachments) = if multipart {
        let form = Multipart::from_request(request, &())
            .await
            .map_err(|e| Problem::bad_request(e.body_text()))?;
        comment_form(form, api.tickets.max_attachment_bytes()).await?
    } else {
        let JsonObject(body) = JsonObject::<CommentBody>::from_request(request, &()).await?;
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
    mut form: Multipart,
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
            "internal" => {
                body.internal = match field.text().await.map_err(unreadable)?.as_str() {
                    "true" => true,
                    "false" => false,
                    other => {
                        return Err(Problem::invalid_field(format!(
                            "internal: `{other}` is neither true nor false"
                        )));
                    }
                }
            }
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
                return Err(Problem::invalid_field(format!(
                    "`{other}`: the fields are text, internal, as and files"
                )));
            }
        }
    }
    Ok((body, uploads))
}
