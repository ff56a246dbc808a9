//! Publishes the outbox: trigger events recorded by fire transactions go to the bus in the
//! order they were written, each marked published once the bus has accepted it. What a crash
//! leaves unpublished is published at the next start (the notifier deduplicates on event id,
//! so a crash between publish and mark costs at most a duplicate message, never a lost one).

use std::sync::Arc;

use chrono::Duration;
use shared::bus::{EventBus, Topic};
use shared::storage::Database;

use crate::clock::Clock;
use crate::metrics::EvaluatorMetrics;
use crate::EvaluatorError;

const BATCH: i64 = 256;

pub struct OutboxRelay {
    db: Database,
    bus: Arc<dyn EventBus>,
    metrics: EvaluatorMetrics,
    clock: Arc<dyn Clock>,
    retention: Duration,
}

impl OutboxRelay {
    pub fn new(
        db: Database,
        bus: Arc<dyn EventBus>,
        metrics: EvaluatorMetrics,
        clock: Arc<dyn Clock>,
        retention: std::time::Duration,
    ) -> OutboxRelay {
        OutboxRelay {
            db,
            bus,
            metrics,
            clock,
            retention: Duration::from_std(retention).unwrap_or(Duration::MAX),
        }
    }

    /// Publishes every unpublished event; returns how many.
    #[tracing::instrument(skip_all)]
    pub async fn flush(&self) -> Result<usize, EvaluatorError> {
        let mut published = 0;
        loop {
            let batch = self.db.unpublished_outbox(BATCH).await?;
            if batch.is_empty() {
                break;
            }
            for message in batch {
                self.bus
                    .publish(
                        Topic::Notifications,
                        &message.message_key,
                        message.payload.into_bytes(),
                    )
                    .await?;
                self.db.mark_outbox_published(message.id).await?;
                published += 1;
            }
        }
        self.metrics
            .outbox_backlog
            .set(self.db.outbox_backlog().await?);
        Ok(published)
    }

    /// Deletes published rows older than the retention.
    pub async fn prune(&self) -> Result<u64, EvaluatorError> {
        let Some(before) = self.clock.now().checked_sub_signed(self.retention) else {
            return Ok(0);
        };
        Ok(self.db.prune_published_outbox(before).await?)
    }
}
