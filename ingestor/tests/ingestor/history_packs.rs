//! Day packs of 1-minute candles (`price_candle_days`): a long read through them gives exactly
//! the row candles, a write into a packed day unpacks it, the next pass packs it again, and
//! retention prunes packs with their candles. On PostgreSQL and SQLite.

use ingestor::history::{HistoryMetrics, HistoryStore, Pruner, RecordedTick};
use shared::config::HistorySettings;
use shared::domain::history::{Resolution, Tick};
use shared::on_pool;
use shared::storage::{Database, SeriesKey};
use testkit::{fresh_database, on_both_engines, Engine};

/// 2026-03-01T00:00:00Z, a UTC midnight.
const MIDNIGHT: i64 = 1_772_323_200;
const DAY: i64 = 86_400;

fn tick(second: i64, price: String) -> RecordedTick {
    RecordedTick {
        symbol: "BTC".parse().expect("symbol"),
        series: "s".to_owned(),
        tick: Tick {
            at_micros: second * 1_000_000,
            price: price.parse().expect("price"),
        },
        backfilled: false,
    }
}

const KEY: SeriesKey<'static> = SeriesKey {
    symbol: "BTC",
    series: "s",
};

async fn packs(db: &Database) -> i64 {
    const SQL: &str = "select count(*) from price_candle_days";
    on_pool!(db, pool => sqlx::query_scalar::<_, i64>(SQL).fetch_one(pool).await).expect("count")
}

/// The read through the packs equals the rows' over the whole span and over ranges that
/// start and end inside days.
async fn assert_reads_agree(db: &Database) {
    let ranges = [
        (MIDNIGHT - DAY, MIDNIGHT + 7 * DAY),
        (MIDNIGHT + 90 * 60, MIDNIGHT + 3 * DAY + 17 * 60),
        (MIDNIGHT + DAY, MIDNIGHT + 2 * DAY),
        (MIDNIGHT + 4 * DAY + 600, MIDNIGHT + 5 * DAY + 3_600),
    ];
    for range in ranges {
        let rows = db
            .candles(KEY, Resolution::Minute, range, i64::MAX, false)
            .await
            .expect("rows");
        let packed = db.minute_candles(KEY, range).await.expect("through packs");
        assert_eq!(packed, rows, "range {range:?}");
    }
    let everything = (MIDNIGHT - DAY, MIDNIGHT + 100 * DAY);
    assert!(!db
        .minute_candles(KEY, everything)
        .await
        .expect("read")
        .is_empty());
}

async fn packed_days_read_as_their_rows_and_a_late_write_unpacks_its_day(engine: Engine) {
    let database = fresh_database(engine).await;
    let db = &database.db;
    let store = HistoryStore::new(db.clone());
    // Five whole days and two hours of a sixth: a tick every 7 minutes and 13 seconds, prices
    // with changing scales.
    let ticks: Vec<RecordedTick> = (0..(5 * DAY + 7_200) / 433)
        .map(|i| {
            tick(
                MIDNIGHT + i * 433,
                format!("{}.{}", 60_000 + i % 97, i % 1_000),
            )
        })
        .collect();
    store.record(&ticks).await.expect("recorded");
    let pruner = Pruner::new(
        store.clone(),
        HistoryMetrics::register(&prometheus::Registry::new()),
        HistorySettings::default(),
        vec![("BTC".to_owned(), "s".to_owned())],
    );
    // The sixth day is still open, and the fifth closed less than the grace hour ago.
    let now = MIDNIGHT + 5 * DAY + 1_800;
    assert_eq!(pruner.pack_once(now).await.expect("packed"), 4);
    let now = MIDNIGHT + 5 * DAY + 7_200;
    assert_eq!(pruner.pack_once(now).await.expect("packed"), 1);
    assert_eq!(pruner.pack_once(now).await.expect("nothing left"), 0);
    assert_eq!(packs(db).await, 5);
    assert_reads_agree(db).await;

    // A late tick changes a candle of day 2: its pack goes in the same transaction.
    store
        .record(&[tick(MIDNIGHT + 2 * DAY + 433 * 3 + 1, "1.5".to_owned())])
        .await
        .expect("recorded");
    assert_eq!(packs(db).await, 4);
    assert_reads_agree(db).await;
    assert_eq!(pruner.pack_once(now).await.expect("repacked"), 1);
    assert_eq!(packs(db).await, 5);
    assert_reads_agree(db).await;

    // Retention: packs of days wholly before the 1-minute cutoff go with their candles, and
    // the day the cutoff falls in is read from its rows.
    let later = MIDNIGHT + 92 * DAY + 3_600;
    pruner.prune_once(later).await.expect("pruned");
    assert_eq!(
        packs(db).await,
        2,
        "days 0, 1 and 2 start before the cutoff"
    );
    // Day 2 stays unpacked (its rows are partly pruned); day 5 has closed since.
    assert_eq!(pruner.pack_once(later).await.expect("packed"), 1);
    assert_eq!(packs(db).await, 3);
    assert_reads_agree(db).await;
}

on_both_engines!(packed_days_read_as_their_rows_and_a_late_write_unpacks_its_day,);
