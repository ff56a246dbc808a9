//! The alert change outbox: every alert write queues its change in its own transaction, and
//! the relay publishes the queue in order, so a bus failure (or a crash, see the process test
//! `pricealert/tests/alert_change_outbox.rs`) after the commit delays a change but never
//! loses or reorders it.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::future::join_all;

use reqwest::StatusCode;
use serde_json::json;
use shared::bus::{decode, Decoded, EventBus, Subscription, Topic};
use shared::events::{AlertChange, AlertChangeKind};
use testkit::{eventually, on_both_engines, Engine, FaultyBus};

use crate::helpers::{json_of, spawn_app_on_faulty_bus, TestApp};

/// Rows waiting in the alert change outbox.
async fn queued_changes(app: &TestApp) -> i64 {
    shared::on_pool!(&app.db, pool => sqlx::query_scalar::<_, i64>(
        "select count(*) from alert_change_outbox")
        .fetch_one(pool)
        .await)
    .expect("count the outbox")
}

/// Every change published so far, per message key, each as a short description.
fn published(changes: &mut Box<dyn Subscription>) -> BTreeMap<String, Vec<String>> {
    let mut by_key: BTreeMap<String, Vec<String>> = BTreeMap::new();
    while let Some(message) = changes.try_next().expect("subscription open") {
        let Decoded::Ok(change) = decode::<AlertChange>(&message) else {
            panic!("malformed alert change")
        };
        let described = match change.kind {
            AlertChangeKind::Upserted { alert } => format!(
                "upsert {} v{} active={}",
                alert.id(),
                alert.version(),
                alert.active()
            ),
            AlertChangeKind::Deleted { alert_id, .. } => format!("delete {alert_id}"),
        };
        by_key
            .entry(message.key.clone())
            .or_default()
            .push(described);
    }
    by_key
}

/// An app on a bus that can fail, and a subscription to its alert changes.
async fn app_with_changes(engine: Engine) -> (FaultyBus, TestApp, Box<dyn Subscription>) {
    let bus = FaultyBus::new(1024);
    let app = spawn_app_on_faulty_bus(engine, &bus, |_| {}).await;
    let changes = bus
        .in_process()
        .subscribe(Topic::AlertChanges, "test")
        .await
        .expect("subscribe");
    (bus, app, changes)
}

