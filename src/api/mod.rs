//! The JSON API under `/api/v1`, for the tools a support team connects (a dashboard, a
//! chat, a phone system): the same operations as the CLI, through the same services, on
//! the portal's HTTP server. Every request carries a bearer token (`ticketgate tokens
//! create`); a token of scope `read` reads, one of scope `write` also changes. A request's
//! span names the token, never the token itself. Every refusal is a problem document
//! (RFC 9457) with a 4xx status; a write that names an older version of the ticket in
//! `If-Match` than its current `ETag` is refused with 412.

mod admin;
mod comments;
mod edits;
mod opening;
mod operations;
mod problem;
mod tickets;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use tracing::Instrument;

pub use problem::Problem;

use crate::service::{
    ApiToken, ContactService, Jobs, OutboxService, QuarantineService, Scope, TicketService,
    TokenService,
};

/// What the API's handlers share.
#[derive(Debug, Clone)]
pub struct Api {
    tickets: TicketService,
    tokens: TokenService,
    contacts: ContactService,
    outbox: OutboxService,
    quarantine: QuarantineService,
    jobs: Jobs,
}

impl Api {
    /// The API over the services of `services`.
    pub fn new(services: &crate::service::Services) -> Self {
        Self {
            tickets: services.tickets(),
            tokens: services.tokens(),
            contacts: services.contacts(),
            outbox: services.outbox(),
            quarantine: services.quarantine(),
            jobs: services.jobs(),
        }
    }
}

/// The API's routes under the `/api` the web server nests them at, each behind the token
/// check.
pub fn router(api: Api) -> Router {
    Router::new()
        .route("/v1/tickets", get(tickets::list).post(opening::open))
        .route(
            "/v1/tickets/{number}",
            get(tickets::show).patch(edits::set_fields),
        )
        .route("/v1/tickets/{number}/comments", post(comments::comment))
        .route("/v1/tickets/{number}/status", post(tickets::status))
        .route("/v1/tickets/{number}/assign", post(edits::assign))
        .route("/v1/tickets/{number}/observers", post(edits::add_observer))
        .route(
            "/v1/tickets/{number}/observers/{email}",
            delete(edits::remove_observer),
        )
        .route("/v1/tickets/{number}/files/{sha256}", get(edits::file))
        .route(
            "/v1/contacts/{email}",
            get(admin::contact).patch(admin::set_contact),
        )
        .route("/v1/outbox", get(admin::outbox))
        .route("/v1/outbox/{id}/retry", post(admin::retry))
        .route("/v1/quarantine", get(operations::quarantine))
        .route(
            "/v1/quarantine/{id}/retry",
            post(operations::retry_quarantined),
        )
        .route("/v1/jobs", get(operations::jobs))
        .route("/v1/jobs/{name}/run", post(operations::run_job))
        .route(
            "/v1/tickets/{number}/articles/{id}/raw",
            get(edits::raw_mail),
        )
        .fallback(|| async { Problem::not_found("no such API route").into_response() })
        .method_not_allowed_fallback(|| async {
            Problem::new(
                "method",
                "Method not allowed",
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "this address does not take this method",
            )
            .into_response()
        })
        .route_layer(axum::middleware::from_fn_with_state(
            api.clone(),
            authenticated,
        ))
        .with_state(api)
}

/// Lets through a request with a valid token, its token in the request's extensions and
/// its name in the span; refuses the rest with 401.
async fn authenticated(State(api): State<Api>, mut request: Request, next: Next) -> Response {
    let bearer = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(secret) = bearer else {
        return Problem::unauthorized().into_response();
    };
    let token = match api.tokens.authenticate(secret).await {
        Ok(token) => token,
        Err(e) => {
            tracing::info!("an API request with a token that is not valid");
            return Problem::of_token(&e).into_response();
        }
    };
    let span = tracing::info_span!("api", token = %token.name);
    request.extensions_mut().insert(token);
    next.run(request).instrument(span).await
}

/// Refuses `token` when it may not do what `needed` names.
fn require(token: &ApiToken, needed: Scope) -> Result<(), Problem> {
    if token.scope.allows(needed) {
        Ok(())
    } else {
        Err(Problem::forbidden_scope())
    }
}
