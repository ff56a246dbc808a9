//! The REST fallback while the stream is down: `GET /api/v3/ticker/price?symbols=[...]`, one
//! call for every pair. Binance fails the whole call with -1121 when one pair is unknown, so
//! such a call is split in halves until the unknown pair is found; it is left out from then on.

use std::collections::{HashMap, HashSet};

use reqwest::header::HeaderMap;
use shared::domain::Price;

use super::frames::parse_ticker_prices;
use super::pairs::PairRoute;
use crate::http::PoliteClient;
use crate::providers::Observation;
use crate::skip::SkipReason;
use crate::IngestorError;

/// Binance's "Invalid symbol." error code.
const INVALID_SYMBOL: i64 = -1121;

pub struct Rest {
    http: PoliteClient,
    url: String,
    unknown: HashSet<String>,
}

impl Rest {
    pub fn new(http: PoliteClient, base_url: &str) -> Rest {
        Rest {
            http,
            url: format!("{}/api/v3/ticker/price", base_url.trim_end_matches('/')),
            unknown: HashSet::new(),
        }
    }

    /// Whether a 429/418 `Retry-After` forbids calling now.
    pub fn is_paused(&self) -> bool {
        self.http.is_paused()
    }

    /// One observation per pair (a failed call: one for all).
    pub async fn poll(&mut self, routes: &[PairRoute]) -> Vec<Observation> {
        let received_at = shared::storage::now();
        let mut prices: HashMap<String, Option<Price>> = HashMap::new();
        let mut batches: Vec<Vec<&str>> = vec![routes
            .iter()
            .map(|r| r.pair.as_str())
            .filter(|pair| !self.unknown.contains(*pair))
            .collect()];
        while let Some(batch) = batches.pop() {
            if batch.is_empty() {
                continue;
            }
            match self.fetch(&batch).await {
                Ok(found) => prices.extend(found),
                Err(IngestorError::Refused { code, .. })
                    if code == INVALID_SYMBOL && batch.len() > 1 =>
                {
                    let (left, right) = batch.split_at(batch.len() / 2);
                    batches.push(left.to_vec());
                    batches.push(right.to_vec());
                }
                Err(IngestorError::Refused { code, .. }) if code == INVALID_SYMBOL => {
                    tracing::warn!(
                        pair = batch[0],
                        "binance does not know this pair; it is left out"
                    );
                    self.unknown.insert(batch[0].to_owned());
                }
                Err(error) => {
                    return vec![Observation::Failed {
                        error,
                        affected: routes.iter().map(|r| r.symbol.clone()).collect(),
                    }]
                }
            }
        }
        routes
            .iter()
            .map(|route| match prices.get(&route.pair) {
                // The ticker has no time of its own: the answer's arrival is its time.
                Some(price) => route.observation(*price, received_at, received_at),
                None => Observation::Skipped {
                    symbol: route.symbol.clone(),
                    reason: SkipReason::Missing,
                },
            })
            .collect()
    }

    async fn fetch(&self, pairs: &[&str]) -> Result<HashMap<String, Option<Price>>, IngestorError> {
        let symbols =
            serde_json::to_string(pairs).map_err(|e| IngestorError::Malformed(e.to_string()))?;
        let body = self
            .http
            .get(
                &self.url,
                &[("symbols", symbols.as_str())],
                &HeaderMap::new(),
            )
            .await?;
        let prices = parse_ticker_prices(&body).map_err(IngestorError::Malformed)?;
        Ok(prices
            .into_iter()
            .map(|t| (t.symbol.to_ascii_uppercase(), t.price.parse().ok()))
            .collect())
    }
}
