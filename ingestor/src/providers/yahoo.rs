//! Yahoo Finance: one `/v8/finance/chart/{ticker}` call per instrument (no cookie or crumb
//! needed), a bounded number in flight at once.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::stream::{self, BoxStream, StreamExt};
use reqwest::header::HeaderMap;
use serde::Deserialize;
use shared::config::YahooSettings;
use shared::domain::{Price, Symbol};

use super::{checked_quote, unix_time, Observation, PriceProvider};
use crate::http::PoliteClient;
use crate::skip::SkipReason;
use crate::IngestorError;

pub const SOURCE: &str = "yahoo";

/// One instrument: Yahoo's ticker, our symbol, and the currency expected when the payload
/// does not say.
#[derive(Debug, Clone)]
pub struct Ticker {
    pub ticker: String,
    pub symbol: Symbol,
    pub currency: String,
}

pub struct Yahoo {
    http: PoliteClient,
    base_url: String,
    tickers: Vec<Ticker>,
    concurrency: usize,
    interval: Duration,
    no_headers: HeaderMap,
}

impl Yahoo {
    pub fn new(http: PoliteClient, settings: &YahooSettings, tickers: Vec<Ticker>) -> Yahoo {
        Yahoo {
            http,
            base_url: settings.base_url.trim_end_matches('/').to_owned(),
            tickers,
            concurrency: settings.concurrency.max(1),
            interval: settings.interval,
            no_headers: HeaderMap::new(),
        }
    }

    async fn fetch_one(&self, ticker: &Ticker) -> Observation {
        let url = format!(
            "{}/v8/finance/chart/{}",
            self.base_url,
            encode_path_segment(&ticker.ticker)
        );
        let query = [("interval", "1d"), ("range", "1d")];
        match self.http.get(&url, &query, &self.no_headers).await {
            Ok(body) => parse_chart(&body, ticker, shared::storage::now()),
            Err(IngestorError::NotFound) => Observation::Skipped {
                symbol: ticker.symbol.clone(),
                reason: SkipReason::Missing,
            },
            Err(error) => Observation::Failed {
                error,
                affected: vec![ticker.symbol.clone()],
            },
        }
    }
}

impl PriceProvider for Yahoo {
    fn source(&self) -> &'static str {
        SOURCE
    }

    fn interval(&self) -> Duration {
        self.interval
    }

    fn poll(&mut self) -> BoxStream<'_, Observation> {
        let this = &*self;
        stream::iter(this.tickers.iter())
            .map(move |ticker| this.fetch_one(ticker))
            .buffer_unordered(this.concurrency)
            .boxed()
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters (`^NSEI` → `%5ENSEI`).
pub(crate) fn encode_path_segment(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len() + 4);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[derive(Deserialize)]
struct Envelope {
    chart: Chart,
}

#[derive(Deserialize)]
struct Chart {
    result: Option<Vec<ChartResult>>,
}

