//! The recorder's writes: raw points, then the candles of every bucket they touched, each
//! recomputed from what its bucket holds (the points of a minute, the minutes of an hour, the
//! hours of a day). Recomputing instead of adding makes every write idempotent: a redelivered
//! or late tick leaves exactly what one delivery in order would have.

use shared::storage::BeginWrite;
use std::collections::BTreeSet;

use shared::domain::history::pack::day_of;
use shared::domain::history::{bucket_start, candles_of, rollup, Candle, Resolution, Tick};
use shared::domain::Symbol;
use shared::storage::{
    lock_day, Database, SeriesKey, StorageError, StorageResult, DAY_LOCK_SQL, DROP_PACK_SQL,
};
use shared::{on_pool, on_write_pool};

/// A tick to record, with the series it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedTick {
    pub symbol: Symbol,
    /// The source label of the tick: a source's points never mix with another's.
    pub series: String,
    pub tick: Tick,
    /// Fetched from a provider's history rather than published live.
    pub backfilled: bool,
}

/// A bucket of one series to recompute.
type Bucket = (String, String, i64);

const POINT_SQL: &str = "insert into price_points \
     (symbol, series, second, price, tick_micros, backfilled) values ($1, $2, $3, $4, $5, $6) \
     on conflict (symbol, series, second) do update set price = excluded.price, \
     tick_micros = excluded.tick_micros, backfilled = excluded.backfilled \
     where price_points.tick_micros < excluded.tick_micros";

const CANDLE_SQL: &str = "insert into price_candles \
     (symbol, series, resolution, bucket, open, high, low, close, first_second, last_second, ticks) \
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
     on conflict (symbol, series, resolution, bucket) do update set open = excluded.open, \
     high = excluded.high, low = excluded.low, close = excluded.close, \
     first_second = excluded.first_second, last_second = excluded.last_second, \
     ticks = excluded.ticks";

/// The recorder's view of the database. Cheap to clone.
#[derive(Clone, Debug)]
pub struct HistoryStore {
    db: Database,
}

impl HistoryStore {
    pub fn new(db: Database) -> HistoryStore {
        HistoryStore { db }
    }

    pub fn db(&self) -> &Database {
        &self.db
    }

    /// Records `ticks` (any order, repeats allowed) and brings every candle they touch up to
    /// date. Returns how many raw points changed.
    #[tracing::instrument(skip_all, fields(ticks = ticks.len()))]
    pub async fn record(&self, ticks: &[RecordedTick]) -> StorageResult<u64> {
        if ticks.is_empty() {
            return Ok(0);
        }
        let changed = on_write_pool!(&self.db, pool => async {
            let mut tx = pool.begin_write().await?;
            let mut changed = 0;
            for t in ticks {
                changed += sqlx::query(POINT_SQL)
                    .bind(t.symbol.as_str())
                    .bind(&t.series)
                    .bind(t.tick.second())
                    .bind(t.tick.price)
                    .bind(t.tick.at_micros)
                    .bind(t.backfilled)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
            }
            tx.commit().await?;
            Ok::<_, StorageError>(changed)
        }.await)?;
        // Always recomputed, changed or not: a delivery retried after a crash between the
        // points and the candles still completes the candles.
        let minutes: BTreeSet<Bucket> = ticks
            .iter()
            .map(|t| {
                let start = bucket_start(t.tick.second(), Resolution::Minute.seconds());
                (t.symbol.to_string(), t.series.clone(), start)
            })
            .collect();
        let mut touched = minutes;
        for resolution in Resolution::ALL {
            let mut candles = Vec::with_capacity(touched.len());
            for (symbol, series, start) in &touched {
                let key = SeriesKey { symbol, series };
                let until = start + resolution.seconds();
                let candle = match resolution.finer() {
                    None => candles_of(&self.db.points(key, (*start, until)).await?, 60),
                    Some(finer) => {
                        let parts = self
                            .db
                            .candles(key, finer, (*start, until), i64::MAX, false)
                            .await?;
                        rollup(&parts, resolution.seconds())
                    }
                };
                candles.extend(
                    candle
                        .into_iter()
                        .map(|c| (symbol.clone(), series.clone(), c)),
                );
            }
            self.write_candles(resolution, &candles).await?;
            if let Some(coarser) = Resolution::ALL
                .iter()
                .find(|r| r.finer() == Some(resolution))
            {
                touched = touched
                    .into_iter()
                    .map(|(symbol, series, start)| {
                        (symbol, series, bucket_start(start, coarser.seconds()))
                    })
                    .collect();
            }
        }
        Ok(changed)
    }

