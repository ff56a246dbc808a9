//! The outboxes: bus messages written in the same transaction as the change they announce,
//! then published in the order they were written by a relay ([`crate::bus::OutboxRelay`]).
//! Two services write one each (the evaluator its trigger events, the gateway its alert
//! changes); both are relayed by the same code, over these queries.

use chrono::{DateTime, Utc};
use sqlx::{Executor, FromRow, PgConnection, Row};

use super::{now, Database, Lease, StorageResult};
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

    /// The oldest `limit` unpublished rows, in the order they were written (`limit` inline:
    /// a relay's constant batch, in a statement that also goes in multi-statement messages).
    fn unpublished_sql(self, limit: i64) -> String {
        format!(
            "select id, message_key, payload from {} where published_at is null \
             order by id limit {limit}",
            self.name()
        )
    }

    /// The statement that settles rows `ids` once the bus has them (marked or deleted), then
    /// `then`, for a message of statements; just `then` if there is nothing to settle. Values
    /// are written in: integers and a UTC timestamp, formatted as sqlx would bind it.
    fn settle_then(self, ids: &[i64], then: &str) -> String {
        if ids.is_empty() {
            return then.to_owned();
        }
        let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
        let settle = match self {
            OutboxTable::TriggerEvents => {
                let at = now().to_rfc3339();
                format!("update {} set published_at = '{at}'", self.name())
            }
            OutboxTable::AlertChanges => format!("delete from {}", self.name()),
        };
        format!("{settle} where id in ({}); {then}", ids.join(", "))
    }
}

/// Where a relay reads and settles its table, for one flush. On PostgreSQL, a transaction on
/// one leased connection that holds the table's relay lock, spoken in messages of several
/// statements so a flush of one batch is two round trips: lock and read, then settle and
/// commit. On SQLite (one process, whose relay serialises itself), the pools.
pub enum OutboxAccess<'a> {
    Locked(Lease<'a>),
    Pools(&'a Database),
}

impl<'a> OutboxAccess<'a> {
    /// Opens `table` for a flush and reads its oldest `limit` unpublished rows.
    pub async fn open(
        db: &'a Database,
        table: OutboxTable,
        limit: i64,
    ) -> StorageResult<(OutboxAccess<'a>, Vec<OutboxMessage>)> {
        let Some(mut lease) = db.lease().await? else {
            return Ok((
                OutboxAccess::Pools(db),
                db.unpublished_outbox(table, limit).await?,
            ));
        };
        // Until its commit, sqlx does not know the connection is in a transaction holding the
        // lock: handed back unfinished, it would pass sqlx's check and stay locked in the pool.
        lease.close_unless_released();
        // Separate statements, not one: in READ COMMITTED each takes its snapshot as it starts,
        // so the read, after the lock is held, sees what the lock's previous holder settled.
        // The commit does not wait for the disk: writes wait for it, and a settle a server's
        // crash loses only has its rows published again (a duplicate, which consumers drop).
        let sql = format!(
            "begin; set local synchronous_commit = off; select pg_advisory_xact_lock({}); {}",
            table.relay_lock_key(),
            table.unpublished_sql(limit)
        );
        let rows = read_messages(&mut lease, &sql).await?;
        Ok((OutboxAccess::Locked(lease), rows))
    }

    /// Settles rows `ids` of `table` (the bus has them) and reads the next `limit`.
    pub async fn settle_and_read(
        &mut self,
        table: OutboxTable,
        ids: &[i64],
        limit: i64,
    ) -> StorageResult<Vec<OutboxMessage>> {
        match self {
            OutboxAccess::Locked(lease) => {
                let sql = table.settle_then(ids, &table.unpublished_sql(limit));
                read_messages(lease, &sql).await
            }
            OutboxAccess::Pools(db) => {
                db.settle_outbox(table, ids).await?;
                db.unpublished_outbox(table, limit).await
            }
        }
    }

    /// Settles rows `ids` of `table` and ends the flush (PostgreSQL: commits, releasing the
    /// relay lock, in the same message).
    pub async fn settle_and_end(self, table: OutboxTable, ids: &[i64]) -> StorageResult<()> {
        match self {
            OutboxAccess::Locked(mut lease) => {
                let sql = table.settle_then(ids, "commit");
                lease.execute(sqlx::raw_sql(&sql)).await?;
                lease.release();
            }
            OutboxAccess::Pools(db) => db.settle_outbox(table, ids).await?,
        }
        Ok(())
    }
}

/// The outbox rows among the rows a message of statements returns (the lock's has one column).
async fn read_messages(
    connection: &mut PgConnection,
    sql: &str,
) -> StorageResult<Vec<OutboxMessage>> {
    // `Executor::fetch_all`, not `RawSql::fetch_all`: its future is `Send` for any lifetime,
    // which a flush on a spawned task needs.
    let rows = connection.fetch_all(sqlx::raw_sql(sql)).await?;
    let rows = rows.iter().filter(|row| row.len() == 3);
    Ok(rows
        .map(OutboxMessage::from_row)
        .collect::<Result<_, _>>()?)
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
        let sql = table.unpublished_sql(limit);
        Ok(on_pool!(self, pool => sqlx::query_as::<_, OutboxMessage>(&sql).fetch_all(pool).await)?)
    }

    /// Settles rows `ids` of `table` once the bus has accepted them.
    pub async fn settle_outbox(&self, table: OutboxTable, ids: &[i64]) -> StorageResult<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let sql = table.settle_then(ids, "");
        on_write_pool!(self, pool => pool.execute(sqlx::raw_sql(&sql)).await.map(|_| ()))?;
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
