//! What the team administers beside tickets: a person's notification preferences, and the
//! outbox (the notifications waiting, sent, held or failed, and a retry).

use axum::Extension;
use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::tickets::json_problem;
use super::{Api, Problem, require};
use crate::domain::EmailAddress;
use crate::service::{ApiToken, ContactChanges, LanguageChoice, OutboxError, OutboxStatus, Scope};

/// `GET /api/v1/contacts/{email}`: the person's preferences and whether mail to them
/// bounces (a person never written to has every notification, in each ticket's language).
pub async fn contact(
    State(api): State<Api>,
    Path(email): Path<String>,
) -> Result<Response, Problem> {
    let email = address(&email)?;
    let view = api.contacts.show(&email).await.map_err(Problem::logged)?;
    Ok(Json(view).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactBody {
    /// `en`, `fr`, or `ticket` for each ticket's own.
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    opening_closing: Option<bool>,
    #[serde(default)]
    processing: Option<bool>,
    #[serde(default)]
    messages: Option<bool>,
    #[serde(default)]
    observer_updates: Option<bool>,
    /// `true` lifts the mark a bounce left.
    #[serde(default)]
    deliverable: bool,
}

/// `PATCH /api/v1/contacts/{email}`: the same changes as `contacts set`.
pub async fn set_contact(
    State(api): State<Api>,
    Extension(token): Extension<ApiToken>,
    Path(email): Path<String>,
    body: Result<Json<ContactBody>, JsonRejection>,
) -> Result<Response, Problem> {
    require(&token, Scope::Write)?;
    let email = address(&email)?;
    let Json(body) = body.map_err(json_problem)?;
    let language = body
        .language
        .as_deref()
        .map(str::parse::<LanguageChoice>)
        .transpose()
        .map_err(|e| Problem::invalid_field(e.to_string()))?;
    let changes = ContactChanges {
        language,
        opening_closing: body.opening_closing,
        processing: body.processing,
        messages: body.messages,
        observer_updates: body.observer_updates,
        deliverable: body.deliverable,
    };
    let view = api
        .contacts
        .change(&email, &changes)
        .await
        .map_err(Problem::logged)?;
    Ok(Json(view).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxQuery {
    /// pending, sending, sent, failed, held or skipped.
    status: Option<String>,
    /// 1 to 500; 50 when absent.
    limit: Option<i64>,
}

/// `GET /api/v1/outbox`: the newest notifications, of one state if asked.
pub async fn outbox(
    State(api): State<Api>,
    query: Result<Query<OutboxQuery>, QueryRejection>,
) -> Result<Response, Problem> {
    let Query(query) = query.map_err(|e| Problem::bad_request(e.body_text()))?;
    let status = match query.status.as_deref() {
        None => None,
        Some(name) => Some(
            OutboxStatus::ALL
                .iter()
                .copied()
                .find(|s| s.as_str() == name)
                .ok_or_else(|| {
                    Problem::bad_request(format!(
                        "status `{name}`: use pending, sending, sent, failed, held or skipped"
                    ))
                })?,
        ),
    };
    let limit = query.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(Problem::bad_request("limit must be between 1 and 500"));
    }
    let entries = api
        .outbox
        .list(status, limit)
        .await
        .map_err(Problem::logged)?;
    Ok(Json(json!({ "notifications": entries })).into_response())
}

/// `POST /api/v1/outbox/{id}/retry`: a failed, held, skipped or waiting notification made
/// due now; it meets the loop governor again when it is sent.
pub async fn retry(
    State(api): State<Api>,
    Extension(token): Extension<ApiToken>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    require(&token, Scope::Write)?;
    let id: i64 = id
        .parse()
        .map_err(|_| Problem::not_found(format!("there is no notification {id}")))?;
    match api.outbox.retry(id).await {
        Ok(()) => Ok(StatusCode::NO_CONTENT.into_response()),
        Err(e @ OutboxError::NotRetryable(_)) => Err(Problem::new(
            "not-retryable",
            "Nothing to retry",
            StatusCode::CONFLICT,
            e.to_string(),
        )),
        Err(e) => Err(Problem::logged(e)),
    }
}

fn address(text: &str) -> Result<EmailAddress, Problem> {
    EmailAddress::parse(text.trim())
        .map_err(|_| Problem::not_found(format!("`{text}` is not an email address")))
}
