//! One provider's loop: every interval, unless its circuit breaker is open, poll it, judge each
//! quote and publish what passes. Each provider has its own poller task, so one provider's
//! trouble never delays another.

use std::time::Duration;

use futures::StreamExt;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::breaker::{CircuitBreaker, Transition};
use crate::providers::PriceProvider;
use crate::sink::{CycleOutcome, Sink};

pub struct Poller {
    provider: Box<dyn PriceProvider>,
    breaker: CircuitBreaker,
    sink: Sink,
}

impl Poller {
    /// `sink` is the one shared by every provider, told here whose observations it takes.
    pub fn new(provider: Box<dyn PriceProvider>, breaker: CircuitBreaker, sink: &Sink) -> Poller {
        let sink = sink.for_source(provider.source());
        Poller {
            provider,
            breaker,
            sink,
        }
    }

    /// Polls until `shutdown`; the first cycle starts at once.
    pub async fn run(mut self, shutdown: CancellationToken) {
        let source = self.sink.source();
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
        let source = self.sink.source();
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
            .metrics()
            .set_circuit_open(source, self.breaker.is_open());
    }
}
