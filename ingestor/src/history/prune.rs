//! Deletes history past its retention, in small batches (each its own short statement, with a
//! yield between them) so the recorder's writes never wait behind a long delete; then, on
//! SQLite, gives the freed pages back to the file system. Each round then packs the days of
//! 1-minute candles that closed since (see `pack`).

use std::time::Duration;

use shared::config::HistorySettings;
use shared::domain::history::pack::{day_of, DAY_SECONDS};
use shared::domain::history::Resolution;
use shared::storage::{SeriesKey, StorageResult};
use tokio_util::sync::CancellationToken;

use super::metrics::HistoryMetrics;
use super::pack::{pack_series, PACK_GRACE};
use super::store::HistoryStore;

fn seconds(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}

/// Pages given back per prune round (4 KiB each).
const RECLAIM_PAGES: u32 = 4_096;

pub struct Pruner {
    store: HistoryStore,
    metrics: HistoryMetrics,
    settings: HistorySettings,
    /// Every (symbol, series) that can have history: the catalogue's symbols × the sources.
    series: Vec<(String, String)>,
}

impl Pruner {
    pub fn new(
        store: HistoryStore,
        metrics: HistoryMetrics,
        settings: HistorySettings,
        series: Vec<(String, String)>,
    ) -> Pruner {
        Pruner {
            store,
            metrics,
            settings,
            series,
        }
    }

    /// Deletes everything strictly older than its window at `now` (seconds): raw points
    /// whose second, and candles whose bucket start, is before `now − retention`. Returns the
    /// rows deleted.
    pub async fn prune_once(&self, now: i64) -> StorageResult<u64> {
        let batch = i64::from(self.settings.prune_batch);
        let tables = [
            ("points", None, self.settings.raw_retention),
            (
                "candles_1m",
                Some(Resolution::Minute),
                self.settings.minute_retention,
            ),
            (
                "candles_1h",
                Some(Resolution::Hour),
                self.settings.hour_retention,
            ),
            (
                "candles_1d",
                Some(Resolution::Day),
                self.settings.day_retention,
            ),
        ];
        let mut total = 0;
        for (table, resolution, retention) in tables {
            if retention.is_zero() {
                continue;
            }
            let cutoff = now - seconds(retention);
            for (symbol, series) in &self.series {
                let key = SeriesKey { symbol, series };
                loop {
                    let deleted = match resolution {
                        None => self.store.prune_points(key, cutoff, batch).await?,
                        Some(r) => self.store.prune_candles(key, r, cutoff, batch).await?,
                    };
                    self.metrics.pruned(table, deleted);
                    total += deleted;
                    tokio::task::yield_now().await;
                    if deleted < batch as u64 {
                        break;
                    }
                }
            }
        }
        if !self.settings.minute_retention.is_zero() {
            let cutoff = now - seconds(self.settings.minute_retention);
            for (symbol, series) in &self.series {
                let key = SeriesKey { symbol, series };
                let deleted = self.store.prune_packs(key, cutoff).await?;
                self.metrics.pruned("candle_day_packs", deleted);
                total += deleted;
            }
        }
        if total > 0 {
            self.store.reclaim(RECLAIM_PAGES).await?;
        }
        Ok(total)
    }

    /// Packs the closed days of 1-minute candles not packed yet: every day that lies wholly
    /// inside the 1-minute retention and ended more than [`PACK_GRACE`] before `now`.
    /// Returns the days packed.
    pub async fn pack_once(&self, now: i64) -> StorageResult<u64> {
        let first_day = if self.settings.minute_retention.is_zero() {
            i64::MIN
        } else {
            let cutoff = now - seconds(self.settings.minute_retention);
            day_of(cutoff)
                + if cutoff == day_of(cutoff) {
                    0
                } else {
                    DAY_SECONDS
                }
        };
        let closed_until = day_of(now - seconds(PACK_GRACE));
        let mut days = 0;
        for (symbol, series) in &self.series {
            let key = SeriesKey { symbol, series };
            days += pack_series(self.store.db(), key, (first_day, closed_until))
                .await?
                .days;
        }
        self.metrics.packed(days);
        Ok(days)
    }

    /// Prunes every `prune_every` until `shutdown`; a failed round is logged and retried at
    /// the next.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut every =
            tokio::time::interval(self.settings.prune_every.max(Duration::from_secs(1)));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = every.tick() => {}
            }
            let now = chrono::Utc::now().timestamp();
            match self.prune_once(now).await {
                Ok(0) => {}
                Ok(rows) => tracing::debug!(rows, "price history pruned"),
                Err(error) => {
                    tracing::warn!(%error, "pruning price history failed; retrying later")
                }
            }
            match self.pack_once(now).await {
                Ok(0) => {}
                Ok(days) => tracing::debug!(days, "closed days of candles packed"),
                Err(error) => {
                    tracing::warn!(%error, "packing closed days failed; retrying later")
                }
            }
        }
    }
}
