//! The caller's webhook target and secret (the notifier reads them with the kernel's
//! `Database::webhook`).

use shared::domain::UserId;
use shared::on_write_pool;
use shared::storage::{now, StorageResult};

use super::Store;

impl Store {
    /// Sets (or replaces, rotating the secret) the user's webhook.
    #[tracing::instrument(skip_all, fields(user_id))]
    pub async fn set_webhook(&self, user_id: UserId, url: &str, secret: &str) -> StorageResult<()> {
        const SQL: &str =
            "insert into user_webhooks (user_id, url, secret, created_at, updated_at) \
             values ($1, $2, $3, $4, $4) on conflict (user_id) do update \
             set url = excluded.url, secret = excluded.secret, updated_at = excluded.updated_at";
        on_write_pool!(&self.db, pool => sqlx::query(SQL)
            .bind(user_id)
            .bind(url)
            .bind(secret)
            .bind(now())
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Removes the user's webhook; returns whether there was one.
    pub async fn delete_webhook(&self, user_id: UserId) -> StorageResult<bool> {
        let changed = on_write_pool!(&self.db, pool => sqlx::query("delete from user_webhooks where user_id = $1")
            .bind(user_id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(changed > 0)
    }
}
