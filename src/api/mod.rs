//! The JSON API under `/api/v1`, for the tools a support team connects (a dashboard, a
//! chat, a phone system): the same operations as the CLI, through the same services, on
//! the portal's HTTP server. Every request carries a bearer token (`ticketgate tokens
//! create`); a token of scope `read` reads, one of scope `write` also changes. A request's
//! span names the token, never the token itself. Every refusal is a problem document
//! (RFC 9457) with a 4xx status; a write that names an older version of the ticket in
//! `If-Match` than its current `ETag` is refused with 412.

mod admin;
mod body;
mod comments;
mod edits;
mod openapi;
mod opening;
mod operations;
mod problem;
mod tickets;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tracing::Instrument;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

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
/// check, and the OpenAPI document that describes them (served without a token).
pub fn router(api: Api) -> Router {
    let (routes, document) = routes().split_for_parts();
    let document: Arc<str> = serde_json::to_string(&openapi::complete(document))
        .expect("the OpenAPI document serializes")
        .into();
    routes
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
        .route(
            "/openapi.json",
            get(move || {
                let document = Arc::clone(&document);
                async move {
                    (
                        [(header::CONTENT_TYPE, "application/json")],
                        document.to_string(),
                    )
                }
            }),
        )
        .with_state(api)
}

/// The API's routes with their descriptions, from the same annotations.
fn routes() -> OpenApiRouter<Api> {
    OpenApiRouter::with_openapi(openapi::base())
        .routes(routes!(tickets::list, opening::open))
        .routes(routes!(tickets::show, edits::set_fields))
        .routes(routes!(comments::comment))
        .routes(routes!(tickets::status))
        .routes(routes!(edits::assign))
        .routes(routes!(edits::add_observer))
        .routes(routes!(edits::remove_observer))
        .routes(routes!(edits::file))
        .routes(routes!(edits::raw_mail))
        .routes(routes!(admin::contact, admin::set_contact))
        .routes(routes!(admin::outbox))
        .routes(routes!(admin::retry))
        .routes(routes!(operations::quarantine))
        .routes(routes!(operations::retry_quarantined))
        .routes(routes!(operations::jobs))
        .routes(routes!(operations::run_job))
}

/// The OpenAPI document of the API, as `/api/openapi.json` serves it.
pub fn document() -> utoipa::openapi::OpenApi {
    openapi::complete(routes().into_openapi())
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
    let span = tracing::info_span!("api", token_name = %token.name);
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
