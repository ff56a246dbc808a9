//! Group commit as a service: a stream recorded in batches leaves exactly what the same
//! stream recorded tick by tick leaves (fires, outbox rows, alert rows, last prices), also
//! when storage refuses a batch midway, and a batch delivered again records nothing twice.

mod helpers;

use std::sync::Arc;

use helpers::{at, tick, TestEvaluator, TestWorld};
use serde_json::json;
use shared::bus::InProcessBus;
use shared::domain::Alert;
use shared::events::{PriceTick, TriggerEvent};
use testkit::{eventually, Engine};

/// Alerts of every kind whose fire depends on the ticks before it: crossings, cooldowns, a
/// `once`, a re-arm wait, a range and a `percent_move` window.
fn alert_bodies() -> Vec<serde_json::Value> {
    vec![
        json!({"symbol": "BTC", "condition": "crosses", "target_price": 100, "cooldown_minutes": 1}),
        json!({"symbol": "BTC", "condition": "above", "target_price": 103, "trigger": "once"}),
        json!({"symbol": "ETH", "condition": "below", "target_price": 97,
               "cooldown_minutes": 1, "rearm_percent": 1}),
        json!({"symbol": "ETH", "condition": "range", "target_price": 99,
               "target_price_high": 101, "cooldown_minutes": 2}),
        json!({"symbol": "SOL", "condition": "percent_move", "target_price": 1,
               "window_minutes": 1, "direction": "either", "cooldown_minutes": 1}),
        json!({"symbol": "SOL", "condition": "crosses", "target_price": 101, "cooldown_minutes": 1}),
    ]
}

const SYMBOLS: [&str; 3] = ["BTC", "ETH", "SOL"];
const ROUNDS: i64 = 40;

/// Round by round, one tick per symbol 10 s apart: seeded walks between 95 and 105.
fn stream() -> Vec<PriceTick> {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut ticks = Vec::new();
    for round in 0..ROUNDS {
        for symbol in SYMBOLS {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let cents = 9_500 + state % 1_001;
            let price = format!("{}.{:02}", cents / 100, cents % 100);
            ticks.push(tick(symbol, &price, at(round * 10)));
        }
    }
    ticks
}

async fn world_with_alerts(engine: Engine) -> (TestWorld, Vec<Alert>) {
    let world = TestWorld::new(engine).await;
    let mut alerts = Vec::new();
    for body in alert_bodies() {
        alerts.push(world.create_alert(&testkit::new_alert(body)).await);
    }
    (world, alerts)
}

/// An evaluator recording batches of up to `max_ticks`, on a bus roomy enough that unread
/// notifications never hold it back.
async fn evaluator(world: &TestWorld, max_ticks: usize) -> TestEvaluator {
    let db = world.reopen().await;
    world
        .spawn_with(db, Arc::new(InProcessBus::new(4_096)), |settings| {
            settings.evaluator.batch_max_ticks = max_ticks;
            // Long enough that a batch always fills up with what the test publishes at once.
            settings.evaluator.batch_max_wait = std::time::Duration::from_secs(2);
        })
        .await
}

/// Waits until the last price of every symbol of `ticks` is its last tick there.
async fn all_recorded(world: &TestWorld, ticks: &[PriceTick]) {
    let mut last = std::collections::BTreeMap::new();
    for tick in ticks {
        last.insert(tick.symbol.to_string(), tick.price.to_string());
    }
    let store = world.store();
    eventually("every symbol's last tick is recorded", || {
        let (store, last) = (store.clone(), last.clone());
        async move {
            let stored = store.evaluator_last_prices().await.expect("prices");
            let stored: std::collections::BTreeMap<String, String> = stored
                .iter()
                .map(|(symbol, price)| (symbol.to_string(), price.to_string()))
                .collect();
            last.iter()
                .all(|(symbol, price)| stored.get(symbol) == Some(price))
        }
    })
    .await;
}

