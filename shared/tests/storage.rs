//! Storage behaves the same on PostgreSQL and SQLite.

use serde_json::json;
use shared::domain::{Email, NewAlert, Price};
use shared::storage::{AlertFilter, AlertWriteOutcome, LatestPrice, StorageError};
use shared::testing::{alert_patch, fresh_database, Engine};

fn new_alert(symbol: &str, target: &str) -> NewAlert {
    let target: serde_json::Value = serde_json::from_str(target).expect("a JSON number");
    shared::testing::new_alert(json!({
        "symbol": symbol, "condition": "above", "target_price": target,
        "notification_types": "email, sms",
    }))
}

async fn prices_round_trip_exactly(engine: Engine) {
    let test = fresh_database(engine).await;
    let db = &test.db;
    let email: Email = "Alice@Example.com".parse().expect("email");
    let user = db.create_user(&email, "hash", None).await.expect("user");
    for text in ["0.1", "0.00001234", "67187.3358936566"] {
        let alert = db
            .create_alert(user.id, &new_alert("BTC", text), 100)
            .await
            .expect("insert")
            .expect("under quota");
        assert_eq!(alert.spec().target_price().to_string(), text);
        let read = db
            .user_alert(user.id, alert.id())
            .await
            .expect("read")
            .expect("exists");
        assert_eq!(
            read.spec().target_price(),
            text.parse::<Price>().expect("price")
        );
        assert_eq!(read.spec().notification_types().to_string(), "email,sms");
    }
    let price = LatestPrice {
        symbol: "ETH".into(),
        price: "67187.3358936566".parse().expect("price"),
        currency: "USD".into(),
        source: "coingecko".into(),
        quoted_at: shared::storage::now(),
    };
    db.upsert_latest_price(&price).await.expect("upsert");
    db.upsert_latest_price(&price).await.expect("upsert again");
    assert_eq!(db.latest_prices().await.expect("read"), vec![price]);
}

async fn emails_are_unique_case_insensitively(engine: Engine) {
    let test = fresh_database(engine).await;
    let a: Email = "bob@example.com".parse().expect("email");
    test.db.create_user(&a, "h", None).await.expect("first");
    let b: Email = "BOB@example.com".parse().expect("email");
    assert!(matches!(
        test.db.create_user(&b, "h", None).await,
        Err(StorageError::Conflict)
    ));
    assert!(test.db.user_by_email(&b).await.expect("query").is_some());
}

async fn alerts_are_scoped_to_their_owner_and_quota_is_enforced(engine: Engine) {
    let test = fresh_database(engine).await;
    let db = &test.db;
    let alice = db
        .create_user(&"a@example.com".parse().expect("e"), "h", None)
        .await
        .expect("u");
    let eve = db
        .create_user(&"e@example.com".parse().expect("e"), "h", None)
        .await
        .expect("u");
    let first = db
        .create_alert(alice.id, &new_alert("BTC", "1"), 2)
        .await
        .expect("ok")
        .expect("created");
    db.create_alert(alice.id, &new_alert("ETH", "2"), 2)
        .await
        .expect("ok")
        .expect("created");
    assert!(db
        .create_alert(alice.id, &new_alert("ETH", "3"), 2)
        .await
        .expect("ok")
        .is_none());
    assert!(db
        .user_alert(eve.id, first.id())
        .await
        .expect("ok")
        .is_none());
    assert_eq!(db.delete_alert(eve.id, first.id()).await.expect("ok"), None);

    let listed = db
        .list_alerts(
            alice.id,
            &AlertFilter {
                limit: 50,
                ..Default::default()
            },
        )
        .await
        .expect("list");
    assert_eq!(listed.len(), 2);
    assert!(listed[0].id() > listed[1].id(), "newest first");
    let btc = db
        .list_alerts(
            alice.id,
            &AlertFilter {
                symbol: Some("BTC".parse().expect("s")),
                limit: 50,
                ..Default::default()
            },
        )
        .await
        .expect("list");
    assert_eq!(btc.len(), 1);

    let pause = alert_patch(&first, json!({"cooldown_minutes": 5, "active": false}));
    let (outcome, updated) = db
        .update_alert(alice.id, first.id(), &pause, 2)
        .await
        .expect("patch");
    assert_eq!(outcome, AlertWriteOutcome::Done);
    let updated = updated.expect("row");
    assert_eq!(updated.version(), first.version() + 1);
    assert!(!updated.active());
    assert_eq!(updated.spec().cooldown_minutes(), 5);
    db.create_alert(alice.id, &new_alert("SOL", "3"), 2)
        .await
        .expect("ok")
        .expect("room again");
    let resume = alert_patch(&updated, json!({"active": true}));
    let (outcome, _) = db
        .update_alert(alice.id, first.id(), &resume, 2)
        .await
        .expect("patch");
    assert_eq!(outcome, AlertWriteOutcome::QuotaExceeded);
    let (outcome, _) = db
        .update_alert(eve.id, first.id(), &resume, 2)
        .await
        .expect("patch");
    assert_eq!(outcome, AlertWriteOutcome::NotFound);

    assert!(db.delete_user(alice.id).await.expect("delete"));
    assert!(db
        .user_alert(alice.id, first.id())
        .await
        .expect("ok")
        .is_none());
    assert!(db.active_alerts().await.expect("ok").is_empty());
}

