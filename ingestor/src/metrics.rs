//! The ingestor's metrics, on its own registry (served on the ops port).

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry};
use shared::metrics::register;

use crate::skip::SkipReason;

/// Every source label the ingestor can use.
pub const SOURCES: [&str; 4] = ["coingecko", "yahoo", "simulated", "binance"];

#[derive(Clone)]
pub struct IngestorMetrics {
    prices_fetched: IntCounterVec,
    fetch_errors: IntCounterVec,
    fetch_latency: HistogramVec,
    messages_sent: IntCounterVec,
    skipped_quotes: IntCounterVec,
    circuit_open: IntGaugeVec,
    instrument_info: IntGaugeVec,
    instrument_feed: IntGaugeVec,
    feed_switches: IntCounterVec,
}

impl IngestorMetrics {
    /// Declares the metrics on `registry`, with every known series initialised to 0.
    ///
    /// `instruments` are (source, symbol, asset class) triples; `topic` is the price topic's name.
    pub fn register<'a>(
        registry: &Registry,
        instruments: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>,
        topic: &str,
    ) -> IngestorMetrics {
        let metrics = IngestorMetrics {
            prices_fetched: register(
                registry,
                counter(
                    "ingestor_prices_fetched_total",
                    "Valid quotes received from a provider",
                    &["source", "symbol"],
                ),
            ),
            fetch_errors: register(
                registry,
                counter(
                    "ingestor_fetch_errors_total",
                    "Failed provider calls (429, 5xx, timeouts, unreadable answers), each attempt counted",
                    &["source"],
                ),
            ),
            fetch_latency: register(
                registry,
                HistogramVec::new(
                    HistogramOpts::new(
                        "ingestor_fetch_latency_seconds",
                        "Duration of one provider call: an HTTP request, or a simulated cycle's generation",
                    )
                    .buckets(vec![0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0]),
                    &["source"],
                )
                .expect("valid metric definition"),
            ),
            messages_sent: register(
                registry,
                counter(
                    "ingestor_kafka_messages_sent_total",
                    "Messages published on the bus (Kafka or in-process)",
                    &["topic"],
                ),
            ),
            skipped_quotes: register(
                registry,
                counter(
                    "ingestor_skipped_quotes_total",
                    "Quotes not published, by reason",
                    &["source", "reason"],
                ),
            ),
            circuit_open: register(
                registry,
                IntGaugeVec::new(
                    Opts::new(
                        "ingestor_circuit_open",
                        "1 while a provider is paused by its circuit breaker",
                    ),
                    &["source"],
                )
                .expect("valid metric definition"),
            ),
            instrument_info: register(
                registry,
                IntGaugeVec::new(
                    Opts::new(
                        "ingestor_instrument_info",
                        "1 per configured instrument; lets alert rules group ticks by asset class",
                    ),
                    &["symbol", "source", "asset_class"],
                )
                .expect("valid metric definition"),
            ),
            instrument_feed: register(
                registry,
                IntGaugeVec::new(
                    Opts::new(
                        "ingestor_instrument_feed",
                        "1 for the provider feeding an instrument, 0 for its failover standbys",
                    ),
                    &["symbol", "source"],
                )
                .expect("valid metric definition"),
            ),
            feed_switches: register(
                registry,
                counter(
                    "ingestor_feed_switches_total",
                    "Failover switches of an instrument's feed, by the provider switched to",
                    &["symbol", "source"],
                ),
            ),
        };
        for (source, symbol, asset_class) in instruments {
            metrics.prices_fetched.with_label_values(&[source, symbol]);
            metrics
                .instrument_info
                .with_label_values(&[symbol, source, asset_class])
                .set(1);
        }
        for source in SOURCES {
            metrics.fetch_errors.with_label_values(&[source]);
            metrics.fetch_latency.with_label_values(&[source]);
            metrics.circuit_open.with_label_values(&[source]).set(0);
            for reason in SkipReason::ALL {
                metrics
                    .skipped_quotes
                    .with_label_values(&[source, reason.as_str()]);
            }
        }
        metrics.messages_sent.with_label_values(&[topic]);
        metrics
    }

    pub fn price_fetched(&self, source: &str, symbol: &str) {
        self.prices_fetched
            .with_label_values(&[source, symbol])
            .inc();
    }

    pub fn fetch_error(&self, source: &str) {
        self.fetch_errors.with_label_values(&[source]).inc();
    }

    pub fn observe_latency(&self, source: &str, seconds: f64) {
        self.fetch_latency
            .with_label_values(&[source])
            .observe(seconds);
    }

    pub fn message_sent(&self, topic: &str) {
        self.messages_sent.with_label_values(&[topic]).inc();
    }

    pub fn quote_skipped(&self, source: &str, reason: SkipReason) {
        self.skipped_quotes
            .with_label_values(&[source, reason.as_str()])
            .inc();
    }

    /// `sources` are the instrument's providers in order; `active` indexes the one feeding it.
    pub fn set_feed(&self, symbol: &str, sources: &[&str], active: usize) {
        for (index, source) in sources.iter().enumerate() {
            self.instrument_feed
                .with_label_values(&[symbol, source])
                .set(i64::from(index == active));
            self.feed_switches.with_label_values(&[symbol, source]);
        }
    }

    pub fn feed_switched(&self, symbol: &str, to: &str) {
        self.feed_switches.with_label_values(&[symbol, to]).inc();
    }

    pub fn set_circuit_open(&self, source: &str, open: bool) {
        self.circuit_open
            .with_label_values(&[source])
            .set(i64::from(open));
    }
}

fn counter(name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric definition")
}