/// What a run left: each outbox event (without its random id), each alert row's state, and
/// each symbol's last price and time.
async fn outcome(world: &TestWorld, alerts: &[Alert]) -> (Vec<String>, Vec<String>, Vec<String>) {
    let payloads: Vec<String> = shared::on_pool!(world.db(), pool => {
        sqlx::query_scalar("select payload from evaluator_outbox order by id")
            .fetch_all(pool)
            .await
    })
    .expect("outbox");
    let events = payloads
        .iter()
        .map(|payload| {
            let e: TriggerEvent = serde_json::from_str(payload).expect("an event");
            format!(
                "alert {} {} {:?} -> {} at {}",
                e.alert_id, e.symbol, e.previous_price, e.current_price, e.timestamp
            )
        })
        .collect();
    let mut rows = Vec::new();
    for alert in alerts {
        let row = testkit::read_alert(world.db(), alert.id())
            .await
            .expect("exists");
        rows.push(format!(
            "alert {}: count {} last {:?} active {} version {} wait {:?}",
            row.id(),
            row.triggered_count(),
            row.last_triggered_at(),
            row.active(),
            row.version(),
            row.rearm_wait()
        ));
    }
    let times: Vec<(String, chrono::DateTime<chrono::Utc>)> =
        shared::on_pool!(world.db(), pool => {
            sqlx::query_as("select symbol, received_at from evaluator_last_prices order by symbol")
                .fetch_all(pool)
                .await
        })
        .expect("last price times");
    let last = world
        .store()
        .evaluator_last_prices()
        .await
        .expect("last prices");
    let prices = last
        .iter()
        .zip(&times)
        .map(|((symbol, price), time)| format!("{symbol} {price} {time:?}"))
        .collect();
    (events, rows, prices)
}

fn histogram_count(metrics: &str, name: &str) -> u64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{name}_count ")))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name}_count in {metrics}"))
}

async fn a_batched_stream_records_what_single_ticks_record(engine: Engine) {
    let ticks = stream();
    let mut outcomes = Vec::new();
    let mut transactions = Vec::new();
    for max_ticks in [1, 25] {
        let (world, alerts) = world_with_alerts(engine).await;
        let evaluator = evaluator(&world, max_ticks).await;
        for tick in &ticks {
            evaluator.publish_tick(tick).await;
        }
        all_recorded(&world, &ticks).await;
        let metrics = evaluator.metrics().await;
        transactions.push(histogram_count(&metrics, "evaluator_batch_ticks"));
        assert!(
            metrics.contains("evaluator_batches_replayed_total 0"),
            "{metrics}"
        );
        outcomes.push(outcome(&world, &alerts).await);
        evaluator.stop().await;
    }
    let (single, batched) = (&outcomes[0], &outcomes[1]);
    assert!(
        single.0.len() > 20,
        "the stream fires often: {:?}",
        single.0
    );
    assert!(
        !single.1.iter().any(|row| row.contains("count 0 ")),
        "every alert fires: {:?}",
        single.1
    );
    assert_eq!(single.0, batched.0, "the trigger events differ");
    assert_eq!(single.1, batched.1, "the alert rows differ");
    assert_eq!(single.2, batched.2, "the last prices differ");
    assert_eq!(
        transactions[0],
        ticks.len() as u64,
        "one transaction per tick"
    );
    assert!(
        transactions[1] <= ticks.len() as u64 / 5,
        "batches of up to 25: {} transactions for {} ticks",
        transactions[1],
        ticks.len()
    );
}

/// The trigger events recorded so far, as (alert, previous → current, at).
async fn events(world: &TestWorld) -> Vec<String> {
    let payloads: Vec<String> = shared::on_pool!(world.db(), pool => {
        sqlx::query_scalar("select payload from evaluator_outbox order by id")
            .fetch_all(pool)
            .await
    })
    .expect("outbox");
    payloads
        .iter()
        .map(|payload| {
            let e: TriggerEvent = serde_json::from_str(payload).expect("an event");
            let previous = e.previous_price.map(|p| p.to_string()).unwrap_or_default();
            format!(
                "{} {previous}->{} {}",
                e.alert_id, e.current_price, e.timestamp
            )
        })
        .collect()
}

async fn publish_and_wait(world: &TestWorld, evaluator: &TestEvaluator, ticks: &[PriceTick]) {
    for tick in ticks {
        evaluator.publish_tick(tick).await;
    }
    all_recorded(world, ticks).await;
}

