//! Gateway metrics, labelled by route template (never raw paths or ids).

use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry,
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
    /// PostgreSQL's account change notices, by channel. No series on SQLite, which has none.
    pub account_notices_listening: IntGaugeVec,
    pub account_notices: IntCounterVec,
    /// How many alert pages each batched read carried (PostgreSQL only).
    pub list_batch_pages: Histogram,
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
                    // Fine from 5 to 25 ms, around the API benchmark's p99 target of 20 ms, and
                    // from 25 to 100 ms, where the writes' tail sits under load (between 25 and
                    // 50 ms alone, every p99 read as "up to 50 ms").
                    .buckets(vec![
                        0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.025, 0.035,
                        0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5,
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
            account_notices_listening: register(
                registry,
                IntGaugeVec::new(
                    Opts::new(
                        "gateway_account_notices_listening",
                        "1 while account change notices flow (accounts cached USER_CACHE_MS), \
                         0 while they do not (cached 2 s)",
                    ),
                    &["channel"],
                )
                .expect("valid metric"),
            ),
            account_notices: register(
                registry,
                IntCounterVec::new(
                    Opts::new(
                        "gateway_account_notices_total",
                        "Account change notices received (each evicts one cached account)",
                    ),
                    &["channel"],
                )
                .expect("valid metric"),
            ),
            list_batch_pages: register(
                registry,
                Histogram::with_opts(
                    HistogramOpts::new(
                        "gateway_alert_list_batch_pages",
                        "Alert pages read by one batched statement (PostgreSQL)",
                    )
                    .buckets(vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0]),
                )
                .expect("valid metric"),
            ),
        };
        for scope in ["ip", "account", "api"] {
            metrics.rate_limited.with_label_values(&[scope]);
        }
        metrics
    }
}
