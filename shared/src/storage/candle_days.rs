//! Long reads of 1-minute candles through the day packs (`price_candle_days`, see
//! [`crate::domain::history::pack`]): each closed day the recorder has packed is one row; the
//! days without a pack (today, a day written into since it was packed, one not packed yet)
//! are read as row candles. Both give the same candles: the pack is a copy of the rows.

use super::{Database, SeriesKey, StorageError, StorageResult};
use crate::domain::history::pack::{day_of, unpack_day, DAY_SECONDS};
use crate::domain::history::{Candle, Resolution};
use crate::on_pool;

impl Database {
    /// The 1-minute candles of `key` starting in `[from, until)` (seconds), oldest first:
    /// what [`Database::candles`] answers, read from the day packs where there are some.
    pub async fn minute_candles(
        &self,
        key: SeriesKey<'_>,
        (from, until): (i64, i64),
    ) -> StorageResult<Vec<Candle>> {
        if from >= until {
            return Ok(Vec::new());
        }
        const SQL: &str = "select day, candles from price_candle_days \
             where symbol = $1 and series = $2 and day >= $3 and day < $4 order by day";
        let packs: Vec<(i64, Vec<u8>)> = on_pool!(self, pool => sqlx::query_as(SQL)
            .bind(key.symbol)
            .bind(key.series)
            .bind(day_of(from))
            .bind(until)
            .fetch_all(pool)
            .await)?;
        let mut candles = Vec::new();
        // Rows fill what lies between packs, a contiguous span at a time.
        let mut covered = from;
        for (day, pack) in &packs {
            if covered < *day {
                candles.extend(self.row_minutes(key, (covered, *day)).await?);
            }
            unpack_day(*day, pack, (from, until), &mut candles)
                .map_err(|e| StorageError::Corrupt(e.to_string()))?;
            covered = covered.max(day + DAY_SECONDS);
        }
        if covered < until {
            candles.extend(self.row_minutes(key, (covered, until)).await?);
        }
        Ok(candles)
    }

    async fn row_minutes(
        &self,
        key: SeriesKey<'_>,
        range: (i64, i64),
    ) -> StorageResult<Vec<Candle>> {
        self.candles(key, Resolution::Minute, range, i64::MAX, false)
            .await
    }
}