#[derive(Deserialize)]
struct ChartResult {
    meta: Meta,
    #[serde(default)]
    timestamp: Option<Vec<Option<i64>>>,
    #[serde(default)]
    indicators: Option<Indicators>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Meta {
    currency: Option<String>,
    regular_market_price: Option<Price>,
    regular_market_time: Option<i64>,
}

#[derive(Deserialize)]
struct Indicators {
    #[serde(default)]
    quote: Vec<Series>,
}

#[derive(Deserialize)]
struct Series {
    #[serde(default)]
    close: Vec<Option<Price>>,
}

/// Reads a chart body: `meta.regularMarketPrice` at `meta.regularMarketTime`, else the last
/// non-null close; the currency from `meta.currency`.
pub fn parse_chart(body: &[u8], ticker: &Ticker, received_at: DateTime<Utc>) -> Observation {
    let envelope: Envelope = match serde_json::from_slice(body) {
        Ok(envelope) => envelope,
        Err(e) => {
            return Observation::Failed {
                error: IngestorError::Malformed(e.to_string()),
                affected: vec![ticker.symbol.clone()],
            }
        }
    };
    // Yahoo answers an unknown ticker with `result: null` and an `error` object.
    let Some(result) = envelope.chart.result.and_then(|r| r.into_iter().next()) else {
        return Observation::Skipped {
            symbol: ticker.symbol.clone(),
            reason: SkipReason::Missing,
        };
    };
    let currency = result
        .meta
        .currency
        .clone()
        .filter(|c| !c.trim().is_empty())
        .unwrap_or_else(|| ticker.currency.clone());
    let (price, time) = match result.meta.regular_market_price {
        Some(price) => (Some(price), result.meta.regular_market_time),
        None => last_close(&result),
    };
    checked_quote(
        ticker.symbol.clone(),
        price,
        currency,
        unix_time(time, received_at),
        received_at,
    )
}

fn last_close(result: &ChartResult) -> (Option<Price>, Option<i64>) {
    let closes = result
        .indicators
        .as_ref()
        .and_then(|i| i.quote.first())
        .map(|s| s.close.as_slice())
        .unwrap_or_default();
    let times = result.timestamp.as_deref().unwrap_or_default();
    closes
        .iter()
        .enumerate()
        .rev()
        .find_map(|(i, close)| close.map(|price| (Some(price), times.get(i).copied().flatten())))
        .unwrap_or((None, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ticker(ticker: &str, symbol: &str, currency: &str) -> Ticker {
        Ticker {
            ticker: ticker.to_owned(),
            symbol: symbol.parse().expect("symbol"),
            currency: currency.to_owned(),
        }
    }

    fn recorded_body(recording: &str) -> Vec<u8> {
        let recording: serde_json::Value = serde_json::from_str(recording).expect("recording");
        serde_json::to_vec(&recording["response"]["bodyJson"]).expect("body")
    }

    #[test]
    fn the_recorded_charts_give_exact_prices_in_their_own_currency() {
        let aapl = recorded_body(include_str!(
            "../../tests/fixtures/yahoo_v8_chart_AAPL_2020-01-01_2020-01-03.recorded.json"
        ));
        let Observation::Quote(quote) =
            parse_chart(&aapl, &ticker("AAPL", "APPLE", "USD"), Utc::now())
        else {
            panic!("expected a quote");
        };
        assert_eq!(quote.price.to_string(), "333.69");
        assert_eq!(quote.currency, "USD");
        assert_eq!(quote.timestamp.timestamp(), 1_790_971_201);

        let washtec = recorded_body(include_str!(
            "../../tests/fixtures/yahoo_v8_chart_WSU.DE_2023-08-04_2023-08-09.recorded.json"
        ));
        let Observation::Quote(quote) =
            parse_chart(&washtec, &ticker("WSU.DE", "WASHTEC", "USD"), Utc::now())
        else {
            panic!("expected a quote");
        };
        assert_eq!(quote.price.to_string(), "33");
        assert_eq!(quote.currency, "EUR");
    }

    #[test]
    fn without_a_market_price_the_last_non_null_close_is_used() {
        let body = br#"{"chart":{"result":[{"meta":{"currency":"INR","regularMarketPrice":null},
            "timestamp":[100,200,300],
            "indicators":{"quote":[{"close":[22000.5,22100.25,null]}]}}],"error":null}}"#;
        let Observation::Quote(quote) =
            parse_chart(body, &ticker("^NSEI", "NIFTY50", "INR"), Utc::now())
        else {
            panic!("expected a quote");
        };
        assert_eq!(quote.price.to_string(), "22100.25");
        assert_eq!(quote.timestamp.timestamp(), 200);
    }

    #[test]
    fn null_prices_unknown_tickers_and_garbage_are_told_apart() {
        let t = ticker("GC=F", "GOLD", "USD");
        let null = br#"{"chart":{"result":[{"meta":{"currency":"USD","regularMarketPrice":null},
            "indicators":{"quote":[{"close":[null,null]}]}}],"error":null}}"#;
        assert!(matches!(
            parse_chart(null, &t, Utc::now()),
            Observation::Skipped {
                reason: SkipReason::NullPrice,
                ..
            }
        ));
        let unknown = br#"{"chart":{"result":null,"error":{"code":"Not Found","description":"No data found, symbol may be delisted"}}}"#;
        assert!(matches!(
            parse_chart(unknown, &t, Utc::now()),
            Observation::Skipped {
                reason: SkipReason::Missing,
                ..
            }
        ));
        for garbage in [
            &b"<!DOCTYPE html><html>oops</html>"[..],
            br#"{"chart":{"result":[{"me"#,
        ] {
            assert!(matches!(
                parse_chart(garbage, &t, Utc::now()),
                Observation::Failed {
                    error: IngestorError::Malformed(_),
                    ..
                }
            ));
        }
    }

    #[test]
    fn tickers_are_percent_encoded_in_the_path() {
        assert_eq!(encode_path_segment("^NSEI"), "%5ENSEI");
        assert_eq!(encode_path_segment("GC=F"), "GC%3DF");
        assert_eq!(encode_path_segment("RELIANCE.NS"), "RELIANCE.NS");
    }
}
