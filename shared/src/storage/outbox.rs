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

    /// Opens a relay's transaction and takes the table's relay lock, in one round trip; the
    /// lock is held until the transaction ends (or its connection drops with a killed process).
    pub fn relay_lock_sql(self) -> String {
        format!(
            "BEGIN; SELECT pg_advisory_xact_lock({})",
            self.relay_lock_key()
        )
    }

    fn unpublished_sql(self) -> String {
        format!(
            "select id, message_key, payload from {} where published_at is null \
             order by id limit $1",
            self.name()
        )
    }

    /// The statement that settles rows `ids` once the bus has them: marked or deleted, in one
    /// statement (a relay batch, at most a few hundred ids: under both engines' limits).
    fn settle_statement<'q, DB>(self, ids: &[i64]) -> QueryBuilder<'q, DB>
    where
        DB: sqlx::Database,
        i64: 'q + sqlx::Encode<'q, DB> + sqlx::Type<DB>,
        DateTime<Utc>: 'q + sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    {
        let mut sql = match self {
            OutboxTable::TriggerEvents => {
                let mut sql =
                    QueryBuilder::new(format!("update {} set published_at = ", self.name()));
                sql.push_bind(now());
                sql
            }
            OutboxTable::AlertChanges => QueryBuilder::new(format!("delete from {}", self.name())),
        };
        sql.push(" where id in (");
        let mut listed = sql.separated(", ");
        for id in ids {
            listed.push_bind(*id);
        }
        sql.push(")");
        sql
    }
}

/// Where a relay reads and settles its table. On PostgreSQL, inside the transaction that holds
/// the table's relay lock, so a flush is four round trips on one connection (lock, read, settle,
/// commit); on SQLite (one process, whose relay serialises itself), the pools.
pub enum OutboxAccess<'a, 'c> {
    Locked(&'a mut Transaction<'c, Postgres>),
    Pools(&'a Database),
}

impl OutboxAccess<'_, '_> {
    /// The oldest unpublished rows of `table`, in the order they were written.
    pub async fn unpublished(
        &mut self,
        table: OutboxTable,
        limit: i64,
    ) -> StorageResult<Vec<OutboxMessage>> {
        match self {
            OutboxAccess::Locked(transaction) => {
                Ok(sqlx::query_as::<_, OutboxMessage>(&table.unpublished_sql())
                    .bind(limit)
                    .fetch_all(&mut ***transaction)
                    .await?)
            }
            OutboxAccess::Pools(db) => db.unpublished_outbox(table, limit).await,
        }
    }

    /// Settles rows `ids` of `table` once the bus has accepted them.
    pub async fn settle(&mut self, table: OutboxTable, ids: &[i64]) -> StorageResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        match self {
            OutboxAccess::Locked(transaction) => {
                table
                    .settle_statement::<Postgres>(ids)
                    .build()
                    .execute(&mut ***transaction)
                    .await?;
                Ok(())
            }
            OutboxAccess::Pools(db) => db.settle_outbox(table, ids).await,
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

/// The insert a writer runs inside its own transaction, binding (message key, payload,
/// created at).
pub const ALERT_CHANGE_OUTBOX_INSERT_SQL: &str =
    "insert into alert_change_outbox (message_key, payload, created_at) values ($1, $2, $3)";

impl Database {
    /// The oldest unpublished rows of `table`, in the order they were written.
    pub async fn unpublished_outbox(
        &self,
        table: OutboxTable,
        limit: i64,
    ) -> StorageResult<Vec<OutboxMessage>> {
        let sql = table.unpublished_sql();
        Ok(
            on_pool!(self, pool => sqlx::query_as::<_, OutboxMessage>(&sql)
            .bind(limit)
            .fetch_all(pool)
            .await)?,
        )
    }

    /// Settles rows `ids` of `table` once the bus has accepted them (see
    /// [`OutboxTable::settle_statement`]).
    pub async fn settle_outbox(&self, table: OutboxTable, ids: &[i64]) -> StorageResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        on_write_pool!(self, pool => table.settle_statement(ids).build().execute(pool).await.map(|_| ()))?;
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
