//! `POST /api/v1/tickets`: a ticket opened on a customer's behalf (a phone call taken
//! down). The customer is its requester and is told as if they had written.

use axum::Extension;
use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;

use super::tickets::{changed, json_problem};
use super::{Api, Problem, require};
use crate::domain::{EmailAddress, Impact, Mailbox, TicketType, Urgency};
use crate::service::{ApiToken, OpeningInput, Scope};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpeningBody {
    /// The customer's address.
    requester: String,
    /// The customer's name, for the greeting of their mails.
    #[serde(default)]
    requester_name: Option<String>,
    title: String,
    /// The request, as the customer put it.
    text: String,
    #[serde(default)]
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
    language: Option<String>,
    /// The `[[agent]]` who took the call; the team when absent.
    #[serde(default, rename = "as")]
    by: Option<String>,
}

/// `POST /api/v1/tickets`: opens the ticket; 201 with its number, its address in
/// `Location` and its `ETag`.
pub async fn open(
    State(api): State<Api>,
    Extension(token): Extension<ApiToken>,
    body: Result<Json<OpeningBody>, JsonRejection>,
) -> Result<Response, Problem> {
    require(&token, Scope::Write)?;
    let Json(body) = body.map_err(json_problem)?;
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

fn address(field: &str, text: &str) -> Result<EmailAddress, Problem> {
    EmailAddress::parse(text.trim())
        .map_err(|_| Problem::invalid_field(format!("{field}: `{text}` is not an email address")))
}
