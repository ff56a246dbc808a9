//! Latency of the history API and of backtests on PostgreSQL (and SQLite), through the real
//! gateway over loopback HTTP: `history?interval=1h` over one year (8,760 stored 1-hour
//! candles), `interval=1m` for one day (1,440), and a 30-day backtest at 1-minute resolution
//! (43,200 candles walked, 4 steps each).
//!
//! Each 30-day backtest runs first over row candles, then once the closed days are packed
//! (`price_candle_days`, one row per day), in the same run. On PostgreSQL one more
//! comparison, with its baseline in the same run: the 30-day backtest of a symbol whose
//! candles are stored interleaved with 54 others, as the recorder appends them minute by
//! minute, with the covering primary key of `20261204170000_history_covering_keys.sql`, then
//! packed, then (packs dropped) with the plain key it replaced.
//!
//! Run: `cargo bench -p gateway --bench history_api` (`HISTORY_BENCH_ENGINE=sqlite` for
//! SQLite; `HISTORY_BENCH_REQUESTS` per case, default 200).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use shared::bus::InProcessBus;
use shared::config::Settings;
use shared::context::ServiceContext;
use shared::domain::history::pack::{day_of, DAY_SECONDS};
use shared::domain::Price;
use shared::storage::{Database, EnginePool, SeriesKey};
use sqlx::PgPool;
use testkit::{fresh_database, store_history, Engine, TempDir};
use tokio_util::sync::CancellationToken;

