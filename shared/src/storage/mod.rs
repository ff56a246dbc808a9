//! Storage on PostgreSQL or SQLite, picked by the `DATABASE_URL` scheme: the connection, the
//! migrations (one folder per engine, owned here), and what more than one service reads.
//!
//! Each service owns its own queries (`<service>/src/store*`), written once in the SQL both
//! engines accept (`$n` placeholders, `returning`) and run through [`on_pool!`], which expands
//! them once per engine so each is type-checked against its own driver; writes through
//! [`on_write_pool!`] (SQLite's one writing connection), and a request's single statement on
//! PostgreSQL through [`on_lease!`]. Code that needs to know the engine asks
//! [`Database::is_embedded`]; it never matches on it.

mod alert_rows;
mod candle_days;
mod delivery_rows;
mod lease;
mod notices;
mod outbox;
mod shared_reads;
mod write_tx;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{
    SqliteAutoVacuum, SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{PgPool, SqlitePool};

pub use crate::domain::alert::{AlertRow, ALERT_COLUMNS};
pub use alert_rows::alerts;
pub use candle_days::{lock_day, DAY_LOCK_SQL, DROP_PACK_SQL};
pub use delivery_rows::{
    parse_channel, parse_event_id, DeliveryRecord, DeliveryRow, DeliveryStatus, DELIVERY_COLUMNS,
};
pub use lease::{Lease, Leases};
pub use notices::Notices;
pub use outbox::{OutboxAccess, OutboxMessage, OutboxTable, ALERT_CHANGE_OUTBOX_INSERT_SQL};
pub use shared_reads::{
    ChatChannelRecord, LatestPrice, QuietHoursRecord, SeriesKey, WebhookRecord,
};
pub use write_tx::BeginWrite;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("unsupported database url (expected postgres:// or sqlite://)")]
    UnsupportedUrl,
    #[error("a record with this key already exists")]
    Conflict,
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl StorageError {
    /// Unique-key violations become `Conflict` so callers can answer 400/409, never 500.
    pub fn from_write(error: sqlx::Error) -> StorageError {
        match &error {
            sqlx::Error::Database(db) if db.is_unique_violation() => StorageError::Conflict,
            _ => StorageError::Database(error),
        }
    }
}

pub type StorageResult<T> = Result<T, StorageError>;

/// A connection pool on one of the two engines. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Database(Pool);

#[derive(Clone, Debug)]
enum Pool {
    /// One-statement requests lease their connection from `leases` (see [`on_lease!`]).
    Postgres {
        pool: PgPool,
        leases: std::sync::Arc<Leases>,
    },
    /// Readers share `pool`; writes queue for `writer`, the file's one writing connection.
    Sqlite {
        pool: SqlitePool,
        writer: SqlitePool,
    },
}

/// The engine's own pool, for [`on_pool!`] only.
#[doc(hidden)]
pub enum EnginePool<'a> {
    Postgres(&'a PgPool),
    Sqlite(&'a SqlitePool),
}

/// Runs `$body` with `$pool` bound to the engine's own pool type (`&PgPool` or
/// `&SqlitePool`), so one query text is checked against each driver.
#[macro_export]
macro_rules! on_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        $crate::on_engine_pool!($crate::storage::Database::engine_pool($db), $pool => $body)
    };
}
pub use on_pool;

/// Expands `$body` once per arm of an [`EnginePool`], for the macros above and below.
#[doc(hidden)]
#[macro_export]
macro_rules! on_engine_pool {
    ($engine:expr, $pool:ident => $body:expr) => {
        match $engine {
            $crate::storage::EnginePool::Postgres($pool) => $body,
            $crate::storage::EnginePool::Sqlite($pool) => $body,
        }
    };
}

/// [`on_pool!`] for a statement or transaction that writes. On SQLite it runs on the file's one
/// writing connection: writers then wait their turn in the pool's queue and start the moment
/// the previous one commits, instead of in SQLite's busy handler, which retries after sleeping
/// 1, 2, 5, 10, 15, 20, 25 … ms (at 50,000 ticks/s a delivery's four writes, each retried so
/// behind the evaluator's batches, put tick → email p99 at 85 ms). On PostgreSQL it is
/// [`on_pool!`]. The body must not wait for another write of the same database: the writer it
/// holds is the only one.
#[macro_export]
macro_rules! on_write_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        $crate::on_engine_pool!($crate::storage::Database::engine_write_pool($db), $pool => $body)
    };
}
pub use on_write_pool;

/// [`on_pool!`] for one statement (or a few) that a request runs on its own connection: on
/// PostgreSQL `$conn` is a leased `&mut PgConnection`, handed to the next request without
/// sqlx's round trip on release when `$body` succeeds ([`Lease`]); on SQLite it is the pool.
/// `$body` evaluates to a `Result<_, sqlx::Error>`.
#[macro_export]
macro_rules! on_lease {
    ($db:expr, $conn:ident => $body:expr) => {
        match $crate::storage::Database::engine_pool($db) {
            $crate::storage::EnginePool::Postgres(_) => {
                match $crate::storage::Database::lease($db).await {
                    Ok(Some(mut lease)) => {
                        let result = {
                            let $conn = &mut *lease;
                            $body
                        };
                        if result.is_ok() {
                            lease.release();
                        }
                        result
                    }
                    Ok(None) => Err(sqlx::Error::PoolClosed),
                    Err(error) => Err(error),
                }
            }
            $crate::storage::EnginePool::Sqlite($conn) => $body,
        }
    };
}
pub use on_lease;

