//! A `pricealert evaluator` process SIGKILLed between a batch's transaction and its offset
//! commit: the batch (with a `crosses` fire) is in storage, its ticks are still on the topic.
//! The restarted evaluator gets them again with the ticks published meanwhile in one batch;
//! storage refuses it, it is replayed tick by tick, and every crossing fires exactly once.
//!
//! The window is hit deterministically with the evaluator's test-only pause point
//! (`evaluator.test_pause_after_commit`, see `evaluator/src/fault.rs`): the first run stops
//! right after committing a batch with a fire, and the test kills it there.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::support::poll_until;
use crate::support::scaled::Scaled;
use chrono::{DateTime, Utc};
use kafka_bus::KafkaBus;
use shared::bus::{publish_json, Topic};
use shared::domain::AlertId;
use shared::events::{PriceTick, TriggerEvent};
use shared::storage::Database;

fn tick(symbol: &str, price: &str, received_at: DateTime<Utc>) -> PriceTick {
    let symbol = symbol.parse().expect("symbol");
    crate::tick(&symbol, price.parse().expect("price"), received_at)
}

/// Each recorded trigger event as (alert, tick time), counted.
async fn recorded_fires(scaled: &Scaled) -> BTreeMap<(AlertId, DateTime<Utc>), usize> {
    let payloads: Vec<String> = sqlx::query_scalar("select payload from evaluator_outbox")
        .fetch_all(&scaled.pool)
        .await
        .expect("read the outbox");
    let mut fires = BTreeMap::new();
    for payload in payloads {
        let event: TriggerEvent = serde_json::from_str(&payload).expect("a trigger event");
        *fires.entry((event.alert_id, event.timestamp)).or_default() += 1;
    }
    fires
}

async fn metrics(port: u16) -> String {
    reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .expect("scrape the evaluator")
        .text()
        .await
        .expect("metrics text")
}

async fn last_prices_at(scaled: &Scaled, at: DateTime<Utc>) -> Result<(), String> {
    let done: Vec<String> =
        sqlx::query_scalar("select symbol from evaluator_last_prices where received_at = $1")
            .bind(at)
            .fetch_all(&scaled.pool)
            .await
            .map_err(|e| e.to_string())?;
    match done.len() {
        2 => Ok(()),
        n => Err(format!("{n} of 2 symbols at the last tick")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crossing_fires_once_across_a_kill_between_a_batch_commit_and_its_offset_commit() {
    let _serial = crate::serial().await;
    let scaled = Scaled::new("batch-commit", 1, "", &[]).await;
    let db = Database::connect(&scaled.database_url, 2)
        .await
        .expect("connect");
    let user = testkit::insert_user(&db, "eve@example.com", None).await;
    let mut alerts = BTreeMap::new();
    for symbol in ["BTC", "ETH"] {
        let alert = testkit::insert_alert(
            &db,
            user.id,
            &testkit::new_alert(serde_json::json!({"symbol": symbol,
                "condition": "crosses", "target_price": 100, "cooldown_minutes": 1})),
        )
        .await;
        alerts.insert(symbol, alert.id());
    }
    let release = scaled.dir.0.join("release");
    let reached = scaled.dir.0.join("release.reached");
    let mut evaluator = scaled
        .start(
            "evaluator",
            "evaluator-batch",
            &[
                ("EVALUATOR_BATCH_MAX_TICKS", "100".to_owned()),
                // Long enough for each burst the test publishes to make one batch.
                ("EVALUATOR_BATCH_MAX_MS", "500".to_owned()),
                (
                    "PRICEALERT__EVALUATOR__TEST_PAUSE_AFTER_COMMIT",
                    release.display().to_string(),
                ),
            ],
        )
        .await;
    let bus = KafkaBus::connect(&scaled.kafka_settings())
        .await
        .expect("connect to the mock cluster");
    let base = DateTime::from_timestamp(Utc::now().timestamp(), 0).expect("now");
    // A minute apart: each crossing is past the previous fire's cooldown.
    let round = |n: i64| base + chrono::Duration::minutes(n);
    let publish = |ticks: Vec<PriceTick>| {
        let bus = &bus;
        async move {
            for tick in ticks {
                publish_json(bus, Topic::PriceEvents, tick.symbol.as_str(), &tick)
                    .await
                    .expect("publish a tick");
            }
        }
    };

    // One batch: both symbols cross 100 upwards at round 1.
    publish(vec![
        tick("BTC", "99", round(0)),
        tick("ETH", "99", round(0)),
        tick("BTC", "101", round(1)),
        tick("ETH", "101", round(1)),
    ])
    .await;
    poll_until(
        "the evaluator to pause after committing the batch",
        Duration::from_secs(30),
        || async {
            match reached.exists() {
                true => Ok(()),
                false => Err("not yet".to_owned()),
            }
        },
    )
    .await;
    let committed = recorded_fires(&scaled).await;
    assert_eq!(committed.len(), 2, "the batch's two fires are committed");
    let before = metrics(evaluator.health_port).await;
    assert!(
        before.contains("evaluator_batch_ticks_sum 4"),
        "the four ticks were one batch:\n{before}"
    );
    evaluator.kill_9().await;

    // While it is down: BTC crosses back down at round 2, ETH stays above.
    publish(vec![
        tick("BTC", "99", round(2)),
        tick("ETH", "102", round(2)),
    ])
    .await;
    std::fs::write(&release, b"").expect("release the pause point");
    evaluator.restart().await;
    poll_until(
        "both symbols' round-2 ticks to be recorded",
        Duration::from_secs(30),
        || last_prices_at(&scaled, round(2)),
    )
    .await;

    let fires = recorded_fires(&scaled).await;
    let expected: BTreeMap<(AlertId, DateTime<Utc>), usize> = [
        ((alerts["BTC"], round(1)), 1),
        ((alerts["ETH"], round(1)), 1),
        ((alerts["BTC"], round(2)), 1),
    ]
    .into_iter()
    .collect();
    let after = metrics(evaluator.health_port).await;
    assert_eq!(fires, expected, "{}", evaluator.logs());
    // The kill came before the offset commit: the batch was delivered again, refused as a
    // whole and replayed tick by tick, its four ticks refused as already recorded.
    for line in [
        "evaluator_ticks_superseded_total 4",
        "evaluator_batches_replayed_total 1",
    ] {
        assert!(after.contains(line), "{line} missing:\n{after}");
    }
    assert!(evaluator.is_running(), "{}", evaluator.logs());
}
