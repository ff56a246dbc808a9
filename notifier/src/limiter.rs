//! The per-user, per-channel rate limit (GCRA): a burst of `max_per_period`, then one more
//! message every `period / max_per_period`.
//!
//! The budget lives in the database (`delivery_budgets`), not in memory, so it holds across
//! notifier replicas (each admission is one conditional upsert) and across restarts.

use std::time::Duration;

use shared::config::NotifierRateLimitSettings;
use shared::domain::{Channel, UserId};
use shared::storage::{now, StorageResult};

use crate::store::Store;
use crate::NotifierError;

pub struct DeliveryRateLimiter {
    db: Store,
    /// One message's share of the period (the GCRA's emission interval), in microseconds.
    interval_us: i64,
    /// How far ahead of now the budget may run: `max_per_period - 1` intervals (the burst).
    tolerance_us: i64,
}

impl DeliveryRateLimiter {
    pub fn new(
        settings: &NotifierRateLimitSettings,
        db: Store,
    ) -> Result<DeliveryRateLimiter, NotifierError> {
        if settings.max_per_period == 0 || settings.period.is_zero() {
            return Err(NotifierError::Config(
                "invalid notifier rate limit".to_owned(),
            ));
        }
        let period_us = i64::try_from(settings.period.as_micros()).unwrap_or(i64::MAX);
        let interval_us = (period_us / i64::from(settings.max_per_period)).max(1);
        Ok(DeliveryRateLimiter {
            db,
            interval_us,
            tolerance_us: interval_us.saturating_mul(i64::from(settings.max_per_period) - 1),
        })
    }

    /// Takes one message from the budget: `Ok(())`, or how long until one is available.
    pub async fn check(
        &self,
        user_id: UserId,
        channel: Channel,
    ) -> StorageResult<Result<(), Duration>> {
        let now_us = now().timestamp_micros();
        let refused_at = self
            .db
            .take_budget(
                user_id,
                channel,
                now_us,
                self.interval_us,
                self.tolerance_us,
            )
            .await?;
        Ok(match refused_at {
            None => Ok(()),
            Some(tat_us) => {
                let wait_us = tat_us
                    .saturating_sub(self.tolerance_us)
                    .saturating_sub(now_us);
                Err(Duration::from_micros(u64::try_from(wait_us).unwrap_or(0)))
            }
        })
    }

    /// Gives back the slot of a message that was not sent after all (another replica claimed
    /// it first), so the race does not cost the user a message.
    pub async fn refund(&self, user_id: UserId, channel: Channel) -> StorageResult<()> {
        self.db
            .refund_budget(user_id, channel, self.interval_us)
            .await
    }

    /// Forgets users whose budget is full again (keeps the table small).
    pub async fn forget_idle(&self) -> StorageResult<u64> {
        self.db.forget_idle_budgets(now().timestamp_micros()).await
    }
}
