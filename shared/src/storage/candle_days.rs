//! Day packs of 1-minute candles (`price_candle_days`, see [`crate::domain::history::pack`]):
//! each closed day the recorder has packed is one row, so long reads fetch a row per day; the
//! days without a pack (today, a day written into since it was packed, one not packed yet)
//! are read as row candles. Both give the same candles: a pack is a copy of its day's rows.
//!
//! A pack never goes stale: a write into a packed day deletes the pack in the write's own
//! transaction, and on PostgreSQL the writer and the packer both hold the day's advisory lock
//! ([`DAY_LOCK_SQL`]), so a pack is never built from rows a concurrent write is changing. On
//! SQLite write transactions are serialised.

use super::shared_reads::{candle_of, CandleRow};
use super::{BeginWrite, Database, SeriesKey, StorageError, StorageResult};
use crate::domain::history::pack::{day_of, pack_day, unpack_day, DAY_SECONDS};
use crate::domain::history::{Candle, Resolution};
use crate::{on_pool, on_write_pool};

/// Takes the advisory lock of one series' day for the rest of the transaction (PostgreSQL);
/// binds symbol, series and [`lock_day`].
pub const DAY_LOCK_SQL: &str = "select pg_advisory_xact_lock(hashtext($1 || '/' || $2), $3::int)";

/// Deletes a day's pack (its candles changed); binds symbol, series and the day's start.
pub const DROP_PACK_SQL: &str =
    "delete from price_candle_days where symbol = $1 and series = $2 and day = $3";

const DAY_CANDLES_SQL: &str = "select bucket, open, high, low, close, first_second, \
     last_second, ticks from price_candles where symbol = $1 and series = $2 \
     and resolution = '1m' and bucket >= $3 and bucket < $4 order by bucket";

const INSERT_PACK_SQL: &str = "insert into price_candle_days (symbol, series, day, candles) \
     values ($1, $2, $3, $4) on conflict (symbol, series, day) \
     do update set candles = excluded.candles";

/// The day number the advisory lock is keyed on (days since the epoch fit an `int`).
pub fn lock_day(day: i64) -> i32 {
    i32::try_from(day.div_euclid(DAY_SECONDS)).unwrap_or(i32::MAX)
}

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

    /// Packs the 1-minute candles of the day starting at `day` (replacing its pack); `false`
    /// when the day has no candles, or candles a pack cannot hold (it is then read as rows,
    /// which is only slower).
    pub async fn pack_minutes_of_day(&self, key: SeriesKey<'_>, day: i64) -> StorageResult<bool> {
        let locks = !self.is_embedded();
        on_write_pool!(self, pool => async {
            let mut tx = pool.begin_write().await?;
            if locks {
                sqlx::query(DAY_LOCK_SQL)
                    .bind(key.symbol)
                    .bind(key.series)
                    .bind(lock_day(day))
                    .execute(&mut *tx)
                    .await?;
            }
            let rows: Vec<CandleRow> = sqlx::query_as(DAY_CANDLES_SQL)
                .bind(key.symbol)
                .bind(key.series)
                .bind(day)
                .bind(day + DAY_SECONDS)
                .fetch_all(&mut *tx)
                .await?;
            let candles: Vec<Candle> = rows.into_iter().map(candle_of).collect();
            let bytes = match pack_day(day, &candles) {
                Ok(bytes) if !candles.is_empty() => bytes,
                Ok(_) => return Ok(false),
                Err(error) => {
                    tracing::debug!(%error, symbol = key.symbol, "day left unpacked");
                    return Ok(false);
                }
            };
            sqlx::query(INSERT_PACK_SQL)
                .bind(key.symbol)
                .bind(key.series)
                .bind(day)
                .bind(bytes)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok::<_, StorageError>(true)
        }.await)
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
