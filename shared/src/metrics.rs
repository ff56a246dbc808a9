//! Prometheus plumbing shared by the services: one registry per service, and the small
//! `/health` + `/metrics` server each service runs on its own port.

use std::net::SocketAddr;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use prometheus::{Encoder, IntGaugeVec, Opts, Registry, TextEncoder};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// A service's own registry, with `service_info` and process metrics already registered.
pub fn service_registry(service: &str) -> Registry {
    let registry = Registry::new();
    let info = IntGaugeVec::new(
        Opts::new("service_info", "Service name and version; always 1"),
        &["name", "version"],
    )
    .expect("valid metric definition");
    info.with_label_values(&[service, env!("CARGO_PKG_VERSION")])
        .set(1);
    register(&registry, info);
    #[cfg(target_os = "linux")]
    registry
        .register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))
        .expect("process collector registered once per registry");
    registry
}

/// Registers a collector built from constant definitions; a clash is a programming error.
pub fn register<C: prometheus::core::Collector + Clone + 'static>(
    registry: &Registry,
    collector: C,
) -> C {
    registry
        .register(Box::new(collector.clone()))
        .expect("metric registered once per registry");
    collector
}

/// Renders a registry in the Prometheus text format.
pub fn render(registry: &Registry) -> Response {
    let mut buffer = Vec::new();
    match TextEncoder::new().encode(&registry.gather(), &mut buffer) {
        Ok(()) => ([(header::CONTENT_TYPE, prometheus::TEXT_FORMAT)], buffer).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "could not encode metrics");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// `GET /health` body.
pub async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "status": "healthy",
        "timestamp": chrono::Utc::now(),
    }))
}

async fn metrics_handler(State(registry): State<Registry>) -> Response {
    render(&registry)
}

/// `/health` and `/metrics` for a service's registry; services add their own routes to it.
pub fn ops_router(registry: Registry) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics_handler))
        .with_state(registry)
}

/// A bound ops server, so callers learn the port before it runs.
pub struct OpsServer {
    listener: TcpListener,
    router: Router,
}

impl OpsServer {
    pub async fn bind(addr: SocketAddr, router: Router) -> std::io::Result<OpsServer> {
        Ok(OpsServer {
            listener: TcpListener::bind(addr).await?,
            router,
        })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    pub async fn run(self, shutdown: CancellationToken) -> std::io::Result<()> {
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await
    }
}
