//! Accounts: registration, lookup by email or id (deletion, which cascades to everything the
//! user owns, is with the alert writes: it queues their deletion changes).

use chrono::{DateTime, Utc};

use shared::domain::{Email, PhoneNumber, UserId};
use shared::storage::{now, StorageError, StorageResult};
use shared::{on_lease, on_pool, on_write_pool};

use super::Store;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRecord {
    pub id: UserId,
    pub email: String,
    pub password_hash: String,
    pub phone: Option<String>,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    /// The generation of access tokens the account accepts (a password change bumps it).
    pub token_generation: i64,
}

const USER_COLUMNS: &str =
    "id, email, password_hash, phone, is_active, created_at, token_generation";

impl Store {
    /// Creates a user; `Conflict` when the email (case-insensitively) is taken.
    #[tracing::instrument(skip_all)]
    pub async fn create_user(
        &self,
        email: &Email,
        password_hash: &str,
        phone: Option<&PhoneNumber>,
    ) -> StorageResult<UserRecord> {
        let sql = format!(
            "insert into users (email, password_hash, phone, is_active, created_at, updated_at) \
             values ($1, $2, $3, true, $4, $4) returning {USER_COLUMNS}"
        );
        let created = now();
        on_write_pool!(&self.db, pool => sqlx::query_as::<_, UserRecord>(&sql)
            .bind(email.as_str())
            .bind(password_hash)
            .bind(phone.map(PhoneNumber::as_str))
            .bind(created)
            .fetch_one(pool)
            .await)
        .map_err(StorageError::from_write)
    }

    #[tracing::instrument(skip_all)]
    pub async fn user_by_email(&self, email: &Email) -> StorageResult<Option<UserRecord>> {
        let sql = format!("select {USER_COLUMNS} from users where lower(email) = lower($1)");
        Ok(
            on_pool!(&self.db, pool => sqlx::query_as::<_, UserRecord>(&sql)
            .bind(email.as_str())
            .fetch_optional(pool)
            .await)?,
        )
    }

    #[tracing::instrument(skip_all, fields(user_id = id))]
    pub async fn user_by_id(&self, id: UserId) -> StorageResult<Option<UserRecord>> {
        let sql = format!("select {USER_COLUMNS} from users where id = $1");
        Ok(
            on_lease!(&self.db, pool => sqlx::query_as::<_, UserRecord>(&sql)
            .bind(id)
            .fetch_optional(pool)
            .await)?,
        )
    }

    /// Sets or clears the phone number; the updated user, `None` when it no longer exists.
    #[tracing::instrument(skip_all, fields(user_id = id))]
    pub async fn set_phone(
        &self,
        id: UserId,
        phone: Option<&PhoneNumber>,
    ) -> StorageResult<Option<UserRecord>> {
        let sql = format!(
            "update users set phone = $1, updated_at = $2 where id = $3 returning {USER_COLUMNS}"
        );
        Ok(
            on_write_pool!(&self.db, pool => sqlx::query_as::<_, UserRecord>(&sql)
            .bind(phone.map(PhoneNumber::as_str))
            .bind(now())
            .bind(id)
            .fetch_optional(pool)
            .await)?,
        )
    }

    /// Replaces the password hash and moves the account to the next token generation, only if
    /// the stored hash is still `current_hash` (a concurrent change wins once, never twice).
    /// The updated user, `None` when the account or its old hash is gone.
    #[tracing::instrument(skip_all, fields(user_id = id))]
    pub async fn change_password(
        &self,
        id: UserId,
        current_hash: &str,
        new_hash: &str,
    ) -> StorageResult<Option<UserRecord>> {
        let sql = format!(
            "update users set password_hash = $1, token_generation = token_generation + 1, \
             updated_at = $2 where id = $3 and password_hash = $4 returning {USER_COLUMNS}"
        );
        Ok(
            on_write_pool!(&self.db, pool => sqlx::query_as::<_, UserRecord>(&sql)
            .bind(new_hash)
            .bind(now())
            .bind(id)
            .bind(current_hash)
            .fetch_optional(pool)
            .await)?,
        )
    }
}
