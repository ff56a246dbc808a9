//! Which providers feed which instrument, in order of preference: the configured order for
//! the instrument's symbol or asset class, kept to the providers that can price it (its
//! catalogue provider; Binance when a pair maps to it and its currency converts), else its
//! catalogue provider alone.

use std::collections::HashMap;

use shared::catalogue::{Catalogue, Instrument, ProviderKind};
use shared::config::{IngestorSettings, PriceSource};
use shared::domain::Symbol;

use crate::providers::binance::pairs::{self, PairRoute};
use crate::providers::{binance, coingecko, simulated, yahoo};

pub struct FeedPlan {
    orders: HashMap<Symbol, Vec<&'static str>>,
    /// The pairs Binance streams: those of instruments it feeds.
    pub binance: Vec<PairRoute>,
}

impl FeedPlan {
    pub fn new(settings: &IngestorSettings, catalogue: &Catalogue) -> FeedPlan {
        if settings.price_source == PriceSource::Simulated {
            let orders = catalogue
                .symbols()
                .map(|symbol| (symbol.clone(), vec![simulated::SOURCE]))
                .collect();
            return FeedPlan {
                orders,
                binance: Vec::new(),
            };
        }
        let order_of = |instrument: &Instrument| {
            let order = &settings.failover.order;
            order
                .get(instrument.symbol.as_str())
                .or_else(|| order.get(instrument.asset_class.as_str()))
        };
        let wants_binance = catalogue
            .instruments()
            .any(|i| order_of(i).is_some_and(|names| names.iter().any(|n| n == binance::SOURCE)));
        let routes: Vec<PairRoute> = if wants_binance {
            let table = settings
                .binance
                .pairs
                .clone()
                .unwrap_or_else(pairs::default_pairs);
            pairs::routes(&table, &settings.binance.conversions, catalogue)
        } else {
            Vec::new()
        };
        let mut orders = HashMap::new();
        for instrument in catalogue.instruments() {
            let own = match instrument.provider {
                ProviderKind::Coingecko => coingecko::SOURCE,
                ProviderKind::Yahoo => yahoo::SOURCE,
            };
            let has_pair = routes.iter().any(|r| r.symbol == instrument.symbol);
            let mut order: Vec<&'static str> = Vec::new();
            for name in order_of(instrument).into_iter().flatten() {
                let feed = match name.as_str() {
                    "binance" if has_pair => binance::SOURCE,
                    name if name == own => own,
                    _ => continue,
                };
                if !order.contains(&feed) {
                    order.push(feed);
                }
            }
            if order.is_empty() {
                order.push(own);
            }
            orders.insert(instrument.symbol.clone(), order);
        }
        let binance = routes
            .into_iter()
            .filter(|route| {
                orders
                    .get(&route.symbol)
                    .is_some_and(|order| order.contains(&binance::SOURCE))
            })
            .collect();
        FeedPlan { orders, binance }
    }

    /// Whether `source` is among the providers of `symbol`.
    pub fn feeds(&self, symbol: &Symbol, source: &str) -> bool {
        self.orders
            .get(symbol)
            .is_some_and(|order| order.contains(&source))
    }

    /// The preferred provider of `instrument`.
    pub fn primary(&self, instrument: &Instrument) -> &'static str {
        self.orders
            .get(&instrument.symbol)
            .and_then(|order| order.first().copied())
            .unwrap_or(coingecko::SOURCE)
    }

    /// Each instrument's providers in order.
    pub fn routes(&self) -> impl Iterator<Item = (Symbol, Vec<&'static str>)> + '_ {
        self.orders
            .iter()
            .map(|(symbol, order)| (symbol.clone(), order.clone()))
    }
}
