//! The active-alert quota, on PostgreSQL and SQLite: concurrent creates never take more slots
//! than it allows, deletions and deactivations give slots back (the stored bound is recounted
//! when it reaches the quota), writing an alert that is already active is no activation, and
//! each write's queued change is the alert exactly as stored (or, for a deletion, names it),
//! whichever path wrote it.

use futures::future::join_all;
use gateway::store::{AlertWriteOutcome, CreateRefused, Store};
use serde_json::json;
use shared::domain::{Alert, NewAlert};
use shared::events::AlertChange;
use testkit::{alert_patch, fresh_database, Engine};

fn new_alert(symbol: &str, target: u32) -> NewAlert {
    testkit::new_alert(json!({"symbol": symbol, "condition": "above", "target_price": target}))
}

async fn active_alerts(store: &Store, user_id: i64) -> i64 {
    shared::on_pool!(store.db(), pool => sqlx::query_scalar::<_, i64>(
        "select count(*) from alerts where user_id = $1 and active")
        .bind(user_id)
        .fetch_one(pool)
        .await)
    .expect("count")
}

async fn concurrent_creates_never_exceed_the_quota(engine: Engine) {
    let test = fresh_database(engine).await;
    let store = Store::new(test.db.clone());
    let user = testkit::insert_user(&test.db, "quinn@example.com", None).await;
    let attempts = (1..=24).map(|target| {
        let store = store.clone();
        async move {
            store
                .create_alert(user.id, &new_alert("BTC", target), 5)
                .await
                .expect("storage")
        }
    });
    let outcomes = join_all(attempts).await;
    let created = outcomes.iter().filter(|outcome| outcome.is_ok()).count();
    assert_eq!(created, 5, "{outcomes:?}");
    assert!(outcomes
        .iter()
        .all(|outcome| matches!(outcome, Ok(_) | Err(CreateRefused::QuotaExceeded))));
    assert_eq!(active_alerts(&store, user.id).await, 5);
}

async fn deletions_and_deactivations_give_slots_back(engine: Engine) {
    let test = fresh_database(engine).await;
    let store = Store::new(test.db.clone());
    let user = testkit::insert_user(&test.db, "rory@example.com", None).await;
    let create = |target| {
        let store = store.clone();
        async move {
            store
                .create_alert(user.id, &new_alert("ETH", target), 2)
                .await
                .expect("storage")
        }
    };
    let first = create(1).await.expect("room");
    let second = create(2).await.expect("room");
    assert_eq!(create(3).await.err(), Some(CreateRefused::QuotaExceeded));

    store
        .delete_alert(user.id, first.id())
        .await
        .expect("delete");
    let third = create(4).await.expect("a deletion frees a slot");
    assert_eq!(create(5).await.err(), Some(CreateRefused::QuotaExceeded));

    let pause = alert_patch(&second, json!({"active": false}));
    let (outcome, paused) = store
        .update_alert(user.id, &second, &pause, 2)
        .await
        .expect("patch");
    assert_eq!(outcome, AlertWriteOutcome::Done);
    create(6).await.expect("a deactivation frees a slot");

    let paused = paused.expect("paused");
    let resume = alert_patch(&paused, json!({"active": true}));
    let (outcome, _) = store
        .update_alert(user.id, &paused, &resume, 2)
        .await
        .expect("patch");
    assert_eq!(
        outcome,
        AlertWriteOutcome::QuotaExceeded,
        "two active already"
    );

    // At the quota, writing an alert that is active already activates nothing.
    let retarget = alert_patch(&third, json!({"target_price": 40}));
    let (outcome, written) = store
        .update_alert(user.id, &third, &retarget, 2)
        .await
        .expect("patch");
    assert_eq!(outcome, AlertWriteOutcome::Done);
    assert!(written.expect("written").active());
    assert_eq!(active_alerts(&store, user.id).await, 2);
}

/// The changes waiting in the outbox, oldest first.
async fn queued_changes(store: &Store) -> Vec<AlertChange> {
    let payloads: Vec<String> = shared::on_pool!(store.db(), pool => sqlx::query_scalar(
        "select payload from alert_change_outbox order by id")
        .fetch_all(pool)
        .await)
    .expect("outbox");
    payloads
        .iter()
        .map(|payload| serde_json::from_str(payload).expect("an alert change"))
        .collect()
}

