//! CoinGecko: every coin of the catalogue in one `/api/v3/simple/price` call per cycle.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::stream::{self, BoxStream, StreamExt};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use shared::config::{CoinGeckoPlan, CoinGeckoSettings};
use shared::domain::{Price, Symbol};

use super::{checked_quote, unix_time, Observation, PriceProvider};
use crate::http::PoliteClient;
use crate::skip::SkipReason;
use crate::IngestorError;

pub const SOURCE: &str = "coingecko";

/// One coin: CoinGecko's id and our symbol.
#[derive(Debug, Clone)]
pub struct Coin {
    pub id: String,
    pub symbol: Symbol,
}

pub struct CoinGecko {
    http: PoliteClient,
    url: String,
    headers: HeaderMap,
    ids: String,
    coins: Vec<Coin>,
    interval: Duration,
}

impl CoinGecko {
    pub fn new(http: PoliteClient, settings: &CoinGeckoSettings, coins: Vec<Coin>) -> CoinGecko {
        CoinGecko {
            http,
            url: format!("{}/api/v3/simple/price", settings.effective_base_url()),
            headers: api_key_headers(settings.api_key.as_ref(), settings.api_plan),
            ids: coins
                .iter()
                .map(|c| c.id.as_str())
                .collect::<Vec<_>>()
                .join(","),
            coins,
            interval: settings.interval,
        }
    }

    async fn fetch_all(&self) -> Vec<Observation> {
        let query = [
            ("ids", self.ids.as_str()),
            ("vs_currencies", "usd"),
            ("include_24hr_change", "true"),
            ("include_last_updated_at", "true"),
        ];
        match self.http.get(&self.url, &query, &self.headers).await {
            Ok(body) => parse_simple_price(&body, &self.coins, shared::storage::now()),
            Err(error) => vec![Observation::Failed {
                error,
                affected: self.coins.iter().map(|c| c.symbol.clone()).collect(),
            }],
        }
    }
}

impl PriceProvider for CoinGecko {
    fn source(&self) -> &'static str {
        SOURCE
    }

    fn interval(&self) -> Duration {
        self.interval
    }

    fn poll(&mut self) -> BoxStream<'_, Observation> {
        stream::once(self.fetch_all())
            .flat_map(stream::iter)
            .boxed()
    }
}

/// The key goes in the plan's header; it is never put in the URL (URLs end up in logs).
pub(crate) fn api_key_headers(key: Option<&SecretString>, plan: CoinGeckoPlan) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let Some(key) = key else {
        return headers;
    };
    let name = match plan {
        CoinGeckoPlan::Demo => HeaderName::from_static("x-cg-demo-api-key"),
        CoinGeckoPlan::Pro => HeaderName::from_static("x-cg-pro-api-key"),
    };
    match HeaderValue::from_str(key.expose_secret()) {
        Ok(mut value) => {
            value.set_sensitive(true);
            headers.insert(name, value);
        }
        Err(_) => {
            tracing::warn!("the CoinGecko API key is not a valid header value; calling without it")
        }
    }
    headers
}

#[derive(Deserialize)]
struct SimplePrice {
    usd: Option<Price>,
    last_updated_at: Option<i64>,
}

/// Reads a `/simple/price` body: one observation per coin asked for.
pub fn parse_simple_price(
    body: &[u8],
    coins: &[Coin],
    received_at: DateTime<Utc>,
) -> Vec<Observation> {
    let entries = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(entries)) => entries,
        Ok(_) => return malformed("the answer is not a JSON object".to_owned(), coins),
        Err(e) => return malformed(e.to_string(), coins),
    };
    coins
        .iter()
        .map(|coin| {
            let Some(entry) = entries.get(&coin.id) else {
                return Observation::Skipped {
                    symbol: coin.symbol.clone(),
                    reason: SkipReason::Missing,
                };
            };
            match SimplePrice::deserialize(entry) {
                Ok(quote) => checked_quote(
                    coin.symbol.clone(),
                    quote.usd,
                    "USD".to_owned(),
                    unix_time(quote.last_updated_at, received_at),
                    received_at,
                ),
                Err(_) => Observation::Skipped {
                    symbol: coin.symbol.clone(),
                    reason: SkipReason::Malformed,
                },
            }
        })
        .collect()
}

fn malformed(reason: String, coins: &[Coin]) -> Vec<Observation> {
    vec![Observation::Failed {
        error: IngestorError::Malformed(reason),
        affected: coins.iter().map(|c| c.symbol.clone()).collect(),
    }]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coin(id: &str, symbol: &str) -> Coin {
        Coin {
            id: id.to_owned(),
            symbol: symbol.parse().expect("symbol"),
        }
    }

    #[test]
    fn the_docs_example_gives_an_exact_usd_quote_at_the_provider_time() {
        let body = include_bytes!("../../tests/fixtures/coingecko_simple_price.docs_example.json");
        let received = Utc::now();
        let observations = parse_simple_price(body, &[coin("bitcoin", "BTC")], received);
        let [Observation::Quote(quote)] = observations.as_slice() else {
            panic!("expected one quote, got {observations:?}");
        };
        assert_eq!(quote.symbol.as_str(), "BTC");
        assert_eq!(quote.price.to_string(), "67187.3358936566");
        assert_eq!(quote.currency, "USD");
        assert_eq!(quote.timestamp.timestamp(), 1_711_356_300);
        assert_eq!(quote.received_at, received);
    }

    #[test]
    fn nulls_zeros_missing_ids_and_odd_entries_are_skipped_one_by_one() {
        let body = br#"{
            "bitcoin": {"usd": 1.5, "last_updated_at": 1711356300},
            "tether": {"usd": null, "last_updated_at": 1711356300},
            "usd-coin": {"usd": 0},
            "ripple": {"usd": "lots"}
        }"#;
        let coins = [
            coin("bitcoin", "BTC"),
            coin("tether", "USDT"),
            coin("usd-coin", "USDC"),
            coin("ripple", "XRP"),
            coin("vechain", "VET"),
        ];
        let reasons: Vec<_> = parse_simple_price(body, &coins, Utc::now())
            .into_iter()
            .map(|o| match o {
                Observation::Quote(q) => format!("{} quote {}", q.symbol, q.price),
                Observation::Skipped { symbol, reason } => format!("{symbol} {}", reason.as_str()),
                _ => "other".to_owned(),
            })
            .collect();
        assert_eq!(
            reasons,
            [
                "BTC quote 1.5",
                "USDT null_price",
                "USDC non_positive",
                "XRP malformed",
                "VET missing"
            ]
        );
    }

    #[test]
    fn a_truncated_body_fails_the_whole_call() {
        let body = br#"{"bitcoin": {"usd": 67187.33"#;
        let observations = parse_simple_price(body, &[coin("bitcoin", "BTC")], Utc::now());
        assert!(matches!(
            observations.as_slice(),
            [Observation::Failed {
                error: IngestorError::Malformed(_),
                ..
            }]
        ));
    }
}
