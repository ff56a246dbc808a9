//! The recorder's metrics, on the ingestor's registry.

use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry};
use shared::metrics::register;

/// Why a tick was not recorded.
pub const DROP_REASONS: [&str; 3] = ["disk_full", "paused", "too_old"];
/// What pruning deletes from.
pub const PRUNED_TABLES: [&str; 5] = [
    "points",
    "candles_1m",
    "candles_1h",
    "candles_1d",
    "candle_day_packs",
];

#[derive(Clone)]
pub struct HistoryMetrics {
    recorded: IntCounter,
    dropped: IntCounterVec,
    write_latency: Histogram,
    pruned: IntCounterVec,
    paused: IntGauge,
    backfilled: IntCounterVec,
    packed: IntCounter,
}

impl HistoryMetrics {
    pub fn register(registry: &Registry) -> HistoryMetrics {
        let metrics = HistoryMetrics {
            recorded: register(
                registry,
                IntCounter::new(
                    "ingestor_history_ticks_recorded_total",
                    "Ticks written to price history (raw point and candles)",
                )
                .expect("valid metric definition"),
            ),
            dropped: register(
                registry,
                IntCounterVec::new(
                    Opts::new(
                        "ingestor_history_ticks_dropped_total",
                        "Ticks not written to price history, by reason",
                    ),
                    &["reason"],
                )
                .expect("valid metric definition"),
            ),
            write_latency: register(
                registry,
                Histogram::with_opts(
                    HistogramOpts::new(
                        "ingestor_history_write_seconds",
                        "Duration of one history write: a batch of ticks and the candles it touched",
                    )
                    .buckets(vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0]),
                )
                .expect("valid metric definition"),
            ),
            pruned: register(
                registry,
                IntCounterVec::new(
                    Opts::new(
                        "ingestor_history_rows_pruned_total",
                        "History rows deleted past their retention",
                    ),
                    &["table"],
                )
                .expect("valid metric definition"),
            ),
            paused: register(
                registry,
                IntGauge::new(
                    "ingestor_history_recording_paused",
                    "1 while recording is paused because the database's disk is full",
                )
                .expect("valid metric definition"),
            ),
            backfilled: register(
                registry,
                IntCounterVec::new(
                    Opts::new(
                        "ingestor_history_backfilled_points_total",
                        "Points fetched from a provider's history and recorded as backfilled",
                    ),
                    &["source"],
                )
                .expect("valid metric definition"),
            ),
            packed: register(
                registry,
                IntCounter::new(
                    "ingestor_history_days_packed_total",
                    "Closed days of 1-minute candles packed into one row for long reads",
                )
                .expect("valid metric definition"),
            ),
        };
        for reason in DROP_REASONS {
            metrics.dropped.with_label_values(&[reason]);
        }
        for table in PRUNED_TABLES {
            metrics.pruned.with_label_values(&[table]);
        }
        for source in crate::metrics::SOURCES {
            metrics.backfilled.with_label_values(&[source]);
        }
        metrics
    }

    pub fn recorded(&self, ticks: usize, seconds: f64) {
        self.recorded.inc_by(ticks as u64);
        self.write_latency.observe(seconds);
    }

    pub fn dropped(&self, reason: &'static str, ticks: usize) {
        self.dropped
            .with_label_values(&[reason])
            .inc_by(ticks as u64);
    }

    pub fn pruned(&self, table: &'static str, rows: u64) {
        self.pruned.with_label_values(&[table]).inc_by(rows);
    }

    pub fn set_paused(&self, paused: bool) {
        self.paused.set(i64::from(paused));
    }

    pub fn packed(&self, days: u64) {
        self.packed.inc_by(days);
    }

    pub fn backfilled(&self, source: &str, points: usize) {
        self.backfilled
            .with_label_values(&[source])
            .inc_by(points as u64);
    }
}
