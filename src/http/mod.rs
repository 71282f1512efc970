//! The web side of `ticketgate run`: the customer portal that the notifications' direct
//! links open. It calls the service layer only (no store, no SQL): a request is decoded,
//! one portal operation is called, its answer rendered.
//!
//! Every response carries the same guards: a Content-Security-Policy that allows no
//! script and no framing, `Referrer-Policy: no-referrer`, `X-Content-Type-Options:
//! nosniff`. Bodies are bounded (the attachment limit and a margin) and requests time out.
//! Every refusal is a page in the visitor's language with a 4xx status; our own failures
//! are logged and get a plain 500 page, never a panic or an empty answer. Tokens and
//! cookies never reach the logs: a request's span holds its method and path only.

mod actions;
mod client;
mod customer_html;
mod fresh_links;
mod health;
mod language;
mod list;
mod messages;
mod pages;
mod preferences;
mod server;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tracing::Instrument;

pub use messages::Problem;
pub use pages::SESSION_COOKIE;
pub(crate) use pages::content_disposition;
pub use server::HttpServer;

use crate::config::Settings;
use crate::pages::{PAGE_LANGUAGES, Pages};
use crate::service::{PortalError, PortalService};

/// Why the web server cannot start.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error(
        "cannot listen on {address} ([http] listen): {source}; choose a free port, or set listen = \"\" to turn the portal off"
    )]
    Listen {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Pages(#[from] crate::pages::PageError),
    #[error(transparent)]
    Links(#[from] crate::signing::LinkKeyError),
}

/// What every handler shares.
#[derive(Clone)]
pub struct Portal {
    service: PortalService,
    pages: Arc<Pages>,
    stylesheet: axum::body::Bytes,
    /// Its address, with a digest of its content: a new version is fetched at once
    /// rather than when a browser's copy expires.
    stylesheet_url: String,
    company: String,
    default_language: &'static str,
    /// The size limit of one file (`max_attachment_bytes`).
    max_file_bytes: u64,
    /// `Secure` on cookies: the portal is reached over https.
    secure_cookies: bool,
    session_seconds: u64,
    /// The reverse proxies whose forwarding headers are believed (`[http]
    /// trusted_proxies`).
    trusted_proxies: Arc<[ipnet::IpNet]>,
    /// How long a request's headers, and then the request, may take (`[http]
    /// request_timeout_secs`).
    request_timeout: Duration,
    /// The JSON API, served under `/api` beside the pages.
    api: Option<crate::api::Api>,
}

impl Portal {
    /// The portal on `service`, as the settings describe it.
    pub fn new(service: PortalService, settings: &Settings) -> Result<Self, HttpError> {
        let default_language = PAGE_LANGUAGES
            .iter()
            .copied()
            .find(|l| *l == settings.ticket_defaults.language)
            .unwrap_or(PAGE_LANGUAGES[0]);
        let operator_dir = settings.template_dir.as_deref();
        let stylesheet = crate::pages::stylesheet(operator_dir)?;
        let digest = <sha2::Sha256 as sha2::Digest>::digest(&stylesheet);
        Ok(Self {
            service,
            pages: Arc::new(Pages::load(operator_dir)?),
            stylesheet_url: format!("/static/portal.css?v={}", hex::encode(&digest[..6])),
            stylesheet: stylesheet.into(),
            company: settings.company.clone(),
            max_file_bytes: settings.max_attachment_bytes,
            default_language,
            secure_cookies: settings.portal.base_url.starts_with("https://"),
            session_seconds: settings.http.session_lifetime.as_secs(),
            trusted_proxies: settings.http.trusted_proxies.clone().into(),
            request_timeout: settings.http.request_timeout,
            api: None,
        })
    }

    /// The same, with the JSON API under `/api`.
    pub fn with_api(self, api: crate::api::Api) -> Self {
        Self {
            api: Some(api),
            ..self
        }
    }

    /// The page language: what the browser asks for among ours, else the default.
    fn language(&self, headers: &HeaderMap) -> &'static str {
        let asked = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok());
        language::language_from(asked).unwrap_or(self.default_language)
    }

    /// The page language for `visitor`: the one they chose for our mails, else what the
    /// browser asks for, else the default.
    async fn visitor_language(
        &self,
        visitor: &crate::domain::EmailAddress,
        headers: &HeaderMap,
    ) -> &'static str {
        match self.service.chosen_language(visitor).await.as_deref() {
            Some(chosen) => PAGE_LANGUAGES
                .iter()
                .copied()
                .find(|l| *l == chosen)
                .unwrap_or_else(|| self.language(headers)),
            None => self.language(headers),
        }
    }

    /// The request's session and whose it is, or the page that says to open a link.
    fn signed_in<'h>(
        &self,
        headers: &'h HeaderMap,
        lang: &str,
    ) -> Result<(&'h str, crate::domain::EmailAddress), Response> {
        let session = pages::session_of(headers)
            .ok_or_else(|| self.problem(lang, &PortalError::NotSignedIn))?;
        let visitor = self
            .service
            .visitor(session)
            .map_err(|e| self.problem(lang, &e))?;
        Ok((session, visitor))
    }

    /// The cookie of session `value`, `Secure` when the portal is reached over https (its
    /// `base_url` says so, or a trusted proxy says this client came over it).
    fn session_cookie(&self, value: &str, client: client::Client) -> String {
        format!(
            "{SESSION_COOKIE}={value}; Path=/; Max-Age={}; HttpOnly; SameSite=Lax{}",
            self.session_seconds,
            if self.secure_cookies || client.https {
                "; Secure"
            } else {
                ""
            }
        )
    }

    /// Page `name` rendered with `data`, or the plain failure page.
    fn page(
        &self,
        status: StatusCode,
        name: &str,
        lang: &str,
        mut data: serde_json::Value,
    ) -> Response {
        data["stylesheet"] = self.stylesheet_url.clone().into();
        match self.pages.render(name, lang, &data) {
            Ok(html) => (status, no_store(), Html(html)).into_response(),
            Err(e) => {
                tracing::error!(error = %e, "a portal page cannot be rendered");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
            }
        }
    }

    /// The message page of `problem`; where a link did not open, with the form that asks
    /// for a fresh one.
    fn message(&self, lang: &str, problem: Problem) -> Response {
        let (heading, text) = problem.words(lang);
        let ask_link = problem.offers_fresh_link();
        self.notice(problem.status(), lang, (heading, text), ask_link)
    }

    /// A page of one heading and one paragraph, with the form that asks for a fresh link
    /// if `ask_link`.
    fn notice(
        &self,
        status: StatusCode,
        lang: &str,
        (heading, text): (&str, &str),
        ask_link: bool,
    ) -> Response {
        let data = serde_json::json!({
            "lang": lang,
            "company": self.company,
            "page_title": heading,
            "heading": heading,
            "text": text,
            "ask_link": ask_link,
        });
        self.page(status, "message.html", lang, data)
    }

    /// The page a refusal of the portal service becomes; our own failures are logged.
    fn problem(&self, lang: &str, error: &PortalError) -> Response {
        let problem = Problem::of(error);
        match problem {
            Problem::Internal => tracing::error!(error = %error, "a portal request failed"),
            _ => tracing::info!(refused = %error, "portal request refused"),
        }
        self.message(lang, problem)
    }
}

