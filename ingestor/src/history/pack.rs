//! Packs each closed UTC day of 1-minute candles into one row (`price_candle_days`, see
//! `domain::history::pack`), so long reads such as a 30-day backtest fetch one row per day.
//!
//! The row candles stay the source of truth. A day is packed once it closed more than
//! [`PACK_GRACE`] ago (late ticks of that day are rare by then); a write into a packed day
//! deletes its pack in the write's own transaction (`HistoryStore::write_candles`) and the
//! next pass packs it again (`Database::pack_minutes_of_day` says how the two never race).

use std::collections::BTreeSet;
use std::time::Duration;

use shared::domain::history::pack::{day_of, DAY_SECONDS};
use shared::on_pool;
use shared::storage::{Database, SeriesKey, StorageResult};

/// How long after a day ends it is packed.
pub const PACK_GRACE: Duration = Duration::from_secs(3_600);

/// The days packed on this pass, for one series.
pub struct Packed {
    pub days: u64,
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
        if !packed.contains(&day) && db.pack_minutes_of_day(key, day).await? {
            days += 1;
        }
        day += DAY_SECONDS;
        tokio::task::yield_now().await;
    }
    Ok(Packed { days })
}
