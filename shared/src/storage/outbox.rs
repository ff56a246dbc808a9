//! The outboxes: bus messages written in the same transaction as the change they announce,
//! then published in the order they were written by a relay ([`crate::bus::OutboxRelay`]).
//! Two services write one each (the evaluator its trigger events, the gateway its alert
//! changes); both are relayed by the same code, over these queries.

use chrono::{DateTime, Utc};
use sqlx::{Postgres, QueryBuilder, Transaction};

use super::{now, Database, StorageResult};
use crate::{on_pool, on_write_pool};

/// One outbox table and what happens to a row once the bus has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxTable {
    /// `evaluator_outbox`: trigger events, marked published and pruned after a retention
    /// (the notifier's delivery history joins them by event id).
    TriggerEvents,
    /// `alert_change_outbox`: alert changes, deleted once published.
    AlertChanges,
}

impl OutboxTable {
    pub fn name(self) -> &'static str {
        match self {
            OutboxTable::TriggerEvents => "evaluator_outbox",
            OutboxTable::AlertChanges => "alert_change_outbox",
        }
    }

    /// The PostgreSQL advisory lock that lets one relay at a time publish this table, so
    /// replicas cannot interleave (and reorder) each other's messages.
    pub fn relay_lock_key(self) -> i64 {
        match self {
            OutboxTable::TriggerEvents => 0x7072_6963_6501,
            OutboxTable::AlertChanges => 0x7072_6963_6502,
        }
    }
}

/// An outbox row waiting to be published.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OutboxMessage {
    pub id: i64,
    pub message_key: String,
    pub payload: String,
}

/// Held while a relay publishes a table: on PostgreSQL a transaction holding the table's
/// advisory lock (released at its end, or when a killed process's connection drops); the
/// embedded SQLite database has one process, whose relay serialises itself.
pub struct RelayLock(Option<Transaction<'static, Postgres>>);

impl RelayLock {
    /// Ends the lock's transaction (it wrote nothing).
    pub async fn release(self) -> StorageResult<()> {
        if let Some(transaction) = self.0 {
            transaction.rollback().await?;
        }
        Ok(())
    }
}

/// The insert a writer runs inside its own transaction, binding (message key, payload,
/// created at).
pub const ALERT_CHANGE_OUTBOX_INSERT_SQL: &str =
    "insert into alert_change_outbox (message_key, payload, created_at) values ($1, $2, $3)";

impl Database {
    /// Waits until no other relay publishes `table`, and keeps it so until released.
    pub async fn lock_outbox_relay(&self, table: OutboxTable) -> StorageResult<RelayLock> {
        match self.engine_pool() {
            super::EnginePool::Postgres(pool) => {
                // One round trip: the lock is taken by the transaction's opening statement.
                let transaction = pool
                    .begin_with(format!(
                        "BEGIN; SELECT pg_advisory_xact_lock({})",
                        table.relay_lock_key()
                    ))
                    .await?;
                Ok(RelayLock(Some(transaction)))
            }
            super::EnginePool::Sqlite(_) => Ok(RelayLock(None)),
        }
    }

    /// The oldest unpublished rows of `table`, in the order they were written.
    pub async fn unpublished_outbox(
        &self,
        table: OutboxTable,
        limit: i64,
    ) -> StorageResult<Vec<OutboxMessage>> {
        let sql = format!(
            "select id, message_key, payload from {} where published_at is null \
             order by id limit $1",
            table.name()
        );
        Ok(
            on_pool!(self, pool => sqlx::query_as::<_, OutboxMessage>(&sql)
            .bind(limit)
            .fetch_all(pool)
            .await)?,
        )
    }

    /// What happens to rows `ids` once the bus has accepted them: marked or deleted, in one
    /// statement (a relay batch, at most a few hundred ids: under both engines' limits).
    pub async fn settle_outbox(&self, table: OutboxTable, ids: &[i64]) -> StorageResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let (head, published_at) = match table {
            OutboxTable::TriggerEvents => (
                format!("update {} set published_at = ", table.name()),
                Some(now()),
            ),
            OutboxTable::AlertChanges => (format!("delete from {}", table.name()), None),
        };
        on_write_pool!(self, pool => {
            let mut sql = QueryBuilder::new(&head);
            if let Some(at) = published_at {
                sql.push_bind(at);
            }
            sql.push(" where id in (");
            let mut listed = sql.separated(", ");
            for id in ids {
                listed.push_bind(*id);
            }
            sql.push(")");
            sql.build().execute(pool).await.map(|_| ())
        })?;
        Ok(())
    }

    /// Rows of `table` not yet published.
    pub async fn outbox_backlog(&self, table: OutboxTable) -> StorageResult<i64> {
        let sql = format!(
            "select count(*) from {} where published_at is null",
            table.name()
        );
        Ok(on_pool!(self, pool => sqlx::query_scalar::<_, i64>(&sql).fetch_one(pool).await)?)
    }

    /// Deletes published rows of `table` older than `before`, so the table stays small.
    pub async fn prune_published_outbox(
        &self,
        table: OutboxTable,
        before: DateTime<Utc>,
    ) -> StorageResult<u64> {
        let sql = format!(
            "delete from {} where published_at is not null and published_at < $1",
            table.name()
        );
        Ok(on_write_pool!(self, pool => sqlx::query(&sql)
            .bind(before)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?)
    }
}
