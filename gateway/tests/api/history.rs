//! `/prices/{symbol}/history`, `/prices/instruments`, `/prices/{symbol}/stats`, `/prices/stats`.

use reqwest::StatusCode;
use serde_json::Value;
use shared::domain::history::{candles_of, Point};
use shared::domain::Price;
use testkit::{on_both_engines, store_history, Engine};

use crate::helpers::{json_of, spawn_app, TestApp};

fn p(text: &str) -> Price {
    text.parse().expect("price")
}

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    app.client.get(app.url(path)).send().await.expect("request")
}

/// The start of the current hour, minus `hours`.
fn hour_start(hours_back: i64) -> i64 {
    let now = chrono::Utc::now().timestamp();
    now.div_euclid(3_600) * 3_600 - hours_back * 3_600
}

/// A point every 7 minutes over the last three hours and the current one, priced by index.
fn three_hours() -> Vec<(i64, Price)> {
    let start = hour_start(3);
    let now = chrono::Utc::now().timestamp();
    let mut points: Vec<(i64, Price)> = (0..)
        .map(|i| {
            (
                start + i * 420,
                Price::new(rust_decimal::Decimal::new(1_000_000 + i * 37, 2)),
            )
        })
        .take_while(|(second, _)| *second < now)
        .collect();
    // And one now, so the current hour always has a candle.
    points.push((now, p("10500.5")));
    points
}

async fn history_serves_utc_candles_oldest_first_with_the_open_one_marked(engine: Engine) {
    let app = spawn_app(engine).await;
    let points = three_hours();
    store_history(&app.db, "BTC", "coingecko", &points, true).await;
    let body = json_of(
        get(&app, "/prices/btc/history?interval=1h").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(body["symbol"], "BTC");
    assert_eq!(
        (body["currency"].as_str(), body["interval"].as_str()),
        (Some("USD"), Some("1h"))
    );
    let candles = body["candles"].as_array().expect("candles");
    assert_eq!(candles.len(), 4);
    let first_t = chrono::DateTime::from_timestamp(hour_start(3), 0).expect("time");
    assert_eq!(
        candles[0]["t"],
        first_t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    assert!(
        candles[0]["open"].is_number(),
        "prices are JSON numbers: {}",
        candles[0]
    );
    assert_eq!(candles[0]["open"].to_string(), "10000");
    assert_eq!(candles[0]["ticks"], 9);
    assert_eq!(candles[2]["closed"], true);
    assert_eq!(candles[3]["closed"], false);
    // 5-minute candles are rolled up from the stored minutes; the newest `limit` are kept.
    let points_only: Vec<Point> = points
        .iter()
        .map(|&(second, price)| Point { second, price })
        .collect();
    let expected = candles_of(&points_only, 300);
    let body = json_of(
        get(&app, "/prices/BTC/history?interval=5m&limit=3").await,
        StatusCode::OK,
    )
    .await;
    let five: Vec<(i64, String)> = body["candles"]
        .as_array()
        .expect("candles")
        .iter()
        .map(|c| {
            let t = chrono::DateTime::parse_from_rfc3339(c["t"].as_str().expect("t")).expect("iso");
            (t.timestamp(), c["close"].to_string())
        })
        .collect();
    let newest: Vec<(i64, String)> = expected[expected.len() - 3..]
        .iter()
        .map(|c| (c.start, c.close.to_string()))
        .collect();
    assert_eq!(five, newest);
    // A range: only the candles starting in it.
    let from = chrono::DateTime::from_timestamp(hour_start(2), 0).expect("time");
    let to = chrono::DateTime::from_timestamp(hour_start(1), 0).expect("time");
    let path = format!(
        "/prices/BTC/history?interval=1h&from={}&to={}",
        from.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        to.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    let body = json_of(get(&app, &path).await, StatusCode::OK).await;
    assert_eq!(body["candles"].as_array().map(Vec::len), Some(2));
}

async fn bad_history_requests_are_json_422s_and_unknown_symbols_404(engine: Engine) {
    let app = spawn_app(engine).await;
    for query in [
        "interval=2m",
        "limit=0",
        "limit=5001",
        "from=yesterday",
        "from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z",
    ] {
        let body = json_of(
            get(&app, &format!("/prices/BTC/history?{query}")).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        let detail = body["detail"].as_array().expect("a list of field errors");
        assert_eq!(detail[0]["loc"][0], "query", "{query}: {body}");
    }
    for path in ["/prices/NOPE/history", "/prices/NOPE/stats"] {
        let body = json_of(get(&app, path).await, StatusCode::NOT_FOUND).await;
        assert_eq!(body["detail"], "Unknown symbol: NOPE");
    }
    let empty = json_of(get(&app, "/prices/ETH/history").await, StatusCode::OK).await;
    assert_eq!(empty["candles"], Value::Array(vec![]));
}

async fn instruments_and_stats_are_not_taken_for_symbols(engine: Engine) {
    let app = spawn_app(engine).await;
    let body = json_of(get(&app, "/prices/instruments").await, StatusCode::OK).await;
    let instruments = body.as_array().expect("an array");
    assert_eq!(instruments.len(), 55);
    let nifty = instruments
        .iter()
        .find(|i| i["symbol"] == "NIFTY50")
        .expect("NIFTY50");
    assert_eq!(nifty["currency"], "INR");
    assert_eq!(nifty["asset_class"], "index");
    assert_eq!(nifty["decimals"], 2);
    let btc = instruments
        .iter()
        .find(|i| i["symbol"] == "BTC")
        .expect("BTC");
    assert_eq!(btc["name"], "Bitcoin");

    let now = chrono::Utc::now().timestamp();
    let minute = now.div_euclid(60) * 60;
    // 100 until 15 minutes ago, then 200: the last hour averages 125.
    let points = [
        (minute - 25 * 3_600, p("80")),
        (minute - 3_600, p("100")),
        (minute - 900, p("200")),
    ];
    store_history(&app.db, "BTC", "coingecko", &points, true).await;
    let stats = json_of(get(&app, "/prices/BTC/stats").await, StatusCode::OK).await;
    assert_eq!(stats["symbol"], "BTC");
    assert_eq!(stats["change_24h_percent"].to_string(), "150");
    assert_eq!(
        (stats["high_24h"].to_string(), stats["low_24h"].to_string()),
        ("200".to_owned(), "100".to_owned())
    );
    let average = stats["average_1h"].as_f64().expect("a number");
    let into_minute = now - minute;
    let expected =
        (100.0 * (2_700 - into_minute) as f64 + 200.0 * (900 + into_minute) as f64) / 3_600.0;
    assert!((average - expected).abs() < 1.0, "{average} vs {expected}");
    let all = json_of(get(&app, "/prices/stats").await, StatusCode::OK).await;
    let all = all.as_array().expect("an array");
    assert_eq!(all.len(), 55);
    let eth = all.iter().find(|s| s["symbol"] == "ETH").expect("ETH");
    assert_eq!(eth["average_24h"], Value::Null);
}

on_both_engines!(
    history_serves_utc_candles_oldest_first_with_the_open_one_marked,
    bad_history_requests_are_json_422s_and_unknown_symbols_404,
    instruments_and_stats_are_not_taken_for_symbols,
);
