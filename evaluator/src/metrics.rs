//! The evaluator's metrics, on its own registry (served on the evaluator port).

use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry};
use shared::bus::{MalformedMessages, Topic};
use shared::catalogue::Catalogue;
use shared::domain::{AlertCondition, Symbol};
use shared::metrics::register;

/// Label used for ticks of symbols outside the catalogue, so labels stay a closed set.
const OTHER_SYMBOL: &str = "other";

#[derive(Clone)]
pub struct EvaluatorMetrics {
    prices_evaluated: IntCounterVec,
    alerts_triggered: IntCounterVec,
    pub match_latency: Histogram,
    pub active_alerts: IntGauge,
    pub outbox_backlog: IntGauge,
    /// Ticks and alert changes that could not be decoded (counted by the consumers).
    pub malformed_messages: MalformedMessages,
    /// Ticks not evaluated because storage already held one of that symbol at least as recent:
    /// redeliveries, and ticks that arrived after a newer one of their symbol.
    pub ticks_superseded: IntCounter,
    /// Alerts the periodic re-read found newer in storage than in the index (lost or late
    /// change messages).
    pub alerts_repaired: IntCounter,
    /// Ticks recorded per batch transaction (see `processor::batch`).
    pub batch_ticks: Histogram,
    /// Batches storage refused, decided and recorded again tick by tick.
    pub batches_replayed: IntCounter,
    catalogue: std::sync::Arc<Catalogue>,
}

impl EvaluatorMetrics {
    pub fn new(registry: &Registry, catalogue: std::sync::Arc<Catalogue>) -> EvaluatorMetrics {
        let prices_evaluated = register(
            registry,
            IntCounterVec::new(
                Opts::new(
                    "evaluator_prices_evaluated_total",
                    "Ticks evaluated, by symbol",
                ),
                &["symbol"],
            )
            .expect("valid metric definition"),
        );
        for symbol in catalogue.symbols() {
            prices_evaluated.with_label_values(&[symbol.as_str()]);
        }
        let alerts_triggered = register(
            registry,
            IntCounterVec::new(
                Opts::new(
                    "evaluator_alerts_triggered_total",
                    "Alert fires recorded (each one trigger event), by condition",
                ),
                &["condition"],
            )
            .expect("valid metric definition"),
        );
        for condition in AlertCondition::ALL {
            alerts_triggered.with_label_values(&[condition.as_str()]);
        }
        let match_latency = register(
            registry,
            Histogram::with_opts(
                HistogramOpts::new(
                    "evaluator_match_latency_seconds",
                    "Time to match one tick against the in-memory index",
                )
                .buckets(vec![
                    1e-7, 2.5e-7, 5e-7, 1e-6, 2.5e-6, 5e-6, 1e-5, 5e-5, 1e-4, 1e-3, 1e-2,
                ]),
            )
            .expect("valid metric definition"),
        );
        let active_alerts = register(
            registry,
            IntGauge::new(
                "evaluator_active_alerts",
                "Alerts in the evaluator's index that can still fire",
            )
            .expect("valid metric definition"),
        );
        let outbox_backlog = register(
            registry,
            IntGauge::new(
                "evaluator_outbox_backlog",
                "Trigger events recorded but not yet published",
            )
            .expect("valid metric definition"),
        );
        let malformed_messages = MalformedMessages::register(
            registry,
            "evaluator",
            &[Topic::PriceEvents, Topic::AlertChanges],
        );
        let alerts_repaired = register(
            registry,
            IntCounter::new(
                "evaluator_alerts_repaired_total",
                "Alert writes the periodic re-read applied before (or without) their alert-changes message",
            )
            .expect("valid metric definition"),
        );
        let ticks_superseded = register(
            registry,
            IntCounter::new(
                "evaluator_ticks_superseded_total",
                "Ticks skipped because a tick of their symbol at least as recent was already recorded (redeliveries, out-of-order ticks)",
            )
            .expect("valid metric definition"),
        );
        let batch_ticks = register(
            registry,
            Histogram::with_opts(
                HistogramOpts::new(
                    "evaluator_batch_ticks",
                    "Ticks recorded together in one transaction (a batch)",
                )
                .buckets(vec![
                    1.0, 2.0, 5.0, 10.0, 50.0, 100.0, 500.0, 1000.0, 5000.0,
                ]),
            )
            .expect("valid metric definition"),
        );
        let batches_replayed = register(
            registry,
            IntCounter::new(
                "evaluator_batches_replayed_total",
                "Batches storage refused (a redelivery, a stale previous price or alert version, a rejected fire), then decided and recorded again tick by tick",
            )
            .expect("valid metric definition"),
        );
        EvaluatorMetrics {
            batch_ticks,
            batches_replayed,
            prices_evaluated,
            ticks_superseded,
            alerts_triggered,
            match_latency,
            active_alerts,
            outbox_backlog,
            malformed_messages,
            alerts_repaired,
            catalogue,
        }
    }

    pub fn price_evaluated(&self, symbol: &Symbol) {
        let label = if self.catalogue.contains(symbol) {
            symbol.as_str()
        } else {
            OTHER_SYMBOL
        };
        self.prices_evaluated.with_label_values(&[label]).inc();
    }

    pub fn alert_triggered(&self, condition: AlertCondition) {
        self.alerts_triggered
            .with_label_values(&[condition.as_str()])
            .inc();
    }
}
