//! Records one delivery per channel of each trigger event, durably, before the shared consume
//! loop commits its message. Sending is the dispatcher's job.

use std::sync::Arc;

use shared::bus::{BusMessage, Delivery, Handler};
use shared::events::TriggerEvent;
use shared::storage::{StorageError, StorageResult};
use tokio::sync::Notify;

use crate::store::{NewDelivery, RecordOutcome, Store};

/// The notifier's handler of `notifications`: a failure leaves the message uncommitted and
/// the loop records it again after a pause.
pub struct RecordDeliveries {
    pub db: Store,
    /// Wakes the dispatcher when new deliveries are recorded.
    pub wake: Arc<Notify>,
}

impl Handler<TriggerEvent> for RecordDeliveries {
    type Error = StorageError;

    async fn handle(&mut self, delivery: &Delivery<TriggerEvent>) -> Result<(), StorageError> {
        record(&self.db, &self.wake, &delivery.event, &delivery.message).await
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
