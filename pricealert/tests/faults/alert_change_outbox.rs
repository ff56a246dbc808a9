//! A gateway process SIGKILLed between an alert write's commit and the publish of its change
//! loses nothing: the change was written to the outbox in the write's transaction, and the
//! next gateway's relay publishes it, once.
//!
//! The window is constructed exactly: the test holds the alert change relay's lock (the
//! PostgreSQL advisory lock every gateway's relay takes before publishing), so the request's
//! relay waits right after the commit; the test sees the committed alert and outbox row, sees
//! that the response has not come, and kills the process there.

use std::time::Duration;

use crate::support::poll_until;
use crate::support::scaled::{register, Scaled};
use kafka_bus::{KafkaBus, StartFrom};
use serde_json::json;
use shared::bus::{decode, publish_json, Decoded, Subscription, Topic};
use shared::events::{AlertChange, AlertChangeKind};
use shared::storage::OutboxTable;

async fn queued_changes(scaled: &Scaled) -> i64 {
    sqlx::query_scalar("select count(*) from alert_change_outbox")
        .fetch_one(&scaled.pool)
        .await
        .expect("count the outbox")
}

async fn next_change(changes: &mut Box<dyn Subscription>) -> (String, AlertChange) {
    let message = tokio::time::timeout(Duration::from_secs(30), changes.next())
        .await
        .expect("a message on alert-changes within 30 s")
        .expect("read alert-changes");
    let Decoded::Ok(change) = decode::<AlertChange>(&message) else {
        panic!("malformed alert change")
    };
    (message.key, change)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_killed_between_an_alert_write_and_its_publish_loses_no_change() {
    let _serial = crate::serial().await;
    let scaled = Scaled::new("outbox", 1, "", &[]).await;
    let mut gateway = scaled.start("gateway", "gateway", &[]).await;
    let base = format!("http://127.0.0.1:{}", gateway.health_port);
    let client = reqwest::Client::new();
    let token = register(&client, &base, "olga@example.com", None).await;

    let mut relay_lock = scaled.pool.acquire().await.expect("a connection");
    sqlx::query("select pg_advisory_lock($1)")
        .bind(OutboxTable::AlertChanges.relay_lock_key())
        .execute(&mut *relay_lock)
        .await
        .expect("take the relay lock");
    let create = tokio::spawn(
        client
            .post(format!("{base}/alerts"))
            .bearer_auth(&token)
            .json(&json!({"symbol": "SOL", "condition": "crosses", "target_price": 150}))
            .send(),
    );
    let alert_id: i64 = poll_until(
        "the alert and its change to be committed",
        Duration::from_secs(20),
        || async {
            let committed: Option<i64> = sqlx::query_scalar(
                "select a.id from alerts a where exists (select 1 from alert_change_outbox)",
            )
            .fetch_optional(&scaled.pool)
            .await
            .map_err(|e| e.to_string())?;
            committed.ok_or_else(|| "not yet".to_owned())
        },
    )
    .await;
    assert!(
        !create.is_finished(),
        "the request answers only after its change is relayed"
    );
    gateway.kill_9().await;
    let answer = create.await.expect("the request task");
    assert!(answer.is_err(), "the killed gateway answered: {answer:?}");
    assert_eq!(
        queued_changes(&scaled).await,
        1,
        "the change is still queued"
    );
    sqlx::query("select pg_advisory_unlock($1)")
        .bind(OutboxTable::AlertChanges.relay_lock_key())
        .execute(&mut *relay_lock)
        .await
        .expect("release the relay lock");

    gateway.restart().await;
    let bus = KafkaBus::connect(&scaled.kafka_settings())
        .await
        .expect("connect to the mock cluster");
    let mut changes: Box<dyn Subscription> = Box::new(
        bus.subscribe_member(Topic::AlertChanges, "test-reader", StartFrom::Earliest)
            .await
            .expect("subscribe"),
    );
    let (key, change) = next_change(&mut changes).await;
    assert_eq!(key, "SOL");
    match change.kind {
        AlertChangeKind::Upserted { alert } => {
            assert_eq!((alert.id(), alert.version()), (alert_id, 1));
        }
        other => panic!("expected the alert's creation, got {other:?}"),
    }
    poll_until(
        "the relay to empty the outbox",
        Duration::from_secs(20),
        || async {
            match queued_changes(&scaled).await {
                0 => Ok(()),
                n => Err(format!("{n} queued")),
            }
        },
    )
    .await;
    // Published once: the next message on the (single) partition is one the test sends now.
    let marker = AlertChange::deleted(-1, "SOL".parse().expect("symbol"), -1);
    publish_json(&bus, Topic::AlertChanges, "SOL", &marker)
        .await
        .expect("publish the marker");
    assert_eq!(
        next_change(&mut changes).await.1,
        marker,
        "a duplicate came first"
    );
    assert!(gateway.is_running(), "gateway died:\n{}", gateway.logs());
}
