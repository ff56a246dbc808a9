//! The instruments pricealert tracks: the 55 of API.md by default, replaceable by settings.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Symbol;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    Coingecko,
    Yahoo,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AssetClass {
    Crypto,
    Index,
    Commodity,
    Stock,
}

impl AssetClass {
    pub fn as_str(&self) -> &'static str {
        match self {
            AssetClass::Crypto => "crypto",
            AssetClass::Index => "index",
            AssetClass::Commodity => "commodity",
            AssetClass::Stock => "stock",
        }
    }
}

/// One tracked instrument: our symbol, where its price comes from, and what it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Instrument {
    pub symbol: Symbol,
    pub provider: ProviderKind,
    /// The provider's own id: a CoinGecko coin id or a Yahoo ticker.
    pub provider_id: String,
    pub asset_class: AssetClass,
    /// Expected quote currency; the provider's payload has the final word.
    pub currency: String,
}

/// A Binance pair pricing one of our instruments (the ingestor's pair table).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BinancePair {
    pub symbol: Symbol,
    /// Binance's pair, e.g. `BTCUSDT`.
    pub pair: String,
    /// The currency the pair is quoted in, e.g. `USDT`.
    pub quote_currency: String,
}

/// Symbols by lookup; cheap to clone behind an `Arc`.
#[derive(Debug, Clone)]
pub struct Catalogue {
    by_symbol: BTreeMap<Symbol, Instrument>,
}

impl Catalogue {
    pub fn new(instruments: Vec<Instrument>) -> Self {
        Catalogue {
            by_symbol: instruments
                .into_iter()
                .map(|i| (i.symbol.clone(), i))
                .collect(),
        }
    }

    pub fn get(&self, symbol: &Symbol) -> Option<&Instrument> {
        self.by_symbol.get(symbol)
    }

    pub fn contains(&self, symbol: &Symbol) -> bool {
        self.by_symbol.contains_key(symbol)
    }

    /// Instruments in symbol order.
    pub fn instruments(&self) -> impl Iterator<Item = &Instrument> {
        self.by_symbol.values()
    }

    /// Symbols, sorted.
    pub fn symbols(&self) -> impl Iterator<Item = &Symbol> {
        self.by_symbol.keys()
    }

    pub fn len(&self) -> usize {
        self.by_symbol.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_symbol.is_empty()
    }
}

impl Default for Catalogue {
    fn default() -> Self {
        Catalogue::new(default_instruments())
    }
}

const COINGECKO: &[(&str, &str)] = &[
    ("bitcoin", "BTC"),
    ("ethereum", "ETH"),
    ("tether", "USDT"),
    ("binancecoin", "BNB"),
    ("solana", "SOL"),
    ("ripple", "XRP"),
    ("usd-coin", "USDC"),
    ("cardano", "ADA"),
    ("avalanche-2", "AVAX"),
    ("dogecoin", "DOGE"),
    ("polkadot", "DOT"),
    ("tron", "TRX"),
    ("chainlink", "LINK"),
    ("matic-network", "MATIC"),
    ("near", "NEAR"),
    ("litecoin", "LTC"),
    ("shiba-inu", "SHIB"),
    ("bitcoin-cash", "BCH"),
    ("uniswap", "UNI"),
    ("stellar", "XLM"),
    ("cosmos", "ATOM"),
    ("monero", "XMR"),
    ("ethereum-classic", "ETC"),
    ("filecoin", "FIL"),
    ("internet-computer", "ICP"),
    ("hedera-hashgraph", "HBAR"),
    ("aptos", "APT"),
    ("lido-dao", "LDO"),
    ("arbitrum", "ARB"),
    ("vechain", "VET"),
];

const YAHOO: &[(&str, &str, AssetClass, &str)] = &[
    ("^NSEI", "NIFTY50", AssetClass::Index, "INR"),
    ("^BSESN", "SENSEX", AssetClass::Index, "INR"),
    ("^NSEBANK", "BANKNIFTY", AssetClass::Index, "INR"),
    ("^GSPC", "SP500", AssetClass::Index, "USD"),
    ("^DJI", "DOWJONES", AssetClass::Index, "USD"),
    ("^IXIC", "NASDAQ", AssetClass::Index, "USD"),
    ("GC=F", "GOLD", AssetClass::Commodity, "USD"),
    ("SI=F", "SILVER", AssetClass::Commodity, "USD"),
    ("CL=F", "CRUDE_OIL", AssetClass::Commodity, "USD"),
    ("NG=F", "NATURAL_GAS", AssetClass::Commodity, "USD"),
    ("AAPL", "APPLE", AssetClass::Stock, "USD"),
    ("MSFT", "MICROSOFT", AssetClass::Stock, "USD"),
    ("GOOGL", "GOOGLE", AssetClass::Stock, "USD"),
    ("AMZN", "AMAZON", AssetClass::Stock, "USD"),
    ("NVDA", "NVIDIA", AssetClass::Stock, "USD"),
    ("META", "META", AssetClass::Stock, "USD"),
    ("TSLA", "TESLA", AssetClass::Stock, "USD"),
    ("RELIANCE.NS", "RELIANCE", AssetClass::Stock, "INR"),
    ("TCS.NS", "TCS", AssetClass::Stock, "INR"),
    ("INFY.NS", "INFOSYS", AssetClass::Stock, "INR"),
    ("HDFCBANK.NS", "HDFCBANK", AssetClass::Stock, "INR"),
    ("ICICIBANK.NS", "ICICIBANK", AssetClass::Stock, "INR"),
    ("HINDUNILVR.NS", "HINDUNILVR", AssetClass::Stock, "INR"),
    ("ITC.NS", "ITC", AssetClass::Stock, "INR"),
    ("BHARTIARTL.NS", "BHARTIARTL", AssetClass::Stock, "INR"),
];

fn symbol(text: &str) -> Symbol {
    text.parse()
        .unwrap_or_else(|e| panic!("catalogue symbol {text} is invalid: {e}"))
}

/// The 55 instruments of API.md.
pub fn default_instruments() -> Vec<Instrument> {
    let coins = COINGECKO.iter().map(|(id, sym)| Instrument {
        symbol: symbol(sym),
        provider: ProviderKind::Coingecko,
        provider_id: (*id).to_owned(),
        asset_class: AssetClass::Crypto,
        currency: "USD".to_owned(),
    });
    let yahoo = YAHOO.iter().map(|(id, sym, class, currency)| Instrument {
        symbol: symbol(sym),
        provider: ProviderKind::Yahoo,
        provider_id: (*id).to_owned(),
        asset_class: *class,
        currency: (*currency).to_owned(),
    });
    coins.chain(yahoo).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_catalogue_has_55_distinct_instruments() {
        let catalogue = Catalogue::default();
        assert_eq!(catalogue.len(), 55);
        let coingecko = catalogue
            .instruments()
            .filter(|i| i.provider == ProviderKind::Coingecko)
            .count();
        assert_eq!(coingecko, 30);
        let nifty = catalogue.get(&symbol("NIFTY50")).expect("NIFTY50");
        assert_eq!(nifty.provider_id, "^NSEI");
        assert_eq!(nifty.currency, "INR");
    }
}
