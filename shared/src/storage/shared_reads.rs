//! The queries two services share: the latest prices (the ingestor writes them, the gateway
//! and the ingestor read them) and a user's webhook (the gateway sets it, the notifier sends
//! to it).

use std::fmt;

use chrono::{DateTime, Utc};

use super::{Database, StorageResult};
use crate::domain::{Price, UserId};
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

/// A user's webhook. `Debug` never shows the secret.
#[derive(Clone, PartialEq)]
pub struct WebhookRecord {
    pub url: String,
    pub secret: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl fmt::Debug for WebhookRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookRecord")
            .field("url", &self.url)
            .field("secret", &"[redacted]")
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

impl Database {
    /// The latest quote of every symbol, in symbol order.
    pub async fn latest_prices(&self) -> StorageResult<Vec<LatestPrice>> {
        const SQL: &str =
            "select symbol, price, currency, source, quoted_at from latest_prices order by symbol";
        Ok(on_pool!(self, pool => sqlx::query_as::<_, LatestPrice>(SQL).fetch_all(pool).await)?)
    }

    #[tracing::instrument(skip_all, fields(user_id))]
    pub async fn webhook(&self, user_id: UserId) -> StorageResult<Option<WebhookRecord>> {
        const SQL: &str =
            "select url, secret, created_at, updated_at from user_webhooks where user_id = $1";
        let row: Option<(String, String, DateTime<Utc>, DateTime<Utc>)> = on_pool!(self, pool => sqlx::query_as(SQL)
                .bind(user_id)
                .fetch_optional(pool)
                .await)?;
        Ok(
            row.map(|(url, secret, created_at, updated_at)| WebhookRecord {
                url,
                secret,
                created_at,
                updated_at,
            }),
        )
    }
}
