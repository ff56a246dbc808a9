//! The ingestor's one write: the latest price of each symbol, which the gateway serves (the
//! kernel's `Database::latest_prices` reads it back).

use shared::on_pool;
use shared::storage::{now, Database, LatestPrice, StorageResult};

/// The ingestor's view of the database. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    db: Database,
}

impl Store {
    pub fn new(db: Database) -> Store {
        Store { db }
    }

    /// The database itself, for the queries the kernel owns.
    pub fn db(&self) -> &Database {
        &self.db
    }

    /// Stores `price` as the latest for its symbol (the ingestor owns this table).
    #[tracing::instrument(skip_all, fields(symbol = %price.symbol))]
    pub async fn upsert_latest_price(&self, price: &LatestPrice) -> StorageResult<()> {
        const SQL: &str = "insert into latest_prices (symbol, price, currency, source, quoted_at, updated_at) \
             values ($1, $2, $3, $4, $5, $6) \
             on conflict (symbol) do update set price = excluded.price, currency = excluded.currency, \
             source = excluded.source, quoted_at = excluded.quoted_at, updated_at = excluded.updated_at";
        on_pool!(&self.db, pool => sqlx::query(SQL)
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
}
