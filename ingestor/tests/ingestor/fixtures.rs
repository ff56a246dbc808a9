//! Provider payloads built from the recordings in `tests/fixtures` (copied from
//! `shared/fixtures`): the 30-coin CoinGecko answer, and Yahoo charts per ticker.

use std::str::FromStr;

use serde_json::{Number, Value};
use shared::catalogue::{default_instruments, AssetClass, Instrument, ProviderKind};

/// The docs example's bitcoin entry verbatim plus the other 29 coins in the same shape.
pub const COINGECKO_30_COINS: &str =
    include_str!("../fixtures/coingecko_simple_price.30_coins.json");
pub const COINGECKO_429_BODY: &str = include_str!("../fixtures/coingecko_429_rate_limited.json");
const AAPL_RECORDING: &str =
    include_str!("../fixtures/yahoo_v8_chart_AAPL_2020-01-01_2020-01-03.recorded.json");
const WSU_DE_RECORDING: &str =
    include_str!("../fixtures/yahoo_v8_chart_WSU.DE_2023-08-04_2023-08-09.recorded.json");

fn recorded_body(recording: &str) -> Value {
    let recording: Value = serde_json::from_str(recording).expect("recording parses");
    recording["response"]["bodyJson"].clone()
}

/// The recorded AAPL chart body (`regularMarketPrice` 333.69 USD).
pub fn yahoo_aapl_chart() -> String {
    recorded_body(AAPL_RECORDING).to_string()
}

/// The recorded WSU.DE chart body (XETRA, 33 EUR).
pub fn yahoo_wsu_de_chart() -> String {
    recorded_body(WSU_DE_RECORDING).to_string()
}

/// The AAPL recording re-labelled for `ticker` at an exact `price`, `currency` and `time`.
pub fn yahoo_chart(ticker: &str, price: &str, currency: &str, time: i64) -> String {
    let mut body = recorded_body(AAPL_RECORDING);
    let meta = &mut body["chart"]["result"][0]["meta"];
    meta["symbol"] = Value::from(ticker);
    meta["currency"] = Value::from(currency);
    meta["regularMarketPrice"] = Value::Number(Number::from_str(price).expect("price number"));
    meta["regularMarketTime"] = Value::from(time);
    body.to_string()
}

/// A chart whose every price is `null`.
pub fn yahoo_chart_with_null_prices(ticker: &str) -> String {
    let mut body = recorded_body(AAPL_RECORDING);
    let result = &mut body["chart"]["result"][0];
    result["meta"]["symbol"] = Value::from(ticker);
    result["meta"]["regularMarketPrice"] = Value::Null;
    let quote = &mut result["indicators"]["quote"][0];
    for series in ["open", "high", "low", "close", "volume"] {
        if let Some(values) = quote[series].as_array_mut() {
            values.iter_mut().for_each(|v| *v = Value::Null);
        }
    }
    if let Some(values) = result["indicators"]["adjclose"][0]["adjclose"].as_array_mut() {
        values.iter_mut().for_each(|v| *v = Value::Null);
    }
    body.to_string()
}

/// The 30-coin answer with `edit` applied to the entries (by coin id).
pub fn coingecko_with(edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> String {
    let mut body: Value = serde_json::from_str(COINGECKO_30_COINS).expect("fixture parses");
    edit(body.as_object_mut().expect("object"));
    body.to_string()
}

/// A CoinGecko answer with one coin at `price` quoted at `time`.
pub fn coingecko_one(id: &str, price: &str, time: i64) -> String {
    format!(r#"{{"{id}": {{"usd": {price}, "usd_24h_change": 0.5, "last_updated_at": {time}}}}}"#)
}

pub const HTML_ERROR_PAGE: &str = "<!DOCTYPE html><html><head><title>Yahoo</title></head>\
    <body><h1>Will be right back...</h1><p>Thank you for your patience.</p></body></html>";

pub fn truncated(body: &str) -> String {
    body[..body.len() / 2].to_owned()
}

pub fn default_yahoo() -> Vec<Instrument> {
    default_instruments()
        .into_iter()
        .filter(|i| i.provider == ProviderKind::Yahoo)
        .collect()
}

pub fn default_coins() -> Vec<Instrument> {
    default_instruments()
        .into_iter()
        .filter(|i| i.provider == ProviderKind::Coingecko)
        .collect()
}

/// An exact, distinct price for the n-th Yahoo instrument.
pub fn yahoo_price(n: usize) -> String {
    format!("{}.{:02}", 100 + n * 37, n)
}

/// Scripts a healthy chart for every default Yahoo instrument (see [`yahoo_price`]).
pub fn script_every_yahoo_chart(fake: &super::fake_providers::FakeProviders) {
    for (n, instrument) in default_yahoo().iter().enumerate() {
        fake.script_yahoo(
            &instrument.provider_id,
            vec![],
            super::fake_providers::Canned::json(yahoo_chart(
                &instrument.provider_id,
                &yahoo_price(n),
                &instrument.currency,
                1_790_971_201,
            )),
        );
    }
}

pub fn instrument(
    symbol: &str,
    provider: ProviderKind,
    provider_id: &str,
    currency: &str,
) -> Instrument {
    Instrument {
        symbol: symbol.parse().expect("symbol"),
        provider,
        provider_id: provider_id.to_owned(),
        asset_class: match provider {
            ProviderKind::Coingecko => AssetClass::Crypto,
            ProviderKind::Yahoo => AssetClass::Stock,
        },
        currency: currency.to_owned(),
    }
}
