use chrono::{DateTime, Utc};

use super::{now, Database, StorageResult};
use crate::domain::Price;
use crate::on_pool;

/// The latest quote of one symbol, as the API serves it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct LatestPrice {
    pub symbol: String,
    pub price: Price,
    pub currency: String,
    pub source: String,
    pub quoted_at: DateTime<Utc>,
}

impl Database {
    /// Stores `price` as the latest for its symbol (the ingestor owns this table).
    #[tracing::instrument(skip_all, fields(symbol = %price.symbol))]
    pub async fn upsert_latest_price(&self, price: &LatestPrice) -> StorageResult<()> {
        const SQL: &str = "insert into latest_prices (symbol, price, currency, source, quoted_at, updated_at) \
             values ($1, $2, $3, $4, $5, $6) \
             on conflict (symbol) do update set price = excluded.price, currency = excluded.currency, \
             source = excluded.source, quoted_at = excluded.quoted_at, updated_at = excluded.updated_at";
        on_pool!(self, pool => sqlx::query(SQL)
            .bind(&price.symbol)
            .bind(price.price)
            .bind(&price.currency)
            .bind(&price.source)
            .bind(price.quoted_at)
            .bind(now())
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    pub async fn latest_prices(&self) -> StorageResult<Vec<LatestPrice>> {
        const SQL: &str =
            "select symbol, price, currency, source, quoted_at from latest_prices order by symbol";
        Ok(on_pool!(self, pool => sqlx::query_as::<_, LatestPrice>(SQL).fetch_all(pool).await)?)
    }
}
