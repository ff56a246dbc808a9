//! Backfill: on start, each live series with no point in the last `backfill_gap` (first start,
//! or after the ingestor was down) is filled with the provider's recent history, so a chart is
//! populated minutes after installation. Calls go through the provider's own client, so they
//! spend the same call budget as the poller. Backfilled points are stored (marked as such)
//! and never published as ticks: they never fire alerts.

use std::time::Duration;

use reqwest::header::HeaderMap;
use serde::Deserialize;
use shared::domain::history::Tick;
use shared::domain::{Price, Symbol};
use shared::storage::SeriesKey;

use super::metrics::HistoryMetrics;
use super::store::{HistoryStore, RecordedTick};
use crate::http::PoliteClient;
use crate::providers::yahoo::encode_path_segment;
use crate::providers::{coingecko, yahoo};
use crate::IngestorError;

/// What a backfill fetches at most: one day back (the providers' minute-level history).
const MAX_SPAN_SECONDS: i64 = 24 * 60 * 60;

/// Where one instrument's history comes from.
#[derive(Debug, Clone)]
pub enum HistorySource {
    /// Yahoo's v8 chart with `period1`/`period2`/`interval=1m`; the Yahoo ticker.
    Yahoo { ticker: String },
    /// CoinGecko's `/coins/{id}/market_chart` (5-minute points for a day); the coin id.
    CoinGecko { id: String },
}

/// A provider's client and endpoint, shared with its poller.
#[derive(Clone)]
pub struct ProviderHistory {
    pub http: PoliteClient,
    /// `https://query1.finance.yahoo.com` or the CoinGecko base URL (without `/api/v3`).
    pub base_url: String,
    pub headers: HeaderMap,
}

/// One instrument to backfill.
#[derive(Clone)]
pub struct BackfillTarget {
    pub symbol: Symbol,
    pub source: HistorySource,
    pub provider: ProviderHistory,
}

pub struct Backfill {
    store: HistoryStore,
    metrics: HistoryMetrics,
    /// Each target with a gap, and the second its backfill starts from.
    planned: Vec<(BackfillTarget, i64)>,
}

impl Backfill {
    /// Decides, at `now` (seconds) and before anything new is recorded, which targets have
    /// a gap longer than `gap` and from when to fill each.
    pub async fn plan(
        store: HistoryStore,
        metrics: HistoryMetrics,
        targets: Vec<BackfillTarget>,
        gap: Duration,
        now: i64,
    ) -> Result<Backfill, IngestorError> {
        let gap = i64::try_from(gap.as_secs()).unwrap_or(i64::MAX);
        let mut planned = Vec::new();
        for target in targets {
            let key = SeriesKey {
                symbol: target.symbol.as_str(),
                series: target.source.label(),
            };
            let newest = store.newest_point(key).await?;
            if newest.is_some_and(|n| now - n <= gap) {
                continue;
            }
            let from = newest.map_or(now - MAX_SPAN_SECONDS, |n| {
                (n + 1).max(now - MAX_SPAN_SECONDS)
            });
            planned.push((target, from));
        }
        Ok(Backfill {
            store,
            metrics,
            planned,
        })
    }

    /// Backfills every planned target up to `now` (seconds); returns the points recorded. A
    /// failed instrument is logged and left for the next start.
    pub async fn run_once(&self, now: i64) -> u64 {
        let mut recorded = 0;
        for (target, from) in &self.planned {
            match self.backfill(target, *from, now).await {
                Ok(points) => recorded += points,
                Err(error) => {
                    tracing::warn!(symbol = %target.symbol, %error, "history backfill failed")
                }
            }
        }
        recorded
    }

    async fn backfill(
        &self,
        target: &BackfillTarget,
        from: i64,
        now: i64,
    ) -> Result<u64, IngestorError> {
        let series = target.source.label();
        let body = target.source.fetch(&target.provider, from, now).await?;
        let ticks = target.source.parse(&body)?;
        let recorded: Vec<RecordedTick> = ticks
            .into_iter()
            .filter(|t| t.second() >= from && t.second() <= now)
            .map(|tick| RecordedTick {
                symbol: target.symbol.clone(),
                series: series.to_owned(),
                tick,
                backfilled: true,
            })
            .collect();
        self.store.record(&recorded).await?;
        self.metrics.backfilled(series, recorded.len());
        tracing::info!(symbol = %target.symbol, points = recorded.len(), "history backfilled");
        Ok(recorded.len() as u64)
    }
}

