//! Price providers: each turns one polling cycle into a stream of observations.

pub mod binance;
pub mod coingecko;
pub mod simulated;
pub mod simulated_prices;
pub mod yahoo;

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use shared::domain::{Price, Symbol};
use shared::events::TickConversion;

use crate::skip::SkipReason;
use crate::IngestorError;

/// A valid quote: a positive price for one instrument.
#[derive(Debug, Clone, PartialEq)]
pub struct Quote {
    pub symbol: Symbol,
    pub price: Price,
    pub currency: String,
    /// The provider's time for the quote.
    pub timestamp: DateTime<Utc>,
    /// When the answer carrying it arrived.
    pub received_at: DateTime<Utc>,
    /// Set once a quote in another currency has been converted into `currency`.
    pub conversion: Option<TickConversion>,
}

/// What one cycle learnt about one instrument (or, for a failed call, several).
#[derive(Debug)]
pub enum Observation {
    Quote(Quote),
    /// A quote in another currency than the instrument's: published only converted into
    /// `into` at the latest published price of `via`.
    Convert {
        quote: Quote,
        via: Symbol,
        into: String,
    },
    Skipped {
        symbol: Symbol,
        reason: SkipReason,
    },
    /// A call failed after its retries; `affected` are the instruments it was for.
    Failed {
        error: IngestorError,
        affected: Vec<Symbol>,
    },
}

pub trait PriceProvider: Send {
    /// The `source` label of its ticks and metrics.
    fn source(&self) -> &'static str;

    /// Time between the starts of two cycles.
    fn interval(&self) -> Duration;

    /// One polling cycle, observations streamed as they become available.
    fn poll(&mut self) -> BoxStream<'_, Observation>;
}

/// A quote when `price` is present and positive, else the reason to skip it.
pub(crate) fn checked_quote(
    symbol: Symbol,
    price: Option<Price>,
    currency: String,
    timestamp: DateTime<Utc>,
    received_at: DateTime<Utc>,
) -> Observation {
    match price {
        None => Observation::Skipped {
            symbol,
            reason: SkipReason::NullPrice,
        },
        Some(price) if !price.is_positive() => Observation::Skipped {
            symbol,
            reason: SkipReason::NonPositive,
        },
        Some(price) => Observation::Quote(Quote {
            symbol,
            price,
            currency,
            timestamp,
            received_at,
            conversion: None,
        }),
    }
}

/// A provider's Unix-seconds timestamp, or `fallback` when absent or out of range.
pub(crate) fn unix_time(seconds: Option<i64>, fallback: DateTime<Utc>) -> DateTime<Utc> {
    seconds
        .and_then(|s| DateTime::from_timestamp(s, 0))
        .unwrap_or(fallback)
}