fn price(i: i64) -> Price {
    // A slow wave between ~60,000 and ~70,000, in cents.
    let cents = 6_500_000 + ((i % 2_000) - 1_000) * 500;
    Price::new(rust_decimal::Decimal::new(cents, 2))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

async fn measure(
    what: &str,
    requests: usize,
    mut send: impl FnMut() -> reqwest::RequestBuilder,
) -> Value {
    let mut times = Vec::with_capacity(requests);
    let mut last = Value::Null;
    for i in 0..requests + 10 {
        let started = Instant::now();
        let response = send().send().await.expect("request");
        let status = response.status();
        // The clock stops when the whole body has arrived: the client's own JSON parsing
        // (hundreds of kilobytes into a `Value`) is not the server's latency.
        let body = response.bytes().await.expect("body");
        if i >= 10 {
            times.push(started.elapsed());
        }
        assert!(status.is_success(), "{what}: {status}");
        if i == requests + 9 {
            last = serde_json::from_slice(&body).expect("json");
        }
    }
    times.sort();
    println!(
        "{what}: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms ({requests} requests)",
        percentile(&times, 0.5).as_secs_f64() * 1e3,
        percentile(&times, 0.99).as_secs_f64() * 1e3,
        times[times.len() - 1].as_secs_f64() * 1e3,
    );
    last
}

#[tokio::main]
async fn main() {
    let engine = match std::env::var("HISTORY_BENCH_ENGINE").as_deref() {
        Ok("sqlite") => Engine::Sqlite,
        _ => Engine::Postgres,
    };
    let requests: usize = std::env::var("HISTORY_BENCH_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let database = fresh_database(engine).await;
    let now = chrono::Utc::now().timestamp();
    let hour = now.div_euclid(3_600) * 3_600;
    let minute = now.div_euclid(60) * 60;
    // BTC: a point per hour for a year (1-hour candles); ETH: a point per minute for a day;
    // SOL: a point per minute for 30 days, raw points pruned (the backtest walks 1m candles).
    let year: Vec<(i64, Price)> = (0..8_760)
        .map(|i| (hour - (8_759 - i) * 3_600, price(i)))
        .collect();
    let day: Vec<(i64, Price)> = (0..1_440)
        .map(|i| (minute - (1_439 - i) * 60, price(i)))
        .collect();
    let month: Vec<(i64, Price)> = (0..43_200)
        .map(|i| (minute - (43_199 - i) * 60, price(i)))
        .collect();
    let loading = Instant::now();
    store_history(&database.db, "BTC", "coingecko", &year, false).await;
    store_history(&database.db, "ETH", "coingecko", &day, false).await;
    store_history(&database.db, "SOL", "coingecko", &month, false).await;
    println!(
        "engine {engine:?}: history stored in {:.1} s",
        loading.elapsed().as_secs_f64()
    );

    let data_dir = TempDir::new("pa-history-bench");
    let mut settings = Settings {
        data_dir: data_dir.0.clone(),
        ..testkit::loopback_settings()
    };
    settings.gateway.jwt_secret = Some("a-benchmark-secret-of-32-bytes-or-more".to_owned().into());
    settings.gateway.api_requests_per_second_per_user = 100_000;
    let context = ServiceContext::new(
        settings,
        database.db.clone(),
        Arc::new(InProcessBus::new(64)),
    );
    let app = gateway::Application::build(context)
        .await
        .expect("gateway builds");
    let base = format!("http://127.0.0.1:{}", app.port());
    let shutdown = CancellationToken::new();
    tokio::spawn(app.run_until_stopped(shutdown.clone()));
    let client = reqwest::Client::new();

    let iso = |second: i64| {
        chrono::DateTime::from_timestamp(second, 0)
            .expect("time")
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    let year_url = format!(
        "{base}/prices/BTC/history?interval=1h&limit=5000&from={}",
        iso(hour - 8_759 * 3_600)
    );
    let body = measure(
        "history 1h, one year, newest 5,000 (API maximum)",
        requests,
        || client.get(&year_url),
    )
    .await;
    assert_eq!(body["candles"].as_array().map(Vec::len), Some(5_000));
    let four_url = format!(
        "{base}/prices/BTC/history?interval=4h&limit=5000&from={}",
        iso(hour - 8_759 * 3_600)
    );
    let body = measure(
        "history 4h, one year (all 8,760 1h candles read and rolled up)",
        requests,
        || client.get(&four_url),
    )
    .await;
    assert!(body["candles"].as_array().map_or(0, Vec::len) >= 2_190);
    let day_url = format!("{base}/prices/ETH/history?interval=1m&limit=1440");
    let body = measure("history 1m, one day (1,440 candles)", requests, || {
        client.get(&day_url)
    })
    .await;
    assert_eq!(body["candles"].as_array().map(Vec::len), Some(1_440));

    let email = "bench@example.com";
    let password = "correct horse battery";
    client
        .post(format!("{base}/auth/register"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .expect("register");
    let login: Value = client
        .post(format!("{base}/auth/login"))
        .form(&[("username", email), ("password", password)])
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("token");
    let token = login["access_token"].as_str().expect("token").to_owned();
    let backtest = json!({"symbol": "SOL", "condition": "crosses", "target_price": 65000,
        "cooldown_minutes": 5, "from": iso(minute - 43_199 * 60), "to": iso(minute)});
    let body = measure(
        "backtest, 30 days at 1m (43,200 candles)",
        requests.min(100),
        || {
            client
                .post(format!("{base}/backtest"))
                .bearer_auth(&token)
                .json(&backtest)
        },
    )
    .await;
    assert_eq!(body["resolution"], "1m");
    println!(
        "backtest: {} fires, {} points walked",
        body["count"], body["evaluated_points"]
    );
    // The same backtest once the recorder has packed the closed days (today stays rows).
    pack_closed_days(&database.db, "SOL", minute - 43_199 * 60, minute).await;
    let packed = measure(
        "backtest, 30 days at 1m (43,200 candles), closed days packed",
        requests.min(100),
        || {
            client
                .post(format!("{base}/backtest"))
                .bearer_auth(&token)
                .json(&backtest)
        },
    )
    .await;
    assert_eq!(
        packed["fires"], body["fires"],
        "the same fires from the packs"
    );
    if let EnginePool::Postgres(pool) = database.db.engine_pool() {
        store_interleaved_month(pool, minute).await;
        let backtest = json!({"symbol": "XRP", "condition": "crosses", "target_price": 65000,
            "cooldown_minutes": 5, "from": iso(minute - 43_199 * 60), "to": iso(minute)});
        let run = |what: &'static str| {
            measure(what, requests.min(100), || {
                client
                    .post(format!("{base}/backtest"))
                    .bearer_auth(&token)
                    .json(&backtest)
            })
        };
        let body = run("backtest, 30 days at 1m, interleaved with 54 symbols, covering key").await;
        // Its candles have distinct open, high, low and close: up to four steps each.
        assert!(body["evaluated_points"].as_u64() > Some(43_200), "{body}");
        pack_closed_days(&database.db, "XRP", minute - 43_199 * 60, minute).await;
        let packed =
            run("backtest, 30 days at 1m, interleaved with 54 symbols, closed days packed").await;
        assert_eq!(
            packed["fires"], body["fires"],
            "the same fires from the packs"
        );
        let (packs, bytes): (i64, i64) = sqlx::query_as(
            "select count(*), pg_total_relation_size('price_candle_days') from price_candle_days",
        )
        .fetch_one(pool)
        .await
        .expect("pack sizes");
        println!(
            "day packs on disk: {packs} packs (SOL's and XRP's), {bytes} bytes, {} bytes per pack",
            bytes / packs.max(1)
        );
        sqlx::query("delete from price_candle_days")
            .execute(pool)
            .await
            .expect("packs dropped for the baseline");
        sqlx::query(
            "alter table price_candles drop constraint price_candles_pkey, \
             add primary key (symbol, series, resolution, bucket)",
        )
        .execute(pool)
        .await
        .expect("plain key");
        sqlx::query("vacuum analyze price_candles")
            .execute(pool)
            .await
            .expect("vacuum");
        run("backtest, 30 days at 1m, interleaved with 54 symbols, plain key (before)").await;
    }
    shutdown.cancel();
}

/// Packs every day of `symbol`'s 1-minute candles from the one holding `from` up to, not
/// including, the one holding `now`, as the ingestor's pruner does once a day has closed.
async fn pack_closed_days(db: &Database, symbol: &str, from: i64, now: i64) {
    let started = Instant::now();
    let key = SeriesKey {
        symbol,
        series: "coingecko",
    };
    let mut packed = 0;
    let mut day = day_of(from);
    while day < day_of(now) {
        if db.pack_minutes_of_day(key, day).await.expect("packed") {
            packed += 1;
        }
        day += DAY_SECONDS;
    }
    println!(
        "{symbol}: {packed} closed days packed in {:.2} s",
        started.elapsed().as_secs_f64()
    );
}

/// 30 days of one-minute candles for XRP and 54 other symbols, appended minute by minute as
/// the recorder writes them, so each symbol's rows are spread over the whole table; then the
/// vacuum autovacuum would run on a table that large.
async fn store_interleaved_month(pool: &PgPool, minute: i64) {
    let started = Instant::now();
    let mut symbols = vec!["XRP".to_owned()];
    symbols.extend((1..=54).map(|i| format!("FILLER{i:02}")));
    sqlx::query(
        "insert into price_candles (symbol, series, resolution, bucket, open, high, low, close, \
             first_second, last_second, ticks) \
         select s, 'coingecko', '1m', b, p, p + 1, p - 1, p, b, b + 59, 1 \
         from generate_series(0, 43199) m \
         cross join lateral (select $1 - (43199 - m) * 60 as b, \
             65000.00 + (m % 2000 - 1000) * 5 as p) v \
         cross join unnest($2::text[]) s order by m, s",
    )
    .bind(minute)
    .bind(&symbols)
    .execute(pool)
    .await
    .expect("interleaved month");
    sqlx::query("vacuum analyze price_candles")
        .execute(pool)
        .await
        .expect("vacuum");
    println!(
        "2,376,000 interleaved candles stored in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
