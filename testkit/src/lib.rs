//! Test support, in one place for every crate's tests (a dev-dependency only): a fresh
//! database per test on either engine (and [`on_both_engines!`] to run a test on each),
//! polling with a deadline instead of sleeping, rows a test needs that another service would
//! write (`fixtures`), valid domain values built the way the API builds them, and a bus that
//! fails on demand.

mod faulty_bus;
mod fixtures;
mod polling;

pub use faulty_bus::FaultyBus;

pub use fixtures::{
    delete_alert, insert_alert, insert_delivery, insert_user, read_alert, set_webhook,
    store_latest_price, write_alert, TestUser,
};
pub use polling::{eventually, eventually_within, PATIENCE};

use std::path::PathBuf;

use sqlx::{Connection, PgConnection};

use shared::catalogue::Catalogue;
use shared::domain::alert::{AlertPatchInput, NewAlertInput};
use shared::domain::{Alert, AlertPatch, Channel, ChannelCheck, NewAlert};
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

/// A freshly created, migrated, empty database, and its URL (for other processes).
pub struct TestDatabase {
    pub db: Database,
    pub url: String,
    /// Keeps a SQLite database's directory alive for the test's duration.
    _dir: Option<TempDir>,
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

/// A new empty URL of `engine` (PostgreSQL: a new database named `pa_test_…`).
pub async fn fresh_database_url(engine: Engine) -> (String, Option<TempDir>) {
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
            (format!("{base}/{name}"), None)
        }
        Engine::Sqlite => {
            let dir = TempDir::new("pa-test-sqlite");
            (Database::sqlite_url_in(&dir.0), Some(dir))
        }
    }
}

pub async fn fresh_database(engine: Engine) -> TestDatabase {
    let (url, dir) = fresh_database_url(engine).await;
    let db = Database::connect(&url, 8)
        .await
        .expect("connect and migrate");
    TestDatabase { db, url, _dir: dir }
}

/// An owner reachable on every channel (tests that store alerts without an account behind them).
struct EveryChannel;

impl ChannelCheck for EveryChannel {
    fn refusal(&self, _channel: Channel) -> Option<String> {
        None
    }
}

/// A valid new alert from a `POST /alerts` body, built by the real constructors (so a test
/// cannot store an alert the API would refuse). Panics, naming the problems, if it is invalid.
pub fn new_alert(body: serde_json::Value) -> NewAlert {
    let input: NewAlertInput = serde_json::from_value(body).expect("a create body is an object");
    NewAlert::read(input, &Catalogue::default())
        .and_then(|draft| draft.validate(&EveryChannel, chrono::Utc::now()))
        .unwrap_or_else(|e| panic!("not a valid alert: {e:?}"))
}

/// `current` patched with a `PATCH /alerts/{id}` body, built by the real constructors.
pub fn alert_patch(current: &Alert, body: serde_json::Value) -> AlertPatch {
    let input: AlertPatchInput = serde_json::from_value(body).expect("a patch body is an object");
    AlertPatch::read(input, current)
        .validate(&EveryChannel, chrono::Utc::now())
        .unwrap_or_else(|e| panic!("not a valid patch: {e:?}"))
}
