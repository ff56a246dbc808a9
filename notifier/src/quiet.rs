//! Quiet hours: while a user's window holds, their deliveries that have not been attempted
//! yet are held (`deferred` until the window ends) unless their alert is `urgent`. When it
//! ends they are all due at once and go out as one digest (the rate limiter's deferred queue,
//! see `Dispatcher::process_key`), each row settled by it: nothing is dropped, and a restart
//! finds them in the table. Retries of attempts started before the window go on: they were
//! due before it began.
//!
//! The window is read from the database on each pass, so a change made through the gateway
//! (which also makes held rows due at once) applies at the next scan.

use chrono::{DateTime, Utc};
use shared::domain::{Channel, QuietHours, UserId};
use shared::events::TriggerEvent;
use shared::storage::{StorageError, StorageResult};

use crate::dispatcher::Dispatcher;
use crate::store::OpenDelivery;

/// Whether the alert behind a delivery bypasses quiet hours. An unreadable payload is not
/// held: the attempt settles it as failed at once rather than keeping it for hours.
fn bypasses_quiet_hours(delivery: &OpenDelivery) -> bool {
    serde_json::from_str::<TriggerEvent>(&delivery.payload)
        .map_or(true, |event| event.options.urgent())
}

/// Splits never-attempted deliveries into those that go on now and those `quiet` holds at
/// `at`, with when the window ends.
pub(crate) fn split_held(
    fresh: Vec<OpenDelivery>,
    quiet: Option<&QuietHours>,
    at: DateTime<Utc>,
) -> (Vec<OpenDelivery>, Vec<OpenDelivery>, Option<DateTime<Utc>>) {
    let Some(until) = quiet.and_then(|quiet| quiet.window_end(at)) else {
        return (fresh, Vec::new(), None);
    };
    let (now, held) = fresh.into_iter().partition(bypasses_quiet_hours);
    (now, held, Some(until))
}

impl Dispatcher {
    /// The user's quiet hours; stored ones that cannot be read hold nothing (logged).
    async fn quiet_hours(&self, user_id: UserId) -> StorageResult<Option<QuietHours>> {
        match self.db.db().quiet_hours(user_id).await {
            Ok(stored) => Ok(stored.map(|s| s.quiet_hours)),
            Err(StorageError::Corrupt(reason)) => {
                tracing::warn!(user_id, %reason, "unreadable quiet hours are ignored");
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Holds what the user's quiet hours hold at `at` until the window ends; returns the
    /// deliveries that go on now.
    pub(crate) async fn hold_for_quiet_hours(
        &self,
        user_id: UserId,
        channel: Channel,
        fresh: Vec<OpenDelivery>,
        at: DateTime<Utc>,
    ) -> StorageResult<Vec<OpenDelivery>> {
        if fresh.is_empty() {
            return Ok(fresh);
        }
        let quiet = self.quiet_hours(user_id).await?;
        let (now, held, until) = split_held(fresh, quiet.as_ref(), at);
        let Some(until) = until else {
            return Ok(now);
        };
        let mut newly_held = 0;
        for delivery in &held {
            let open = self
                .db
                .defer_delivery(delivery.event_id, channel, until)
                .await?;
            if open && delivery.next_attempt_at != until {
                newly_held += 1;
            }
        }
        if newly_held > 0 {
            tracing::info!(user_id, channel = channel.as_str(), deliveries = newly_held,
                until = %until, "quiet hours; deliveries held for a digest when they end");
            self.metrics.held_quiet(channel, newly_held);
        }
        Ok(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::storage::DeliveryStatus;
    use uuid::Uuid;

    fn delivery(urgent: bool) -> OpenDelivery {
        let event = TriggerEvent {
            schema_version: 1,
            event_id: Uuid::new_v4(),
            alert_id: 1,
            user_id: 1,
            user_email: "u@example.com".to_owned(),
            user_phone: None,
            symbol: "BTC".parse().expect("symbol"),
            condition: "above".parse().expect("condition"),
            target_price: "10".parse().expect("price"),
            target_price_high: None,
            current_price: "11".parse().expect("price"),
            previous_price: None,
            currency: "USD".to_owned(),
            notification_types: "email".parse().expect("channels"),
            options: serde_json::from_value(serde_json::json!({ "urgent": urgent }))
                .expect("options"),
            timestamp: Utc::now(),
        };
        let payload = serde_json::to_string(&event).expect("encodes");
        OpenDelivery {
            event_id: Uuid::new_v4(),
            channel: Channel::Email,
            alert_id: 1,
            user_id: 1,
            status: DeliveryStatus::Pending,
            attempts: 0,
            digest_id: None,
            payload,
            next_attempt_at: Utc::now(),
            created_at: Utc::now(),
            possible_duplicates: 0,
        }
    }

    #[test]
    fn inside_the_window_only_urgent_deliveries_go_on_and_outside_all_do() {
        let quiet = QuietHours::new("Europe/Berlin", "22:00", "07:00").expect("valid");
        let night: DateTime<Utc> = "2026-01-14T23:00:00Z".parse().expect("time");
        let (now, held, until) =
            split_held(vec![delivery(false), delivery(true)], Some(&quiet), night);
        assert_eq!(now.len(), 1);
        assert!(bypasses_quiet_hours(&now[0]), "the urgent one goes on");
        assert_eq!(held.len(), 1);
        assert_eq!(until, Some("2026-01-15T06:00:00Z".parse().expect("time")));

        let day: DateTime<Utc> = "2026-01-15T12:00:00Z".parse().expect("time");
        let (now, held, until) = split_held(vec![delivery(false)], Some(&quiet), day);
        assert_eq!((now.len(), held.len(), until), (1, 0, None));
        let (now, held, _) = split_held(vec![delivery(false)], None, night);
        assert_eq!((now.len(), held.len()), (1, 0));
    }
}
