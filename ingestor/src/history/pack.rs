//! Packs each closed UTC day of 1-minute candles into one row (`price_candle_days`, see
//! `domain::history::pack`), so long reads such as a 30-day backtest fetch one row per day.
//!
//! The row candles stay the source of truth. A day is packed once it closed more than
//! [`PACK_GRACE`] ago (late ticks of that day are rare by then); a write into a packed day
//! deletes its pack in the write's own transaction (`HistoryStore::write_candles`) and the
//! next pass packs it again. On PostgreSQL both sides take the day's advisory lock, so a pack
//! never overwrites a write it did not see; on SQLite write transactions are serialised.

use std::collections::BTreeSet;
use std::time::Duration;

use shared::domain::history::pack::{day_of, pack_day, DAY_SECONDS};
use shared::domain::history::Candle;
use shared::domain::Price;
use shared::on_pool;
use shared::storage::{BeginWrite, Database, SeriesKey, StorageError, StorageResult};

/// How long after a day ends it is packed.
pub const PACK_GRACE: Duration = Duration::from_secs(3_600);

/// Takes the advisory lock of one series' day for the rest of the transaction (PostgreSQL).
pub const DAY_LOCK_SQL: &str = "select pg_advisory_xact_lock(hashtext($1 || '/' || $2), $3::int)";

/// Deletes a day's pack: the day's candles changed.
pub const DROP_PACK_SQL: &str =
    "delete from price_candle_days where symbol = $1 and series = $2 and day = $3";

const DAY_CANDLES_SQL: &str = "select bucket, open, high, low, close, first_second, \
     last_second, ticks from price_candles where symbol = $1 and series = $2 \
     and resolution = '1m' and bucket >= $3 and bucket < $4 order by bucket";

const INSERT_PACK_SQL: &str = "insert into price_candle_days (symbol, series, day, candles) \
     values ($1, $2, $3, $4) on conflict (symbol, series, day) \
     do update set candles = excluded.candles";

type CandleRow = (i64, Price, Price, Price, Price, i64, i64, i64);

/// The days packed on this pass, for one series.
pub struct Packed {
    pub days: u64,
}

/// The day number the advisory lock is keyed on (days since the epoch fit an `int`).
pub fn lock_day(day: i64) -> i32 {
    i32::try_from(day.div_euclid(DAY_SECONDS)).unwrap_or(i32::MAX)
}

/// Packs every day of `key` in `[first_day, closed_until)` that has candles and no pack.
pub async fn pack_series(
    db: &Database,
    key: SeriesKey<'_>,
    (first_day, closed_until): (i64, i64),
) -> StorageResult<Packed> {
    const OLDEST_SQL: &str = "select min(bucket) from price_candles \
         where symbol = $1 and series = $2 and resolution = '1m'";
    const PACKED_SQL: &str = "select day from price_candle_days \
         where symbol = $1 and series = $2 and day >= $3";
    let oldest: Option<i64> = on_pool!(db, pool => sqlx::query_scalar(OLDEST_SQL)
        .bind(key.symbol)
        .bind(key.series)
        .fetch_one(pool)
        .await)?;
    let Some(oldest) = oldest else {
        return Ok(Packed { days: 0 });
    };
    let packed: BTreeSet<i64> = on_pool!(db, pool => sqlx::query_scalar(PACKED_SQL)
        .bind(key.symbol)
        .bind(key.series)
        .bind(first_day)
        .fetch_all(pool)
        .await)?
    .into_iter()
    .collect();
    let mut days = 0;
    let mut day = first_day.max(day_of(oldest));
    while day < closed_until {
        if !packed.contains(&day) && pack_one_day(db, key, day).await? {
            days += 1;
        }
        day += DAY_SECONDS;
        tokio::task::yield_now().await;
    }
    Ok(Packed { days })
}

/// Packs one day in a write transaction; `false` when it has no candles (or cannot be
/// packed: it is then read as rows, which is only slower).
async fn pack_one_day(db: &Database, key: SeriesKey<'_>, day: i64) -> StorageResult<bool> {
    on_pool!(db, pool => async {
        let mut tx = pool.begin_write().await?;
        if !db.is_embedded() {
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
        if rows.is_empty() {
            tx.rollback().await?;
            return Ok(false);
        }
        let candles: Vec<Candle> = rows.into_iter().map(candle_of).collect();
        let bytes = match pack_day(day, &candles) {
            Ok(bytes) => bytes,
            Err(error) => {
                tracing::debug!(%error, symbol = key.symbol, "day left unpacked");
                tx.rollback().await?;
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

fn candle_of(row: CandleRow) -> Candle {
    let (start, open, high, low, close, first_second, last_second, ticks) = row;
    Candle {
        start,
        open,
        high,
        low,
        close,
        first_second,
        last_second,
        ticks,
    }
}
