//! The notifier's queries: its delivery table (recording, claiming, settling, finding what is
//! due) and the phones that replied STOP. A user's webhook is the kernel's
//! `Database::webhook`, on [`Store::db`].

mod budgets;
mod deliveries;
mod queue;

use shared::domain::UserId;
use shared::storage::{now, Database, StorageResult};
use shared::{on_pool, on_write_pool};

pub use deliveries::{NewDelivery, OpenDelivery, RecordOutcome, Settlement};

/// The notifier's view of the database. Cheap to clone.
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

    /// Remembers that `phone` replied STOP (Twilio 21610) for this user.
    pub async fn mark_phone_opted_out(&self, user_id: UserId, phone: &str) -> StorageResult<()> {
        const SQL: &str = "insert into sms_opt_outs (user_id, phone, created_at) \
             values ($1, $2, $3) on conflict (user_id, phone) do nothing";
        on_write_pool!(&self.db, pool => sqlx::query(SQL)
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
        let count: i64 = on_pool!(&self.db, pool => sqlx::query_scalar(SQL)
            .bind(user_id)
            .bind(phone)
            .fetch_one(pool)
            .await)?;
        Ok(count > 0)
    }
}
