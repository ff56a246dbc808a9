//! The rate limit's budget rows (`delivery_budgets`), shared by every notifier replica.

use shared::domain::{Channel, UserId};
use shared::storage::StorageResult;
use shared::{on_pool, on_write_pool};

use super::Store;

impl Store {
    /// Takes one message from the budget of (user, channel) under the GCRA: admitted while the
    /// theoretical arrival time is at most `tolerance_us` ahead of `now_us`, which then moves
    /// `interval_us` on. One conditional upsert: of two replicas racing for the last slot,
    /// one wins. Returns `None` when admitted, else the theoretical arrival time that refused
    /// it (the caller waits until it is within tolerance).
    pub async fn take_budget(
        &self,
        user_id: UserId,
        channel: Channel,
        now_us: i64,
        interval_us: i64,
        tolerance_us: i64,
    ) -> StorageResult<Option<i64>> {
        const TAKE: &str = "insert into delivery_budgets (user_id, channel, tat_us) \
             values ($1, $2, $3 + $4) on conflict (user_id, channel) do update \
             set tat_us = (case when delivery_budgets.tat_us > $3 then delivery_budgets.tat_us \
             else $3 end) + $4 where delivery_budgets.tat_us <= $3 + $5 returning tat_us";
        let taken: Option<i64> = on_write_pool!(&self.db, pool => sqlx::query_scalar(TAKE)
            .bind(user_id)
            .bind(channel.as_str())
            .bind(now_us)
            .bind(interval_us)
            .bind(tolerance_us)
            .fetch_optional(pool)
            .await)?;
        if taken.is_some() {
            return Ok(None);
        }
        const READ: &str =
            "select tat_us from delivery_budgets where user_id = $1 and channel = $2";
        let tat: Option<i64> = on_pool!(&self.db, pool => sqlx::query_scalar(READ)
            .bind(user_id)
            .bind(channel.as_str())
            .fetch_optional(pool)
            .await)?;
        // Gone meanwhile (cleaned up as idle): the next attempt is admitted.
        Ok(Some(tat.unwrap_or(now_us)))
    }

    /// Gives one interval back to (user, channel): a slot taken for a message that was not
    /// sent.
    pub async fn refund_budget(
        &self,
        user_id: UserId,
        channel: Channel,
        interval_us: i64,
    ) -> StorageResult<()> {
        const SQL: &str = "update delivery_budgets set tat_us = tat_us - $3 \
             where user_id = $1 and channel = $2";
        on_write_pool!(&self.db, pool => sqlx::query(SQL)
            .bind(user_id)
            .bind(channel.as_str())
            .bind(interval_us)
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Drops the rows whose budget is full again (nothing spent within the tolerance):
    /// without them the next message is admitted exactly as with them.
    pub async fn forget_idle_budgets(&self, now_us: i64) -> StorageResult<u64> {
        const SQL: &str = "delete from delivery_budgets where tat_us <= $1";
        Ok(on_write_pool!(&self.db, pool => sqlx::query(SQL)
            .bind(now_us)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?)
    }
}
