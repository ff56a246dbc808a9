//! The caller's chat channels (the notifier reads them with the kernel's
//! `Database::chat_channel`).

use shared::domain::{Channel, ChatConfig, UserId};
use shared::on_write_pool;
use shared::storage::{now, StorageResult};

use super::Store;

impl Store {
    /// Sets (or replaces) the user's configuration of one chat channel.
    #[tracing::instrument(skip_all, fields(user_id, channel = config.channel().as_str()))]
    pub async fn set_chat_channel(
        &self,
        user_id: UserId,
        config: &ChatConfig,
    ) -> StorageResult<()> {
        const SQL: &str =
            "insert into user_channels (user_id, kind, config, created_at, updated_at) \
             values ($1, $2, $3, $4, $4) on conflict (user_id, kind) do update \
             set config = excluded.config, updated_at = excluded.updated_at";
        on_write_pool!(&self.db, pool => sqlx::query(SQL)
            .bind(user_id)
            .bind(config.channel().as_str())
            .bind(config.to_stored().to_string())
            .bind(now())
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Removes the user's configuration of `channel`; returns whether there was one.
    pub async fn delete_chat_channel(
        &self,
        user_id: UserId,
        channel: Channel,
    ) -> StorageResult<bool> {
        const SQL: &str = "delete from user_channels where user_id = $1 and kind = $2";
        let changed = on_write_pool!(&self.db, pool => sqlx::query(SQL)
            .bind(user_id)
            .bind(channel.as_str())
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(changed > 0)
    }
}
