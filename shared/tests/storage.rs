//! Storage behaves the same on PostgreSQL and SQLite.

use shared::domain::{Email, Price};
use shared::storage::{
    AlertFilter, AlertPatch, AlertWriteOutcome, LatestPrice, NewAlert, StorageError,
};
use shared::testing::{fresh_database, Engine};

fn new_alert(symbol: &str, target: &str) -> NewAlert {
    NewAlert {
        symbol: symbol.parse().expect("symbol"),
        condition: "above".parse().expect("condition"),
        target_price: target.parse().expect("price"),
        target_price_high: None,
        notification_types: "email, sms".parse().expect("channels"),
        cooldown_minutes: 60,
        trigger: Default::default(),
        direction: None,
        window_minutes: None,
        expires_at: None,
    }
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
        assert_eq!(alert.target_price.to_string(), text);
        let read = db
            .user_alert(user.id, alert.id)
            .await
            .expect("read")
            .expect("exists");
        assert_eq!(read.target_price, text.parse::<Price>().expect("price"));
        assert_eq!(read.notification_types.to_string(), "email,sms");
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
    assert!(db.user_alert(eve.id, first.id).await.expect("ok").is_none());
    assert_eq!(db.delete_alert(eve.id, first.id).await.expect("ok"), None);

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
    assert!(listed[0].id > listed[1].id, "newest first");
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

    let mut patch = AlertPatch {
        target_price: first.target_price,
        target_price_high: None,
        notification_types: first.notification_types.clone(),
        cooldown_minutes: 5,
        active: false,
        trigger: first.trigger,
        direction: None,
        window_minutes: None,
        expires_at: None,
    };
    let (outcome, updated) = db
        .update_alert(alice.id, first.id, &patch, 2)
        .await
        .expect("patch");
    assert_eq!(outcome, AlertWriteOutcome::Done);
    let updated = updated.expect("row");
    assert_eq!(updated.version, first.version + 1);
    assert!(!updated.active);
    db.create_alert(alice.id, &new_alert("SOL", "3"), 2)
        .await
        .expect("ok")
        .expect("room again");
    patch.active = true;
    let (outcome, _) = db
        .update_alert(alice.id, first.id, &patch, 2)
        .await
        .expect("patch");
    assert_eq!(outcome, AlertWriteOutcome::QuotaExceeded);
    let (outcome, _) = db
        .update_alert(eve.id, first.id, &patch, 2)
        .await
        .expect("patch");
    assert_eq!(outcome, AlertWriteOutcome::NotFound);

    assert!(db.delete_user(alice.id).await.expect("delete"));
    assert!(db
        .user_alert(alice.id, first.id)
        .await
        .expect("ok")
        .is_none());
    assert!(db.active_alerts().await.expect("ok").is_empty());
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
    alerts_are_scoped_to_their_owner_and_quota_is_enforced
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
