//! What may be published: not an unchanged quote, not an unconfirmed jump (the glitch guard).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use shared::domain::{Price, Symbol};
use shared::storage::LatestPrice;

use crate::providers::Quote;
use crate::skip::SkipReason;

/// The decision for one quote.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Publish it; `previous` is the last price published for the symbol.
    Publish {
        previous: Option<Price>,
    },
    Skip(SkipReason),
}

#[derive(Debug, Clone, Copy)]
struct Published {
    price: Price,
    timestamp: DateTime<Utc>,
}

/// Remembers, per symbol, the last published quote and a jump waiting for confirmation.
pub struct QuoteFilter {
    /// The band as a fraction (0.25 for 25 %).
    band: Decimal,
    last: HashMap<Symbol, Published>,
    held: HashMap<Symbol, Published>,
}

impl QuoteFilter {
    /// Starts from the stored latest prices, so the first tick after a restart carries the
    /// right previous price and an unchanged quote is not published again.
    pub fn new(band_percent: Decimal, stored: &[LatestPrice]) -> QuoteFilter {
        let last = stored
            .iter()
            .filter_map(|p| {
                let symbol = p.symbol.parse().ok()?;
                Some((
                    symbol,
                    Published {
                        price: p.price,
                        timestamp: p.quoted_at,
                    },
                ))
            })
            .collect();
        QuoteFilter {
            band: band_percent / Decimal::ONE_HUNDRED,
            last,
            held: HashMap::new(),
        }
    }

    /// Judges `quote` and remembers what it needs to judge the next one. Call
    /// [`QuoteFilter::published`] once a `Publish` verdict has been carried out.
    pub fn judge(&mut self, quote: &Quote) -> Verdict {
        let Some(last) = self.last.get(&quote.symbol).copied() else {
            return Verdict::Publish { previous: None };
        };
        if quote.price == last.price && quote.timestamp == last.timestamp {
            return Verdict::Skip(SkipReason::Unchanged);
        }
        // After a failover the other provider's quote may be older than the last one
        // published; publishing it would move the price back in time.
        if quote.timestamp < last.timestamp {
            return Verdict::Skip(SkipReason::Outdated);
        }
        if self.within_band(last.price, quote.price) {
            self.held.remove(&quote.symbol);
            return Verdict::Publish {
                previous: Some(last.price),
            };
        }
        // A jump: it stands only if a later quote lands near it too.
        let confirmed = self.held.get(&quote.symbol).is_some_and(|held| {
            quote.timestamp > held.timestamp && self.within_band(held.price, quote.price)
        });
        if confirmed {
            self.held.remove(&quote.symbol);
            return Verdict::Publish {
                previous: Some(last.price),
            };
        }
        let already_held = self
            .held
            .get(&quote.symbol)
            .is_some_and(|held| held.timestamp == quote.timestamp && held.price == quote.price);
        if !already_held {
            self.held.insert(
                quote.symbol.clone(),
                Published {
                    price: quote.price,
                    timestamp: quote.timestamp,
                },
            );
        }
        Verdict::Skip(SkipReason::Glitch)
    }

    /// The last price published for `symbol`.
    pub fn last_price(&self, symbol: &Symbol) -> Option<Price> {
        self.last.get(symbol).map(|published| published.price)
    }

    /// Records `quote` as the last published price of its symbol.
    pub fn published(&mut self, quote: &Quote) {
        self.last.insert(
            quote.symbol.clone(),
            Published {
                price: quote.price,
                timestamp: quote.timestamp,
            },
        );
    }

