//! The caller's quiet hours (read back with the kernel's `Database::quiet_hours`, which the
//! notifier uses too).
//!
//! A change releases the deliveries held for the user: their `next_attempt_at` becomes now, so
//! the notifier decides them again at its next scan under the new window (held again until its
//! end, or sent as one digest). The delivery rows stay the notifier's; this only makes them due.

use shared::domain::{QuietHours, UserId};
use shared::on_write_pool;
use shared::storage::{now, BeginWrite, StorageError, StorageResult};

use super::Store;

/// Held (never attempted, not claimed) deliveries of `$1` that wait beyond `$2`: make them due.
const RELEASE_HELD_SQL: &str = "update deliveries set next_attempt_at = $2, updated_at = $2 \
     where user_id = $1 and status = 'deferred' and attempts = 0 and claimed_until is null \
     and next_attempt_at > $2";

impl Store {
    /// Sets (or replaces) the user's quiet hours.
    #[tracing::instrument(skip_all, fields(user_id))]
    pub async fn set_quiet_hours(&self, user_id: UserId, quiet: &QuietHours) -> StorageResult<()> {
        const SQL: &str = "insert into user_quiet_hours \
             (user_id, timezone, start_time, end_time, created_at, updated_at) \
             values ($1, $2, $3, $4, $5, $5) on conflict (user_id) do update \
             set timezone = excluded.timezone, start_time = excluded.start_time, \
             end_time = excluded.end_time, updated_at = excluded.updated_at";
        let at = now();
        on_write_pool!(&self.db, pool => async {
            let mut tx = pool.begin_write().await?;
            sqlx::query(SQL)
                .bind(user_id)
                .bind(quiet.timezone())
                .bind(quiet.start())
                .bind(quiet.end())
                .bind(at)
                .execute(&mut *tx)
                .await?;
            sqlx::query(RELEASE_HELD_SQL)
                .bind(user_id)
                .bind(at)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok::<_, StorageError>(())
        }.await)
    }

    /// Removes the user's quiet hours, releasing what they held; returns whether there were any.
    #[tracing::instrument(skip_all, fields(user_id))]
    pub async fn delete_quiet_hours(&self, user_id: UserId) -> StorageResult<bool> {
        let at = now();
        on_write_pool!(&self.db, pool => async {
            let mut tx = pool.begin_write().await?;
            let deleted = sqlx::query("delete from user_quiet_hours where user_id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            sqlx::query(RELEASE_HELD_SQL)
                .bind(user_id)
                .bind(at)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok::<_, StorageError>(deleted > 0)
        }.await)
    }
}
