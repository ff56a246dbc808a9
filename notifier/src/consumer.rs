//! Reads trigger events from the bus and records one delivery per channel, durably, before
//! committing the message. Sending is the dispatcher's job.

use std::sync::Arc;
use std::time::Duration;

use shared::bus::{decode, BusError, BusMessage, Decoded, Subscription};
use shared::events::TriggerEvent;
use shared::storage::StorageResult;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::metrics::NotifierMetrics;
use crate::store::{NewDelivery, RecordOutcome, Store};

pub struct Consumer {
    pub subscription: Box<dyn Subscription>,
    pub db: Store,
    pub metrics: NotifierMetrics,
    /// Wakes the dispatcher when new deliveries are recorded.
    pub wake: Arc<Notify>,
}

/// Pause before retrying the database or the bus after a failure.
const RETRY_PAUSE: Duration = Duration::from_millis(500);

impl Consumer {
    pub async fn run(mut self, shutdown: CancellationToken) {
        loop {
            let message = tokio::select! {
                _ = shutdown.cancelled() => return,
                message = self.subscription.next() => message,
            };
            let message = match message {
                Ok(message) => message,
                Err(BusError::Closed) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "could not read trigger events; retrying");
                    if pause(&shutdown).await {
                        return;
                    }
                    continue;
                }
            };
            if !self.handle(&message, &shutdown).await {
                return;
            }
        }
    }

    /// Records `message` and commits it. `false` when shut down before that was done
    /// (the message is then left uncommitted and will be redelivered).
    async fn handle(&mut self, message: &BusMessage, shutdown: &CancellationToken) -> bool {
        match decode::<TriggerEvent>(message) {
            Decoded::Malformed(reason) => {
                self.metrics.malformed();
                tracing::warn!(
                    partition = message.partition,
                    offset = message.offset,
                    key = %message.key,
                    reason,
                    "skipping a malformed trigger event"
                );
            }
            Decoded::Ok(event) => loop {
                match record(&self.db, &self.wake, &event, message).await {
                    Ok(()) => break,
                    Err(e) => {
                        tracing::error!(event_id = %event.event_id, error = %e,
                            "could not record deliveries; retrying before committing");
                        if pause(shutdown).await {
                            return false;
                        }
                    }
                }
            },
        }
        loop {
            match self.subscription.commit(message).await {
                Ok(()) => return true,
                Err(BusError::Closed) => return false,
                Err(e) => {
                    tracing::warn!(error = %e, "could not commit a trigger event; retrying");
                    if pause(shutdown).await {
                        return false;
                    }
                }
            }
        }
    }
}

/// Inserts one delivery per channel of `event` (if absent) and wakes the dispatcher.
async fn record(
    db: &Store,
    wake: &Notify,
    event: &TriggerEvent,
    message: &BusMessage,
) -> StorageResult<()> {
    // The payload as received: the dispatcher resends from it after a restart.
    let payload = String::from_utf8_lossy(&message.payload);
    let mut inserted = false;
    for channel in event.notification_types.iter() {
        let outcome = db
            .record_delivery(&NewDelivery {
                event_id: event.event_id,
                channel,
                alert_id: event.alert_id,
                user_id: event.user_id,
                payload: &payload,
            })
            .await?;
        match outcome {
            RecordOutcome::Inserted => inserted = true,
            RecordOutcome::AlreadyRecorded => tracing::debug!(
                event_id = %event.event_id, channel = channel.as_str(),
                "redelivered trigger event; delivery already recorded"
            ),
            RecordOutcome::UserGone => {
                tracing::info!(event_id = %event.event_id, user_id = event.user_id,
                        "trigger event for a deleted user; nothing to deliver");
                break;
            }
        }
    }
    if inserted {
        wake.notify_one();
    }
    Ok(())
}

/// Waits before a retry; `true` when shut down meanwhile.
async fn pause(shutdown: &CancellationToken) -> bool {
    tokio::select! {
        _ = shutdown.cancelled() => true,
        _ = tokio::time::sleep(RETRY_PAUSE) => false,
    }
}
