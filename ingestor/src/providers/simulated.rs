//! A seeded random walk around realistic prices, for machines without internet.
//!
//! Every instrument moves on every cycle (never by zero), with a gentle pull back towards where
//! it started so prices stay believable for as long as the process runs. Ticks say `simulated`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures::stream::{self, BoxStream, StreamExt};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use shared::catalogue::{AssetClass, Instrument};
use shared::config::SimulatedSettings;
use shared::domain::{Price, Symbol};

use super::simulated_prices::{STABLECOINS, START_PRICES};
use super::{Observation, PriceProvider, Quote};
use crate::metrics::IngestorMetrics;

pub const SOURCE: &str = "simulated";

/// Parts per million of the price: the largest random move per cycle, by kind of instrument.
fn volatility_ppm(instrument: &Instrument) -> i64 {
    if STABLECOINS.contains(&instrument.symbol.as_str()) {
        return 100;
    }
    match instrument.asset_class {
        AssetClass::Crypto => 4_000,
        AssetClass::Stock => 2_000,
        AssetClass::Commodity => 1_500,
        AssetClass::Index => 1_000,
    }
}

/// Each cycle pulls the price back by this fraction (ppm) of its distance from the anchor.
const PULL_PPM: i64 = 50_000;
/// The smallest move, so a tick never repeats the last price.
const MIN_STEP_PPM: i64 = 10;
const MILLION: i64 = 1_000_000;

struct Walker {
    symbol: Symbol,
    currency: String,
    anchor: Decimal,
    price: Decimal,
    volatility_ppm: i64,
    decimals: u32,
}

impl Walker {
    fn step(&mut self, rng: &mut StdRng) {
        let pull = (self.anchor - self.price)
            .checked_div(self.anchor)
            .and_then(|d| d.checked_mul(Decimal::from(PULL_PPM)))
            .and_then(|p| p.round().to_i64())
            .unwrap_or(0);
        let shock = rng.gen_range(-self.volatility_ppm..=self.volatility_ppm);
        let mut step = shock + pull;
        if step.abs() < MIN_STEP_PPM {
            step = if shock >= 0 {
                MIN_STEP_PPM
            } else {
                -MIN_STEP_PPM
            };
        }
        let factor = Decimal::ONE + Decimal::from(step) / Decimal::from(MILLION);
        // Checked: a stored price near Decimal's limit must not overflow. Rounding can only
        // stall a price already at its last decimal; either way the walk restarts at the anchor.
        self.price = match self
            .price
            .checked_mul(factor)
            .map(|p| p.round_dp(self.decimals))
        {
            Some(next) if next > Decimal::ZERO && next != self.price => next,
            _ => self.anchor,
        };
    }
}

/// About seven significant digits, never fewer than two decimals.
fn decimals_for(price: Decimal) -> u32 {
    let mut decimals = 2;
    let mut threshold = Decimal::from(100_000);
    while price < threshold && decimals < 12 {
        threshold /= Decimal::TEN;
        decimals += 1;
    }
    decimals
}

pub struct Simulated {
    walkers: Vec<Walker>,
    rng: StdRng,
    interval: Duration,
    /// Where a cycle's duration goes, as an HTTP provider's calls do, so the fetch latency
    /// panels show this source too.
    metrics: Option<IngestorMetrics>,
}

impl Simulated {
    /// Every instrument of `instruments` starts at its last stored price if known, else at its
    /// realistic starting price (100 for an instrument the table does not know).
    pub fn new<'a>(
        instruments: impl IntoIterator<Item = &'a Instrument>,
        stored: &HashMap<Symbol, Price>,
        settings: &SimulatedSettings,
    ) -> Simulated {
        let table: HashMap<&str, Decimal> = START_PRICES
            .iter()
            .filter_map(|(symbol, price)| Some((*symbol, price.parse().ok()?)))
            .collect();
        let walkers = instruments
            .into_iter()
            .map(|instrument| {
                let start = stored
                    .get(&instrument.symbol)
                    .map(Price::as_decimal)
                    .filter(|p| *p > Decimal::ZERO)
                    .or_else(|| table.get(instrument.symbol.as_str()).copied())
                    .unwrap_or(Decimal::ONE_HUNDRED);
                Walker {
                    symbol: instrument.symbol.clone(),
                    currency: instrument.currency.clone(),
                    anchor: start,
                    price: start,
                    volatility_ppm: volatility_ppm(instrument),
                    decimals: decimals_for(start),
                }
            })
            .collect();
        Simulated {
            walkers,
            rng: StdRng::seed_from_u64(settings.seed),
            interval: settings.interval,
            metrics: None,
        }
    }

    /// Observes each cycle's generation time as this source's fetch latency.
    pub fn reporting_to(mut self, metrics: IngestorMetrics) -> Simulated {
        self.metrics = Some(metrics);
        self
    }
}

