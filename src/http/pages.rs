//! The portal's handlers: decode the request, call one operation of the portal service,
//! render its answer. A direct link (`/tickets/N?token=…`) is traded for a session cookie
//! and redirected to the same address without the token, so that the token never stays
//! in the address bar, the history, a proxy's log or a Referer.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::Portal;
use super::client::Client;
use super::customer_html::customer_html;
use super::messages::Problem;
use crate::domain::{ByteSize, Status};
use crate::notify::templates::{
    impact_label, incident_rows, long_time, priority_label, status_label, type_label, urgency_label,
};
use crate::pipeline::authorize::Authorization;
use crate::service::PortalTicket;

/// The cookie that carries a session.
pub const SESSION_COOKIE: &str = "tg_session";

#[derive(Debug, Deserialize)]
pub struct LinkQuery {
    token: Option<String>,
}

/// `GET /tickets/{number}`: with a token, opens a session and comes back without it;
/// with a session, the ticket's page.
pub async fn ticket(
    State(portal): State<Portal>,
    Path(number): Path<String>,
    client: Client,
    query: Result<Query<LinkQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Response {
    let lang = portal.language(&headers);
    // A mangled link (a token given twice…) is a link that cannot be opened.
    let Ok(Query(query)) = query else {
        return portal.message(lang, Problem::BadLink);
    };
    if let Some(token) = query.token {
        return open_link(&portal, &number, &token, client, lang, "");
    }
    let (session, visitor) = match portal.signed_in(&headers, lang) {
        Ok(signed_in) => signed_in,
        Err(page) => return page,
    };
    let lang = portal.visitor_language(&visitor, &headers).await;
    match portal.service.ticket(&visitor, &number).await {
        Ok(ticket) => {
            let mut data = ticket_data(&ticket, lang, &portal.company);
            data["csrf"] = portal.service.form_token(session).into();
            data["max_file"] = ByteSize(portal.max_file_bytes).to_string().into();
            portal.page(StatusCode::OK, "ticket.html", lang, data)
        }
        Err(e) => portal.problem(lang, &e),
    }
}

/// `GET /tickets/{number}/approve` and `/refuse`, the links of the solution mail: with a
/// token, opens a session and comes back without it; with a session, a page that asks to
/// confirm. A GET changes nothing: mail scanners open every link of a mail.
pub async fn confirm(
    State(portal): State<Portal>,
    Path(number): Path<String>,
    client: Client,
    uri: Uri,
    query: Result<Query<LinkQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Response {
    let lang = portal.language(&headers);
    let action = match uri.path().rsplit('/').next() {
        Some(action @ ("approve" | "refuse")) => action,
        _ => return portal.message(lang, Problem::NotFound),
    };
    // A mangled link (a token given twice…) is a link that cannot be opened.
    let Ok(Query(query)) = query else {
        return portal.message(lang, Problem::BadLink);
    };
    let approve = action == "approve";
    if let Some(token) = query.token {
        return open_link(
            &portal,
            &number,
            &token,
            client,
            lang,
            &format!("/{action}"),
        );
    }
    let (session, visitor) = match portal.signed_in(&headers, lang) {
        Ok(signed_in) => signed_in,
        Err(page) => return page,
    };
    let lang = portal.visitor_language(&visitor, &headers).await;
    match portal.service.awaiting_answer(&visitor, &number).await {
        Ok(view) => {
            let solution = view
                .articles
                .iter()
                .rev()
                .find(|a| a.from_team)
                .map(|a| a.article.body_text.clone())
                .unwrap_or_default();
            let t = &view.ticket;
            let data = json!({
                "lang": lang,
                "company": portal.company,
                "page_title": format!("{} · {}", t.number, t.title),
                "approve": approve,
                "csrf": portal.service.form_token(session),
                "solution": solution,
                "ticket": { "number": t.number.as_str(), "title": t.title },
            });
            portal.page(StatusCode::OK, "confirm.html", lang, data)
        }
        Err(e) => portal.problem(lang, &e),
    }
}

/// Trades `token` for a session, and sends the browser to the ticket's page (followed by
/// `then`, `/approve` say) without it; or the page that says why the link does not open.
fn open_link(
    portal: &Portal,
    number: &str,
    token: &str,
    client: Client,
    lang: &str,
    then: &str,
) -> Response {
    let opened = portal.service.open_link(number, token, client.address);
    signed_in_at(portal, opened, client, lang, then)
}

/// `GET /s/{token}`: the short link of an SMS, traded for a session as a direct link is.
pub async fn short_link(
    State(portal): State<Portal>,
    Path(token): Path<String>,
    client: Client,
    headers: HeaderMap,
) -> Response {
    let lang = portal.language(&headers);
    let opened = portal.service.open_short_link(&token, client.address).await;
    signed_in_at(&portal, opened, client, lang, "")
}

/// The answer to a link traded for a session: to the ticket's page (`then` after its
/// address), the session in a cookie; or the page that says why the link does not open.
fn signed_in_at(
    portal: &Portal,
    opened: Result<crate::service::PortalSession, crate::service::PortalError>,
    client: Client,
    lang: &str,
    then: &str,
) -> Response {
    match opened {
        Ok(session) => (
            StatusCode::SEE_OTHER,
            [
                (
                    header::LOCATION,
                    format!("/tickets/{}{then}", session.ticket),
                ),
                (
                    header::SET_COOKIE,
                    portal.session_cookie(&session.cookie, client),
                ),
                (header::CACHE_CONTROL, "no-store".to_string()),
            ],
        )
            .into_response(),
        Err(e) => portal.problem(lang, &e),
    }
}

/// `GET /tickets/{number}/files/{sha256}`: a file of a public message, always as a
/// download: never shown from our origin, whatever its name or type claims.
pub async fn file(
    State(portal): State<Portal>,
    Path((number, sha256)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let (record, bytes) = match stored_file(&portal, &number, &sha256, &headers).await {
        Ok(file) => file,
        Err(page) => return page,
    };
    let disposition = HeaderValue::from_str(&content_disposition(&record.filename))
        .unwrap_or(HeaderValue::from_static("attachment"));
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        ),
        (header::CONTENT_DISPOSITION, disposition),
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, no-store"),
        ),
    ];
    (headers, bytes).into_response()
}

