//! How a client shows an instrument: its display name and the decimals its prices are
//! usually written with (`GET /prices/instruments`).

use crate::catalogue::{AssetClass, Instrument};

const NAMES: &[(&str, &str)] = &[
    ("BTC", "Bitcoin"),
    ("ETH", "Ethereum"),
    ("USDT", "Tether"),
    ("BNB", "BNB"),
    ("SOL", "Solana"),
    ("XRP", "XRP"),
    ("USDC", "USD Coin"),
    ("ADA", "Cardano"),
    ("AVAX", "Avalanche"),
    ("DOGE", "Dogecoin"),
    ("DOT", "Polkadot"),
    ("TRX", "TRON"),
    ("LINK", "Chainlink"),
    ("MATIC", "Polygon"),
    ("NEAR", "NEAR Protocol"),
    ("LTC", "Litecoin"),
    ("SHIB", "Shiba Inu"),
    ("BCH", "Bitcoin Cash"),
    ("UNI", "Uniswap"),
    ("XLM", "Stellar"),
    ("ATOM", "Cosmos"),
    ("XMR", "Monero"),
    ("ETC", "Ethereum Classic"),
    ("FIL", "Filecoin"),
    ("ICP", "Internet Computer"),
    ("HBAR", "Hedera"),
    ("APT", "Aptos"),
    ("LDO", "Lido DAO"),
    ("ARB", "Arbitrum"),
    ("VET", "VeChain"),
    ("NIFTY50", "NIFTY 50"),
    ("SENSEX", "BSE SENSEX"),
    ("BANKNIFTY", "NIFTY Bank"),
    ("SP500", "S&P 500"),
    ("DOWJONES", "Dow Jones Industrial Average"),
    ("NASDAQ", "NASDAQ Composite"),
    ("GOLD", "Gold"),
    ("SILVER", "Silver"),
    ("CRUDE_OIL", "Crude Oil"),
    ("NATURAL_GAS", "Natural Gas"),
    ("APPLE", "Apple"),
    ("MICROSOFT", "Microsoft"),
    ("GOOGLE", "Alphabet"),
    ("AMAZON", "Amazon"),
    ("NVIDIA", "NVIDIA"),
    ("META", "Meta Platforms"),
    ("TESLA", "Tesla"),
    ("RELIANCE", "Reliance Industries"),
    ("TCS", "Tata Consultancy Services"),
    ("INFOSYS", "Infosys"),
    ("HDFCBANK", "HDFC Bank"),
    ("ICICIBANK", "ICICI Bank"),
    ("HINDUNILVR", "Hindustan Unilever"),
    ("ITC", "ITC"),
    ("BHARTIARTL", "Bharti Airtel"),
];

/// Coins whose price is far below a dollar, with the decimals that show its moves.
const SMALL_COINS: &[(&str, u32)] = &[
    ("SHIB", 8),
    ("DOGE", 5),
    ("TRX", 5),
    ("VET", 5),
    ("XLM", 5),
    ("HBAR", 5),
    ("ADA", 4),
    ("MATIC", 4),
    ("XRP", 4),
    ("ARB", 4),
    ("USDT", 4),
    ("USDC", 4),
];

/// The instrument's display name: a known one, else its symbol.
pub fn display_name(instrument: &Instrument) -> String {
    let symbol = instrument.symbol.as_str();
    NAMES
        .iter()
        .find(|(s, _)| *s == symbol)
        .map_or_else(|| symbol.to_owned(), |(_, name)| (*name).to_owned())
}

/// Decimals a price of this instrument is written with: 2, more for coins worth little.
pub fn price_decimals(instrument: &Instrument) -> u32 {
    let symbol = instrument.symbol.as_str();
    match instrument.asset_class {
        AssetClass::Crypto => SMALL_COINS
            .iter()
            .find(|(s, _)| *s == symbol)
            .map_or(2, |(_, d)| *d),
        _ => 2,
    }
}