impl PriceProvider for Simulated {
    fn source(&self) -> &'static str {
        SOURCE
    }

    fn interval(&self) -> Duration {
        self.interval
    }

    fn poll(&mut self) -> BoxStream<'_, Observation> {
        // Microseconds: the precision both databases keep, so a stored time reads back equal.
        let started = Instant::now();
        let now = shared::storage::now();
        let rng = &mut self.rng;
        let quotes: Vec<Observation> = self
            .walkers
            .iter_mut()
            .map(|walker| {
                walker.step(rng);
                Observation::Quote(Quote {
                    symbol: walker.symbol.clone(),
                    price: Price::new(walker.price),
                    currency: walker.currency.clone(),
                    timestamp: now,
                    received_at: now,
                    conversion: None,
                })
            })
            .collect();
        if let Some(metrics) = &self.metrics {
            metrics.observe_latency(SOURCE, started.elapsed().as_secs_f64());
        }
        stream::iter(quotes).boxed()
    }
}

#[cfg(test)]
mod tests {
    use futures::executor::block_on;
    use shared::catalogue::Catalogue;

    use super::*;

    fn prices(provider: &mut Simulated) -> Vec<(String, Price)> {
        block_on(provider.poll().collect::<Vec<_>>())
            .into_iter()
            .map(|o| match o {
                Observation::Quote(q) => (q.symbol.to_string(), q.price),
                other => panic!("unexpected {other:?}"),
            })
            .collect()
    }

    #[test]
    fn the_table_covers_the_whole_default_catalogue() {
        let catalogue = Catalogue::default();
        let known: Vec<&str> = START_PRICES.iter().map(|(s, _)| *s).collect();
        for symbol in catalogue.symbols() {
            assert!(
                known.contains(&symbol.as_str()),
                "{symbol} has no start price"
            );
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_walk_and_every_price_moves_every_cycle() {
        let catalogue = Catalogue::default();
        let settings = SimulatedSettings::default();
        let mut a = Simulated::new(catalogue.instruments(), &HashMap::new(), &settings);
        let mut b = Simulated::new(catalogue.instruments(), &HashMap::new(), &settings);
        let mut previous = prices(&mut a);
        assert_eq!(previous.len(), 55);
        assert_eq!(previous, prices(&mut b));
        for _ in 0..500 {
            let next = prices(&mut a);
            for ((symbol, before), (_, after)) in previous.iter().zip(&next) {
                assert_ne!(before, after, "{symbol} did not move");
                assert!(after.is_positive());
            }
            previous = next;
        }
    }

    #[test]
    fn prices_stay_near_where_they_started() {
        let catalogue = Catalogue::default();
        let mut walk = Simulated::new(
            catalogue.instruments(),
            &HashMap::new(),
            &SimulatedSettings::default(),
        );
        let mut last = Vec::new();
        for _ in 0..3_000 {
            last = prices(&mut walk);
        }
        let table: HashMap<&str, Decimal> = START_PRICES
            .iter()
            .map(|(s, p)| (*s, p.parse().expect("price")))
            .collect();
        for (symbol, price) in last {
            let start = table[symbol.as_str()];
            let ratio = price.as_decimal() / start;
            assert!(
                ratio > Decimal::new(85, 2) && ratio < Decimal::new(115, 2),
                "{symbol} wandered to {price} from {start}"
            );
        }
    }

    #[test]
    fn a_price_near_the_decimal_limit_does_not_overflow() {
        let catalogue = Catalogue::default();
        let btc: Symbol = "BTC".parse().expect("symbol");
        let stored = HashMap::from([(btc.clone(), Price::new(Decimal::MAX))]);
        let mut walk = Simulated::new(
            catalogue.instruments().filter(|i| i.symbol == btc),
            &stored,
            &SimulatedSettings::default(),
        );
        for _ in 0..100 {
            assert!(prices(&mut walk)[0].1.is_positive());
        }
    }

    #[test]
    fn a_stored_price_is_where_the_walk_resumes() {
        let catalogue = Catalogue::default();
        let btc: Symbol = "BTC".parse().expect("symbol");
        let stored = HashMap::from([(btc.clone(), "90000".parse::<Price>().expect("price"))]);
        let mut walk = Simulated::new(
            catalogue.instruments().filter(|i| i.symbol == btc),
            &stored,
            &SimulatedSettings::default(),
        );
        let quotes = prices(&mut walk);
        assert_eq!(quotes.len(), 1);
        let price = quotes[0].1;
        let ratio = price.as_decimal() / Decimal::from(90_000);
        assert!(ratio > Decimal::new(99, 2) && ratio < Decimal::new(101, 2));
    }

    #[test]
    fn each_cycle_is_observed_as_the_simulated_fetch_latency() {
        let catalogue = Catalogue::default();
        let registry = prometheus::Registry::new();
        let metrics = IngestorMetrics::register(&registry, [], "price-events");
        let mut walk = Simulated::new(
            catalogue.instruments(),
            &HashMap::new(),
            &SimulatedSettings::default(),
        )
        .reporting_to(metrics);
        prices(&mut walk);
        prices(&mut walk);
        let families = registry.gather();
        let latency = families
            .iter()
            .find(|f| f.get_name() == "ingestor_fetch_latency_seconds")
            .expect("the latency histogram is registered");
        let simulated = latency
            .get_metric()
            .iter()
            .find(|m| {
                m.get_label()
                    .iter()
                    .any(|l| l.get_name() == "source" && l.get_value() == SOURCE)
            })
            .expect("a simulated series");
        assert_eq!(simulated.get_histogram().get_sample_count(), 2);
    }
}
