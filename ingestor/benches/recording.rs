//! The recorder's cost per tick and the bytes history takes on disk, on PostgreSQL and SQLite.
//!
//! Run: `cargo bench -p ingestor --bench recording`. Two loads through the real
//! `HistoryStore::record` (what the recorder's consume loop calls per batch):
//! - `1 tick/s`: 55 symbols ticking every second for 10 minutes, one batch per second;
//! - `1 tick/min`: 55 symbols ticking once a minute (the live providers' pace) for a day,
//!   one batch per minute, which also fills 79,200 one-minute candles to weigh.
//!
//! PostgreSQL runs twice: with the covering primary keys the migrations ship
//! (`20261204170000_history_covering_keys.sql`, for index-only history reads), and with the
//! plain keys they replaced, as the baseline for what covering costs the writer.

use std::time::Instant;

use ingestor::history::{HistoryStore, RecordedTick};
use shared::domain::history::Tick;
use shared::domain::{Price, Symbol};
use shared::on_pool;
use shared::storage::Database;
use testkit::{fresh_database, Engine};

const MIDNIGHT: i64 = 1_772_323_200;

fn symbols() -> Vec<Symbol> {
    shared::catalogue::Catalogue::default()
        .symbols()
        .cloned()
        .collect()
}

fn batch(symbols: &[Symbol], second: i64, n: i64) -> Vec<RecordedTick> {
    symbols
        .iter()
        .enumerate()
        .map(|(i, symbol)| RecordedTick {
            symbol: symbol.clone(),
            series: "coingecko".to_owned(),
            tick: Tick {
                at_micros: second * 1_000_000 + 250_000,
                price: Price::new(rust_decimal::Decimal::new(
                    6_512_345_678 + (n * 7919 + i as i64 * 104_729) % 1_000_000,
                    5,
                )),
            },
            backfilled: false,
        })
        .collect()
}

async fn bytes(db: &Database, table: &str) -> Option<i64> {
    let sql = if db.is_embedded() {
        format!("select sum(pgsize) from dbstat where name = '{table}'")
    } else {
        format!("select pg_total_relation_size('{table}')")
    };
    on_pool!(db, pool => sqlx::query_scalar::<_, Option<i64>>(&sql).fetch_one(pool).await)
        .ok()
        .flatten()
}

async fn rows(db: &Database, table: &str, filter: &str) -> i64 {
    let sql = format!("select count(*) from {table} {filter}");
    on_pool!(db, pool => sqlx::query_scalar::<_, i64>(&sql).fetch_one(pool).await).expect("count")
}

/// Which primary keys the history tables have.
#[derive(Debug, Clone, Copy)]
enum Keys {
    Shipped,
    /// PostgreSQL's keys before they carried every column.
    Plain,
}

async fn fresh(engine: Engine, keys: Keys) -> testkit::TestDatabase {
    let database = fresh_database(engine).await;
    if let Keys::Plain = keys {
        for sql in [
            "alter table price_candles drop constraint price_candles_pkey, \
             add primary key (symbol, series, resolution, bucket)",
            "alter table price_points drop constraint price_points_pkey, \
             add primary key (symbol, series, second)",
        ] {
            on_pool!(&database.db, pool => sqlx::query(sql).execute(pool).await.map(|_| ()))
                .expect("plain keys");
        }
    }
    database
}

async fn run(engine: Engine, keys: Keys) {
    let symbols = symbols();
    let engine_label = format!("{engine:?} ({keys:?} keys)");
    let database = fresh(engine, keys).await;
    let store = HistoryStore::new(database.db.clone());
    let started = Instant::now();
    let mut ticks = 0;
    for s in 0..600 {
        let ticks_now = batch(&symbols, MIDNIGHT + s, s);
        store.record(&ticks_now).await.expect("recorded");
        ticks += ticks_now.len();
    }
    let per_tick = started.elapsed().as_secs_f64() / ticks as f64;
    println!(
        "{engine_label} 1 tick/s: {ticks} ticks in batches of {}: {:.1} µs per tick ({:.0} ticks/s)",
        symbols.len(),
        per_tick * 1e6,
        1.0 / per_tick
    );

    let database = fresh(engine, keys).await;
    let store = HistoryStore::new(database.db.clone());
    let started = Instant::now();
    let mut ticks = 0;
    for m in 0..1_440 {
        let ticks_now = batch(&symbols, MIDNIGHT + m * 60, m);
        store.record(&ticks_now).await.expect("recorded");
        ticks += ticks_now.len();
    }
    let per_tick = started.elapsed().as_secs_f64() / ticks as f64;
    println!(
        "{engine_label} 1 tick/min: {ticks} ticks in batches of {}: {:.1} µs per tick",
        symbols.len(),
        per_tick * 1e6
    );
    let db = &database.db;
    let points = rows(db, "price_points", "").await;
    let candles = rows(db, "price_candles", "").await;
    match (bytes(db, "price_points").await, bytes(db, "price_candles").await) {
        (Some(p), Some(c)) => println!(
            "{engine_label} on disk: {points} points {p} B ({:.1} B/point), {candles} candles {c} B ({:.1} B/candle, tables with their indexes)",
            p as f64 / points as f64,
            c as f64 / candles as f64
        ),
        _ => println!("{engine_label} on disk: table sizes unavailable"),
    }
}

#[tokio::main]
async fn main() {
    run(Engine::Postgres, Keys::Shipped).await;
    run(Engine::Postgres, Keys::Plain).await;
    run(Engine::Sqlite, Keys::Shipped).await;
}
