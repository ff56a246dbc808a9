//! The kernel's storage: migrations carry old data forward, and SQLite is tuned as intended.

use testkit::{fresh_database, Engine};

/// What a deployment that stored alerts before options existed finds after upgrading: each
/// alert's trigger policy, expiry, direction and window, now in its options.
async fn alerts_stored_before_options_existed_keep_their_values(engine: Engine) {
    let (url, _dir) = testkit::fresh_database_url(engine).await;
    let folder = match engine {
        Engine::Postgres => "postgres",
        Engine::Sqlite => "sqlite",
    };
    let before_options = testkit::TempDir::new("pa-migrations-before-options");
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
    let percent = testkit::read_alert(&db, 1).await.expect("exists");
    let options = percent.spec().options();
    assert_eq!(options.trigger(), shared::domain::TriggerPolicy::Once);
    assert_eq!(
        options.direction(),
        Some(shared::domain::MoveDirection::Down)
    );
    assert_eq!(options.window_minutes(), Some(30));
    assert_eq!(options.expires_at(), Some(expiry));
    assert_eq!(percent.spec().target_price().to_string(), "2.5");
    let plain = testkit::read_alert(&db, 2).await.expect("exists");
    assert_eq!(
        plain.spec().options(),
        &shared::domain::AlertOptions::default()
    );
    // The quota's bound starts at the alerts already active (its migration counts them).
    let bound: i64 = shared::on_pool!(&db, pool => sqlx::query_scalar(
        "select active_alerts_bound from users where id = 1")
        .fetch_one(pool)
        .await)
    .expect("the user's bound");
    assert_eq!(bound, 2);
    db.close().await;
}

testkit::on_both_engines!(alerts_stored_before_options_existed_keep_their_values);

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
    assert!(test.db.is_embedded());
    for (pragma, expected) in [("wal_autocheckpoint", 0), ("journal_size_limit", 64 << 20)] {
        let sql = format!("PRAGMA {pragma}");
        let value: i64 = shared::on_pool!(&test.db, pool => sqlx::query_scalar(&sql)
            .fetch_one(pool)
            .await)
        .expect("read a pragma");
        assert_eq!(value, expected, "PRAGMA {pragma}");
    }
    let size = || std::fs::metadata(&file).map_or(0, |m| m.len());
    let before = size();
    // ~1 MB of rows, far more than the file holds after the migrations.
    let hash = "h".repeat(500);
    let insert = "insert into users (email, password_hash, created_at, updated_at) \
        values ($1, $2, $3, $3)";
    for i in 0..2_000 {
        shared::on_pool!(&test.db, pool => sqlx::query(insert)
            .bind(format!("user{i}@example.com"))
            .bind(&hash)
            .bind(shared::storage::now())
            .execute(pool)
            .await
            .map(|_| ()))
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
