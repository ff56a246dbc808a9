//! What `GET /alerts/{id}/explain` reads besides the alert: the evaluator's last price of the
//! symbol (the state the engine decides the next tick on, shared by every replica) and how far
//! back the stored price history reaches, and each channel's last delivery.

use chrono::{DateTime, Duration, Utc};
use shared::domain::{AlertId, Price, Symbol, UserId};
use shared::on_pool;
use shared::storage::{DeliveryRecord, DeliveryRow, StorageResult, DELIVERY_COLUMNS};

use super::Store;

/// The evaluator's last tick of a symbol.
#[derive(Debug, Clone, Copy)]
pub struct EvaluatedPrice {
    pub price: Price,
    pub received_at: DateTime<Utc>,
}

impl Store {
    /// The source and quote time of the symbol's latest price, if it has one.
    pub async fn latest_quote(
        &self,
        symbol: &Symbol,
    ) -> StorageResult<Option<(String, DateTime<Utc>)>> {
        const SQL: &str = "select source, quoted_at from latest_prices where symbol = $1";
        Ok(on_pool!(&self.db, pool => sqlx::query_as(SQL)
            .bind(symbol.as_str())
            .fetch_optional(pool)
            .await)?)
    }

    pub async fn evaluated_price(&self, symbol: &Symbol) -> StorageResult<Option<EvaluatedPrice>> {
        const SQL: &str = "select price, received_at from evaluator_last_prices where symbol = $1";
        let row: Option<(Price, DateTime<Utc>)> = on_pool!(&self.db, pool => sqlx::query_as(SQL)
            .bind(symbol.as_str())
            .fetch_optional(pool)
            .await)?;
        Ok(row.map(|(price, received_at)| EvaluatedPrice { price, received_at }))
    }

    /// The oldest stored price a window of `window_minutes` ending `now` can start from: the
    /// last point at or before its start, else the first point after it (`None`: no point).
    pub async fn history_since(
        &self,
        symbol: &Symbol,
        window_minutes: i64,
        now: DateTime<Utc>,
    ) -> StorageResult<Option<DateTime<Utc>>> {
        const SQL: &str = "select coalesce(\
            (select max(second) from price_points where symbol = $1 and second <= $2), \
            (select min(second) from price_points where symbol = $1))";
        let start = now - Duration::minutes(window_minutes);
        let second: Option<i64> = on_pool!(&self.db, pool => sqlx::query_scalar(SQL)
            .bind(symbol.as_str())
            .bind(start.timestamp())
            .fetch_one(pool)
            .await)?;
        Ok(second.and_then(|s| DateTime::from_timestamp(s, 0)))
    }
}

impl Store {
    /// The latest delivery of each channel of one of the user's alerts, by channel.
    #[tracing::instrument(skip_all, fields(user_id, alert_id))]
    pub async fn last_deliveries(
        &self,
        user_id: UserId,
        alert_id: AlertId,
    ) -> StorageResult<Vec<DeliveryRecord>> {
        let sql = format!(
            "select {DELIVERY_COLUMNS} from deliveries d where user_id = $1 and alert_id = $2 \
             and seq = (select max(seq) from deliveries l \
                        where l.alert_id = d.alert_id and l.channel = d.channel) \
             order by channel"
        );
        let rows = on_pool!(&self.db, pool => sqlx::query_as::<_, DeliveryRow>(&sql)
            .bind(user_id)
            .bind(alert_id)
            .fetch_all(pool)
            .await)?;
        rows.into_iter().map(DeliveryRecord::try_from).collect()
    }
}
