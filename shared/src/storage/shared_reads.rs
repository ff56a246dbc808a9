//! The queries two services share: the latest prices (the ingestor writes them, the gateway
//! and the ingestor read them), a user's webhook and chat channels (the gateway sets them,
//! the notifier sends to them), a user's quiet hours (the gateway sets and explains them, the notifier holds
//! deliveries by them), and price history (the ingestor's recorder rolls candles up from it, the gateway
//! serves it).

use std::fmt;

use chrono::{DateTime, Utc};

use super::{Database, StorageError, StorageResult};
use crate::domain::history::{Candle, Point, Resolution};
use crate::domain::{Channel, ChatConfig, Price, QuietHours, UserId};
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

/// `timezone, start_time, end_time, created_at, updated_at`.
type QuietHoursRow = (String, String, String, DateTime<Utc>, DateTime<Utc>);

/// A user's stored quiet hours.
#[derive(Debug, Clone, PartialEq)]
pub struct QuietHoursRecord {
    pub quiet_hours: QuietHours,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Database {
    /// The user's quiet hours, `None` when they set none.
    #[tracing::instrument(skip_all, fields(user_id))]
    pub async fn quiet_hours(&self, user_id: UserId) -> StorageResult<Option<QuietHoursRecord>> {
        const SQL: &str = "select timezone, start_time, end_time, created_at, updated_at \
             from user_quiet_hours where user_id = $1";
        let row: Option<QuietHoursRow> = on_pool!(self, pool => sqlx::query_as(SQL)
                .bind(user_id)
                .fetch_optional(pool)
                .await)?;
        let Some((timezone, start, end, created_at, updated_at)) = row else {
            return Ok(None);
        };
        // Only the gateway writes this table, from a QuietHours; a zone that a newer tz
        // database renamed away is the one way this can fail.
        let quiet_hours = QuietHours::new(&timezone, &start, &end)
            .map_err(|e| StorageError::Corrupt(format!("quiet hours of user {user_id}: {e}")))?;
        Ok(Some(QuietHoursRecord {
            quiet_hours,
            created_at,
            updated_at,
        }))
    }
}

/// One stored chat channel. `Debug` (through [`ChatConfig`]) never shows a secret.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatChannelRecord {
    pub config: ChatConfig,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Database {
    /// The user's configuration of chat `channel`, if any.
    #[tracing::instrument(skip_all, fields(user_id, channel = channel.as_str()))]
    pub async fn chat_channel(
        &self,
        user_id: UserId,
        channel: Channel,
    ) -> StorageResult<Option<ChatChannelRecord>> {
        const SQL: &str = "select config, created_at, updated_at from user_channels \
             where user_id = $1 and kind = $2";
        let row: Option<(String, DateTime<Utc>, DateTime<Utc>)> = on_pool!(self, pool => sqlx::query_as(SQL)
                .bind(user_id)
                .bind(channel.as_str())
                .fetch_optional(pool)
                .await)?;
        let Some((stored, created_at, updated_at)) = row else {
            return Ok(None);
        };
        let config = ChatConfig::from_stored(channel, &stored).map_err(|why| {
            StorageError::Corrupt(format!("stored {} channel: {why}", channel.as_str()))
        })?;
        Ok(Some(ChatChannelRecord {
            config,
            created_at,
            updated_at,
        }))
    }

    /// The chat channels the user has configured.
    pub async fn chat_channel_kinds(&self, user_id: UserId) -> StorageResult<Vec<Channel>> {
        const SQL: &str = "select kind from user_channels where user_id = $1 order by kind";
        let kinds: Vec<String> = on_pool!(self, pool => sqlx::query_scalar(SQL)
            .bind(user_id)
            .fetch_all(pool)
            .await)?;
        // A kind this build does not know is not a configuration it can use.
        Ok(kinds.iter().filter_map(|kind| kind.parse().ok()).collect())
    }
}

/// A stored candle's columns, in the order the query selects them: read by position, since
/// a by-name lookup of eight columns per row was a tenth of a long history read.
pub(super) type CandleRow = (i64, Price, Price, Price, Price, i64, i64, i64);

pub(super) fn candle_of(
    (start, open, high, low, close, first_second, last_second, ticks): CandleRow,
) -> Candle {
    Candle {
        start,
        open,
        high,
        low,
        close,
        first_second,
        last_second,
        ticks,
    }
}

/// One price series of one symbol: the recorder writes it, the gateway serves it.
#[derive(Debug, Clone, Copy)]
pub struct SeriesKey<'a> {
    pub symbol: &'a str,
    /// The source label of its ticks (`coingecko`, `yahoo`, `simulated`).
    pub series: &'a str,
}

impl Database {
    /// The candles of `key` at `resolution` starting in `[from, until)` (seconds), oldest
    /// first, at most `limit` of them: the newest when `newest` is set, else the oldest.
    pub async fn candles(
        &self,
        key: SeriesKey<'_>,
        resolution: Resolution,
        (from, until): (i64, i64),
        limit: i64,
        newest: bool,
    ) -> StorageResult<Vec<Candle>> {
        let order = if newest { "desc" } else { "asc" };
        let sql = format!(
            "select bucket, open, high, low, close, first_second, last_second, ticks \
             from price_candles where symbol = $1 and series = $2 and resolution = $3 \
             and bucket >= $4 and bucket < $5 order by bucket {order} limit $6"
        );
        let mut rows: Vec<CandleRow> = on_pool!(self, pool => sqlx::query_as(&sql)
            .bind(key.symbol)
            .bind(key.series)
            .bind(resolution.as_str())
            .bind(from)
            .bind(until)
            .bind(limit)
            .fetch_all(pool)
            .await)?;
        if newest {
            rows.reverse();
        }
        Ok(rows.into_iter().map(candle_of).collect())
    }

    /// The raw points of `key` in `[from, until)` (seconds), oldest first.
    pub async fn points(
        &self,
        key: SeriesKey<'_>,
        (from, until): (i64, i64),
    ) -> StorageResult<Vec<Point>> {
        const SQL: &str = "select second, price from price_points \
             where symbol = $1 and series = $2 and second >= $3 and second < $4 order by second";
        let rows: Vec<(i64, Price)> = on_pool!(self, pool => sqlx::query_as(SQL)
            .bind(key.symbol)
            .bind(key.series)
            .bind(from)
            .bind(until)
            .fetch_all(pool)
            .await)?;
        Ok(rows
            .into_iter()
            .map(|(second, price)| Point { second, price })
            .collect())
    }
}
