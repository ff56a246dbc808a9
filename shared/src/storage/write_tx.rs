//! Write transactions that wait for SQLite's write lock instead of failing half-way.
//!
//! A deferred SQLite transaction that reads and then writes fails at once with "database is
//! locked" (SQLITE_BUSY, which the busy timeout does not cover) when another connection wrote
//! in between: its read snapshot is stale, so it cannot take the write lock. In the embedded
//! default the recorder writes every second, so a user deletion answered 500 now and then.
//! `BEGIN IMMEDIATE` takes the write lock first, waiting for it under the busy timeout.
//! PostgreSQL's transactions need nothing of the kind.

use std::future::Future;

use sqlx::{PgPool, Postgres, Sqlite, SqlitePool, Transaction};

/// `begin_write()`: a transaction that will write.
pub trait BeginWrite {
    type Engine: sqlx::Database;

    fn begin_write(
        &self,
    ) -> impl Future<Output = Result<Transaction<'static, Self::Engine>, sqlx::Error>> + Send;
}

impl BeginWrite for PgPool {
    type Engine = Postgres;

    fn begin_write(
        &self,
    ) -> impl Future<Output = Result<Transaction<'static, Postgres>, sqlx::Error>> + Send {
        self.begin()
    }
}

impl BeginWrite for SqlitePool {
    type Engine = Sqlite;

    fn begin_write(
        &self,
    ) -> impl Future<Output = Result<Transaction<'static, Sqlite>, sqlx::Error>> + Send {
        self.begin_with("BEGIN IMMEDIATE")
    }
}
