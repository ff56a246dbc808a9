//! The notifier's per-user settings: webhook target and secret, and SMS opt-outs (Twilio 21610).

use std::fmt;

use chrono::{DateTime, Utc};

use super::{now, Database, StorageResult};
use crate::domain::UserId;
use crate::on_pool;

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
    /// Sets (or replaces, rotating the secret) the user's webhook.
    #[tracing::instrument(skip_all, fields(user_id))]
    pub async fn set_webhook(&self, user_id: UserId, url: &str, secret: &str) -> StorageResult<()> {
        const SQL: &str =
            "insert into user_webhooks (user_id, url, secret, created_at, updated_at) \
             values ($1, $2, $3, $4, $4) on conflict (user_id) do update \
             set url = excluded.url, secret = excluded.secret, updated_at = excluded.updated_at";
        on_pool!(self, pool => sqlx::query(SQL)
            .bind(user_id)
            .bind(url)
            .bind(secret)
            .bind(now())
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
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

    /// Removes the user's webhook; returns whether there was one.
    pub async fn delete_webhook(&self, user_id: UserId) -> StorageResult<bool> {
        let changed = on_pool!(self, pool => sqlx::query("delete from user_webhooks where user_id = $1")
            .bind(user_id)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(changed > 0)
    }

    /// Remembers that `phone` replied STOP (Twilio 21610) for this user.
    pub async fn mark_phone_opted_out(&self, user_id: UserId, phone: &str) -> StorageResult<()> {
        const SQL: &str = "insert into sms_opt_outs (user_id, phone, created_at) \
             values ($1, $2, $3) on conflict (user_id, phone) do nothing";
        on_pool!(self, pool => sqlx::query(SQL)
            .bind(user_id)
            .bind(phone)
            .bind(now())
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    pub async fn phone_opted_out(&self, user_id: UserId, phone: &str) -> StorageResult<bool> {
        const SQL: &str = "select count(*) from sms_opt_outs where user_id = $1 and phone = $2";
        let count: i64 = on_pool!(self, pool => sqlx::query_scalar(SQL)
            .bind(user_id)
            .bind(phone)
            .fetch_one(pool)
            .await)?;
        Ok(count > 0)
    }
}
