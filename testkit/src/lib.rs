//! Test support, in one place for every crate's tests (a dev-dependency only): a fresh
//! database per test on either engine (and [`on_both_engines!`] to run a test on each),
//! polling with a deadline instead of sleeping, rows a test needs that another service would
//! write (`fixtures`), valid domain values built the way the API builds them, and a bus that
//! fails on demand.

mod faulty_bus;
mod fixtures;
mod history;
mod polling;
pub mod tls;

pub use faulty_bus::FaultyBus;
pub use history::store_history;

pub use fixtures::{
    delete_alert, insert_alert, insert_delivery, insert_user, read_alert, set_chat_channel,
    set_webhook, store_latest_price, write_alert, TestUser,
};
pub use polling::{eventually, eventually_within, Polled, PATIENCE};

use std::path::PathBuf;

use sqlx::{Connection, PgConnection};

use shared::catalogue::Catalogue;
use shared::config::Settings;
use shared::domain::alert::{AlertPatchInput, NewAlertInput};
use shared::domain::{Alert, AlertPatch, NewAlert};
use shared::storage::Database;

/// Runs each listed `async fn name(engine: Engine)` as two tests, `postgres::name` and
/// `sqlite::name`.
#[macro_export]
macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {
        mod postgres { $( #[tokio::test] async fn $name() { super::$name($crate::Engine::Postgres).await } )* }
        mod sqlite { $( #[tokio::test] async fn $name() { super::$name($crate::Engine::Sqlite).await } )* }
    };
}

/// Default settings with every service on the loopback interface and port 0, so tests never
/// collide on a port (each reads the one it got from its `Application`).
pub fn loopback_settings() -> Settings {
    let mut settings = Settings::default();
    // Every service binds on the gateway's host.
    settings.gateway.host = std::net::Ipv4Addr::LOCALHOST.into();
    settings.gateway.port = 0;
    settings.ingestor.port = 0;
    settings.evaluator.port = 0;
    settings.notifier.port = 0;
    settings
}

/// Which engine a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Postgres,
    Sqlite,
}

/// The server tests create their databases on: `TEST_DATABASE_URL`, else the local PostgreSQL.
pub fn postgres_admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A freshly created, migrated, empty database, and its URL (for other processes). Removed
/// when dropped.
pub struct TestDatabase {
    pub db: Database,
    pub url: String,
    _scratch: Scratch,
}

/// Where a fresh database lives, removed on drop: a PostgreSQL database of its own or a SQLite
/// file's directory (so repeated test runs do not fill the disk).
pub enum Scratch {
    Postgres { name: String },
    Sqlite(TempDir),
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Scratch::Postgres { name } = self {
            drop_postgres_database(name);
        }
    }
}

/// `drop database … with (force)`, which also ends connections a test left open. Drop runs in
/// a test's async context, so the work happens on a thread (and a runtime) of its own.
fn drop_postgres_database(name: &str) {
    let sql = format!("drop database if exists {name} with (force)");
    let dropped = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok()?;
        runtime.block_on(async {
            let mut conn = PgConnection::connect(&postgres_admin_url()).await.ok()?;
            sqlx::query(&sql).execute(&mut conn).await.ok()
        })
    })
    .join();
    if !matches!(dropped, Ok(Some(_))) {
        eprintln!("could not drop test database {name}; .ci/run drops leftovers");
    }
}

/// A temporary directory removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> TempDir {
        let path = std::env::temp_dir().join(format!("{prefix}-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A new empty URL of `engine` (PostgreSQL: a new database named `pa_test_…`), and what to
/// keep alive while it is used.
pub async fn fresh_database_url(engine: Engine) -> (String, Scratch) {
    match engine {
        Engine::Postgres => {
            let admin = postgres_admin_url();
            let name = format!("pa_test_{}", uuid::Uuid::new_v4().simple());
            let mut conn = PgConnection::connect(&admin)
                .await
                .expect("connect to the test PostgreSQL server (TEST_DATABASE_URL)");
            sqlx::query(&format!("create database {name}"))
                .execute(&mut conn)
                .await
                .expect("create test database");
            let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
            (format!("{base}/{name}"), Scratch::Postgres { name })
        }
        Engine::Sqlite => {
            let dir = TempDir::new("pa-test-sqlite");
            (Database::sqlite_url_in(&dir.0), Scratch::Sqlite(dir))
        }
    }
}

pub async fn fresh_database(engine: Engine) -> TestDatabase {
    let (url, scratch) = fresh_database_url(engine).await;
    let db = Database::connect(&url, 8)
        .await
        .expect("connect and migrate");
    TestDatabase {
        db,
        url,
        _scratch: scratch,
    }
}

/// A valid new alert from a `POST /alerts` body, built by the real constructors (so a test
/// cannot store an alert the API would refuse). Panics, naming the problems, if it is invalid.
pub fn new_alert(body: serde_json::Value) -> NewAlert {
    let input: NewAlertInput = serde_json::from_value(body).expect("a create body is an object");
    NewAlert::read(input, &Catalogue::default())
        .and_then(|draft| draft.validate(chrono::Utc::now()))
        .unwrap_or_else(|e| panic!("not a valid alert: {e:?}"))
}

/// `current` patched with a `PATCH /alerts/{id}` body, built by the real constructors.
pub fn alert_patch(current: &Alert, body: serde_json::Value) -> AlertPatch {
    let input: AlertPatchInput = serde_json::from_value(body).expect("a patch body is an object");
    AlertPatch::read(input, current)
        .validate(chrono::Utc::now())
        .unwrap_or_else(|e| panic!("not a valid patch: {e:?}"))
}
