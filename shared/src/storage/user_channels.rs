//! A user's chat channel configurations (`user_channels`): the gateway sets them, the notifier
//! sends with them, so the reads live here.

use chrono::{DateTime, Utc};

use super::{Database, StorageError, StorageResult};
use crate::domain::{Channel, ChatConfig, UserId};
use crate::on_pool;

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
