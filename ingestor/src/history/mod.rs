//! Price history, owned by the ingestor: the recorder (every published tick, read back from
//! `price-events` in a consumer group of its own), the pruner and the start-up backfill.

pub mod backfill;
mod metrics;
mod pack;
mod prune;
mod recorder;
pub mod store;

use std::time::Duration;

use prometheus::Registry;
use shared::bus::{Batching, Consumer, MalformedMessages, Subscription, Topic};
use shared::context::ServiceContext;
use shared::events::PriceTick;
use tokio_util::sync::CancellationToken;

pub use backfill::{Backfill, BackfillTarget, HistorySource, ProviderHistory};
pub use metrics::HistoryMetrics;
pub use prune::Pruner;
pub use recorder::Recorder;
pub use store::{HistoryStore, RecordedTick};

use crate::IngestorError;

/// Ticks written per batch: one transaction for the points, one per candle resolution.
const BATCHING: Batching = Batching {
    max_messages: 256,
    max_wait: Duration::from_millis(20),
};

/// The recorder, subscribed, with its pruner and backfill: built in `Application::build`
/// (subscribed before any tick is published), run with the ingestor.
pub struct History {
    ticks: Box<dyn Subscription>,
    malformed: MalformedMessages,
    recorder: Recorder,
    pruner: Pruner,
    backfill: Option<Backfill>,
}

impl History {
    /// `None` when history is turned off (`HISTORY_ENABLED=false`); `targets` are the
    /// instruments to backfill (none for the simulated source, which has no past).
    pub async fn build(
        context: &ServiceContext,
        registry: &Registry,
        targets: Vec<BackfillTarget>,
    ) -> Result<Option<History>, IngestorError> {
        let settings = &context.settings.history;
        if !settings.enabled {
            return Ok(None);
        }
        let group = context.consumer_group("recorder");
        let ticks = context.bus.subscribe(Topic::PriceEvents, &group).await?;
        let malformed = MalformedMessages::register(registry, "ingestor", &[Topic::PriceEvents]);
        let metrics = HistoryMetrics::register(registry);
        let store = HistoryStore::new(context.db.clone());
        let series = context
            .catalogue
            .symbols()
            .flat_map(|symbol| {
                crate::metrics::SOURCES
                    .iter()
                    .map(move |source| (symbol.to_string(), (*source).to_owned()))
            })
            .collect();
        let backfill = if settings.backfill && !targets.is_empty() {
            let now = chrono::Utc::now().timestamp();
            let gap = settings.backfill_gap;
            Some(Backfill::plan(store.clone(), metrics.clone(), targets, gap, now).await?)
        } else {
            None
        };
        Ok(Some(History {
            ticks,
            malformed,
            recorder: Recorder::new(
                store.clone(),
                metrics.clone(),
                settings.raw_retention,
                settings.disk_full_pause,
            ),
            pruner: Pruner::new(store, metrics, settings.clone(), series),
            backfill,
        }))
    }

    /// Records, prunes and backfills until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        let consumer = Consumer::<PriceTick>::new(self.ticks, &self.malformed, shutdown.clone());
        let backfill = async {
            if let Some(backfill) = self.backfill {
                tokio::select! {
                    _ = shutdown.cancelled() => {}
                    _ = backfill.run_once(chrono::Utc::now().timestamp()) => {}
                }
            }
        };
        tokio::join!(
            consumer.run_batches(BATCHING, self.recorder),
            self.pruner.run(shutdown.clone()),
            backfill,
        );
    }
}
