//! The consumer metrics a service exports on its own registry: lag and rebalances, which a
//! transport that has them (Kafka) fills in.

use prometheus::{IntCounterVec, IntGaugeVec, Opts, Registry};

use crate::metrics::register;

/// `kafka_consumer_lag{topic,partition,group}` and
/// `kafka_consumer_rebalances_total{group,event}`, registered once on a service's registry.
///
/// A service registers them in `build` and hands them to each of its subscriptions:
///
/// ```ignore
/// let registry = shared::metrics::service_registry("evaluator");
/// let consumer_metrics = shared::bus::ConsumerMetrics::register(&registry);
/// let mut ticks = context.bus.subscribe(Topic::PriceEvents, &group).await?;
/// ticks.report_metrics_to(&consumer_metrics);
/// ```
///
/// On the in-process bus `report_metrics_to` does nothing (there is no lag to report), so the
/// same service code runs on both transports.
#[derive(Clone)]
pub struct ConsumerMetrics {
    pub lag: IntGaugeVec,
    pub rebalances: IntCounterVec,
}

/// The rebalance events counted, each initialised to 0 for a group once it reports.
pub const REBALANCE_EVENTS: [&str; 3] = ["assign", "revoke", "error"];

impl ConsumerMetrics {
    /// Declares both metrics on `registry`. Call once per registry.
    pub fn register(registry: &Registry) -> ConsumerMetrics {
        let lag = IntGaugeVec::new(
            Opts::new(
                "kafka_consumer_lag",
                "Messages in a partition not yet committed by this consumer group \
                 (high watermark minus committed offset), from the consumer's own statistics",
            ),
            &["topic", "partition", "group"],
        )
        .expect("valid metric definition");
        let rebalances = IntCounterVec::new(
            Opts::new(
                "kafka_consumer_rebalances_total",
                "Consumer group rebalance callbacks seen by this process, by event",
            ),
            &["group", "event"],
        )
        .expect("valid metric definition");
        ConsumerMetrics {
            lag: register(registry, lag),
            rebalances: register(registry, rebalances),
        }
    }
}
