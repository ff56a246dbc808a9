//! Records every published tick: a consume-loop handler of its own consumer group on
//! `price-events`, so history is written whichever process published the tick and survives
//! any of them being killed (the batch is committed only after it is written).
//!
//! When the database's disk is full, recording pauses (`ingestor_history_recording_paused`)
//! and the ticks of that time are skipped and counted instead of retried: a retried batch
//! would hold the consumer, and in the embedded default the in-process bus makes publishers
//! wait for a consumer that is behind, which would hold up the alert pipeline.

use std::time::{Duration, Instant};

use shared::bus::{BatchHandler, Delivery};
use shared::domain::history::Tick;
use shared::events::PriceTick;
use shared::storage::StorageError;

use super::metrics::HistoryMetrics;
use super::store::{is_disk_full, HistoryStore, RecordedTick};

pub struct Recorder {
    store: HistoryStore,
    metrics: HistoryMetrics,
    /// Ticks older than this are skipped: the points of their minute may be pruned already,
    /// and a candle recomputed from part of them would lose the rest.
    raw_retention: Duration,
    disk_full_pause: Duration,
    paused_until: Option<Instant>,
}

impl Recorder {
    pub fn new(
        store: HistoryStore,
        metrics: HistoryMetrics,
        raw_retention: Duration,
        disk_full_pause: Duration,
    ) -> Recorder {
        Recorder {
            store,
            metrics,
            raw_retention,
            disk_full_pause,
            paused_until: None,
        }
    }

    /// The tick as history records it: in the series of its source, at its quote time.
    pub fn recorded(tick: &PriceTick) -> RecordedTick {
        RecordedTick {
            symbol: tick.symbol.clone(),
            series: tick.source.clone(),
            tick: Tick {
                at_micros: tick.timestamp.timestamp_micros(),
                price: tick.price,
            },
            backfilled: false,
        }
    }
}

impl BatchHandler<PriceTick> for Recorder {
    type Error = StorageError;

    async fn handle_batch(
        &mut self,
        deliveries: &[Delivery<PriceTick>],
    ) -> Result<(), StorageError> {
        if let Some(until) = self.paused_until {
            if Instant::now() < until {
                self.metrics.dropped("paused", deliveries.len());
                return Ok(());
            }
        }
        let oldest = chrono::Utc::now().timestamp_micros()
            - i64::try_from(self.raw_retention.as_micros()).unwrap_or(i64::MAX);
        let ticks: Vec<RecordedTick> = deliveries
            .iter()
            .map(|d| Recorder::recorded(&d.event))
            .filter(|t| t.tick.at_micros >= oldest)
            .collect();
        self.metrics
            .dropped("too_old", deliveries.len() - ticks.len());
        let started = Instant::now();
        match self.store.record(&ticks).await {
            Ok(_) => {
                self.metrics
                    .recorded(ticks.len(), started.elapsed().as_secs_f64());
                if self.paused_until.take().is_some() {
                    tracing::info!("price history recording resumed");
                }
                self.metrics.set_paused(false);
                Ok(())
            }
            Err(error) if is_disk_full(&error) => {
                tracing::warn!(%error, pause = ?self.disk_full_pause, "disk full: price history recording paused");
                self.paused_until = Some(Instant::now() + self.disk_full_pause);
                self.metrics.set_paused(true);
                self.metrics.dropped("disk_full", ticks.len());
                Ok(())
            }
            Err(error) => Err(error),
        }
    }
}
