//! Where every provider's observations go: currency conversion, the failover's say on who
//! feeds an instrument, the quote filter, the publisher and the metrics. One filter for all
//! providers, so the last published price of an instrument is one, whoever published it.

use std::sync::{Arc, Mutex, MutexGuard};

use shared::domain::{Price, Symbol};
use shared::events::TickConversion;
use tokio::time::Instant;

use crate::failover::Failover;
use crate::filter::{QuoteFilter, Verdict};
use crate::metrics::IngestorMetrics;
use crate::providers::{Observation, Quote};
use crate::publisher::Publisher;
use crate::skip::SkipReason;
use crate::IngestorError;

/// What one cycle amounted to, for the breaker and a summary log line (never one per quote).
#[derive(Default)]
pub struct CycleOutcome {
    pub quotes: usize,
    pub failures: usize,
    pub first_failure: Option<String>,
    /// Ticks the bus refused, or prices the database did not take.
    pub delivery_failures: usize,
    pub first_delivery_failure: Option<String>,
}

impl CycleOutcome {
    fn delivery_failed(&mut self, error: impl std::fmt::Display) {
        self.delivery_failures += 1;
        self.first_delivery_failure
            .get_or_insert_with(|| error.to_string());
    }
}

/// Cheap to clone; every clone shares the filter and the failover.
#[derive(Clone)]
pub struct Sink {
    source: &'static str,
    filter: Arc<Mutex<QuoteFilter>>,
    failover: Arc<Failover>,
    publisher: Publisher,
    metrics: IngestorMetrics,
}

impl Sink {
    pub fn new(
        filter: QuoteFilter,
        failover: Failover,
        publisher: Publisher,
        metrics: IngestorMetrics,
    ) -> Sink {
        Sink {
            source: "",
            filter: Arc::new(Mutex::new(filter)),
            failover: Arc::new(failover),
            publisher,
            metrics,
        }
    }

    /// The same sink taking `source`'s observations.
    pub fn for_source(&self, source: &'static str) -> Sink {
        Sink {
            source,
            ..self.clone()
        }
    }

    pub fn source(&self) -> &'static str {
        self.source
    }

    pub fn metrics(&self) -> &IngestorMetrics {
        &self.metrics
    }

    fn filter(&self) -> MutexGuard<'_, QuoteFilter> {
        self.filter.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub async fn accept(&self, observation: Observation, outcome: &mut CycleOutcome) {
        match observation {
            Observation::Quote(quote) => {
                outcome.quotes += 1;
                self.metrics
                    .price_fetched(self.source, quote.symbol.as_str());
                self.route_and_publish(quote, outcome).await;
            }
            Observation::Convert { quote, via, into } => {
                outcome.quotes += 1;
                self.metrics
                    .price_fetched(self.source, quote.symbol.as_str());
                match self.converted(quote, &via, into) {
                    Some(quote) => self.route_and_publish(quote, outcome).await,
                    // Not routed either: a provider that cannot convert does not feed it.
                    None => self.metrics.quote_skipped(self.source, SkipReason::NoRate),
                }
            }
            Observation::Skipped { reason, .. } => self.metrics.quote_skipped(self.source, reason),
            Observation::Failed { error, affected } => {
                outcome.failures += 1;
                self.failover.on_failure(self.source, &affected);
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

    /// `quote` in `into`, at the latest published price of `via`; `None` without one.
    fn converted(&self, quote: Quote, via: &Symbol, into: String) -> Option<Quote> {
        let rate = self.filter().last_price(via)?;
        let value = quote
            .price
            .as_decimal()
            .checked_mul(rate.as_decimal())?
            // Well below any quote's precision, and a stable text for equal products.
            .round_dp(12)
            .normalize();
        Some(Quote {
            price: Price::new(value),
            currency: into,
            conversion: Some(TickConversion {
                from_currency: quote.currency.clone(),
                provider_price: quote.price,
                rate_symbol: via.clone(),
                rate,
            }),
            ..quote
        })
    }

    async fn route_and_publish(&self, quote: Quote, outcome: &mut CycleOutcome) {
        if !self
            .failover
            .on_quote(self.source, &quote.symbol, Instant::now())
        {
            return self.metrics.quote_skipped(self.source, SkipReason::Standby);
        }
        let verdict = self.filter().judge(&quote);
        let previous = match verdict {
            Verdict::Skip(reason) => return self.metrics.quote_skipped(self.source, reason),
            Verdict::Publish { previous } => previous,
        };
        if let Err(error) = self.publisher.send(self.source, &quote, previous).await {
            // Not remembered as published: the same quote is tried again next cycle.
            return outcome.delivery_failed(error);
        }
        self.filter().published(&quote);
        self.publisher.store(self.source, &quote);
    }
}
