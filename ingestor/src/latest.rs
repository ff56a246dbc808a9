//! The latest price of each symbol, written behind the stream. A published tick replaces its
//! symbol's pending price in memory; one writer upserts every pending symbol in one statement,
//! then again with whatever arrived meanwhile. One price at a time costs a write each, as
//! before; a Binance stream of thousands of ticks a second costs one statement per write's
//! duration, however many ticks it carried (the evaluator and the history recorder batch
//! likewise).
//!
//! A stop flushes what is pending. A crash loses the prices of at most the write under way and
//! what waited for it, as a crash between publish and store always could: the restarted
//! ingestor publishes those instruments again (at least once), never skips one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use shared::storage::LatestPrice;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::store::Store;

/// How long a failed write waits before it tries again (its prices stay pending).
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// The pending latest prices. Cheap to clone; clones share them.
#[derive(Clone, Default)]
pub struct LatestPrices {
    pending: Arc<Mutex<HashMap<String, LatestPrice>>>,
    wake: Arc<Notify>,
}

impl LatestPrices {
    /// `price` replaces whatever its symbol had pending.
    pub fn remember(&self, price: LatestPrice) {
        self.lock().insert(price.symbol.clone(), price);
        self.wake.notify_one();
    }

    /// Writes pending prices as they come until `stop`, then what is left.
    pub async fn write_until(self, store: Store, stop: CancellationToken) {
        loop {
            tokio::select! {
                () = self.wake.notified() => {}
                () = stop.cancelled() => break,
            }
            if !self.write_pending(&store).await {
                tokio::select! {
                    () = tokio::time::sleep(RETRY_AFTER) => {}
                    () = stop.cancelled() => break,
                }
                self.wake.notify_one();
            }
        }
        self.write_pending(&store).await;
    }

    /// Writes what is pending; on failure puts back what no newer price replaced meanwhile.
    async fn write_pending(&self, store: &Store) -> bool {
        let batch: Vec<LatestPrice> = self.lock().drain().map(|(_, price)| price).collect();
        if batch.is_empty() {
            return true;
        }
        match store.upsert_latest_prices(&batch).await {
            Ok(()) => true,
            Err(error) => {
                tracing::warn!(%error, prices = batch.len(), "could not store the latest prices; will retry");
                let mut pending = self.lock();
                for price in batch {
                    pending.entry(price.symbol.clone()).or_insert(price);
                }
                false
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, LatestPrice>> {
        self.pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
