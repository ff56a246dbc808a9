//! Settings of the Binance stream and of the failover between providers of one instrument.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{fields, ConfigError};
use domain::catalogue::BinancePair;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BinanceSettings {
    /// The market-stream server: the client connects to `{ws_url}/stream` and subscribes.
    pub ws_url: String,
    /// The REST API, polled (`/api/v3/ticker/price`) only while the stream is down.
    pub rest_url: String,
    /// `trade` (every trade) or `miniTicker` (each pair's last price once a second).
    pub stream: String,
    /// REST polls while the stream is down (reconnects back off like `retry`'s retries).
    #[serde(with = "humantime_serde")]
    pub rest_interval: Duration,
    /// Binance closes every connection at 24 h; the client reconnects before that.
    #[serde(with = "humantime_serde")]
    pub max_connection_age: Duration,
    /// Replaces the built-in table (our symbol, Binance's pair, the pair's quote currency).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pairs: Option<Vec<BinancePair>>,
    /// Quote currency → the instrument whose latest price converts it into the instrument's
    /// currency (USDT → `USDT`, tether's price in USD). Pairs in other currencies are not used.
    pub conversions: BTreeMap<String, String>,
    /// PEM certificates trusted besides the public roots for the stream and the REST API, for
    /// a relay or proxy whose certificate a private authority signed. The server's
    /// certificate is always verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
}

impl Default for BinanceSettings {
    fn default() -> Self {
        BinanceSettings {
            ws_url: "wss://stream.binance.com:9443".to_owned(),
            rest_url: "https://api.binance.com".to_owned(),
            stream: "miniTicker".to_owned(),
            rest_interval: Duration::from_secs(5),
            max_connection_age: Duration::from_secs(23 * 3600),
            pairs: None,
            conversions: BTreeMap::from([("USDT".to_owned(), "USDT".to_owned())]),
            ca_file: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FailoverSettings {
    /// Providers in order of preference by asset class or symbol (a symbol's entry wins), e.g.
    /// `crypto = ["binance", "coingecko"]`. Without an entry an instrument has its catalogue
    /// provider alone.
    pub order: BTreeMap<String, Vec<String>>,
    /// A provider with no tick for an instrument for this long is down for it.
    #[serde(with = "humantime_serde")]
    pub stale_after: Duration,
    /// A preferred provider takes an instrument back after being healthy this long.
    #[serde(with = "humantime_serde")]
    pub switch_back_after: Duration,
}

impl Default for FailoverSettings {
    fn default() -> Self {
        FailoverSettings {
            order: BTreeMap::new(),
            stale_after: Duration::from_secs(180),
            switch_back_after: Duration::from_secs(300),
        }
    }
}

const FEED_NAMES: [&str; 3] = ["binance", "coingecko", "yahoo"];

pub(super) fn validate(
    binance: &BinanceSettings,
    failover: &FailoverSettings,
) -> Result<(), ConfigError> {
    let invalid = |what: String| Err(ConfigError::Invalid(format!("ingestor.{what}")));
    match url::Url::parse(&binance.ws_url) {
        Ok(url) if matches!(url.scheme(), "ws" | "wss") => {}
        _ => return invalid("binance.ws_url must be a ws or wss URL".to_owned()),
    }
    fields::check_http_url("ingestor.binance.rest_url", &binance.rest_url)?;
    if !matches!(binance.stream.as_str(), "trade" | "miniTicker") {
        return invalid("binance.stream must be trade or miniTicker".to_owned());
    }
    let durations = [
        binance.rest_interval,
        binance.max_connection_age,
        failover.stale_after,
    ];
    if durations.iter().any(Duration::is_zero) {
        return invalid("binance intervals and failover.stale_after must be above 0".to_owned());
    }
    for (key, feeds) in &failover.order {
        if let Some(unknown) = feeds.iter().find(|f| !FEED_NAMES.contains(&f.as_str())) {
            return invalid(format!(
                "failover.order.{key}: '{unknown}' is not one of binance, coingecko, yahoo"
            ));
        }
    }
    Ok(())
}
