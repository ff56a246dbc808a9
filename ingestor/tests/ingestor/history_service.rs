//! The recorder as a service: ticks read back from the bus in a consumer group of its own,
//! simulated ticks in a series of their own, a full disk that pauses recording without
//! holding up anyone else's ticks, and the start-up backfill within the providers' budgets.

use std::sync::Arc;
use std::time::Duration;

use ingestor::history::{History, HistorySource};
use serde_json::{json, Value};
use shared::bus::{publish_json, EventBus, InProcessBus, Topic};
use shared::catalogue::ProviderKind;
use shared::config::PriceSource;
use shared::context::ServiceContext;
use shared::domain::history::Resolution;
use shared::events::{PriceTick, SCHEMA_VERSION};
use shared::storage::{Database, SeriesKey};
use shared::{on_pool, on_write_pool};
use testkit::{eventually, fresh_database, Engine};
use tokio_util::sync::CancellationToken;

use super::budget::assert_within_budget;
use super::fake_providers::{Canned, FakeProviders};
use super::fixtures::{instrument, yahoo_aapl_chart, yahoo_wsu_de_chart};
use super::helpers::*;

const ALL_TIME: (i64, i64) = (i64::MIN / 2, i64::MAX / 2);

fn gathered(registry: &prometheus::Registry, name: &str, label: Option<(&str, &str)>) -> f64 {
    registry
        .gather()
        .iter()
        .filter(|family| family.get_name() == name)
        .flat_map(|family| family.get_metric().to_vec())
        .filter(|metric| {
            label.is_none_or(|(k, v)| {
                metric
                    .get_label()
                    .iter()
                    .any(|l| l.get_name() == k && l.get_value() == v)
            })
        })
        .map(|metric| {
            if metric.has_counter() {
                metric.get_counter().get_value()
            } else {
                metric.get_gauge().get_value()
            }
        })
        .sum()
}

async fn count_points(db: &Database, symbol: &str, series: &str, backfilled: bool) -> i64 {
    const SQL: &str = "select count(*) from price_points \
         where symbol = $1 and series = $2 and backfilled = $3";
    on_pool!(db, pool => sqlx::query_scalar::<_, i64>(SQL)
        .bind(symbol)
        .bind(series)
        .bind(backfilled)
        .fetch_one(pool)
        .await)
    .expect("count points")
}

#[tokio::test]
async fn simulated_ticks_are_recorded_in_a_series_of_their_own() {
    let fake = FakeProviders::start().await;
    let mut settings = test_settings(&fake);
    settings.ingestor.price_source = PriceSource::Simulated;
    settings.ingestor.simulated.interval = Duration::from_millis(200);
    let ingestor = spawn_ingestor(settings, Engine::Sqlite).await;
    let db = ingestor.database.db.clone();
    let simulated = SeriesKey {
        symbol: "BTC",
        series: "simulated",
    };
    eventually("BTC's simulated ticks have a 1-day candle", || {
        let db = db.clone();
        async move {
            let candles = db
                .candles(simulated, Resolution::Day, ALL_TIME, 10, false)
                .await
                .expect("candles");
            candles.first().is_some_and(|c| c.ticks >= 2)
        }
    })
    .await;
    assert_eq!(count_points(&db, "BTC", "coingecko", false).await, 0);
    ingestor
        .wait_for_metric("ingestor_history_ticks_recorded_total", &[], |v| v >= 2.0)
        .await;
}