/// Storage refuses a batch in the middle twice: an alert edited without its change message
/// (a version the engine does not hold) and an alert whose owner was deactivated (a fire its
/// row rejects). Each batch is replayed tick by tick, and the fires are the per-tick ones:
/// no fire on the stale target, and the ticks after the refused one decided on storage's state.
async fn a_batch_refused_midway_records_what_single_ticks_record(engine: Engine) {
    let world = TestWorld::new(engine).await;
    let edited = world
        .create_alert(&testkit::new_alert(
            json!({"symbol": "BTC", "condition": "above",
            "target_price": 100, "cooldown_minutes": 1}),
        ))
        .await;
    let crosses = world
        .create_alert(&testkit::new_alert(
            json!({"symbol": "ETH", "condition": "crosses",
            "target_price": 50, "cooldown_minutes": 1}),
        ))
        .await;
    let bob = testkit::insert_user(world.db(), "bob@example.com", None).await;
    let ownerless = testkit::insert_alert(
        world.db(),
        bob.id,
        &testkit::new_alert(json!({"symbol": "SOL", "condition": "above", "target_price": 10})),
    )
    .await;
    let evaluator = evaluator(&world, 4).await;
    // Storage changes the evaluator hears nothing of.
    let patch = testkit::alert_patch(&edited, json!({"target_price": 200}));
    testkit::write_alert(world.db(), edited.id(), &patch).await;
    shared::on_pool!(world.db(), pool => {
        sqlx::query("update users set is_active = false where id = $1")
            .bind(bob.id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
    })
    .expect("deactivate bob");

    publish_and_wait(
        &world,
        &evaluator,
        &[
            tick("ETH", "49", at(0)),
            tick("BTC", "150", at(1)),
            tick("ETH", "51", at(2)),
            tick("BTC", "210", at(3)),
        ],
    )
    .await;
    publish_and_wait(
        &world,
        &evaluator,
        &[
            tick("SOL", "11", at(120)),
            tick("BTC", "99", at(121)),
            tick("SOL", "12", at(122)),
            tick("BTC", "201", at(123)),
        ],
    )
    .await;
    let (c, e) = (crosses.id(), edited.id());
    assert_eq!(
        events(&world).await,
        vec![
            format!("{c} 49->51 {}", at(2)),
            format!("{e} 150->210 {}", at(3)),
            format!("{e} 99->201 {}", at(123)),
        ]
    );
    let owned = testkit::read_alert(world.db(), ownerless.id())
        .await
        .expect("exists");
    assert_eq!(owned.triggered_count(), 0);
    evaluator
        .wait_for_metrics(
            "both batches replayed tick by tick",
            &["evaluator_batches_replayed_total 2"],
        )
        .await;
    evaluator.stop().await;
}

/// A batch delivered again after it was recorded (a crash between the transaction and the
/// offset commit), together with a new tick: the old ticks are refused as already recorded,
/// nothing fires twice, and the new tick is decided on the stored previous price.
async fn a_batch_delivered_again_records_nothing_twice(engine: Engine) {
    let world = TestWorld::new(engine).await;
    let crosses = world
        .create_alert(&testkit::new_alert(
            json!({"symbol": "BTC", "condition": "crosses",
            "target_price": 100, "cooldown_minutes": 1}),
        ))
        .await;
    let once = world
        .create_alert(&testkit::new_alert(
            json!({"symbol": "ETH", "condition": "above",
            "target_price": 10, "trigger": "once"}),
        ))
        .await;
    // A minute apart: the crosses alert is cooled down at each tick.
    let batch = [
        tick("BTC", "99", at(0)),
        tick("ETH", "11", at(60)),
        tick("BTC", "101", at(120)),
        tick("BTC", "98", at(180)),
    ];
    let first = evaluator(&world, 4).await;
    publish_and_wait(&world, &first, &batch).await;
    let recorded = events(&world).await;
    let (c, o) = (crosses.id(), once.id());
    assert_eq!(
        recorded,
        vec![
            format!("{o} ->11 {}", at(60)),
            format!("{c} 99->101 {}", at(120)),
            format!("{c} 101->98 {}", at(180)),
        ]
    );
    first.kill().await;
    // Created after the batch was recorded: its old ticks must not fire it (per tick they are
    // refused as already recorded), though nothing else in storage would stop the fire.
    world
        .create_alert(&testkit::new_alert(
            json!({"symbol": "ETH", "condition": "below",
            "target_price": 20}),
        ))
        .await;

    let again = evaluator(&world, 5).await;
    let mut redelivered = batch.to_vec();
    redelivered.push(tick("BTC", "100", at(240)));
    publish_and_wait(&world, &again, &redelivered).await;
    let mut expected = recorded;
    expected.push(format!("{c} 98->100 {}", at(240)));
    assert_eq!(events(&world).await, expected);
    for (alert, count) in [(c, 3), (o, 1)] {
        let row = testkit::read_alert(world.db(), alert)
            .await
            .expect("exists");
        assert_eq!(row.triggered_count(), count, "alert {alert}");
    }
    again
        .wait_for_metrics(
            "the old ticks superseded, the batch replayed",
            &[
                "evaluator_ticks_superseded_total 4",
                "evaluator_batches_replayed_total 1",
            ],
        )
        .await;
    again.stop().await;
}

testkit::on_both_engines!(
    a_batched_stream_records_what_single_ticks_record,
    a_batch_refused_midway_records_what_single_ticks_record,
    a_batch_delivered_again_records_nothing_twice,
);