    /// Writes candles in one transaction. Minutes of a day before today also delete that
    /// day's pack (see `pack`): it no longer matches its rows.
    async fn write_candles(
        &self,
        resolution: Resolution,
        candles: &[(String, String, Candle)],
    ) -> StorageResult<()> {
        let today = day_of(chrono::Utc::now().timestamp());
        let packed_days: BTreeSet<(&str, &str, i64)> = match resolution {
            Resolution::Minute => candles
                .iter()
                .map(|(symbol, series, c)| (symbol.as_str(), series.as_str(), day_of(c.start)))
                .filter(|(_, _, day)| *day < today)
                .collect(),
            _ => BTreeSet::new(),
        };
        let locks = !self.db.is_embedded();
        on_write_pool!(&self.db, pool => async {
            let mut tx = pool.begin_write().await?;
            // In key order, so two writers never wait on each other's locks.
            for &(symbol, series, day) in &packed_days {
                if locks {
                    sqlx::query(DAY_LOCK_SQL)
                        .bind(symbol)
                        .bind(series)
                        .bind(lock_day(day))
                        .execute(&mut *tx)
                        .await?;
                }
                sqlx::query(DROP_PACK_SQL)
                    .bind(symbol)
                    .bind(series)
                    .bind(day)
                    .execute(&mut *tx)
                    .await?;
            }
            for (symbol, series, c) in candles {
                sqlx::query(CANDLE_SQL)
                    .bind(symbol)
                    .bind(series)
                    .bind(resolution.as_str())
                    .bind(c.start)
                    .bind(c.open)
                    .bind(c.high)
                    .bind(c.low)
                    .bind(c.close)
                    .bind(c.first_second)
                    .bind(c.last_second)
                    .bind(c.ticks)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok::<_, StorageError>(())
        }.await)
    }

    /// The second of the newest point of a series, if any (where a backfill starts from).
    pub async fn newest_point(&self, key: SeriesKey<'_>) -> StorageResult<Option<i64>> {
        const SQL: &str = "select max(second) from price_points where symbol = $1 and series = $2";
        let newest: Option<i64> = on_pool!(&self.db, pool => sqlx::query_scalar(SQL)
            .bind(key.symbol)
            .bind(key.series)
            .fetch_one(pool)
            .await)?;
        Ok(newest)
    }

    /// Deletes at most `batch` raw points of `key` older than `cutoff` (seconds), oldest
    /// first; returns how many.
    pub async fn prune_points(
        &self,
        key: SeriesKey<'_>,
        cutoff: i64,
        batch: i64,
    ) -> StorageResult<u64> {
        const SQL: &str = "delete from price_points where symbol = $1 and series = $2 \
             and second in (select second from price_points where symbol = $1 and series = $2 \
             and second < $3 order by second limit $4)";
        Ok(on_write_pool!(&self.db, pool => sqlx::query(SQL)
            .bind(key.symbol)
            .bind(key.series)
            .bind(cutoff)
            .bind(batch)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?)
    }

    /// Deletes at most `batch` candles of `key` at `resolution` whose bucket starts before
    /// `cutoff` (seconds); returns how many.
    pub async fn prune_candles(
        &self,
        key: SeriesKey<'_>,
        resolution: Resolution,
        cutoff: i64,
        batch: i64,
    ) -> StorageResult<u64> {
        const SQL: &str = "delete from price_candles where symbol = $1 and series = $2 \
             and resolution = $3 and bucket in (select bucket from price_candles \
             where symbol = $1 and series = $2 and resolution = $3 and bucket < $4 \
             order by bucket limit $5)";
        Ok(on_write_pool!(&self.db, pool => sqlx::query(SQL)
            .bind(key.symbol)
            .bind(key.series)
            .bind(resolution.as_str())
            .bind(cutoff)
            .bind(batch)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?)
    }

    /// Deletes the day packs of `key` for days starting before `cutoff` (seconds); returns how
    /// many. At most one row per day, so one statement.
    pub async fn prune_packs(&self, key: SeriesKey<'_>, cutoff: i64) -> StorageResult<u64> {
        const SQL: &str =
            "delete from price_candle_days where symbol = $1 and series = $2 and day < $3";
        Ok(on_write_pool!(&self.db, pool => sqlx::query(SQL)
            .bind(key.symbol)
            .bind(key.series)
            .bind(cutoff)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?)
    }

    /// Gives up to `pages` free pages back to the file system (SQLite; nothing elsewhere).
    pub async fn reclaim(&self, pages: u32) -> StorageResult<()> {
        if self.db.is_embedded() {
            let sql = format!("pragma incremental_vacuum({pages})");
            on_write_pool!(&self.db, pool => sqlx::query(&sql).execute(pool).await.map(|_| ()))?;
        }
        Ok(())
    }
}

/// Whether a write failed because the database's disk (or its size limit) is full.
pub fn is_disk_full(error: &StorageError) -> bool {
    let StorageError::Database(sqlx::Error::Database(db)) = error else {
        return false;
    };
    // SQLITE_FULL (13, extended codes keep it in the low byte); PostgreSQL disk_full 53100.
    match db.code().as_deref() {
        Some("53100") => true,
        Some(code) => code.parse::<i64>().is_ok_and(|c| c & 0xff == 13),
        None => false,
    }
}