#[tokio::test]
async fn a_full_disk_pauses_recording_and_everyone_else_still_gets_every_tick() {
    let database = fresh_database(Engine::Sqlite).await;
    // The size limit is set on the writing connection, which every write goes through.
    let db = Database::connect(&database.url, 1).await.expect("connect");
    on_write_pool!(&db, pool => async {
        let pages: i64 = sqlx::query_scalar("pragma page_count").fetch_one(pool).await?;
        sqlx::query(&format!("pragma max_page_count = {pages}")).execute(pool).await?;
        Ok::<_, sqlx::Error>(())
    }.await)
    .expect("limit the database to its current size");
    let bus = Arc::new(InProcessBus::new(64));
    let mut evaluator = bus
        .subscribe(Topic::PriceEvents, "stand-in-evaluator")
        .await
        .expect("subscribe");
    let mut settings = testkit::loopback_settings();
    settings.history.disk_full_pause = Duration::from_secs(3_600);
    let context = ServiceContext::new(settings, db.clone(), bus.clone());
    let registry = prometheus::Registry::new();
    let history = History::build(&context, &registry, vec![])
        .await
        .expect("history builds")
        .expect("history is on by default");
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(history.run(shutdown.clone()));
    let now = chrono::Utc::now();
    let published = 600;
    let publishing = async {
        for i in 0..published {
            let tick = PriceTick {
                schema_version: SCHEMA_VERSION,
                symbol: "BTC".parse().expect("symbol"),
                price: format!("{}.5", 60_000 + i).parse().expect("price"),
                previous_price: None,
                currency: "USD".to_owned(),
                source: "coingecko".to_owned(),
                timestamp: now - chrono::TimeDelta::seconds(published - i),
                received_at: now,
                conversion: None,
            };
            publish_json(bus.as_ref(), Topic::PriceEvents, "BTC", &tick)
                .await
                .expect("published");
        }
    };
    let receiving = async {
        for _ in 0..published {
            tokio::time::timeout(DEADLINE, evaluator.next())
                .await
                .expect("every tick reaches the other consumer in time")
                .expect("bus open");
        }
    };
    tokio::join!(publishing, receiving);
    eventually(
        "recording is paused and the rest counted as dropped",
        || async {
            let paused = gathered(&registry, "ingestor_history_recording_paused", None);
            let dropped = gathered(
                &registry,
                "ingestor_history_ticks_dropped_total",
                Some(("reason", "disk_full")),
            ) + gathered(
                &registry,
                "ingestor_history_ticks_dropped_total",
                Some(("reason", "paused")),
            );
            let recorded = gathered(&registry, "ingestor_history_ticks_recorded_total", None);
            (paused == 1.0 && dropped + recorded == published as f64)
                .then_some(())
                .ok_or_else(|| format!("paused {paused}, dropped {dropped}, recorded {recorded}"))
        },
    )
    .await;
    shutdown.cancel();
    running.await.expect("history stops");
}

/// The AAPL recording with its bars moved to `times` at `closes`, as a v8 chart answer.
fn yahoo_history(times: &[i64], closes: &[&str], market_time: i64) -> String {
    let mut body: Value = serde_json::from_str(&yahoo_aapl_chart()).expect("chart");
    let result = &mut body["chart"]["result"][0];
    result["timestamp"] = json!(times);
    let closes: Vec<Value> = closes
        .iter()
        .map(|c| serde_json::from_str(c).expect("number"))
        .collect();
    result["indicators"]["quote"][0]["close"] = Value::Array(closes);
    result["meta"]["regularMarketTime"] = json!(market_time);
    body.to_string()
}

#[test]
fn the_recorded_yahoo_charts_and_a_documented_market_chart_parse_exactly() {
    let yahoo = HistorySource::Yahoo {
        ticker: "AAPL".to_owned(),
    };
    let aapl = yahoo.parse(yahoo_aapl_chart().as_bytes()).expect("AAPL");
    assert_eq!(aapl.len(), 1);
    assert_eq!(
        (aapl[0].second(), aapl[0].price.to_string().as_str()),
        (1_577_975_400, "75.0875015258789")
    );
    let washtec = yahoo
        .parse(yahoo_wsu_de_chart().as_bytes())
        .expect("WSU.DE");
    let closes: Vec<String> = washtec.iter().map(|t| t.price.to_string()).collect();
    assert_eq!(closes, ["34.45000076293945", "34", "33.20000076293945"]);
    // CoinGecko's documented shape: [unix ms, value] pairs for prices, caps and volumes.
    let market_chart = br#"{"prices":[[1711843200000,69702.3087473573],[1711929600000,71246.9514406015]],
        "market_caps":[[1711843200000,1370247487960.09]],"total_volumes":[[1711843200000,16408802301.8374]]}"#;
    let coin = HistorySource::CoinGecko {
        id: "bitcoin".to_owned(),
    };
    let ticks = coin.parse(market_chart).expect("market chart");
    assert_eq!(ticks[1].second(), 1_711_929_600);
    assert_eq!(ticks[1].price.to_string(), "71246.9514406015");
    assert!(coin.parse(b"<html>").is_err());
}

