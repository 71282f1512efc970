//! `POST /api/v1/tickets`: a ticket opened on a customer's behalf (a phone call taken
//! down). The customer is its requester and is told as if they had written.

use axum::Extension;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;

use super::body::JsonObject;
use super::tickets::{ChangeAnswer, changed};
use super::{Api, Problem, require};
use crate::domain::{EmailAddress, Impact, Mailbox, TicketType, Urgency};
use crate::service::{ApiToken, OpeningInput, Scope};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpeningBody {
    /// The customer's address.
    #[schema(format = Email)]
    requester: String,
    /// The customer's name, for the greeting of their mails.
    #[serde(default)]
    requester_name: Option<String>,
    #[schema(min_length = 1, pattern = r"\S")]
    title: String,
    /// The request, as the customer put it.
    #[schema(min_length = 1, pattern = r"\S")]
    text: String,
    /// Others to keep informed, by address.
    #[serde(default)]
    #[schema(inline, value_type = Vec<EmailField>)]
    observers: Vec<String>,
    #[serde(default, rename = "type")]
    ticket_type: Option<TicketType>,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    impact: Option<Impact>,
    #[serde(default)]
    urgency: Option<Urgency>,
    /// `en` or `fr`; told from the text when absent.
    #[serde(default)]
    #[schema(pattern = "^(en|fr)$")]
    language: Option<String>,
    /// The `[[agent]]` who took the call; the team when absent.
    #[serde(default, rename = "as")]
    by: Option<String>,
}

/// `POST /api/v1/tickets`: opens the ticket; 201 with its number, its address in
/// `Location` and its `ETag`.
#[utoipa::path(post, path = "/v1/tickets", operation_id = "open_ticket", tag = "tickets", request_body = OpeningBody,
    responses((status = 201, description = "Opened; the requester and observers are told", body = ChangeAnswer,
        headers(("Location" = String, description = "The new ticket's address"), ("ETag" = String))),
        (status = 422, description = "A field is missing or wrong, or names one of our addresses", body = Problem, content_type = "application/problem+json")))]
pub async fn open(
    State(api): State<Api>,
    Extension(token): Extension<ApiToken>,
    body: Result<JsonObject<OpeningBody>, Problem>,
) -> Result<Response, Problem> {
    require(&token, Scope::Write)?;
    let JsonObject(body) = body?;
    let acting = api
        .tickets
        .agent(body.by.as_deref())
        .map_err(|e| Problem::of_ticket(&e))?;
    let name = body
        .requester_name
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty());
    let input = OpeningInput {
        requester: Mailbox {
            address: address("requester", &body.requester)?,
            name,
        },
        title: body.title,
        text: body.text,
        observers: body
            .observers
            .iter()
            .map(|o| {
                Ok(Mailbox {
                    address: address("observers", o)?,
                    name: None,
                })
            })
            .collect::<Result<_, Problem>>()?,
        ticket_type: body.ticket_type,
        category: body.category,
        impact: body.impact,
        urgency: body.urgency,
        language: body.language,
    };
    let done = api
        .tickets
        .open_for(&acting, input)
        .await
        .map_err(|e| Problem::of_ticket(&e))?;
    let number = done.ticket.clone();
    let mut response = changed(&api, &number, StatusCode::CREATED, done).await?;
    if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/tickets/{number}")) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

/// An address, as the document describes it.
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Email)]
#[allow(dead_code)]
struct EmailField(String);

fn address(field: &str, text: &str) -> Result<EmailAddress, Problem> {
    EmailAddress::parse(text.trim())
        .map_err(|_| Problem::invalid_field(format!("{field}: `{text}` is not an email address")))
}