fn no_store() -> [(HeaderName, HeaderValue); 1] {
    [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))]
}

/// The portal's routes, with the guards every response carries.
pub fn router(portal: Portal, max_body_bytes: usize) -> Router {
    let timeout = portal.request_timeout;
    let api = portal.api.clone().map(crate::api::router);
    let guard = |name: &'static str, value: &'static str| {
        SetResponseHeaderLayer::overriding(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        )
    };
    Router::new()
        .route("/tickets", get(list::tickets))
        .route("/tickets/{number}", get(pages::ticket))
        .route("/tickets/{number}/comment", post(actions::comment))
        .route(
            "/tickets/{number}/approve",
            get(pages::confirm).post(actions::act),
        )
        .route(
            "/tickets/{number}/refuse",
            get(pages::confirm).post(actions::act),
        )
        .route("/tickets/{number}/private", post(actions::act))
        .route("/tickets/{number}/observers", post(actions::act))
        .route("/tickets/{number}/close", post(actions::act))
        .route("/tickets/{number}/files/{sha256}", get(pages::file))
        .route("/tickets/{number}/images/{sha256}", get(pages::image))
        .route(
            "/preferences",
            get(preferences::show).post(preferences::save),
        )
        .route("/links", get(fresh_links::ask).post(fresh_links::send))
        .route("/s/{token}", get(pages::short_link))
        .route("/static/portal.css", get(pages::stylesheet))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .nest_service(
            "/api",
            api.unwrap_or_else(|| Router::new().fallback(api_off)),
        )
        .fallback(pages::not_found)
        .method_not_allowed_fallback(pages::wrong_method)
        .with_state(portal)
        // The forms read their bodies through extractors that answer a larger one with
        // our own 413 page.
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(guard(
            "content-security-policy",
            "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ))
        .layer(guard("referrer-policy", "no-referrer"))
        .layer(guard("x-content-type-options", "nosniff"))
        .layer(guard("x-frame-options", "DENY"))
        .layer(axum::middleware::from_fn(request_span))
}

/// `path` as logs may show it: a short link (`/s/NUMBER.EXPIRY.MAC`) keeps its ticket
/// number and loses the rest, which opens the ticket to whoever holds it.
fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    match path.strip_prefix("/s/") {
        Some(token) => {
            let number = token.split_once('.').map_or("", |(number, _)| number);
            format!("/s/{number}.…").into()
        }
        None => path.into(),
    }
}

/// `/api` when no API is served: the answer a client of it can read.
async fn api_off() -> Response {
    crate::api::Problem::not_found("the JSON API is not served here").into_response()
}

/// A span per request with a number of its own (`request_id`, counted from the start),
/// its method and path: never its query (a direct link's token), its cookies or its
/// headers (`Authorization`), and a short link's path without its signature.
async fn request_span(request: Request, next: Next) -> Response {
    static REQUESTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let request_id = REQUESTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
    let span = tracing::info_span!(
        "request",
        request_id,
        method = %request.method(),
        path = %loggable_path(request.uri().path())
    );
    async move {
        let response = next.run(request).await;
        tracing::debug!(status = response.status().as_u16(), "answered");
        response
    }
    .instrument(span)
    .await
}