async fn changes_the_bus_refuses_are_kept_and_published_in_order_once_it_is_back(engine: Engine) {
    let (bus, app, mut changes) = app_with_changes(engine).await;
    let kim = app.user_token("kim@example.com").await;
    let leaving = app.user_token("lou@example.com").await;
    let first = app.create_alert(&kim, "BTC", "10").await["id"].clone();
    let lous = [
        app.create_alert(&leaving, "ETH", "10").await["id"].clone(),
        app.create_alert(&leaving, "BTC", "12").await["id"].clone(),
    ];
    let before = published(&mut changes);
    assert_eq!(
        before["BTC"],
        [
            format!("upsert {first} v1 active=true"),
            format!("upsert {} v1 active=true", lous[1])
        ]
    );

    // The broker refuses writes: every write still succeeds and leaves its change queued.
    bus.fail_publishes(Topic::AlertChanges);
    let second = app.create_alert(&kim, "BTC", "20").await["id"].clone();
    let path = format!("/alerts/{first}");
    json_of(
        app.patch_json(&kim, &path, &json!({"target_price": 11}))
            .await,
        StatusCode::OK,
    )
    .await;
    json_of(
        app.post_json(&kim, &format!("{path}/toggle"), &json!({}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        app.delete(&kim, &path).await.status(),
        StatusCode::NO_CONTENT
    );
    let eth = app.create_alert(&kim, "ETH", "30").await["id"].clone();
    let account = app.delete(&leaving, "/auth/me").await;
    assert_eq!(account.status(), StatusCode::NO_CONTENT);
    assert!(
        bus.refused_publishes(Topic::AlertChanges) > 0,
        "the bus refused"
    );
    assert_eq!(queued_changes(&app).await, 7, "every change is queued");
    assert!(published(&mut changes).is_empty(), "nothing got through");

    // Back: the background relay publishes the queue, each change once, in order per key,
    // and empties it.
    bus.heal(Topic::AlertChanges);
    eventually("the relay empties the outbox", || async {
        queued_changes(&app).await == 0
    })
    .await;
    let after = published(&mut changes);
    assert_eq!(
        after,
        BTreeMap::from([
            (
                "BTC".to_owned(),
                vec![
                    format!("upsert {second} v1 active=true"),
                    format!("upsert {first} v2 active=true"),
                    format!("upsert {first} v3 active=false"),
                    format!("delete {first}"),
                    format!("delete {}", lous[1]),
                ]
            ),
            (
                "ETH".to_owned(),
                vec![
                    format!("upsert {eth} v1 active=true"),
                    format!("delete {}", lous[0]),
                ]
            ),
        ])
    );
}

/// The outbox row and the alert are one transaction: when the row cannot be written, the
/// alert write is undone too (the API answers 500 and nothing changed).
async fn an_alert_write_whose_change_cannot_be_queued_does_not_happen(engine: Engine) {
    let bus = FaultyBus::new(1024);
    let app = spawn_app_on_faulty_bus(engine, &bus, |_| {}).await;
    let token = app.user_token("max@example.com").await;
    let alert = app.create_alert(&token, "BTC", "10").await;
    let path = format!("/alerts/{}", alert["id"]);
    // A rule that refuses every row, on each engine's terms.
    let refuse = |refusing: bool| {
        let db = app.db.clone();
        async move {
            let sql = match (engine, refusing) {
                (Engine::Postgres, true) => {
                    "alter table alert_change_outbox add constraint refuse_all check (false)"
                }
                (Engine::Postgres, false) => {
                    "alter table alert_change_outbox drop constraint refuse_all"
                }
                (Engine::Sqlite, true) => {
                    "create trigger refuse_all before insert on alert_change_outbox \
                     begin select raise(abort, 'refused'); end"
                }
                (Engine::Sqlite, false) => "drop trigger refuse_all",
            };
            shared::on_pool!(&db, pool => sqlx::query(sql).execute(pool).await.map(|_| ()))
                .expect("change the outbox's rules");
        }
    };
    refuse(true).await;
    let create = app
        .post_json(
            &token,
            "/alerts",
            &json!({"symbol": "ETH", "condition": "above", "target_price": 1}),
        )
        .await;
    assert_eq!(create.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let patch = app
        .patch_json(&token, &path, &json!({"target_price": 11}))
        .await;
    assert_eq!(patch.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        app.delete(&token, &path).await.status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(
        app.delete(&token, "/auth/me").await.status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
    refuse(false).await;

    let list = json_of(app.get(&token, "/alerts").await, StatusCode::OK).await;
    assert_eq!(
        list.as_array().map(Vec::len),
        Some(1),
        "no alert created: {list}"
    );
    let stored = json_of(app.get(&token, &path).await, StatusCode::OK).await;
    assert_eq!(stored["target_price"], 10, "not patched");
}

/// Concurrent writes share the relay's flushes, yet each change is on the bus before its write
/// is answered (so an evaluator has it before the next tick).
async fn every_write_is_published_before_it_is_answered_however_many_run_at_once(engine: Engine) {
    let (_bus, app, mut changes) = app_with_changes(engine).await;
    let token = app.user_token("nat@example.com").await;
    let targets: Vec<String> = (1..=32).map(|target| target.to_string()).collect();
    let created = join_all(
        targets
            .iter()
            .map(|target| app.create_alert(&token, "BTC", target)),
    )
    .await;
    let published = published(&mut changes);
    let published = published.get("BTC").cloned().unwrap_or_default();
    for alert in created {
        let expected = format!("upsert {} v1 active=true", alert["id"]);
        assert!(
            published.contains(&expected),
            "{expected} not in {published:?}"
        );
    }
    assert_eq!(published.len(), 32, "each once: {published:?}");
}

/// A write whose request ends mid-flush (here by its time-out; a client hanging up is the
/// same) does not cut the flush short: the change it published is settled once the bus
/// acknowledges it, not published again by the next flush.
async fn a_write_cancelled_mid_flush_publishes_its_change_once(engine: Engine) {
    let bus = FaultyBus::new(1024);
    let app = spawn_app_on_faulty_bus(engine, &bus, |settings| {
        // Short enough to wait for, long enough for the other requests on a loaded machine.
        settings.gateway.request_timeout = Duration::from_secs(3);
    })
    .await;
    let mut changes = bus
        .in_process()
        .subscribe(Topic::AlertChanges, "test")
        .await
        .expect("subscribe");
    let token = app.user_token("ida@example.com").await;

    bus.hold_acks(Topic::AlertChanges);
    let body = json!({"symbol": "BTC", "condition": "above", "target_price": 10});
    let held = app.post_json(&token, "/alerts", &body).await;
    assert_eq!(
        held.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "the write outlived its time-out"
    );
    eventually(
        "the change is on the bus, its acknowledgement held",
        || async { bus.held_publishes(Topic::AlertChanges) >= 1 },
    )
    .await;
    bus.heal(Topic::AlertChanges);
    eventually("the outbox is settled", || async {
        queued_changes(&app).await == 0
    })
    .await;

    // A later write flushes again: the first change must not come a second time.
    app.create_alert(&token, "ETH", "10").await;
    let published = published(&mut changes);
    assert_eq!(
        published.get("BTC").map(Vec::len),
        Some(1),
        "the change once: {published:?}"
    );
    assert_eq!(published.get("ETH").map(Vec::len), Some(1), "{published:?}");
}

on_both_engines!(
    a_write_cancelled_mid_flush_publishes_its_change_once,
    every_write_is_published_before_it_is_answered_however_many_run_at_once,
    changes_the_bus_refuses_are_kept_and_published_in_order_once_it_is_back,
    an_alert_write_whose_change_cannot_be_queued_does_not_happen,
);
