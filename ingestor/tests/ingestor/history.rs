//! The recorder's storage on both engines: candles equal a recomputation from the raw ticks
//! whatever order ticks arrive in and however often; UTC boundaries; retention; restarts.

use std::collections::BTreeMap;

use ingestor::history::{HistoryMetrics, HistoryStore, Pruner, RecordedTick};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use shared::config::HistorySettings;
use shared::domain::history::{candles_of, last_per_second, Candle, Point, Resolution, Tick};
use shared::domain::Price;
use shared::storage::{Database, SeriesKey};
use testkit::{fresh_database, on_both_engines, Engine};

/// 2026-03-01T00:00:00Z, a UTC midnight.
const MIDNIGHT: i64 = 1_772_323_200;
const ALL_TIME: (i64, i64) = (i64::MIN / 2, i64::MAX / 2);

fn p(text: &str) -> Price {
    text.parse().expect("price")
}

fn tick(series: &str, at_micros: i64, price: &str) -> RecordedTick {
    RecordedTick {
        symbol: "BTC".parse().expect("symbol"),
        series: series.to_owned(),
        tick: Tick {
            at_micros,
            price: p(price),
        },
        backfilled: false,
    }
}

fn key(series: &str) -> SeriesKey<'_> {
    SeriesKey {
        symbol: "BTC",
        series,
    }
}

async fn stored(db: &Database, series: &str) -> (Vec<Point>, BTreeMap<Resolution, Vec<Candle>>) {
    let points = db.points(key(series), ALL_TIME).await.expect("points");
    let mut candles = BTreeMap::new();
    for resolution in Resolution::ALL {
        let found = db
            .candles(key(series), resolution, ALL_TIME, i64::MAX, false)
            .await
            .expect("candles");
        candles.insert(resolution, found);
    }
    (points, candles)
}

/// Random tick streams over two days and a bit (minutes, hours and a day boundary crossed),
/// several ticks often in one second, delivered in random batches, in random order, a third
/// of them twice.
fn deliveries() -> impl Strategy<Value = (Vec<(i64, i64, u32)>, Vec<usize>, u64)> {
    (
        proptest::collection::vec((0i64..200, 0i64..1_000, 1u32..1_000_000), 1..120),
        proptest::collection::vec(1usize..20, 1..20),
        proptest::num::u64::ANY,
    )
}

async fn candles_equal_a_recomputation_from_the_raw_ticks(engine: Engine) {
    let database = fresh_database(engine).await;
    let store = HistoryStore::new(database.db.clone());
    let mut runner = TestRunner::deterministic();
    for case in 0..12 {
        let (raw, batch_sizes, seed) = deliveries()
            .new_tree(&mut runner)
            .expect("a case")
            .current();
        let series = format!("case{case}");
        let ticks: Vec<RecordedTick> = raw
            .iter()
            .enumerate()
            .map(|(i, (slot, millis, cents))| {
                // 200 possible seconds ~15 minutes apart; distinct microseconds (two different
                // quotes never share one).
                let second = MIDNIGHT - 3_600 + slot * 911;
                let at = second * 1_000_000 + millis * 1_000 + i as i64;
                let price = Price::new(rust_decimal::Decimal::new(i64::from(*cents), 3));
                tick(&series, at, &price.to_string())
            })
            .collect();
        let mut delivered: Vec<RecordedTick> = ticks.clone();
        delivered.extend(ticks.iter().step_by(3).cloned());
        let n = delivered.len();
        for i in 0..n {
            let j = (seed.wrapping_mul(i as u64 + 7) % n as u64) as usize;
            delivered.swap(i, j);
        }
        let mut rest = delivered.as_slice();
        for size in batch_sizes.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (batch, more) = rest.split_at((*size).min(rest.len()));
            store.record(batch).await.expect("recorded");
            rest = more;
        }
        let expected_points = last_per_second(&ticks.iter().map(|t| t.tick).collect::<Vec<_>>());
        let (points, candles) = stored(&database.db, &series).await;
        assert_eq!(points, expected_points, "case {case}: raw points");
        for resolution in Resolution::ALL {
            assert_eq!(
                candles[&resolution],
                candles_of(&expected_points, resolution.seconds()),
                "case {case}: {resolution} candles"
            );
        }
    }
}

async fn candles_start_on_utc_minute_hour_and_day_boundaries(engine: Engine) {
    let database = fresh_database(engine).await;
    let store = HistoryStore::new(database.db.clone());
    let last_of_day = (MIDNIGHT - 1) * 1_000_000 + 999_999;
    let first_of_next = MIDNIGHT * 1_000_000;
    store
        .record(&[
            tick("s", last_of_day, "100.5"),
            tick("s", first_of_next, "101.25"),
        ])
        .await
        .expect("recorded");
    let (_, candles) = stored(&database.db, "s").await;
    for (resolution, seconds) in [
        (Resolution::Minute, 60),
        (Resolution::Hour, 3_600),
        (Resolution::Day, 86_400),
    ] {
        let starts: Vec<(i64, Price)> = candles[&resolution]
            .iter()
            .map(|c| (c.start, c.close))
            .collect();
        assert_eq!(
            starts,
            vec![(MIDNIGHT - seconds, p("100.5")), (MIDNIGHT, p("101.25"))],
            "{resolution}"
        );
    }
}

