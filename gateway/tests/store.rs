//! The gateway's queries (accounts, their alerts, an alert's delivery history) behave the same
//! on PostgreSQL and SQLite.

use gateway::store::{AlertFilter, AlertWriteOutcome, Store};
use serde_json::json;
use shared::domain::{Channel, Email, NewAlert, Price};
use shared::storage::StorageError;
use testkit::{alert_patch, fresh_database, Engine};
use uuid::Uuid;

fn new_alert(symbol: &str, target: &str) -> NewAlert {
    let target: serde_json::Value = serde_json::from_str(target).expect("a JSON number");
    testkit::new_alert(json!({
        "symbol": symbol, "condition": "above", "target_price": target,
        "notification_types": "email, sms",
    }))
}

async fn alert_prices_round_trip_exactly(engine: Engine) {
    let test = fresh_database(engine).await;
    let store = Store::new(test.db.clone());
    let db = &store;
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
}

async fn emails_are_unique_case_insensitively(engine: Engine) {
    let test = fresh_database(engine).await;
    let store = Store::new(test.db.clone());
    let a: Email = "bob@example.com".parse().expect("email");
    store.create_user(&a, "h", None).await.expect("first");
    let b: Email = "BOB@example.com".parse().expect("email");
    assert!(matches!(
        store.create_user(&b, "h", None).await,
        Err(StorageError::Conflict)
    ));
    assert!(store.user_by_email(&b).await.expect("query").is_some());
}

async fn alerts_are_scoped_to_their_owner_and_quota_is_enforced(engine: Engine) {
    let test = fresh_database(engine).await;
    let store = Store::new(test.db.clone());
    let db = &store;
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
        .is_err());
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
        .update_alert(alice.id, &first, &pause, 2)
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
        .update_alert(alice.id, &updated, &resume, 2)
        .await
        .expect("patch");
    assert_eq!(outcome, AlertWriteOutcome::QuotaExceeded);
    let (outcome, _) = db
        .update_alert(eve.id, &updated, &resume, 2)
        .await
        .expect("patch");
    assert_eq!(outcome, AlertWriteOutcome::NotFound);

    assert!(db.delete_user(alice.id).await.expect("delete"));
    assert!(db
        .user_alert(alice.id, first.id())
        .await
        .expect("ok")
        .is_none());
    let remaining: i64 = shared::on_pool!(&test.db, pool => sqlx::query_scalar(
        "select count(*) from alerts")
        .fetch_one(pool)
        .await)
    .expect("count");
    assert_eq!(remaining, 0, "a deleted user's alerts go with them");
}

async fn an_alerts_deliveries_are_listed_newest_first_for_its_owner_only(engine: Engine) {
    let test = fresh_database(engine).await;
    let store = Store::new(test.db.clone());
    let alice = testkit::insert_user(&test.db, "alice@example.com", None).await;
    let bob = testkit::insert_user(&test.db, "bob@example.com", None).await;
    let (first, second) = (Uuid::new_v4(), Uuid::new_v4());
    for (event, channel) in [
        (first, Channel::Email),
        (first, Channel::Sms),
        (second, Channel::Email),
    ] {
        testkit::insert_delivery(&test.db, event, channel, 7, alice.id).await;
    }
    let listed = store.deliveries_for_alert(alice.id, 7).await.expect("list");
    let keys: Vec<(Uuid, Channel)> = listed.iter().map(|d| (d.event_id, d.channel)).collect();
    assert_eq!(
        keys,
        [
            (second, Channel::Email),
            (first, Channel::Sms),
            (first, Channel::Email)
        ]
    );
    assert!(
        store
            .deliveries_for_alert(bob.id, 7)
            .await
            .expect("list")
            .is_empty(),
        "another user's alert"
    );
}

async fn a_webhook_keeps_its_creation_time_when_rotated_and_hides_its_secret(engine: Engine) {
    let test = fresh_database(engine).await;
    let store = Store::new(test.db.clone());
    let erin = testkit::insert_user(&test.db, "erin@example.com", None).await;
    assert!(store.db().webhook(erin.id).await.expect("read").is_none());
    store
        .set_webhook(erin.id, "https://hooks.example.com/a", "s1")
        .await
        .expect("set");
    let first = store
        .db()
        .webhook(erin.id)
        .await
        .expect("read")
        .expect("set");
    store
        .set_webhook(erin.id, "https://hooks.example.com/b", "s2")
        .await
        .expect("rotate");
    let second = store
        .db()
        .webhook(erin.id)
        .await
        .expect("read")
        .expect("set");
    assert_eq!(second.url, "https://hooks.example.com/b");
    assert_eq!(second.secret, "s2");
    assert_eq!(second.created_at, first.created_at);
    assert!(second.updated_at >= first.updated_at);
    assert!(
        !format!("{second:?}").contains("s2\""),
        "Debug hides the secret"
    );
    assert!(store.delete_webhook(erin.id).await.expect("delete"));
    assert!(!store.delete_webhook(erin.id).await.expect("delete again"));
    assert!(store.db().webhook(erin.id).await.expect("read").is_none());
}

/// On SQLite a deferred transaction that reads and then writes failed at once ("database is
/// locked") when another connection committed in between; write transactions now take the
/// write lock first and wait for it.
async fn users_are_deleted_while_another_connection_keeps_writing(engine: Engine) {
    let test = fresh_database(engine).await;
    let store = Store::new(test.db.clone());
    let writer_email: Email = "writer@example.com".parse().expect("email");
    let writer = store
        .create_user(&writer_email, "h", None)
        .await
        .expect("user");
    let stop = tokio_util::sync::CancellationToken::new();
    let writes = tokio::spawn({
        let (store, stop) = (store.clone(), stop.clone());
        async move {
            let mut n = 0u64;
            while !stop.is_cancelled() {
                let url = format!("https://hooks.example.com/{n}");
                store
                    .set_webhook(writer.id, &url, "s")
                    .await
                    .expect("write");
                n += 1;
            }
            n
        }
    });
    for i in 0..60 {
        let email: Email = format!("user{i}@example.com").parse().expect("email");
        let user = store.create_user(&email, "h", None).await.expect("user");
        store
            .create_alert(user.id, &new_alert("BTC", "1"), 100)
            .await
            .expect("alert")
            .expect("under quota");
        assert!(store
            .delete_user(user.id)
            .await
            .expect("deleted while another writes"));
    }
    stop.cancel();
    assert!(writes.await.expect("writer") > 0);
}

testkit::on_both_engines!(
    users_are_deleted_while_another_connection_keeps_writing,
    a_webhook_keeps_its_creation_time_when_rotated_and_hides_its_secret,
    alert_prices_round_trip_exactly,
    emails_are_unique_case_insensitively,
    alerts_are_scoped_to_their_owner_and_quota_is_enforced,
    an_alerts_deliveries_are_listed_newest_first_for_its_owner_only,
);
