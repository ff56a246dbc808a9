//! Finding work in the delivery table: what is due, for whom, and what a restart must
//! recover; counts for `/stats` and the rate limiter.

use chrono::{DateTime, Utc};
use shared::domain::{Channel, UserId};
use shared::storage::{parse_channel, DeliveryStatus, StorageResult};
use shared::{on_pool, on_write_pool};

use super::deliveries::{
    channels_without_idempotency, claimable, OpenDelivery, OpenRow, OPEN_COLUMNS,
};
use super::Store;

impl Store {
    /// (user, channel) pairs with a delivery due by `at`.
    pub async fn due_delivery_keys(
        &self,
        at: DateTime<Utc>,
        limit: i64,
    ) -> StorageResult<Vec<(UserId, Channel)>> {
        // Longest-waiting first, so a busy user cannot starve the others.
        let sql = format!(
            "select user_id, channel from deliveries \
             where next_attempt_at <= $1 and {} group by user_id, channel \
             order by min(next_attempt_at) limit $2",
            claimable("$1")
        );
        let rows: Vec<(i64, String)> = on_pool!(&self.db, pool => sqlx::query_as(&sql)
            .bind(at)
            .bind(limit)
            .fetch_all(pool)
            .await)?;
        rows.into_iter()
            .map(|(user, channel)| Ok((user, parse_channel(&channel)?)))
            .collect()
    }

    /// When the earliest open delivery becomes due (claimed ones included: their claim may
    /// expire), or `None` when nothing is open.
    pub async fn next_delivery_due_at(&self) -> StorageResult<Option<DateTime<Utc>>> {
        const SQL: &str = "select min(case when claimed_until is not null \
             and claimed_until > next_attempt_at then claimed_until else next_attempt_at end) \
             from deliveries where status in ('pending', 'deferred')";
        let next: Option<DateTime<Utc>> =
            on_pool!(&self.db, pool => sqlx::query_scalar(SQL).fetch_one(pool).await)?;
        Ok(next)
    }

    /// The open, unclaimed deliveries of one user on one channel, in arrival order.
    pub async fn open_deliveries(
        &self,
        user_id: UserId,
        channel: Channel,
        at: DateTime<Utc>,
        limit: i64,
    ) -> StorageResult<Vec<OpenDelivery>> {
        let sql = format!(
            "select {OPEN_COLUMNS} from deliveries where user_id = $1 and channel = $2 and {} \
             order by seq limit $4",
            claimable("$3")
        );
        let rows = on_pool!(&self.db, pool => sqlx::query_as::<_, OpenRow>(&sql)
            .bind(user_id)
            .bind(channel.as_str())
            .bind(at)
            .bind(limit)
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(OpenDelivery::try_from).collect()
    }

    /// Deliveries whose sender stopped mid-send on a channel without idempotency (SMS, the
    /// chat services) become `unknown`: Twilio, Telegram, Slack, Discord and ntfy take no
    /// idempotency key, so resending could notify the user twice. Returns how many, per
    /// channel.
    pub async fn expire_interrupted_sends(
        &self,
        at: DateTime<Utc>,
    ) -> StorageResult<Vec<(Channel, u64)>> {
        let sql = format!(
            "update deliveries set status = 'unknown', claimed_until = null, \
             last_error = 'the notifier stopped while sending; the outcome is unknown', \
             updated_at = $1 where channel in ({}) and status in ('pending', 'deferred') \
             and claimed_until < $1 returning channel",
            channels_without_idempotency()
        );
        let channels: Vec<String> = on_write_pool!(&self.db, pool => sqlx::query_scalar(&sql)
            .bind(at)
            .fetch_all(pool)
            .await)?;
        let mut counts: Vec<(Channel, u64)> = Vec::new();
        for name in channels {
            let channel = parse_channel(&name)?;
            match counts.iter_mut().find(|(c, _)| *c == channel) {
                Some((_, count)) => *count += 1,
                None => counts.push((channel, 1)),
            }
        }
        Ok(counts)
    }

    /// Messages sent since `since` per (user, channel), a digest counting once: what the
    /// rate limiter has already spent, so a restart does not hand out a fresh budget.
    pub async fn recent_sends(
        &self,
        since: DateTime<Utc>,
    ) -> StorageResult<Vec<(UserId, Channel, i64)>> {
        const SQL: &str = "select user_id, channel, \
             count(distinct coalesce(digest_id, event_id)) from deliveries \
             where status = 'sent' and sent_at > $1 group by user_id, channel";
        let rows: Vec<(i64, String, i64)> = on_pool!(&self.db, pool => sqlx::query_as(SQL)
            .bind(since)
            .fetch_all(pool)
            .await)?;
        rows.into_iter()
            .map(|(user, channel, count)| Ok((user, parse_channel(&channel)?, count)))
            .collect()
    }

    /// How many deliveries are in each status.
    pub async fn delivery_status_counts(&self) -> StorageResult<Vec<(DeliveryStatus, i64)>> {
        const SQL: &str = "select status, count(*) from deliveries group by status order by status";
        let rows: Vec<(String, i64)> =
            on_pool!(&self.db, pool => sqlx::query_as(SQL).fetch_all(pool).await)?;
        rows.into_iter()
            .map(|(status, count)| Ok((status.parse()?, count)))
            .collect()
    }
}
