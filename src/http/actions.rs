//! The forms of a ticket's page: a comment with its files, and the answer to a proposed
//! solution. Each
//! POST must come from our own page: a browser's `Sec-Fetch-Site` says same-origin (when
//! it says anything), an `Origin` names this host (when there is one), and the form
//! carries the token of the session that sent it. Then one portal operation runs, and the
//! browser goes back to the ticket (POST, redirect, GET: a reload sends nothing twice).

use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::Portal;
use super::messages::Problem;
use super::pages::session_of;
use crate::domain::EmailAddress;
use crate::service::{PortalError, PortalFile};

/// A form of the ticket page: its token and, for a comment or a refusal, the words.
#[derive(Debug, Deserialize)]
pub struct TicketForm {
    csrf: String,
    #[serde(default)]
    body: String,
    /// An observer to add.
    #[serde(default)]
    email: String,
    /// `yes` or `no`: whether the organisation is kept off.
    #[serde(default)]
    private: String,
}

/// `POST /tickets/{number}/comment`: a multipart form (the message and its files).
pub async fn comment(
    State(portal): State<Portal>,
    Path(number): Path<String>,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let lang = portal.language(&headers);
    if !same_origin(&headers) {
        return portal.problem(lang, &PortalError::Forged);
    }
    let Ok(multipart) = multipart else {
        return portal.message(lang, Problem::BadForm);
    };
    let (form, files) = match read_comment(multipart, portal.max_file_bytes).await {
        Ok(read) => read,
        Err(problem) => return portal.message(lang, problem),
    };
    let visitor = match visitor(&portal, &headers, &form) {
        Ok(visitor) => visitor,
        Err(e) => return portal.problem(lang, &e),
    };
    // What follows is answered in the language they chose, as their pages are.
    let lang = portal.visitor_language(&visitor, &headers).await;
    match portal
        .service
        .comment(&visitor, &number, &form.body, files)
        .await
    {
        Ok(_) => back_to(&number),
        Err(e) => portal.problem(lang, &e),
    }
}

/// The fields of a comment's form, and its files: each kept up to `max_file_bytes` (a
/// larger one only counted, to be refused by its size, never held whole).
async fn read_comment(
    mut multipart: Multipart,
    max_file_bytes: u64,
) -> Result<(TicketForm, Vec<PortalFile>), Problem> {
    let mut form = TicketForm {
        csrf: String::new(),
        body: String::new(),
        email: String::new(),
        private: String::new(),
    };
    let mut files = Vec::new();
    let too_large = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            Problem::TooLarge
        } else {
            Problem::BadForm
        }
    };
    while let Some(mut field) = multipart.next_field().await.map_err(too_large)? {
        match field.name().unwrap_or_default() {
            "csrf" => form.csrf = field.text().await.map_err(too_large)?,
            "body" => form.body = field.text().await.map_err(too_large)?,
            "files" => {
                let name = field.file_name().map(str::to_string);
                let mut bytes = Vec::new();
                let mut size: u64 = 0;
                while let Some(chunk) = field.chunk().await.map_err(too_large)? {
                    size += chunk.len() as u64;
                    if size <= max_file_bytes {
                        bytes.extend_from_slice(&chunk);
                    }
                }
                // A file input left empty still sends a part, without a name or bytes.
                if name.as_deref().is_some_and(|n| !n.is_empty()) || size > 0 {
                    files.push(PortalFile { name, bytes, size });
                }
            }
            _ => {}
        }
    }
    Ok((form, files))
}

/// What a form of the ticket page asks, named by the last segment of its address.
#[derive(Debug, Clone, Copy)]
enum Action {
    Approve,
    Refuse,
    Private,
    Observer,
    Close,
}

impl Action {
    fn of(uri: &Uri) -> Option<Action> {
        match uri.path().rsplit('/').next()? {
            "approve" => Some(Action::Approve),
            "refuse" => Some(Action::Refuse),
            "private" => Some(Action::Private),
            "observers" => Some(Action::Observer),
            "close" => Some(Action::Close),
            _ => None,
        }
    }
}

/// `POST /tickets/{number}/approve`, `/refuse` (with the reason in `body`), `/private`
/// (`private=yes|no`), `/observers` (the `email` typed) and `/close`: the urlencoded forms
/// of the ticket page, each one operation of the portal service.
pub async fn act(
    State(portal): State<Portal>,
    Path(number): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    form: Result<Form<TicketForm>, FormRejection>,
) -> Response {
    let lang = portal.language(&headers);
    let Some(action) = Action::of(&uri) else {
        return portal.message(lang, Problem::NotFound);
    };
    if !same_origin(&headers) {
        return portal.problem(lang, &PortalError::Forged);
    }
    let form = match form {
        Ok(Form(form)) => form,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return portal.message(lang, Problem::TooLarge);
        }
        Err(_) => return portal.message(lang, Problem::BadForm),
    };
    let visitor = match visitor(&portal, &headers, &form) {
        Ok(visitor) => visitor,
        Err(e) => return portal.problem(lang, &e),
    };
    // What follows is answered in the language they chose, as their pages are.
    let lang = portal.visitor_language(&visitor, &headers).await;
    let service = &portal.service;
    let done = match action {
        Action::Approve => service.approve(&visitor, &number).await,
        Action::Refuse => service.refuse(&visitor, &number, &form.body).await,
        Action::Private => match form.private.as_str() {
            "yes" => service.set_private(&visitor, &number, true).await,
            "no" => service.set_private(&visitor, &number, false).await,
            _ => return portal.message(lang, Problem::BadForm),
        },
        Action::Observer => service.add_observer(&visitor, &number, &form.email).await,
        Action::Close => service.close(&visitor, &number).await,
    };
    match done {
        Ok(()) => back_to(&number),
        Err(e) => portal.problem(lang, &e),
    }
}

/// Back to the ticket's page once a form is done (a reload then sends nothing again).
fn back_to(number: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, format!("/tickets/{number}"))],
    )
        .into_response()
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
pub(super) fn same_origin(headers: &HeaderMap) -> bool {
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
