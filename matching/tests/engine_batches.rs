//! A batch taken back ([`Engine::undo_batch`]) and decided again tick by tick decides exactly
//! what deciding every tick once would: the evaluator's fallback when storage refuses a batch.

mod support;

use std::collections::HashMap;

use domain::MoveDirection;
use matching::{Engine, EngineConfig, Fire, IndexedAlert, Micros, Rule};
use support::{btc, p, spec, MINUTE, T0};

/// `percent_move` alerts over several windows, and a crosses alert, each cooling down 1 min.
fn alerts() -> Vec<IndexedAlert> {
    let moves = [(1, "0.5", 1), (2, "1", 5), (3, "0.8", 20), (4, "1.5", 30)];
    let mut alerts: Vec<IndexedAlert> = moves
        .iter()
        .map(|&(id, percent, window_minutes)| {
            spec(
                id,
                Rule::PercentMove {
                    percent: p(percent),
                    direction: MoveDirection::Either,
                    window_minutes,
                },
            )
        })
        .collect();
    alerts.push(spec(5, Rule::Crosses(p("100"))));
    for alert in &mut alerts {
        alert.cooldown_minutes = 1;
    }
    alerts
}

/// A seeded walk around 100, one tick every 10 s.
fn stream(ticks: usize) -> Vec<(String, Micros)> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..ticks)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let cents = 9_700 + state % 601;
            let price = format!("{}.{:02}", cents / 100, cents % 100);
            (price, T0 + i as Micros * MINUTE / 6)
        })
        .collect()
}

fn engine() -> Engine {
    // A 30-minute history is trimmed every few ticks: rollbacks must survive the trimming.
    let mut engine = Engine::new(EngineConfig {
        history_minutes: 30,
    });
    for alert in alerts() {
        engine.upsert(&alert);
    }
    engine
}

fn evaluate(engine: &mut Engine, price: &str, at: Micros) -> Vec<Fire> {
    let symbol = engine.symbol_id(&btc());
    let mut fires = Vec::new();
    engine.evaluate(symbol, p(price), at, &mut fires);
    fires.sort();
    fires
}

#[test]
fn a_batch_undone_and_decided_again_decides_what_single_ticks_decide() {
    let ticks = stream(3_000);
    let mut single = engine();
    let expected: Vec<(Micros, Vec<Fire>)> = ticks
        .iter()
        .map(|(price, at)| (*at, evaluate(&mut single, price, *at)))
        .collect();
    assert!(
        expected
            .iter()
            .filter(|(_, fires)| !fires.is_empty())
            .count()
            > 50,
        "the stream fires often enough to matter"
    );

    // What storage would hold of each alert: updated only by batches that are kept.
    let mut stored: HashMap<i64, IndexedAlert> = alerts().into_iter().map(|a| (a.id, a)).collect();
    let mut batched = engine();
    let mut decided = Vec::new();
    for (number, batch) in ticks.chunks(40).enumerate() {
        batched.begin_batch();
        let mut fires: Vec<(Micros, Vec<Fire>)> = batch
            .iter()
            .map(|(price, at)| (*at, evaluate(&mut batched, price, *at)))
            .collect();
        if number % 3 == 1 {
            // Refused: the histories go back, the alerts come back from storage, and the same
            // ticks are decided again one by one.
            assert_eq!(batched.undo_batch().len(), 1);
            for alert in stored.values() {
                batched.replace(alert);
            }
            fires = batch
                .iter()
                .map(|(price, at)| (*at, evaluate(&mut batched, price, *at)))
                .collect();
        } else {
            batched.keep_batch();
        }
        for (at, fired) in &fires {
            for fire in fired {
                let alert = stored.get_mut(&fire.alert_id).expect("a known alert");
                alert.last_triggered_at = Some(*at);
                alert.version += 1;
            }
        }
        decided.extend(fires);
    }
    let differences: Vec<_> = expected
        .iter()
        .zip(&decided)
        .filter(|(a, b)| a != b)
        .take(5)
        .collect();
    assert!(differences.is_empty(), "{differences:#?}");
}
