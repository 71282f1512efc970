//! The forms of a ticket's page: a comment, and the answer to a proposed solution. Each
//! POST must come from our own page: a browser's `Sec-Fetch-Site` says same-origin (when
//! it says anything), an `Origin` names this host (when there is one), and the form
//! carries the token of the session that sent it. Then one portal operation runs, and the
//! browser goes back to the ticket (POST, redirect, GET: a reload sends nothing twice).

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::Portal;
use super::messages::Problem;
use super::pages::session_of;
use crate::domain::EmailAddress;
use crate::service::PortalError;

/// A form of the ticket page: its token and, for a comment or a refusal, the words.
#[derive(Debug, Deserialize)]
pub struct TicketForm {
    csrf: String,
    #[serde(default)]
    body: String,
}

/// `POST /tickets/{number}/comment`.
pub async fn comment(
    state: State<Portal>,
    path: Path<String>,
    headers: HeaderMap,
    form: Result<Form<TicketForm>, FormRejection>,
) -> Response {
    act(state, path, headers, form, Action::Comment).await
}

/// `POST /tickets/{number}/approve`.
pub async fn approve(
    state: State<Portal>,
    path: Path<String>,
    headers: HeaderMap,
    form: Result<Form<TicketForm>, FormRejection>,
) -> Response {
    act(state, path, headers, form, Action::Approve).await
}

/// `POST /tickets/{number}/refuse`.
pub async fn refuse(
    state: State<Portal>,
    path: Path<String>,
    headers: HeaderMap,
    form: Result<Form<TicketForm>, FormRejection>,
) -> Response {
    act(state, path, headers, form, Action::Refuse).await
}

#[derive(Debug, Clone, Copy)]
enum Action {
    Comment,
    Approve,
    Refuse,
}

async fn act(
    State(portal): State<Portal>,
    Path(number): Path<String>,
    headers: HeaderMap,
    form: Result<Form<TicketForm>, FormRejection>,
    action: Action,
) -> Response {
    let lang = portal.language(&headers);
    if !same_origin(&headers) {
        return portal.problem(lang, &PortalError::Forged);
    }
    let Ok(Form(form)) = form else {
        return portal.message(lang, Problem::BadForm);
    };
    let visitor = match visitor(&portal, &headers, &form) {
        Ok(visitor) => visitor,
        Err(e) => return portal.problem(lang, &e),
    };
    let service = &portal.service;
    let done = match action {
        Action::Comment => service.comment(&visitor, &number, &form.body).await,
        Action::Approve => service.approve(&visitor, &number).await,
        Action::Refuse => service.refuse(&visitor, &number, &form.body).await,
    };
    match done {
        Ok(()) => (
            StatusCode::SEE_OTHER,
            [(header::LOCATION, format!("/tickets/{number}"))],
        )
            .into_response(),
        Err(e) => portal.problem(lang, &e),
    }
}

/// The visitor of the session that sent `form`, if the form carries that session's token.
fn visitor(
    portal: &Portal,
    headers: &HeaderMap,
    form: &TicketForm,
) -> Result<EmailAddress, PortalError> {
    let session = session_of(headers).ok_or(PortalError::NotSignedIn)?;
    let visitor = portal.service.visitor(session)?;
    portal.service.check_form(session, &form.csrf)?;
    Ok(visitor)
}

/// Whether what the browser says of the request's origin, if anything, is this site. An
/// `Origin: null` says nothing: browsers send it for our own forms, since our pages ask
/// for no referrer (the form token still has to match).
fn same_origin(headers: &HeaderMap) -> bool {
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = text(header::HeaderName::from_static("sec-fetch-site"))
        && site != "same-origin"
    {
        return false;
    }
    match (
        text(header::ORIGIN).filter(|o| *o != "null"),
        text(header::HOST),
    ) {
        (Some(origin), Some(host)) => origin
            .split_once("://")
            .is_some_and(|(_, origin_host)| origin_host.eq_ignore_ascii_case(host)),
        (Some(_), None) => false,
        (None, _) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::same_origin;
    use axum::http::{HeaderMap, HeaderValue};

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            h.insert(*n, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn only_our_own_pages_may_post() {
        assert!(same_origin(&headers(&[("host", "support.acme.example")])));
        assert!(same_origin(&headers(&[
            ("host", "support.acme.example"),
            ("origin", "https://support.acme.example"),
            ("sec-fetch-site", "same-origin"),
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "support.acme.example"),
            ("origin", "https://evil.example"),
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "support.acme.example"),
            ("sec-fetch-site", "cross-site"),
        ])));
        // What Chromium sends for a form of a page with Referrer-Policy: no-referrer.
        assert!(same_origin(&headers(&[
            ("host", "support.acme.example"),
            ("origin", "null"),
            ("sec-fetch-site", "same-origin"),
        ])));
        assert!(!same_origin(&headers(&[(
            "origin",
            "https://evil.example"
        )])));
    }
}
