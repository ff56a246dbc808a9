//! One provider's loop: every interval, unless its circuit breaker is open, poll it, judge each
//! quote and publish what passes. Each provider has its own poller task, so one provider's
//! trouble never delays another.

use std::time::Duration;

use futures::StreamExt;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::breaker::{CircuitBreaker, Transition};
use crate::filter::{QuoteFilter, Verdict};
use crate::metrics::IngestorMetrics;
use crate::providers::{Observation, PriceProvider, Quote};
use crate::publisher::Publisher;
use crate::skip::SkipReason;
use crate::IngestorError;

pub struct Poller {
    provider: Box<dyn PriceProvider>,
    breaker: CircuitBreaker,
    sink: Sink,
}

/// Where observations go: the filter, the publisher and the metrics.
struct Sink {
    source: &'static str,
    filter: QuoteFilter,
    publisher: Publisher,
    metrics: IngestorMetrics,
}

/// What one cycle amounted to, for the breaker and a summary log line (never one per quote).
#[derive(Default)]
struct CycleOutcome {
    quotes: usize,
    failures: usize,
    first_failure: Option<String>,
    /// Ticks the bus refused, or prices the database did not take.
    delivery_failures: usize,
    first_delivery_failure: Option<String>,
}

impl CycleOutcome {
    fn delivery_failed(&mut self, error: impl std::fmt::Display) {
        self.delivery_failures += 1;
        self.first_delivery_failure
            .get_or_insert_with(|| error.to_string());
    }
}

impl Poller {
    pub fn new(
        provider: Box<dyn PriceProvider>,
        breaker: CircuitBreaker,
        filter: QuoteFilter,
        publisher: Publisher,
        metrics: IngestorMetrics,
    ) -> Poller {
        let source = provider.source();
        Poller {
            provider,
            breaker,
            sink: Sink {
                source,
                filter,
                publisher,
                metrics,
            },
        }
    }

    /// Polls until `shutdown`; the first cycle starts at once.
    pub async fn run(mut self, shutdown: CancellationToken) {
        let source = self.sink.source;
        let period = self.provider.interval().max(Duration::from_millis(1));
        let mut ticker = tokio::time::interval(period);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        tracing::info!(source, "price polling started");
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = ticker.tick() => {}
            }
            if !self.breaker.permits(Instant::now()) {
                continue;
            }
            match self.cycle(&shutdown).await {
                Some(outcome) => self.record(outcome),
                None => break,
            }
        }
        tracing::info!(source, "price polling stopped");
    }

    /// One cycle; `None` when stopped by `shutdown`. Waiting on a provider is cut short by
    /// shutdown, publishing an observation is not (a tick out is also stored).
    async fn cycle(&mut self, shutdown: &CancellationToken) -> Option<CycleOutcome> {
        let mut outcome = CycleOutcome::default();
        let mut observations = self.provider.poll();
        loop {
            let next = tokio::select! {
                _ = shutdown.cancelled() => return None,
                next = observations.next() => next,
            };
            match next {
                Some(observation) => self.sink.accept(observation, &mut outcome).await,
                None => return Some(outcome),
            }
        }
    }

    fn record(&mut self, outcome: CycleOutcome) {
        let source = self.sink.source;
        if let Some(error) = &outcome.first_failure {
            tracing::warn!(
                source,
                failed_calls = outcome.failures,
                quotes = outcome.quotes,
                error = %error,
                "provider calls failed this cycle"
            );
        }
        if let Some(error) = &outcome.first_delivery_failure {
            tracing::warn!(
                source,
                failures = outcome.delivery_failures,
                error = %error,
                "could not publish or store some prices this cycle"
            );
        }
        let transition = if outcome.quotes == 0 && outcome.failures > 0 {
            self.breaker.record_failure(Instant::now())
        } else {
            self.breaker.record_success()
        };
        match transition {
            Transition::Opened => tracing::warn!(source, "circuit opened: provider paused"),
            Transition::Closed => tracing::info!(source, "circuit closed: provider is back"),
            Transition::None => {}
        }
        self.sink
            .metrics
            .set_circuit_open(source, self.breaker.is_open());
    }
}

impl Sink {
    async fn accept(&mut self, observation: Observation, outcome: &mut CycleOutcome) {
        match observation {
            Observation::Quote(quote) => {
                outcome.quotes += 1;
                self.metrics
                    .price_fetched(self.source, quote.symbol.as_str());
                self.judge_and_publish(quote, outcome).await;
            }
            Observation::Skipped { reason, .. } => self.metrics.quote_skipped(self.source, reason),
            Observation::Failed { error, affected } => {
                outcome.failures += 1;
                if matches!(error, IngestorError::Malformed(_)) {
                    // HTTP failures were counted per attempt by the client; an answer that
                    // arrived but could not be read is only known here.
                    self.metrics.fetch_error(self.source);
                }
                if matches!(
                    error,
                    IngestorError::Malformed(_) | IngestorError::TooLarge { .. }
                ) {
                    for _ in &affected {
                        self.metrics
                            .quote_skipped(self.source, SkipReason::Malformed);
                    }
                }
                outcome
                    .first_failure
                    .get_or_insert_with(|| error.to_string());
            }
        }
    }

    async fn judge_and_publish(&mut self, quote: Quote, outcome: &mut CycleOutcome) {
        let previous = match self.filter.judge(&quote) {
            Verdict::Skip(reason) => return self.metrics.quote_skipped(self.source, reason),
            Verdict::Publish { previous } => previous,
        };
        if let Err(error) = self.publisher.send(self.source, &quote, previous).await {
            // Not remembered as published: the same quote is tried again next cycle.
            return outcome.delivery_failed(error);
        }
        self.filter.published(&quote);
        if let Err(error) = self.publisher.store(self.source, &quote).await {
            // The tick is out; the next one stores its price.
            outcome.delivery_failed(error);
        }
    }
}