async fn a_redelivered_or_superseded_tick_changes_nothing(engine: Engine) {
    let database = fresh_database(engine).await;
    let store = HistoryStore::new(database.db.clone());
    let at = MIDNIGHT * 1_000_000 + 500_000;
    store
        .record(&[tick("s", at - 400_000, "99"), tick("s", at, "100")])
        .await
        .expect("recorded");
    let before = stored(&database.db, "s").await;
    // The same tick again, and an earlier one of the same second arriving late.
    let changed = store
        .record(&[tick("s", at, "100"), tick("s", at - 200_000, "98")])
        .await
        .expect("recorded again");
    assert_eq!(changed, 0);
    assert_eq!(stored(&database.db, "s").await, before);
    assert_eq!(
        before.0,
        vec![Point {
            second: MIDNIGHT,
            price: p("100")
        }]
    );
}

async fn retention_prunes_exactly_what_is_older_than_the_window(engine: Engine) {
    let database = fresh_database(engine).await;
    let store = HistoryStore::new(database.db.clone());
    let settings = HistorySettings {
        prune_batch: 2,
        ..HistorySettings::default()
    };
    let now = MIDNIGHT + 100 * 86_400 + 30;
    let raw_cutoff = now - 2 * 86_400;
    let minute_cutoff = now - 90 * 86_400;
    let mut ticks = Vec::new();
    for second in [raw_cutoff - 61, raw_cutoff - 1, raw_cutoff, raw_cutoff + 1] {
        ticks.push(tick("s", second * 1_000_000, "1"));
    }
    for second in [minute_cutoff - 60, minute_cutoff - 1, minute_cutoff + 59] {
        ticks.push(tick("s", second * 1_000_000, "2"));
    }
    store.record(&ticks).await.expect("recorded");
    let pruner = Pruner::new(
        store.clone(),
        HistoryMetrics::register(&prometheus::Registry::new()),
        settings,
        vec![("BTC".to_owned(), "s".to_owned())],
    );
    let deleted = pruner.prune_once(now).await.expect("pruned");
    let (points, candles) = stored(&database.db, "s").await;
    let seconds: Vec<i64> = points.iter().map(|p| p.second).collect();
    assert_eq!(seconds, vec![raw_cutoff, raw_cutoff + 1]);
    let minute_starts: Vec<i64> = candles[&Resolution::Minute]
        .iter()
        .map(|c| c.start)
        .collect();
    // Buckets starting before the cutoff go; the one starting at it (or after) stays.
    let first_kept = minute_cutoff.div_euclid(60) * 60 + 60;
    assert!(
        minute_starts.iter().all(|s| *s >= minute_cutoff),
        "{minute_starts:?}"
    );
    assert!(minute_starts.contains(&first_kept), "{minute_starts:?}");
    let days: std::collections::BTreeSet<i64> = ticks
        .iter()
        .map(|t| t.tick.second().div_euclid(86_400))
        .collect();
    assert_eq!(
        candles[&Resolution::Day].len(),
        days.len(),
        "1-day candles are kept forever"
    );
    assert!(deleted >= 5, "{deleted} rows deleted in batches of 2");
    assert_eq!(pruner.prune_once(now).await.expect("pruned again"), 0);
}

async fn history_survives_a_restart(engine: Engine) {
    let database = fresh_database(engine).await;
    let store = HistoryStore::new(database.db.clone());
    store
        .record(&[tick("s", MIDNIGHT * 1_000_000, "42.125")])
        .await
        .expect("recorded");
    let before = stored(&database.db, "s").await;
    database.db.close().await;
    let reopened = Database::connect(&database.url, 2).await.expect("reopen");
    assert_eq!(stored(&reopened, "s").await, before);
    assert_eq!(before.1[&Resolution::Day][0].close, p("42.125"));
    reopened.close().await;
}

on_both_engines!(
    candles_equal_a_recomputation_from_the_raw_ticks,
    candles_start_on_utc_minute_hour_and_day_boundaries,
    a_redelivered_or_superseded_tick_changes_nothing,
    retention_prunes_exactly_what_is_older_than_the_window,
    history_survives_a_restart,
);

/// SQLite gives the pages pruning freed back to the file system (incremental vacuum).
#[tokio::test]
async fn sqlite_reclaims_the_space_pruning_frees() {
    let database = fresh_database(Engine::Sqlite).await;
    let store = HistoryStore::new(database.db.clone());
    let pragma = |name: &'static str| {
        let db = database.db.clone();
        async move {
            shared::on_pool!(&db, pool => sqlx::query_scalar::<_, i64>(&format!("pragma {name}"))
                .fetch_one(pool)
                .await)
            .expect("pragma")
        }
    };
    assert_eq!(pragma("auto_vacuum").await, 2, "incremental");
    let ticks: Vec<RecordedTick> = (0..3_000)
        .map(|i| tick("s", (MIDNIGHT + i) * 1_000_000, "12345.678"))
        .collect();
    for chunk in ticks.chunks(500) {
        store.record(chunk).await.expect("recorded");
    }
    let filled = pragma("page_count").await;
    let pruner = Pruner::new(
        store.clone(),
        HistoryMetrics::register(&prometheus::Registry::new()),
        HistorySettings::default(),
        vec![("BTC".to_owned(), "s".to_owned())],
    );
    let deleted = pruner
        .prune_once(MIDNIGHT + 10 * 86_400)
        .await
        .expect("pruned");
    assert_eq!(
        deleted, 3_000,
        "every raw point (the candles are younger than 90 days)"
    );
    assert_eq!(
        pragma("freelist_count").await,
        0,
        "no free page left behind"
    );
    let after = pragma("page_count").await;
    assert!(
        after < filled,
        "{after} pages after pruning, {filled} before"
    );
}
