//! The live feed's metrics (registered with the gateway's, see `crate::metrics`).

use prometheus::{IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry};
use shared::metrics::register;

#[derive(Clone)]
pub struct LiveMetrics {
    pub anonymous_sockets: IntGauge,
    pub authenticated_sockets: IntGauge,
    pub messages_sent: IntCounter,
    /// Prices replaced before the fan-out reached them (the fan-out fell behind the bus).
    pub conflated_in_feed: IntCounter,
    /// Prices replaced in a socket's queue before the socket sent them (a slow client).
    pub conflated_per_socket: IntCounter,
    pub alert_pushes: IntCounter,
    pub delivery_pushes: IntCounter,
    pub events_dropped: IntCounter,
    pub refused_over_total: IntCounter,
    pub refused_over_address: IntCounter,
}

impl LiveMetrics {
    pub fn new(registry: &Registry) -> LiveMetrics {
        let sockets = register(
            registry,
            IntGaugeVec::new(
                Opts::new(
                    "gateway_websockets",
                    "Open WebSockets by kind (anonymous, authenticated)",
                ),
                &["kind"],
            )
            .expect("valid metric"),
        );
        let conflated = register(
            registry,
            IntCounterVec::new(
                Opts::new(
                    "gateway_websocket_prices_conflated_total",
                    "Prices skipped because a newer one of their symbol replaced them before \
                     they were sent, by where they waited (feed, socket)",
                ),
                &["stage"],
            )
            .expect("valid metric"),
        );
        let pushes = register(
            registry,
            IntCounterVec::new(
                Opts::new(
                    "gateway_websocket_pushes_total",
                    "Alert fires and delivery outcomes queued on a user's sockets, by kind",
                ),
                &["kind"],
            )
            .expect("valid metric"),
        );
        let refused = register(
            registry,
            IntCounterVec::new(
                Opts::new(
                    "gateway_websocket_refused_total",
                    "WebSockets closed with 1013 at connect, by the limit they hit (total, address)",
                ),
                &["limit"],
            )
            .expect("valid metric"),
        );
        LiveMetrics {
            anonymous_sockets: sockets.with_label_values(&["anonymous"]),
            authenticated_sockets: sockets.with_label_values(&["authenticated"]),
            messages_sent: register(
                registry,
                IntCounter::new(
                    "gateway_websocket_messages_sent_total",
                    "Messages written to WebSockets (prices, snapshots, events, replies)",
                )
                .expect("valid metric"),
            ),
            conflated_in_feed: conflated.with_label_values(&["feed"]),
            conflated_per_socket: conflated.with_label_values(&["socket"]),
            alert_pushes: pushes.with_label_values(&["alert"]),
            delivery_pushes: pushes.with_label_values(&["delivery"]),
            events_dropped: register(
                registry,
                IntCounter::new(
                    "gateway_websocket_events_dropped_total",
                    "Alert or delivery messages dropped because a socket had too many waiting",
                )
                .expect("valid metric"),
            ),
            refused_over_total: refused.with_label_values(&["total"]),
            refused_over_address: refused.with_label_values(&["address"]),
        }
    }
}
