//! Two `pricealert evaluator` processes share the tick stream through their consumer group
//! while one is SIGKILLed and restarted twice and the other joins late (rebalances), under a
//! stream of `crosses` alerts: whether they fire depends on the previous price, so a lost or
//! replayed tick changes the fires. The expected fires are computed from the same tick
//! stream with the evaluator's reference semantics (`ReferenceScan`); the recorded trigger
//! events must be exactly those: each expected fire once, nothing else (so nothing twice
//! within a cooldown).
//!
//! The test publishes the ticks itself, with synthetic `received_at` times 10 s apart (the
//! evaluator decides cooldowns on them), so a 1-minute cooldown spans six ticks.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use crate::support::poll_until;
use crate::support::scaled::Scaled;
use crate::support::service_process::ServiceProcess;
use crate::tick;
use chrono::{DateTime, Utc};
use kafka_bus::KafkaBus;
use matching::reference::ReferenceScan;
use matching::{micros, EngineConfig, Fire, IndexedAlert};
use serde_json::json;
use shared::bus::{publish_json, Topic};
use shared::domain::{AlertId, Price, Symbol};
use shared::events::TriggerEvent;
use shared::storage::Database;

const SYMBOLS: [&str; 6] = ["BTC", "ETH", "SOL", "XRP", "ADA", "DOGE"];
const TARGETS: [i64; 4] = [100, 101, 102, 103];
const TICKS_PER_SYMBOL: usize = 120;
/// Between two rounds of ticks (one per symbol): 120 rounds take about 12 s.
const ROUND_PAUSE: Duration = Duration::from_millis(100);
const TICK_SPACING_SECONDS: i64 = 10;

/// A deterministic walk between 98 and 106 (xorshift), so prices cross the targets often and
/// sometimes stay put.
fn prices(seed: u64) -> Vec<Price> {
    let mut state = seed.max(1);
    (0..TICKS_PER_SYMBOL)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let cents = 9_800 + state % 801;
            format!("{}.{:02}", cents / 100, cents % 100)
                .parse()
                .expect("a positive price")
        })
        .collect()
}

/// (alert, received_at of the tick that fired it) of every trigger event recorded, and each
/// one's (previous, current) price as the evaluator saw them, for the failure message.
async fn recorded_fires(scaled: &Scaled) -> (Vec<(AlertId, i64)>, Vec<String>) {
    let payloads: Vec<String> = sqlx::query_scalar("select payload from evaluator_outbox")
        .fetch_all(&scaled.pool)
        .await
        .expect("read the outbox");
    let events: Vec<TriggerEvent> = payloads
        .iter()
        .map(|payload| serde_json::from_str(payload).expect("a trigger event"))
        .collect();
    let seen = events
        .iter()
        .map(|e| {
            format!(
                "alert {} at {}: {:?} -> {}",
                e.alert_id,
                micros(e.timestamp),
                e.previous_price.map(|p| p.to_string()),
                e.current_price
            )
        })
        .collect();
    let fires = events
        .iter()
        .map(|e| (e.alert_id, micros(e.timestamp)))
        .collect();
    (fires, seen)
}

