//! Gateway metrics, labelled by route template (never raw paths or ids).

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus::{
    HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
};
use shared::bus::{MalformedMessages, Topic};
use shared::metrics::register;

use crate::live::LiveMetrics;

#[derive(Clone)]
pub struct GatewayMetrics {
    pub requests: IntCounterVec,
    pub latency: HistogramVec,
    pub active_websockets: IntGauge,
    pub login_failures: IntCounter,
    pub rate_limited: IntCounterVec,
    /// Ticks, alert changes, trigger events and delivery events: the gateway reads every topic.
    pub malformed_messages: MalformedMessages,
    pub live: LiveMetrics,
}

impl GatewayMetrics {
    pub fn new(registry: &Registry) -> GatewayMetrics {
        let metrics = GatewayMetrics {
            requests: register(
                registry,
                IntCounterVec::new(
                    Opts::new(
                        "gateway_http_requests_total",
                        "HTTP requests by route template and status",
                    ),
                    &["method", "endpoint", "status"],
                )
                .expect("valid metric"),
            ),
            latency: register(
                registry,
                HistogramVec::new(
                    HistogramOpts::new(
                        "gateway_http_latency_seconds",
                        "HTTP request latency by route template",
                    )
                    .buckets(vec![
                        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                    ]),
                    &["method", "endpoint"],
                )
                .expect("valid metric"),
            ),
            active_websockets: register(
                registry,
                IntGauge::new("gateway_active_websockets", "Open WebSocket price streams")
                    .expect("valid metric"),
            ),
            login_failures: register(
                registry,
                IntCounter::new(
                    "gateway_login_failures_total",
                    "Logins refused for a wrong email or password",
                )
                .expect("valid metric"),
            ),
            rate_limited: register(
                registry,
                IntCounterVec::new(
                    Opts::new(
                        "gateway_rate_limited_total",
                        "Requests refused by a rate limit, by scope",
                    ),
                    &["scope"],
                )
                .expect("valid metric"),
            ),
            malformed_messages: MalformedMessages::register(registry, "gateway", &Topic::ALL),
            live: LiveMetrics::new(registry),
        };
        for scope in ["ip", "account", "api"] {
            metrics.rate_limited.with_label_values(&[scope]);
        }
        metrics
    }
}

/// Counts and times every routed request under its route template.
pub async fn track(
    State(metrics): State<GatewayMetrics>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let endpoint = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics
        .requests
        .with_label_values(&[&method, &endpoint, &status])
        .inc();
    metrics
        .latency
        .with_label_values(&[&method, &endpoint])
        .observe(started.elapsed().as_secs_f64());
    response
}