#[tokio::test]
async fn backfill_fills_new_series_within_the_call_budget_and_publishes_nothing() {
    let fake = FakeProviders::start().await;
    let now = chrono::Utc::now().timestamp();
    let times = [now - 3_000, now - 2_000, now - 1_000];
    for ticker in ["AAPL", "MSFT"] {
        let chart = yahoo_history(&times, &["190.5", "191.25", "190.75"], now);
        fake.script_yahoo(ticker, vec![], Canned::json(chart));
    }
    let prices: Vec<Value> = times
        .iter()
        .zip(["64000.5", "64100", "63900.25"])
        .map(|(t, p)| json!([t * 1_000, serde_json::from_str::<Value>(p).expect("number")]))
        .collect();
    let chart = json!({"prices": prices, "market_caps": [], "total_volumes": []});
    fake.script_market_chart("bitcoin", Canned::json(chart.to_string()));
    fake.script_coingecko(
        vec![],
        Canned::json(format!(
            r#"{{"bitcoin":{{"usd":64000,"last_updated_at":{now}}}}}"#
        )),
    );
    let mut settings = with_instruments(
        test_settings(&fake),
        vec![
            instrument("APPLE", ProviderKind::Yahoo, "AAPL", "USD"),
            instrument("MICROSOFT", ProviderKind::Yahoo, "MSFT", "USD"),
            instrument("BTC", ProviderKind::Coingecko, "bitcoin", "USD"),
        ],
    );
    settings.history.backfill = true;
    settings.ingestor.yahoo.requests_per_minute = 120;
    settings.ingestor.yahoo.burst = 1;
    let mut ingestor = spawn_ingestor(settings, Engine::Postgres).await;
    let db = ingestor.database.db.clone();
    eventually("every series is backfilled", || {
        let db = db.clone();
        async move {
            let counts = [
                count_points(&db, "APPLE", "yahoo", true).await,
                count_points(&db, "MICROSOFT", "yahoo", true).await,
                count_points(&db, "BTC", "coingecko", true).await,
            ];
            (counts == [3, 3, 3])
                .then_some(())
                .ok_or_else(|| format!("{counts:?}"))
        }
    })
    .await;
    let yahoo_calls = fake.requests("yahoo");
    let backfills = yahoo_calls
        .iter()
        .filter(|r| r.query.contains_key("period1"))
        .count();
    assert_eq!(backfills, 2);
    assert!(yahoo_calls
        .iter()
        .all(|r| !r.query.contains_key("period1") || r.query["interval"] == "1m"));
    assert_within_budget(&yahoo_calls, 120, 1);
    let market_charts = fake.requests("coingecko");
    assert!(market_charts
        .iter()
        .any(|r| r.query.get("vs_currency").map(String::as_str) == Some("usd")));
    // Only the live quotes were published: one per instrument, none of the 9 backfilled points.
    // (The backfill is over: anything it published would be on the bus by now.)
    let mut published = ingestor.first_ticks(3).await.len();
    published += ingestor.published_so_far().len();
    assert_eq!(published, 3);
    ingestor
        .wait_for_metric(
            "ingestor_history_backfilled_points_total",
            &[("source", "yahoo")],
            |v| v == 6.0,
        )
        .await;
}