/// Symbols whose last evaluated tick is not yet the stream's last.
async fn unfinished_symbols(scaled: &Scaled, last: DateTime<Utc>) -> Vec<String> {
    let done: Vec<String> =
        sqlx::query_scalar("select symbol from evaluator_last_prices where received_at = $1")
            .bind(last)
            .fetch_all(&scaled.pool)
            .await
            .expect("read the last prices");
    SYMBOLS
        .iter()
        .filter(|s| !done.iter().any(|d| d == *s))
        .map(|s| (*s).to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_evaluators_killed_and_rebalanced_fire_every_expected_crossing_exactly_once() {
    let _serial = crate::serial().await;
    let started = Instant::now();
    let scaled = Scaled::new("evaluator-faults", 3, "", &[]).await;
    let db = Database::connect(&scaled.database_url, 2)
        .await
        .expect("connect");
    let user = testkit::insert_user(&db, "eve@example.com", None).await;
    let mut reference = ReferenceScan::new(EngineConfig::default());
    let mut alerts = 0;
    for symbol in SYMBOLS {
        for target in TARGETS {
            let alert = testkit::insert_alert(
                &db,
                user.id,
                &testkit::new_alert(json!({"symbol": symbol, "condition": "crosses",
                    "target_price": target, "cooldown_minutes": 1})),
            )
            .await;
            let indexed = IndexedAlert::from_alert(&alert).expect("an active crosses alert");
            reference.upsert(&indexed);
            alerts += 1;
        }
    }

    let mut first = scaled.start("evaluator", "evaluator-0", &[]).await;
    let bus = KafkaBus::connect(&scaled.kafka_settings())
        .await
        .expect("connect to the mock cluster");
    let symbols: Vec<Symbol> = SYMBOLS.iter().map(|s| s.parse().expect("symbol")).collect();
    let walks: Vec<Vec<Price>> = (0..SYMBOLS.len()).map(|i| prices(7 + i as u64)).collect();
    // Round by round: each symbol's next price.
    let rounds: Vec<Vec<Price>> = (0..TICKS_PER_SYMBOL)
        .map(|round| walks.iter().map(|walk| walk[round]).collect())
        .collect();
    let base = DateTime::from_timestamp(Utc::now().timestamp(), 0).expect("now");
    let received_at =
        |round: usize| base + chrono::Duration::seconds(TICK_SPACING_SECONDS * round as i64);
    let mut expected: Vec<Fire> = Vec::new();
    let mut expected_at: Vec<(AlertId, i64)> = Vec::new();
    let mut log = Vec::new();
    let mut stream: Vec<(i64, String, String)> = Vec::new();
    let mut second: Option<ServiceProcess> = None;
    for (round, round_prices) in rounds.iter().enumerate() {
        let at = received_at(round);
        for (symbol, &price) in symbols.iter().zip(round_prices) {
            let id = reference.symbol_id(symbol);
            let before = expected.len();
            reference.evaluate(id, price, micros(at), &mut expected);
            expected_at.extend(expected[before..].iter().map(|f| (f.alert_id, micros(at))));
            stream.push((micros(at), symbol.to_string(), price.to_string()));
            publish_json(
                &bus,
                Topic::PriceEvents,
                symbol.as_str(),
                &tick(symbol, price, at),
            )
            .await
            .expect("publish a tick");
        }
        // The chaos, at fixed rounds: a second member joins, the first dies twice.
        match round {
            10 => {
                second = Some(scaled.start("evaluator", "evaluator-1", &[]).await);
                log.push(format!("round {round}: evaluator-1 joined"));
            }
            30 | 70 => {
                first.kill_9().await;
                log.push(format!("round {round}: evaluator-0 SIGKILLed"));
            }
            40 | 80 => {
                first.restart().await;
                log.push(format!("round {round}: evaluator-0 restarted"));
            }
            _ => {}
        }
        tokio::time::sleep(ROUND_PAUSE).await;
    }
    let last = received_at(TICKS_PER_SYMBOL - 1);
    poll_until(
        "every symbol's last tick to be evaluated",
        Duration::from_secs(60),
        || async {
            match unfinished_symbols(&scaled, last).await {
                pending if pending.is_empty() => Ok(()),
                pending => Err(format!("not yet: {pending:?}")),
            }
        },
    )
    .await;

    let (recorded, seen) = recorded_fires(&scaled).await;
    let mut counts: BTreeMap<(AlertId, i64), usize> = BTreeMap::new();
    for fire in &recorded {
        *counts.entry(*fire).or_default() += 1;
    }
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    let expected_set: BTreeSet<(AlertId, i64)> = expected_at.iter().copied().collect();
    let recorded_set: BTreeSet<(AlertId, i64)> = counts.keys().copied().collect();
    let missing: Vec<_> = expected_set.difference(&recorded_set).collect();
    let unexpected: Vec<_> = recorded_set.difference(&expected_set).collect();
    eprintln!(
        "evaluator faults: {alerts} alerts, {} ticks, {} expected fires, {} recorded, \
         {:.1} s\n{}",
        TICKS_PER_SYMBOL * SYMBOLS.len(),
        expected_at.len(),
        recorded.len(),
        started.elapsed().as_secs_f64(),
        log.join("\n")
    );
    assert!(
        missing.is_empty() && unexpected.is_empty() && twice.is_empty(),
        "missing {missing:?}\nunexpected {unexpected:?}\ntwice {twice:?}\n{}\n\
         ticks (time, symbol, price) near the differences:\n{}\nrecorded:\n{}",
        log.join("\n"),
        stream
            .iter()
            .filter(|(at, _, _)| missing
                .iter()
                .chain(&unexpected)
                .any(|(_, t)| (at - t).abs() <= 20_000_000))
            .map(|(at, symbol, price)| format!("{at} {symbol} {price}"))
            .collect::<Vec<_>>()
            .join("\n"),
        seen.join("\n")
    );
    assert_eq!(expected_set.len(), expected_at.len());
    assert!(
        expected_at.len() > 100,
        "the stream fires often enough to matter"
    );
    let mut second = second.expect("the second evaluator");
    for process in [&mut first, &mut second] {
        assert!(process.is_running(), "{}", process.logs());
    }
}
