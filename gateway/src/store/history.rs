//! The gateway's reads of price history: which series a symbol is served from, and how far
//! back each resolution of it reaches (what a backtest replays). Candles and points
//! themselves are the kernel's reads, shared with the recorder.

use shared::catalogue::{Instrument, ProviderKind};
use shared::domain::history::Resolution;
use shared::on_pool;
use shared::storage::{SeriesKey, StorageResult};

use super::Store;

/// The series and currency a symbol's history is served in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedSeries {
    pub series: String,
    pub currency: String,
}

impl ServedSeries {
    pub fn key<'a>(&'a self, symbol: &'a str) -> SeriesKey<'a> {
        SeriesKey {
            symbol,
            series: &self.series,
        }
    }
}

impl Store {
    /// The series of the symbol's latest price (the source it is quoted from now: switching
    /// source starts a separate series), else its provider's.
    pub async fn served_series(&self, instrument: &Instrument) -> StorageResult<ServedSeries> {
        const SQL: &str = "select source, currency from latest_prices where symbol = $1";
        let latest: Option<(String, String)> = on_pool!(self.db(), pool => sqlx::query_as(SQL)
            .bind(instrument.symbol.as_str())
            .fetch_optional(pool)
            .await)?;
        Ok(match latest {
            Some((series, currency)) => ServedSeries { series, currency },
            None => ServedSeries {
                series: match instrument.provider {
                    ProviderKind::Coingecko => "coingecko",
                    ProviderKind::Yahoo => "yahoo",
                }
                .to_owned(),
                currency: instrument.currency.clone(),
            },
        })
    }

    /// The oldest second the series has at `resolution` (`None`: raw points), if any.
    pub async fn oldest_history(
        &self,
        key: SeriesKey<'_>,
        resolution: Option<Resolution>,
    ) -> StorageResult<Option<i64>> {
        let oldest: Option<i64> = match resolution {
            None => {
                const SQL: &str =
                    "select min(second) from price_points where symbol = $1 and series = $2";
                on_pool!(self.db(), pool => sqlx::query_scalar(SQL)
                    .bind(key.symbol)
                    .bind(key.series)
                    .fetch_one(pool)
                    .await)?
            }
            Some(resolution) => {
                const SQL: &str = "select min(bucket) from price_candles \
                     where symbol = $1 and series = $2 and resolution = $3";
                on_pool!(self.db(), pool => sqlx::query_scalar(SQL)
                    .bind(key.symbol)
                    .bind(key.series)
                    .bind(resolution.as_str())
                    .fetch_one(pool)
                    .await)?
            }
        };
        Ok(oldest)
    }
}
