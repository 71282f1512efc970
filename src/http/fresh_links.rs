//! `/links`: where a person whose link does not open asks for a fresh one. The page that
//! says a link does not open carries the same form. The answer is one page whatever the
//! address, so that it tells nobody who is a customer; a POST must come from our own page.

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::Portal;
use super::actions::same_origin;
use super::client::Client;
use super::messages::Problem;
use crate::service::PortalError;

/// The form: the address typed.
#[derive(Debug, Deserialize)]
pub struct LinkRequest {
    email: String,
}

/// `GET /links`: the form, under the words of a visitor who has no link.
pub async fn ask(State(portal): State<Portal>, headers: HeaderMap) -> Response {
    let lang = portal.language(&headers);
    let words = Problem::NotSignedIn.words(lang);
    portal.notice(StatusCode::OK, lang, words, true)
}

/// `POST /links`: mails fresh links if the address is on a ticket, and says the same
/// thing either way.
pub async fn send(
    State(portal): State<Portal>,
    client: Client,
    headers: HeaderMap,
    form: Result<Form<LinkRequest>, FormRejection>,
) -> Response {
    let lang = portal.language(&headers);
    if !same_origin(&headers) {
        return portal.problem(lang, &PortalError::Forged);
    }
    let Ok(Form(form)) = form else {
        return portal.message(lang, Problem::BadLinkRequest);
    };
    match portal
        .service
        .send_fresh_links(&form.email, client.address)
        .await
    {
        Ok(()) => portal.notice(StatusCode::OK, lang, sent_words(lang), false),
        Err(PortalError::BadAddress) => portal.message(lang, Problem::BadLinkRequest),
        Err(e) => portal.problem(lang, &e),
    }
}

/// What the page says once a request is taken, known address or not.
fn sent_words(lang: &str) -> (&'static str, &'static str) {
    if lang == "fr" {
        (
            "Consultez votre messagerie",
            "Si cette adresse figure sur l'un de nos tickets, nous venons de lui envoyer un lien neuf vers chacune de ses demandes en cours. Il peut mettre quelques minutes à arriver ; pensez à regarder dans les indésirables.",
        )
    } else {
        (
            "Check your mailbox",
            "If this address is on one of our tickets, we have just sent it a fresh link to each of its requests in progress. It can take a few minutes to arrive; look in your spam folder too.",
        )
    }
}