/// How often the write-ahead log is copied back into the SQLite database.
const WAL_CHECKPOINT_EVERY: Duration = Duration::from_millis(500);

/// SQLite's automatic checkpoint runs inside whichever commit takes the log past 1,000 pages,
/// and that commit then waits for the database file's fsync: one tick or email in a hundred
/// took 15–20 ms longer than the rest (the pipeline benchmark's p99). Checkpointing from a
/// task of its own keeps that fsync off every request's path. `PASSIVE` never blocks readers
/// or writers; it stops when the pool is closed.
fn spawn_wal_checkpointer(pool: SqlitePool) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(WAL_CHECKPOINT_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            if pool.is_closed() {
                break;
            }
            if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                .execute(&pool)
                .await
            {
                if pool.is_closed() {
                    break;
                }
                tracing::warn!(%error, "SQLite WAL checkpoint failed; retrying");
            }
        }
    });
}

impl Database {
    /// Connects and runs the engine's migrations.
    pub async fn connect(url: &str, max_connections: u32) -> StorageResult<Database> {
        let db = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options = PgConnectOptions::from_str(url)?;
            // No ping before every acquire: it doubles round trips, and a broken connection
            // surfaces as a query error that sqlx then discards anyway.
            let pool = PgPoolOptions::new()
                .max_connections(max_connections.max(1))
                .test_before_acquire(false)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await?;
            let leases = Leases::new(pool.clone(), max_connections.max(1));
            Database(Pool::Postgres { pool, leases })
        } else if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .foreign_keys(true)
                // Pages freed by pruning history go back to the file system in small steps
                // (`pragma incremental_vacuum`); takes effect for a database created with it.
                .auto_vacuum(SqliteAutoVacuum::Incremental)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                // Checkpoints run in the background instead (see `spawn_wal_checkpointer`).
                .pragma("wal_autocheckpoint", "0")
                // A burst can grow the log; once checkpointed it is cut back to 64 MiB on
                // the next reuse instead of keeping its largest size on disk.
                .pragma("journal_size_limit", "67108864")
                .busy_timeout(Duration::from_secs(10));
            let pool = SqlitePoolOptions::new()
                .max_connections(max_connections.clamp(1, 8))
                .test_before_acquire(false)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options.clone())
                .await?;
            let writer = SqlitePoolOptions::new()
                .max_connections(1)
                .test_before_acquire(false)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await?;
            spawn_wal_checkpointer(pool.clone());
            Database(Pool::Sqlite { pool, writer })
        } else {
            return Err(StorageError::UnsupportedUrl);
        };
        db.migrate().await?;
        Ok(db)
    }

    /// The embedded default: `pricealert.db` in `data_dir`.
    pub fn sqlite_url_in(data_dir: &Path) -> String {
        format!("sqlite://{}", data_dir.join("pricealert.db").display())
    }

    pub async fn migrate(&self) -> StorageResult<()> {
        match &self.0 {
            Pool::Postgres { pool, .. } => {
                sqlx::migrate!("./migrations/postgres").run(pool).await?
            }
            Pool::Sqlite { writer, .. } => {
                sqlx::migrate!("./migrations/sqlite").run(writer).await?
            }
        }
        Ok(())
    }

    #[doc(hidden)]
    pub fn engine_pool(&self) -> EnginePool<'_> {
        match &self.0 {
            Pool::Postgres { pool, .. } => EnginePool::Postgres(pool),
            Pool::Sqlite { pool, .. } => EnginePool::Sqlite(pool),
        }
    }

    /// The engine's pool for writes, for [`on_write_pool!`] only.
    #[doc(hidden)]
    pub fn engine_write_pool(&self) -> EnginePool<'_> {
        match &self.0 {
            Pool::Postgres { pool, .. } => EnginePool::Postgres(pool),
            Pool::Sqlite { writer, .. } => EnginePool::Sqlite(writer),
        }
    }

    /// A PostgreSQL connection for one request, for [`on_lease!`] only (`None` on SQLite).
    #[doc(hidden)]
    pub async fn lease(&self) -> Result<Option<Lease<'_>>, sqlx::Error> {
        match &self.0 {
            Pool::Postgres { leases, .. } => leases.acquire().await.map(Some),
            Pool::Sqlite { .. } => Ok(None),
        }
    }

    /// Whether this is the embedded default's SQLite file (one process, one host) rather than
    /// a PostgreSQL server shared by many processes.
    pub fn is_embedded(&self) -> bool {
        matches!(self.0, Pool::Sqlite { .. })
    }

    /// `select 1`, for health checks.
    pub async fn ping(&self) -> StorageResult<()> {
        on_pool!(self, pool => sqlx::query("select 1").execute(pool).await.map(|_| ()))?;
        Ok(())
    }

    pub async fn close(&self) {
        match &self.0 {
            Pool::Postgres { pool, leases } => {
                leases.clear();
                pool.close().await
            }
            Pool::Sqlite { pool, writer } => {
                writer.close().await;
                pool.close().await;
            }
        }
    }
}

/// The current time at the precision both engines keep (microseconds), so what is written
/// reads back equal.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}
