//! Which Binance pair prices which of our instruments, and how its quote currency becomes the
//! instrument's (the catalogue fixes an instrument's currency).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use shared::catalogue::Catalogue;
use shared::config::BinancePair;
use shared::domain::{Price, Symbol};

use crate::providers::{checked_quote, Observation};

/// The built-in table: the default catalogue's coins that trade against USDT on Binance
/// (USDT itself has no USDT pair; MATIC and XMR are delisted there).
const DEFAULT_PAIRS: &[&str] = &[
    "BTC", "ETH", "BNB", "SOL", "XRP", "USDC", "ADA", "AVAX", "DOGE", "DOT", "TRX", "LINK", "NEAR",
    "LTC", "SHIB", "BCH", "UNI", "XLM", "ATOM", "ETC", "FIL", "ICP", "HBAR", "APT", "LDO", "ARB",
    "VET",
];

pub fn default_pairs() -> Vec<BinancePair> {
    DEFAULT_PAIRS
        .iter()
        .filter_map(|coin| {
            Some(BinancePair {
                symbol: coin.parse().ok()?,
                pair: format!("{coin}USDT"),
                quote_currency: "USDT".to_owned(),
            })
        })
        .collect()
}

/// One pair as the provider uses it.
#[derive(Debug, Clone)]
pub struct PairRoute {
    /// Upper case, as frames and REST answers name it (`BTCUSDT`).
    pub pair: String,
    pub symbol: Symbol,
    pub quote_currency: String,
    /// When the pair's currency is not the instrument's: the instrument converting it, and
    /// the instrument's currency.
    pub conversion: Option<(Symbol, String)>,
}

impl PairRoute {
    /// The observation for a price of the pair: in the pair's currency, to be converted when
    /// that is not the instrument's.
    pub fn observation(
        &self,
        price: Option<Price>,
        timestamp: DateTime<Utc>,
        received_at: DateTime<Utc>,
    ) -> Observation {
        let observation = checked_quote(
            self.symbol.clone(),
            price,
            self.quote_currency.clone(),
            timestamp,
            received_at,
        );
        match (observation, &self.conversion) {
            (Observation::Quote(quote), Some((via, into))) => Observation::Convert {
                quote,
                via: via.clone(),
                into: into.clone(),
            },
            (observation, _) => observation,
        }
    }
}

/// The pairs usable for the catalogue's instruments. A pair whose currency is neither the
/// instrument's nor convertible by a configured instrument quoted in the instrument's
/// currency is left out (with a warning): Binance is not used for that instrument.
pub fn routes(
    pairs: &[BinancePair],
    conversions: &BTreeMap<String, String>,
    catalogue: &Catalogue,
) -> Vec<PairRoute> {
    pairs
        .iter()
        .filter_map(|pair| {
            let instrument = catalogue.get(&pair.symbol)?;
            let quote_currency = pair.quote_currency.to_ascii_uppercase();
            let conversion = if quote_currency.eq_ignore_ascii_case(&instrument.currency) {
                None
            } else {
                let via = conversions
                    .get(&quote_currency)
                    .and_then(|via| via.parse::<Symbol>().ok())
                    .filter(|via| {
                        catalogue
                            .get(via)
                            .is_some_and(|rate| rate.currency == instrument.currency)
                    });
                let Some(via) = via else {
                    tracing::warn!(
                        symbol = %pair.symbol,
                        pair = %pair.pair,
                        "no conversion from the pair's currency into the instrument's: binance is not used for it"
                    );
                    return None;
                };
                Some((via, instrument.currency.clone()))
            };
            Some(PairRoute {
                pair: pair.pair.to_ascii_uppercase(),
                symbol: pair.symbol.clone(),
                quote_currency,
                conversion,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_pairs_convert_usdt_at_tethers_price_and_skip_what_cannot_be_converted() {
        let catalogue = Catalogue::default();
        let conversions = BTreeMap::from([("USDT".to_owned(), "USDT".to_owned())]);
        let routes = routes(&default_pairs(), &conversions, &catalogue);
        assert_eq!(routes.len(), DEFAULT_PAIRS.len());
        let btc = routes.iter().find(|r| r.pair == "BTCUSDT").expect("BTC");
        assert_eq!(
            btc.conversion,
            Some(("USDT".parse().expect("symbol"), "USD".to_owned()))
        );
        assert!(super::routes(&default_pairs(), &BTreeMap::new(), &catalogue).is_empty());
    }
}