/// `GET /tickets/{number}/images/{sha256}`: an image of a public message, shown in place
/// where the mail's HTML shows it; only when its bytes are a PNG, JPEG, GIF or WebP
/// picture (never an SVG, which can carry script), typed by those bytes, not by its name.
pub async fn image(
    State(portal): State<Portal>,
    Path((number, sha256)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let bytes = match stored_file(&portal, &number, &sha256, &headers).await {
        Ok((_, bytes)) => bytes,
        Err(page) => return page,
    };
    let Some(content_type) = raster_type(&bytes) else {
        return portal.message(portal.language(&headers), Problem::NotFound);
    };
    let headers = [
        (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
        (
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("inline"),
        ),
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, max-age=3600"),
        ),
    ];
    (headers, bytes).into_response()
}

/// A stored file of ticket `number` that the request's session may read, or the page
/// that says why not.
async fn stored_file(
    portal: &Portal,
    number: &str,
    sha256: &str,
    headers: &HeaderMap,
) -> Result<(crate::domain::Attachment, Vec<u8>), Response> {
    let lang = portal.language(headers);
    let (_, visitor) = portal.signed_in(headers, lang)?;
    portal
        .service
        .attachment(&visitor, number, sha256)
        .await
        .map_err(|e| portal.problem(lang, &e))
}

/// The type of a picture a browser shows safely, from its first bytes.
fn raster_type(bytes: &[u8]) -> Option<&'static str> {
    match bytes {
        [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, ..] => Some("image/png"),
        [0xff, 0xd8, 0xff, ..] => Some("image/jpeg"),
        [b'G', b'I', b'F', b'8', b'7' | b'9', b'a', ..] => Some("image/gif"),
        [
            b'R',
            b'I',
            b'F',
            b'F',
            _,
            _,
            _,
            _,
            b'W',
            b'E',
            b'B',
            b'P',
            ..,
        ] => Some("image/webp"),
        _ => None,
    }
}