/// What a deployment that stored alerts before options existed finds after upgrading: each
/// alert's trigger policy, expiry, direction and window, now in its options.
async fn alerts_stored_before_options_existed_keep_their_values(engine: Engine) {
    let (url, _dir) = shared::testing::fresh_database_url(engine).await;
    let folder = match engine {
        Engine::Postgres => "postgres",
        Engine::Sqlite => "sqlite",
    };
    let before_options = shared::testing::TempDir::new("pa-migrations-before-options");
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(folder);
    for entry in std::fs::read_dir(&source).expect("migrations folder") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        if name.as_str() < "20261203080000" {
            std::fs::copy(&path, before_options.0.join(&name)).expect("copy a migration");
        }
    }
    let old = sqlx::migrate::Migrator::new(before_options.0.as_path())
        .await
        .expect("the older migrations");
    let insert_user = "insert into users (email, password_hash, created_at, updated_at) \
        values ('old@example.com', 'h', $1, $1)";
    let insert_alerts = "insert into alerts (user_id, symbol, condition, target_price, \
        notification_types, cooldown_minutes, active, trigger_policy, direction, window_minutes, \
        expires_at, created_at, updated_at) values \
        (1, 'BTC', 'percent_move', 2.5, 'email', 60, true, 'once', 'down', 30, $1, $2, $2), \
        (1, 'ETH', 'above', 10, 'email', 60, true, 'repeat', null, null, null, $2, $2)";
    let expiry = chrono::DateTime::parse_from_rfc3339("2030-01-02T03:04:05.123456Z")
        .expect("time")
        .with_timezone(&chrono::Utc);
    let created = shared::storage::now();
    // The schema and rows as the previous release left them, on the engine's own pool type.
    macro_rules! store_the_old_way {
        ($pool:expr) => {{
            let pool = $pool;
            old.run(&pool).await.expect("older migrations");
            sqlx::query(insert_user)
                .bind(created)
                .execute(&pool)
                .await
                .expect("user");
            sqlx::query(insert_alerts)
                .bind(expiry)
                .bind(created)
                .execute(&pool)
                .await
                .expect("alerts");
            pool.close().await;
        }};
    }
    match engine {
        Engine::Postgres => {
            store_the_old_way!(sqlx::PgPool::connect(&url).await.expect("connect"))
        }
        Engine::Sqlite => {
            let options = url
                .parse::<sqlx::sqlite::SqliteConnectOptions>()
                .expect("url")
                .create_if_missing(true);
            store_the_old_way!(sqlx::SqlitePool::connect_with(options)
                .await
                .expect("connect"))
        }
    }
    let db = shared::storage::Database::connect(&url, 2)
        .await
        .expect("upgrade");
    let percent = db.user_alert(1, 1).await.expect("read").expect("exists");
    let options = percent.spec().options();
    assert_eq!(options.trigger(), shared::domain::TriggerPolicy::Once);
    assert_eq!(
        options.direction(),
        Some(shared::domain::MoveDirection::Down)
    );
    assert_eq!(options.window_minutes(), Some(30));
    assert_eq!(options.expires_at(), Some(expiry));
    assert_eq!(percent.spec().target_price().to_string(), "2.5");
    let plain = db.user_alert(1, 2).await.expect("read").expect("exists");
    assert_eq!(
        plain.spec().options(),
        &shared::domain::AlertOptions::default()
    );
    db.close().await;
}

macro_rules! on_both_engines {
    ($($name:ident),*) => {
        mod postgres { $( #[tokio::test] async fn $name() { super::$name(shared::testing::Engine::Postgres).await } )* }
        mod sqlite { $( #[tokio::test] async fn $name() { super::$name(shared::testing::Engine::Sqlite).await } )* }
    };
}

on_both_engines!(
    prices_round_trip_exactly,
    emails_are_unique_case_insensitively,
    alerts_are_scoped_to_their_owner_and_quota_is_enforced,
    alerts_stored_before_options_existed_keep_their_values
);

/// SQLite's automatic checkpoint is off (it made one commit in a hundred wait for an fsync);
/// a background task copies the write-ahead log back into the database file instead. Without
/// it the log would grow for as long as the process runs and the file would never change.
#[tokio::test]
async fn sqlite_writes_reach_the_database_file_without_a_commit_waiting_for_them() {
    let test = fresh_database(Engine::Sqlite).await;
    let file = test
        .url
        .strip_prefix("sqlite://")
        .expect("a sqlite:// URL")
        .to_owned();
    let shared::storage::Database::Sqlite(pool) = &test.db else {
        panic!("a SQLite database");
    };
    for (pragma, expected) in [("wal_autocheckpoint", 0), ("journal_size_limit", 64 << 20)] {
        let value: i64 = sqlx::query_scalar(&format!("PRAGMA {pragma}"))
            .fetch_one(pool)
            .await
            .expect("read a pragma");
        assert_eq!(value, expected, "PRAGMA {pragma}");
    }
    let size = || std::fs::metadata(&file).map_or(0, |m| m.len());
    let before = size();
    // ~1 MB of rows, far more than the file holds after the migrations.
    let hash = "h".repeat(500);
    for i in 0..2_000 {
        let email: Email = format!("user{i}@example.com").parse().expect("email");
        test.db
            .create_user(&email, &hash, None)
            .await
            .expect("user");
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while size() < before + 1_000_000 {
        assert!(
            std::time::Instant::now() < deadline,
            "the database file stayed at {} bytes (was {before}): the WAL is never checkpointed",
            size()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
