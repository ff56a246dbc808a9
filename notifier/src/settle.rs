//! What the outcome of an attempt means for its deliveries: settled for good, retried with
//! backoff, or dead-lettered once the retry budget is spent.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use rand::Rng;
use shared::bus::{publish_json, Topic};
use shared::domain::Channel;
use shared::events::{DeliveryEvent, SCHEMA_VERSION};
use shared::storage::{now, DeliveryStatus, StorageResult};

use crate::channels::SendOutcome;
use crate::dispatcher::Dispatcher;
use crate::message::Outgoing;
use crate::metrics::SentStatus;
use crate::store::{OpenDelivery, Settlement};

impl Dispatcher {
    pub(crate) async fn record_outcome(
        &self,
        channel: Channel,
        claimed: &[OpenDelivery],
        outgoing: &Outgoing,
        outcome: SendOutcome,
    ) -> StorageResult<()> {
        let count = claimed.len() as u64;
        // Every row of one message was attempted the same number of times in practice; the
        // highest count decides whether the budget is spent.
        let attempts = claimed.iter().map(|d| d.attempts + 1).max().unwrap_or(1);
        let (settlement, status) = match outcome {
            SendOutcome::Sent {
                provider_id,
                provider_status,
            } => {
                tracing::info!(channel = channel.as_str(), message_id = %outgoing.id,
                    deliveries = count, provider_id, provider_status, "notification sent");
                (
                    Settlement::Sent {
                        provider_id,
                        provider_status,
                    },
                    Some(SentStatus::Success),
                )
            }
            SendOutcome::Permanent(error) => {
                tracing::warn!(channel = channel.as_str(), message_id = %outgoing.id, error,
                    "notification failed permanently");
                (Settlement::Failed { error }, Some(SentStatus::Failed))
            }
            SendOutcome::OptedOut(error) => {
                if let Some(event) = outgoing.latest() {
                    if let Some(phone) = event.user_phone.as_deref() {
                        self.db.mark_phone_opted_out(event.user_id, phone).await?;
                    }
                }
                tracing::warn!(channel = channel.as_str(), message_id = %outgoing.id, error,
                    "recipient opted out of sms");
                (Settlement::Failed { error }, Some(SentStatus::Failed))
            }
            SendOutcome::Skipped(error) => {
                tracing::info!(channel = channel.as_str(), message_id = %outgoing.id, error,
                    "notification skipped: no recipient on the account");
                (Settlement::Skipped { error }, Some(SentStatus::Skipped))
            }
            SendOutcome::Unknown(error) => {
                tracing::warn!(channel = channel.as_str(), message_id = %outgoing.id, error,
                    "notification outcome unknown; not resending");
                (Settlement::Unknown { error }, Some(SentStatus::Error))
            }
            SendOutcome::Retryable(error)
            | SendOutcome::MaybeDelivered(error)
            | SendOutcome::Throttled { error, .. }
                if attempts >= i64::from(self.settings.retry.max_attempts) =>
            {
                let error = format!("gave up after {attempts} attempts: {error}");
                tracing::warn!(channel = channel.as_str(), message_id = %outgoing.id, error,
                    "notification dead-lettered");
                (Settlement::Failed { error }, Some(SentStatus::Failed))
            }
            SendOutcome::Retryable(error) => {
                self.retry(channel, outgoing, count, attempts, error, false, None)
            }
            SendOutcome::Throttled { error, retry_after } => self.retry(
                channel,
                outgoing,
                count,
                attempts,
                error,
                false,
                Some(retry_after),
            ),
            SendOutcome::MaybeDelivered(error) => {
                self.retry(channel, outgoing, count, attempts, error, true, None)
            }
        };
        self.settle(channel, claimed, &settlement).await?;
        if let Some(status) = status {
            self.metrics.settled(channel, status, count);
        }
        Ok(())
    }

    /// Schedules another attempt; `in_doubt` when this one may have delivered the message
    /// (the next is then counted as a possible duplicate); `not_before` when the service
    /// said how long to wait (the backoff applies when it is longer).
    #[allow(clippy::too_many_arguments)]
    fn retry(
        &self,
        channel: Channel,
        outgoing: &Outgoing,
        count: u64,
        attempts: i64,
        error: String,
        in_doubt: bool,
        not_before: Option<std::time::Duration>,
    ) -> (Settlement, Option<SentStatus>) {
        let backoff = self.next_attempt_at(attempts);
        let asked = not_before
            .and_then(|wait| chrono::Duration::from_std(wait).ok())
            .map(|wait| now() + wait);
        let next_attempt_at = asked.map_or(backoff, |asked| asked.max(backoff));
        tracing::info!(channel = channel.as_str(), message_id = %outgoing.id, error,
            attempts, %next_attempt_at, in_doubt, "notification will be retried");
        self.metrics.retried(channel, count);
        (
            Settlement::Retry {
                error,
                next_attempt_at,
                in_doubt,
            },
            None,
        )
    }

    pub(crate) async fn settle(
        &self,
        channel: Channel,
        deliveries: &[OpenDelivery],
        settlement: &Settlement,
    ) -> StorageResult<()> {
        for delivery in deliveries {
            self.db
                .settle_delivery(delivery.event_id, channel, settlement)
                .await?;
        }
        if let Some(status) = settlement.final_status() {
            self.announce_settled(channel, deliveries, status);
        }
        Ok(())
    }

    /// Tells live views (the gateway's WebSocket) how each delivery settled. Best effort,
    /// after the row is written: the row is the record, and a lost announcement only means a
    /// live view misses it (the delivery history still shows it).
    fn announce_settled(
        &self,
        channel: Channel,
        deliveries: &[OpenDelivery],
        status: DeliveryStatus,
    ) {
        for delivery in deliveries {
            let event = DeliveryEvent {
                schema_version: SCHEMA_VERSION,
                event_id: delivery.event_id,
                user_id: delivery.user_id,
                alert_id: delivery.alert_id,
                channel: channel.as_str().to_owned(),
                status: status.as_str().to_owned(),
                settled_at: now(),
            };
            let bus = Arc::clone(&self.bus);
            // On its own task: a slow or unreachable bus never holds the next send back.
            tokio::spawn(async move {
                let key = event.user_id.to_string();
                if let Err(error) = publish_json(&*bus, Topic::DeliveryEvents, &key, &event).await {
                    tracing::warn!(%error, event_id = %event.event_id, channel = event.channel,
                        "could not announce a settled delivery");
                }
            });
        }
    }

    /// Exponential backoff with up to 10 % jitter, capped.
    fn next_attempt_at(&self, attempts: i64) -> DateTime<Utc> {
        let retry = &self.settings.retry;
        let exponent = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
        let base_ms = u64::try_from(retry.initial_backoff.as_millis())
            .unwrap_or(u64::MAX)
            .saturating_mul(1u64 << exponent)
            .min(u64::try_from(retry.max_backoff.as_millis()).unwrap_or(u64::MAX));
        let jitter_ms = rand::thread_rng().gen_range(0..=base_ms / 10);
        let delay_ms = i64::try_from(base_ms + jitter_ms).unwrap_or(i64::MAX / 2);
        now() + chrono::Duration::milliseconds(delay_ms)
    }
}