/// `attachment; filename="…"; filename*=UTF-8''…`: the name as stored (sanitized when
/// the file was received), an ASCII stand-in for old clients and the exact name, encoded.
pub(crate) fn content_disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// `GET /static/portal.css`.
pub async fn stylesheet(State(portal): State<Portal>) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/css; charset=utf-8"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        portal.stylesheet.clone(),
    )
        .into_response()
}

/// Any other address.
pub async fn not_found(State(portal): State<Portal>, headers: HeaderMap) -> Response {
    portal.message(portal.language(&headers), Problem::NotFound)
}

/// A method a page does not take.
pub async fn wrong_method(State(portal): State<Portal>, headers: HeaderMap) -> Response {
    portal.message(portal.language(&headers), Problem::WrongMethod)
}

/// The session cookie's value, if the request carries one.
pub(super) fn session_of(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| pair.trim().strip_prefix(SESSION_COOKIE)?.strip_prefix('='))
}

/// What the ticket page shows: the fields in words, and the public history.
/// The mail's own HTML, cleaned, where it says what the article says: a mail whose quoted
/// history was cut from its text keeps that history in its HTML, so it shows as text.
fn shown_html(article: &crate::domain::Article, number: &str) -> String {
    match (&article.body_html, &article.body_original) {
        (Some(html), None) => customer_html(html, number, &article.attachments),
        _ => String::new(),
    }
}

fn ticket_data(view: &PortalTicket, lang: &str, company: &str) -> serde_json::Value {
    let t = &view.ticket;
    let requester = match &t.requester_name {
        Some(name) => format!("{name} <{}>", t.requester),
        None => t.requester.to_string(),
    };
    let articles: Vec<_> = view
        .articles
        .iter()
        .map(|read| {
            let a = &read.article;
            json!({
                "author": read.author,
                "from_team": read.from_team,
                "at": long_time(a.created_at, lang),
                "text": a.body_text,
                "html": shown_html(a, t.number.as_str()),
                "files": a.attachments.iter()
                    .filter(|f| !f.inline)
                    .map(|f| json!({
                        "name": f.filename,
                        "size": ByteSize(f.size).to_string(),
                        "href": f.sha256.as_ref()
                            .filter(|_| f.refused_reason.is_none())
                            .map(|sha| format!("/tickets/{}/files/{sha}", t.number))
                            .unwrap_or_default(),
                        "refused": f.refused_reason.clone().unwrap_or_default(),
                    }))
                    .collect::<Vec<_>>(),
            })
        })
        .collect();
    let is_requester = matches!(view.standing, Authorization::Requester);
    json!({
        "lang": lang,
        "company": company,
        "page_title": format!("{} · {}", t.number, t.title),
        "can_write": t.status.is_open(),
        "can_answer": is_requester && t.status == Status::Resolved,
        "can_share": is_requester && t.status.is_open(),
        "private": t.private,
        "organisation": t.organisation.clone().unwrap_or_default(),
        "ticket": {
            "number": t.number.as_str(),
            "title": t.title,
            "status": t.status.as_str(),
            "status_label": status_label(t.status, lang),
            "requester": requester,
            "observers": view.observers,
            "type_label": type_label(t.ticket_type, lang),
            "category": t.category.clone().unwrap_or_default(),
            "impact_label": impact_label(t.impact, lang),
            "urgency_label": urgency_label(t.urgency, lang),
            "priority_label": priority_label(t.priority, lang),
            "created": long_time(t.created_at, lang),
            "updated": long_time(t.updated_at, lang),
            "details": incident_rows(&t.details, lang)
                .into_iter()
                .map(|(name, value)| json!({ "name": name, "value": value }))
                .collect::<Vec<_>>(),
        },
        "articles": articles,
    })
}
