//! What the team administers beside tickets: a person's notification preferences, and the
//! outbox (the notifications waiting, sent, held or failed, and a retry).

use axum::Extension;
use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::body::JsonObject;
use super::{Api, Problem, require};
use crate::domain::{EmailAddress, PhoneNumber};
use crate::service::{
    ApiToken, ContactChanges, ContactError, ContactView, LanguageChoice, OutboxError, OutboxStatus,
    Scope,
};
use crate::store::OutboxEntry;

/// `GET /api/v1/contacts/{email}`: the person's preferences and whether mail to them
/// bounces (a person never written to has every notification, in each ticket's language).
#[utoipa::path(get, path = "/v1/contacts/{email}", operation_id = "show_contact", tag = "contacts",
    params(("email" = String, Path, format = Email, description = "The person's address")),
    responses((status = 200, description = "Their preferences", body = ContactView)))]
pub async fn contact(
    State(api): State<Api>,
    Path(email): Path<String>,
) -> Result<Response, Problem> {
    let email = address(&email)?;
    let view = api.contacts.show(&email).await.map_err(Problem::logged)?;
    Ok(Json(view).into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
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
    /// The list of their open tickets by mail every week.
    #[serde(default)]
    weekly_digest: Option<bool>,
    /// `true` lifts the mark a bounce left.
    #[serde(default)]
    deliverable: bool,
    /// Their mobile number for SMS, international form (`+33612345678`); null forgets it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, pattern = r"^\+[1-9][0-9 .()-]{7,20}$")]
    phone: Option<Option<String>>,
    /// `["email"]`, or `["email", "sms"]` for the events they receive to go by SMS too.
    #[serde(default)]
    channels: Option<Vec<ChannelName>>,
}

/// A way notifications reach a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ChannelName {
    Email,
    Sms,
}

/// A field that is there, even as null (`Some(None)`), told from one left out (`None`).
fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// `PATCH /api/v1/contacts/{email}`: the same changes as `contacts set`.
#[utoipa::path(patch, path = "/v1/contacts/{email}", operation_id = "set_contact", tag = "contacts",
    params(("email" = String, Path, format = Email, description = "The person's address")),
    request_body = ContactBody,
    responses((status = 200, description = "Their preferences, changed", body = ContactView)))]
pub async fn set_contact(
    State(api): State<Api>,
    Extension(token): Extension<ApiToken>,
    Path(email): Path<String>,
    body: Result<JsonObject<ContactBody>, Problem>,
) -> Result<Response, Problem> {
    require(&token, Scope::Write)?;
    let email = address(&email)?;
    let JsonObject(body) = body?;
    let language = body
        .language
        .as_deref()
        .map(str::parse::<LanguageChoice>)
        .transpose()
        .map_err(|e| Problem::invalid_field(e.to_string()))?;
    let phone = body
        .phone
        .map(|p| p.as_deref().map(PhoneNumber::parse).transpose())
        .transpose()
        .map_err(|e| Problem::invalid_field(format!("phone: {e}")))?;
    let sms = match &body.channels {
        None => None,
        Some(c) if c.contains(&ChannelName::Email) => Some(c.contains(&ChannelName::Sms)),
        Some(_) => {
            return Err(Problem::invalid_field(
                "channels: mail always goes; use [\"email\"] or [\"email\", \"sms\"]",
            ));
        }
    };
    let changes = ContactChanges {
        language,
        opening_closing: body.opening_closing,
        processing: body.processing,
        messages: body.messages,
        observer_updates: body.observer_updates,
        deliverable: body.deliverable,
        phone,
        sms,
        weekly_digest: body.weekly_digest,
    };
    let view = api
        .contacts
        .change(&email, &changes)
        .await
        .map_err(|e| match e {
            ContactError::Store(e) => Problem::logged(e),
            refused => Problem::invalid_field(refused.to_string()),
        })?;
    Ok(Json(view).into_response())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OutboxQuery {
    /// pending, sending, sent, failed, held or skipped.
    #[param(pattern = "^(pending|sending|sent|failed|held|skipped)$")]
    status: Option<String>,
    /// 1 to 500; 50 when absent.
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
}

/// The notifications asked for, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OutboxPage {
    notifications: Vec<OutboxEntry>,
}

/// `GET /api/v1/outbox`: the newest notifications, of one state if asked.
#[utoipa::path(get, path = "/v1/outbox", operation_id = "list_outbox", tag = "outbox", params(OutboxQuery),
    responses((status = 200, description = "The newest notifications", body = OutboxPage)))]
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
    Ok(Json(OutboxPage {
        notifications: entries,
    })
    .into_response())
}

/// `POST /api/v1/outbox/{id}/retry`: a failed, held, skipped or waiting notification made
/// due now; it meets the loop governor again when it is sent.
#[utoipa::path(post, path = "/v1/outbox/{id}/retry", operation_id = "retry_notification", tag = "outbox",
    params(("id" = i64, Path, description = "The notification's id")),
    responses((status = 204, description = "Due now"),
        (status = 409, description = "Sent already, or being sent", body = Problem, content_type = "application/problem+json")))]
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
