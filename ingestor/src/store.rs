//! The ingestor's one write: the latest price of each symbol (written behind the stream by
//! `latest::LatestPrices`), which the gateway serves (the
//! kernel's `Database::latest_prices` reads it back).

use shared::on_write_pool;
use shared::storage::{now, Database, LatestPrice, StorageResult};
use sqlx::QueryBuilder;

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

    /// Stores each of `prices` as the latest for its symbol (the ingestor owns this table), in
    /// one statement; at most one price per symbol.
    #[tracing::instrument(skip_all, fields(prices = prices.len()))]
    pub async fn upsert_latest_prices(&self, prices: &[LatestPrice]) -> StorageResult<()> {
        // SQLite allows 32,766 bound values per statement: 6 per row.
        for chunk in prices.chunks(1_000) {
            let written = now();
            on_write_pool!(&self.db, pool => {
                let mut sql = QueryBuilder::new(
                    "insert into latest_prices (symbol, price, currency, source, quoted_at, updated_at) ",
                );
                sql.push_values(chunk, |mut row, price| {
                    row.push_bind(&price.symbol)
                        .push_bind(price.price)
                        .push_bind(&price.currency)
                        .push_bind(&price.source)
                        .push_bind(price.quoted_at)
                        .push_bind(written);
                });
                sql.push(
                    " on conflict (symbol) do update set price = excluded.price, \
                     currency = excluded.currency, source = excluded.source, \
                     quoted_at = excluded.quoted_at, updated_at = excluded.updated_at",
                );
                sql.build().execute(pool).await.map(|_| ())
            })?;
        }
        Ok(())
    }
}