impl HistorySource {
    /// The series (source label) its points belong to.
    pub fn label(&self) -> &'static str {
        match self {
            HistorySource::Yahoo { .. } => yahoo::SOURCE,
            HistorySource::CoinGecko { .. } => coingecko::SOURCE,
        }
    }

    async fn fetch(
        &self,
        provider: &ProviderHistory,
        from: i64,
        to: i64,
    ) -> Result<Vec<u8>, IngestorError> {
        match self {
            HistorySource::Yahoo { ticker } => {
                let url = format!(
                    "{}/v8/finance/chart/{}",
                    provider.base_url,
                    encode_path_segment(ticker)
                );
                let (period1, period2) = (from.to_string(), to.to_string());
                let query = [
                    ("period1", period1.as_str()),
                    ("period2", period2.as_str()),
                    ("interval", "1m"),
                ];
                provider.http.get(&url, &query, &provider.headers).await
            }
            HistorySource::CoinGecko { id } => {
                let url = format!("{}/api/v3/coins/{id}/market_chart", provider.base_url);
                // Whole days, at least one (CoinGecko's granularity is 5 minutes up to 1 day).
                let days = ((to - from + 86_399) / 86_400).max(1).to_string();
                let query = [("vs_currency", "usd"), ("days", days.as_str())];
                provider.http.get(&url, &query, &provider.headers).await
            }
        }
    }

    /// The ticks of a history answer, oldest first.
    pub fn parse(&self, body: &[u8]) -> Result<Vec<Tick>, IngestorError> {
        match self {
            HistorySource::Yahoo { .. } => parse_yahoo_chart(body),
            HistorySource::CoinGecko { .. } => parse_market_chart(body),
        }
    }
}

#[derive(Deserialize)]
struct ChartEnvelope {
    chart: ChartBody,
}

#[derive(Deserialize)]
struct ChartBody {
    result: Option<Vec<ChartResult>>,
}

#[derive(Deserialize)]
struct ChartResult {
    #[serde(default)]
    timestamp: Vec<Option<i64>>,
    indicators: ChartIndicators,
}

#[derive(Deserialize)]
struct ChartIndicators {
    #[serde(default)]
    quote: Vec<ChartQuote>,
}

#[derive(Deserialize)]
struct ChartQuote {
    #[serde(default)]
    close: Vec<Option<Price>>,
}

/// Yahoo's v8 chart: `timestamp[i]` (seconds) with `indicators.quote[0].close[i]`; nulls and
/// non-positive closes are left out.
pub fn parse_yahoo_chart(body: &[u8]) -> Result<Vec<Tick>, IngestorError> {
    let envelope: ChartEnvelope =
        serde_json::from_slice(body).map_err(|e| IngestorError::Malformed(e.to_string()))?;
    let Some(result) = envelope.chart.result.and_then(|r| r.into_iter().next()) else {
        return Ok(Vec::new());
    };
    let closes = result
        .indicators
        .quote
        .first()
        .map(|q| q.close.as_slice())
        .unwrap_or_default();
    Ok(result
        .timestamp
        .iter()
        .zip(closes)
        .filter_map(|(time, close)| {
            let (time, price) = ((*time)?, (*close)?);
            price.is_positive().then_some(Tick {
                at_micros: time.checked_mul(1_000_000)?,
                price,
            })
        })
        .collect())
}

#[derive(Deserialize)]
struct MarketChart {
    prices: Vec<(i64, Price)>,
}

/// CoinGecko's `market_chart`: `{"prices": [[unix ms, price], …], "market_caps": …,
/// "total_volumes": …}`; non-positive prices are left out.
pub fn parse_market_chart(body: &[u8]) -> Result<Vec<Tick>, IngestorError> {
    let chart: MarketChart =
        serde_json::from_slice(body).map_err(|e| IngestorError::Malformed(e.to_string()))?;
    Ok(chart
        .prices
        .into_iter()
        .filter(|(_, price)| price.is_positive())
        .filter_map(|(millis, price)| {
            Some(Tick {
                at_micros: millis.checked_mul(1_000)?,
                price,
            })
        })
        .collect())
}
