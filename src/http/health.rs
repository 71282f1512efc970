//! `/healthz`, `/readyz` and `/metrics`: what a load balancer, systemd or Prometheus asks
//! the daemon. They live on the portal's listener (and `/metrics`, with `[http]
//! metrics_listen`, on one of its own); like every handler they call the service layer
//! only. Every answered request is counted here by its route's pattern, never its path
//! (which may hold a token).

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};

use super::{Portal, no_store, pages};
use crate::monitoring::{self, HTTP_REQUESTS};
use crate::service::HealthService;

/// The media type of Prometheus's text format.
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What the health handlers share, beside the portal.
#[derive(Debug, Clone)]
pub struct Health {
    service: HealthService,
    /// Whether `/metrics` is served beside the portal (not on `[http] metrics_listen`).
    metrics_here: bool,
}

impl Health {
    pub fn new(service: HealthService, metrics_here: bool) -> Self {
        Self {
            service,
            metrics_here,
        }
    }
}

/// `router` with the health handlers' state and the request counter.
pub(super) fn around(router: Router, health: Health) -> Router {
    router
        .layer(Extension(health))
        .layer(axum::middleware::from_fn(count))
}

/// A router that serves `/metrics` only, for `[http] metrics_listen`.
pub(super) fn metrics_only() -> Router {
    Router::new()
        .route("/metrics", get(|| async { prometheus_text() }))
        .layer(axum::middleware::from_fn(count))
}

/// The process answers.
pub async fn healthz() -> Response {
    (no_store(), "ok\n").into_response()
}

/// Whether the daemon can do its work: 200 when every check passes, 503 otherwise, with
/// each check in a JSON body.
pub async fn readyz(Extension(health): Extension<Health>) -> Response {
    let readiness = health.service.readiness().await;
    let status = if readiness.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    match serde_json::to_string_pretty(&readiness) {
        Ok(body) => (
            status,
            no_store(),
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body + "\n",
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "the readiness checks cannot be written");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// The metrics in Prometheus's text format; the portal's not-found page when they are
/// served on `[http] metrics_listen` instead.
pub async fn metrics(
    Extension(health): Extension<Health>,
    portal: State<Portal>,
    headers: HeaderMap,
) -> Response {
    if !health.metrics_here {
        return pages::not_found(portal, headers).await;
    }
    prometheus_text()
}

fn prometheus_text() -> Response {
    (
        no_store(),
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(PROMETHEUS_TEXT),
        )],
        monitoring::render(),
    )
        .into_response()
}

/// Counts each answered request by its route's pattern (`unmatched` for the fallback)
/// and status.
async fn count(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let response = next.run(request).await;
    metrics::counter!(
        HTTP_REQUESTS,
        "route" => route,
        "status" => response.status().as_u16().to_string(),
    )
    .increment(1);
    response
}