    fn within_band(&self, reference: Price, price: Price) -> bool {
        let reference = reference.as_decimal();
        if reference <= Decimal::ZERO {
            return true;
        }
        // Checked: a far-out quote against a tiny reference must not overflow (it is a jump).
        (price.as_decimal() - reference)
            .checked_div(reference)
            .is_some_and(|change| change.abs() <= self.band)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quote(price: &str, second: i64) -> Quote {
        Quote {
            symbol: "BTC".parse().expect("symbol"),
            price: price.parse().expect("price"),
            currency: "USD".to_owned(),
            timestamp: DateTime::from_timestamp(second, 0).expect("time"),
            received_at: Utc::now(),
            conversion: None,
        }
    }

    fn price(text: &str) -> Option<Price> {
        Some(text.parse().expect("price"))
    }

    /// Judges and, when told to publish, publishes: what the poller does.
    fn run(filter: &mut QuoteFilter, q: Quote) -> Verdict {
        let verdict = filter.judge(&q);
        if matches!(verdict, Verdict::Publish { .. }) {
            filter.published(&q);
        }
        verdict
    }

    #[test]
    fn the_first_quote_has_no_previous_price_and_later_ones_carry_the_last_published() {
        let mut filter = QuoteFilter::new(Decimal::from(25), &[]);
        assert_eq!(
            run(&mut filter, quote("100", 1)),
            Verdict::Publish { previous: None }
        );
        assert_eq!(
            run(&mut filter, quote("101.5", 2)),
            Verdict::Publish {
                previous: price("100")
            }
        );
    }

    #[test]
    fn the_same_price_at_the_same_provider_time_is_not_published_again() {
        let mut filter = QuoteFilter::new(Decimal::from(25), &[]);
        run(&mut filter, quote("100", 1));
        assert_eq!(
            run(&mut filter, quote("100", 1)),
            Verdict::Skip(SkipReason::Unchanged)
        );
        // A new provider time at the same price is a new quote.
        assert_eq!(
            run(&mut filter, quote("100", 2)),
            Verdict::Publish {
                previous: price("100")
            }
        );
    }

    #[test]
    fn a_one_off_bad_print_is_held_back_and_never_published() {
        let mut filter = QuoteFilter::new(Decimal::from(25), &[]);
        run(&mut filter, quote("100", 1));
        assert_eq!(
            run(&mut filter, quote("1000", 2)),
            Verdict::Skip(SkipReason::Glitch)
        );
        assert_eq!(
            run(&mut filter, quote("100.5", 3)),
            Verdict::Publish {
                previous: price("100")
            }
        );
        // The held print is forgotten: a later jump must be confirmed afresh.
        assert_eq!(
            run(&mut filter, quote("1001", 4)),
            Verdict::Skip(SkipReason::Glitch)
        );
    }

    #[test]
    fn a_real_jump_is_published_once_a_later_quote_confirms_it() {
        let mut filter = QuoteFilter::new(Decimal::from(25), &[]);
        run(&mut filter, quote("100", 1));
        assert_eq!(
            run(&mut filter, quote("130", 2)),
            Verdict::Skip(SkipReason::Glitch)
        );
        // The same print polled again is no confirmation.
        assert_eq!(
            run(&mut filter, quote("130", 2)),
            Verdict::Skip(SkipReason::Glitch)
        );
        assert_eq!(
            run(&mut filter, quote("131", 3)),
            Verdict::Publish {
                previous: price("100")
            }
        );
        assert_eq!(
            run(&mut filter, quote("132", 4)),
            Verdict::Publish {
                previous: price("131")
            }
        );
    }

    #[test]
    fn moves_up_to_the_band_pass_and_the_band_is_configurable() {
        let mut filter = QuoteFilter::new(Decimal::from(25), &[]);
        run(&mut filter, quote("100", 1));
        assert!(matches!(
            run(&mut filter, quote("125", 2)),
            Verdict::Publish { .. }
        ));
        assert!(matches!(
            run(&mut filter, quote("93.75", 3)),
            Verdict::Publish { .. }
        ));

        let mut strict = QuoteFilter::new(Decimal::from(5), &[]);
        run(&mut strict, quote("100", 1));
        assert_eq!(
            run(&mut strict, quote("106", 2)),
            Verdict::Skip(SkipReason::Glitch)
        );
    }

    #[test]
    fn a_quote_older_than_the_last_published_is_never_published() {
        let mut filter = QuoteFilter::new(Decimal::from(25), &[]);
        run(&mut filter, quote("100", 5));
        assert_eq!(
            run(&mut filter, quote("101", 4)),
            Verdict::Skip(SkipReason::Outdated)
        );
        assert_eq!(
            filter.last_price(&"BTC".parse().expect("symbol")),
            price("100")
        );
    }

    #[test]
    fn absurd_prices_are_judged_without_overflowing() {
        let mut filter = QuoteFilter::new(Decimal::from(25), &[]);
        run(&mut filter, quote("0.0000000000000000000000000001", 1));
        assert_eq!(
            run(&mut filter, quote("79228162514264337593543950335", 2)),
            Verdict::Skip(SkipReason::Glitch)
        );
    }

    #[test]
    fn stored_prices_are_the_previous_prices_after_a_restart() {
        let stored = [LatestPrice {
            symbol: "BTC".to_owned(),
            price: "100".parse().expect("price"),
            currency: "USD".to_owned(),
            source: "coingecko".to_owned(),
            quoted_at: DateTime::from_timestamp(1, 0).expect("time"),
        }];
        let mut filter = QuoteFilter::new(Decimal::from(25), &stored);
        assert_eq!(
            run(&mut filter, quote("100", 1)),
            Verdict::Skip(SkipReason::Unchanged)
        );
        assert_eq!(
            run(&mut filter, quote("99", 2)),
            Verdict::Publish {
                previous: price("100")
            }
        );
    }
}
