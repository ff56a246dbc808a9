//! The metric names the services document (issue 8), which dashboards and rules may use.

use std::collections::BTreeSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// Where a series is expected to show up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Exported by this Prometheus job in every deployment.
    Job(&'static str),
    /// Exported by the services only when they consume over Kafka.
    KafkaConsumers,
    /// Exported by this job only where the database is PostgreSQL (its notices).
    Postgres(&'static str),
    /// Exported by kafka-exporter in the compose deployment only.
    KafkaExporter,
    /// Exported by every service.
    EveryService,
}

#[derive(Debug, Clone, Copy)]
pub struct Metric {
    pub name: &'static str,
    pub kind: Kind,
    pub scope: Scope,
    /// The end-to-end run (alerts that fire, an email, a WebSocket client, a failed login) moves
    /// it above zero.
    pub moved_by_traffic: bool,
}

const fn metric(name: &'static str, kind: Kind, scope: Scope, moved: bool) -> Metric {
    Metric {
        name,
        kind,
        scope,
        moved_by_traffic: moved,
    }
}

const INGESTOR: Scope = Scope::Job("pricealert-ingestor");
const EVALUATOR: Scope = Scope::Job("pricealert-evaluator");
const NOTIFIER: Scope = Scope::Job("pricealert-notifier");
const GATEWAY: Scope = Scope::Job("pricealert-gateway");

use Kind::{Counter, Gauge, Histogram};

pub const DOCUMENTED: &[Metric] = &[
    metric("ingestor_prices_fetched_total", Counter, INGESTOR, true),
    metric("ingestor_fetch_errors_total", Counter, INGESTOR, false),
    metric("ingestor_fetch_latency_seconds", Histogram, INGESTOR, true),
    // Counts ticks published on whichever bus runs, the in-process one included.
    metric(
        "ingestor_kafka_messages_sent_total",
        Counter,
        INGESTOR,
        true,
    ),
    metric("ingestor_skipped_quotes_total", Counter, INGESTOR, false),
    metric("ingestor_circuit_open", Gauge, INGESTOR, false),
    // Failover per instrument (issue 19).
    metric("ingestor_instrument_feed", Gauge, INGESTOR, true),
    metric("ingestor_feed_switches_total", Counter, INGESTOR, false),
    // The price history recorder (issue 15).
    metric(
        "ingestor_history_ticks_recorded_total",
        Counter,
        INGESTOR,
        false,
    ),
    metric(
        "ingestor_history_ticks_dropped_total",
        Counter,
        INGESTOR,
        false,
    ),
    metric("ingestor_history_write_seconds", Histogram, INGESTOR, false),
    metric(
        "ingestor_history_rows_pruned_total",
        Counter,
        INGESTOR,
        false,
    ),
    metric("ingestor_history_recording_paused", Gauge, INGESTOR, false),
    metric(
        "ingestor_history_days_packed_total",
        Counter,
        INGESTOR,
        false,
    ),
    metric(
        "ingestor_history_backfilled_points_total",
        Counter,
        INGESTOR,
        false,
    ),
    metric(
        "ingestor_malformed_messages_total",
        Counter,
        INGESTOR,
        false,
    ),
    metric("evaluator_prices_evaluated_total", Counter, EVALUATOR, true),
    metric("evaluator_alerts_triggered_total", Counter, EVALUATOR, true),
    metric(
        "evaluator_match_latency_seconds",
        Histogram,
        EVALUATOR,
        true,
    ),
    metric("evaluator_active_alerts", Gauge, EVALUATOR, true),
    metric("evaluator_outbox_backlog", Gauge, EVALUATOR, false),
    metric(
        "evaluator_malformed_messages_total",
        Counter,
        EVALUATOR,
        false,
    ),
    metric("evaluator_alerts_repaired_total", Counter, EVALUATOR, false),
    metric("evaluator_batch_ticks", Histogram, EVALUATOR, false),
    metric(
        "evaluator_batches_replayed_total",
        Counter,
        EVALUATOR,
        false,
    ),
    metric(
        "evaluator_ticks_superseded_total",
        Counter,
        EVALUATOR,
        false,
    ),
    metric("notifier_notifications_sent_total", Counter, NOTIFIER, true),
    metric("notifier_send_latency_seconds", Histogram, NOTIFIER, true),
    metric("notifier_retries_total", Counter, NOTIFIER, false),
    metric("notifier_deferred_total", Counter, NOTIFIER, false),
    metric("notifier_held_quiet_hours_total", Counter, NOTIFIER, false),
    metric("notifier_dead_letters_total", Counter, NOTIFIER, false),
    metric(
        "notifier_possible_duplicates_total",
        Counter,
        NOTIFIER,
        false,
    ),
    metric(
        "notifier_malformed_messages_total",
        Counter,
        NOTIFIER,
        false,
    ),
    metric("gateway_http_requests_total", Counter, GATEWAY, true),
    metric("gateway_http_latency_seconds", Histogram, GATEWAY, true),
    metric("gateway_active_websockets", Gauge, GATEWAY, true),
    metric("gateway_login_failures_total", Counter, GATEWAY, true),
    metric("gateway_websockets", Gauge, GATEWAY, false),
    metric(
        "gateway_websocket_messages_sent_total",
        Counter,
        GATEWAY,
        false,
    ),
    metric(
        "gateway_websocket_prices_conflated_total",
        Counter,
        GATEWAY,
        false,
    ),
    metric("gateway_websocket_pushes_total", Counter, GATEWAY, false),
    metric(
        "gateway_websocket_events_dropped_total",
        Counter,
        GATEWAY,
        false,
    ),
    metric("gateway_websocket_refused_total", Counter, GATEWAY, false),
    metric("gateway_rate_limited_total", Counter, GATEWAY, false),
    // The account change notices (PostgreSQL only).
    metric(
        "gateway_account_notices_listening",
        Gauge,
        Scope::Postgres("pricealert-gateway"),
        true,
    ),
    metric(
        "gateway_account_notices_total",
        Counter,
        Scope::Postgres("pricealert-gateway"),
        false,
    ),
    metric("service_info", Gauge, Scope::EveryService, true),
    metric(
        "process_cpu_seconds_total",
        Counter,
        Scope::EveryService,
        true,
    ),
    metric(
        "process_resident_memory_bytes",
        Gauge,
        Scope::EveryService,
        true,
    ),
    metric("kafka_consumer_lag", Gauge, Scope::KafkaConsumers, false),
    metric(
        "kafka_consumergroup_lag",
        Gauge,
        Scope::KafkaExporter,
        false,
    ),
];

/// The proposed catalogue series the asset-class tick alert joins on (not yet exported).
pub const INSTRUMENT_INFO: &str = "ingestor_instrument_info";

/// Every series name a query may select: the documented names, a histogram's `_bucket`, `_sum`
/// and `_count`, the process collector's `process_*`, and Prometheus's own `up`.
pub fn is_documented_series(name: &str) -> bool {
    if name == "up" || name.starts_with("process_") {
        return true;
    }
    DOCUMENTED.iter().any(|metric| match metric.kind {
        Kind::Histogram => ["_bucket", "_sum", "_count"]
            .iter()
            .any(|suffix| name == format!("{}{suffix}", metric.name)),
        Kind::Counter | Kind::Gauge => name == metric.name,
    })
}

/// The names that exist only in the scaled deployment (Kafka, PostgreSQL).
pub fn scaled_only_names() -> BTreeSet<&'static str> {
    DOCUMENTED
        .iter()
        .filter(|m| {
            matches!(
                m.scope,
                Scope::KafkaConsumers | Scope::KafkaExporter | Scope::Postgres(_)
            )
        })
        .map(|m| m.name)
        .collect()
}

/// The series to query for a metric: a histogram is present through its `_count`.
pub fn sample_series(metric: &Metric) -> String {
    match metric.kind {
        Kind::Histogram => format!("{}_count", metric.name),
        Kind::Counter | Kind::Gauge => metric.name.to_owned(),
    }
}