async fn a_creates_queued_change_is_the_alert_as_stored(engine: Engine) {
    let test = fresh_database(engine).await;
    let store = Store::new(test.db.clone());
    let user = testkit::insert_user(&test.db, "sasha@example.com", None).await;
    let range = testkit::new_alert(json!({
        "symbol": "SOL", "condition": "range", "target_price": 10.25, "target_price_high": 12.5,
        "notification_types": "email, webhook", "cooldown_minutes": 5,
    }));
    // Within the bound (one statement on PostgreSQL), then at it (the recount's path).
    let within: Alert = store
        .create_alert(user.id, &range, 1)
        .await
        .expect("storage")
        .expect("room");
    let pause = alert_patch(&within, json!({"active": false}));
    store
        .update_alert(user.id, &within, &pause, 1)
        .await
        .expect("patch");
    let recounted = store
        .create_alert(user.id, &range, 1)
        .await
        .expect("storage")
        .expect("room");
    let queued = queued_changes(&store).await;
    for created in [within, recounted] {
        let expected = AlertChange::upserted(created.clone());
        assert!(queued.contains(&expected), "{expected:?} not in {queued:?}");
    }
}

/// What a fire writes, behind the back of a gateway that read the alert before it.
async fn fire(store: &Store, alert: &Alert) {
    shared::on_pool!(store.db(), pool => sqlx::query(
        "update alerts set triggered_count = triggered_count + 1, last_triggered_at = $2, \
         rearm_wait = 'below', version = version + 1 where id = $1")
        .bind(alert.id())
        .bind(shared::storage::now())
        .execute(pool)
        .await
        .map(drop))
    .expect("fire");
}

async fn a_patchs_queued_change_is_the_alert_as_stored_after_a_fire_it_did_not_see(engine: Engine) {
    let test = fresh_database(engine).await;
    let store = Store::new(test.db.clone());
    let user = testkit::insert_user(&test.db, "tove@example.com", None).await;
    let read = store
        .create_alert(user.id, &new_alert("ADA", 1), 2)
        .await
        .expect("storage")
        .expect("room");
    fire(&store, &read).await;
    // Each patch is built from the alert as read before the fire, as a request that raced it
    // would be: an activation within the bound (one statement on PostgreSQL), a pause (no
    // slot), and an activation at the bound (the recount's transaction).
    let mut written = Vec::new();
    for (body, max_active) in [
        (json!({"target_price": 2}), 2),
        (json!({"active": false}), 2),
        (json!({"active": true}), 2),
    ] {
        let (outcome, alert) = store
            .update_alert(user.id, &read, &alert_patch(&read, body), max_active)
            .await
            .expect("patch");
        assert_eq!(outcome, AlertWriteOutcome::Done);
        written.push(alert.expect("written"));
    }
    for alert in &written {
        assert_eq!(alert.triggered_count(), 1, "the fire kept: {alert:?}");
        assert!(alert.last_triggered_at().is_some() && alert.rearm_wait().is_some());
    }
    let versions: Vec<i64> = written.iter().map(Alert::version).collect();
    assert_eq!(versions, [3, 4, 5]);
    let stored = store.user_alert(user.id, read.id()).await.expect("read");
    assert_eq!(stored.as_ref(), written.last());
    let queued = queued_changes(&store).await;
    let announced: Vec<AlertChange> = written.into_iter().map(AlertChange::upserted).collect();
    assert_eq!(queued[1..], announced[..]);
}

async fn a_deletions_queued_change_names_the_alert_its_symbol_and_owner(engine: Engine) {
    let test = fresh_database(engine).await;
    let store = Store::new(test.db.clone());
    let user = testkit::insert_user(&test.db, "uma@example.com", None).await;
    let other = testkit::insert_user(&test.db, "vic@example.com", None).await;
    let alert = store
        .create_alert(user.id, &new_alert("DOT", 1), 2)
        .await
        .expect("storage")
        .expect("room");
    let not_theirs = store.delete_alert(other.id, alert.id()).await;
    assert_eq!(not_theirs.expect("delete"), None);
    assert_eq!(queued_changes(&store).await.len(), 1, "nothing queued");
    let deleted = store
        .delete_alert(user.id, alert.id())
        .await
        .expect("delete");
    assert_eq!(deleted.as_ref(), Some(alert.symbol()));
    let queued = queued_changes(&store).await;
    assert_eq!(
        queued.last(),
        Some(&AlertChange::deleted(
            alert.id(),
            alert.symbol().clone(),
            user.id
        ))
    );
    assert_eq!(
        store
            .delete_alert(user.id, alert.id())
            .await
            .expect("delete"),
        None
    );
    assert_eq!(queued_changes(&store).await.len(), 2);
}

testkit::on_both_engines!(
    concurrent_creates_never_exceed_the_quota,
    deletions_and_deactivations_give_slots_back,
    a_creates_queued_change_is_the_alert_as_stored,
    a_patchs_queued_change_is_the_alert_as_stored_after_a_fire_it_did_not_see,
    a_deletions_queued_change_names_the_alert_its_symbol_and_owner,
);
