//! The portal's socket and its accept loop. Each connection is served by hyper with a
//! timer, so that a client must send its request's headers within `[http]
//! request_timeout_secs` or lose the connection (axum's own `serve` sets no timer, and
//! then no limit applies: a client sending a header a minute would hold its connection
//! for ever). The request itself is bounded by the router's timeout layer. On shutdown
//! the socket closes at once and the requests in flight finish.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use super::health::{self, Health};
use super::{HttpError, Portal, router};
use crate::service::HealthService;

/// How long the requests in flight may take to finish once the daemon stops.
const DRAIN: Duration = Duration::from_secs(30);

/// The bound socket of the web server: binding at start-up makes a port in use a start-up
/// error that names the key.
#[derive(Debug)]
pub struct HttpServer {
    listener: TcpListener,
    router: Router,
    header_timeout: Duration,
    /// What it serves, for the log: `portal`, `metrics`.
    serving: &'static str,
}

impl HttpServer {
    /// Binds `[http] listen` and prepares the routes: the portal's, and the health checks
    /// on `health` (with `/metrics` unless `metrics_elsewhere`).
    pub async fn bind(
        address: SocketAddr,
        portal: Portal,
        max_body_bytes: usize,
        health: HealthService,
        metrics_elsewhere: bool,
    ) -> Result<Self, HttpError> {
        let listener = TcpListener::bind(address)
            .await
            .map_err(|source| HttpError::Listen { address, source })?;
        let header_timeout = portal.request_timeout;
        Ok(Self {
            listener,
            router: health::around(
                router(portal, max_body_bytes),
                Health::new(health, !metrics_elsewhere),
            ),
            header_timeout,
            serving: "portal",
        })
    }

    /// Binds `[http] metrics_listen`, to serve `/metrics` alone.
    pub async fn bind_metrics(
        address: SocketAddr,
        header_timeout: Duration,
    ) -> std::io::Result<Self> {
        Ok(Self {
            listener: TcpListener::bind(address).await?,
            router: health::metrics_only(),
            header_timeout,
            serving: "metrics",
        })
    }

    /// Where it listens (the port the system chose for port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown`, then lets the requests in flight finish.
    pub async fn serve(self, shutdown: CancellationToken) {
        match self.local_addr() {
            Ok(address) => tracing::info!(%address, "{} listening", self.serving),
            Err(e) => {
                tracing::warn!(error = %e, "{} listening, on an address unknown", self.serving)
            }
        }
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.header_timeout);
        let graceful = GracefulShutdown::new();
        loop {
            let (stream, peer) = tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of file descriptors, say: wait rather than spin.
                        tracing::warn!(error = %e, "the portal cannot accept a connection");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
                () = shutdown.cancelled() => break,
            };
            // The peer's address reaches the handlers: the limits count per client.
            let service = self.router.clone().map_request(
                move |request: hyper::Request<hyper::body::Incoming>| {
                    let mut request = request.map(axum::body::Body::new);
                    request.extensions_mut().insert(ConnectInfo(peer));
                    request
                },
            );
            let connection =
                builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
            let connection = graceful.watch(connection);
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::debug!(error = %e, "a portal connection ended with an error");
                }
            });
        }
        drop(self.listener);
        if tokio::time::timeout(DRAIN, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!("the portal stopped with requests still in flight after {DRAIN:?}");
        }
    }
}
