//! `POST /backtest`: the alert replayed through the evaluator's matching engine, checked
//! against the evaluator's own reference scan on the same points.

use matching::reference::ReferenceScan;
use matching::{EngineConfig, Fire, IndexedAlert, Rule};
use rand::{Rng, SeedableRng};
use reqwest::StatusCode;
use serde_json::{json, Value};
use shared::domain::{Price, TriggerPolicy};
use testkit::{on_both_engines, store_history, Engine};

use crate::helpers::{json_of, spawn_app, TestApp};

fn p(text: &str) -> Price {
    text.parse().expect("price")
}

fn iso(second: i64) -> String {
    chrono::DateTime::from_timestamp(second, 0)
        .expect("time")
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

async fn backtest(app: &TestApp, token: &str, body: Value) -> Value {
    json_of(
        app.post_json(token, "/backtest", &body).await,
        StatusCode::OK,
    )
    .await
}

/// The fires (second, price) the reference scan finds for `rule` over `points`.
fn reference_fires(
    rule: Rule,
    cooldown_minutes: i64,
    points: &[(i64, Price)],
) -> Vec<(i64, String)> {
    let mut scan = ReferenceScan::new(EngineConfig::default());
    let symbol = "BTC".parse().expect("symbol");
    let id = scan.symbol_id(&symbol);
    scan.upsert(&IndexedAlert {
        id: 0,
        symbol,
        rule,
        cooldown_minutes,
        trigger: TriggerPolicy::Repeat,
        expires_at: None,
        last_triggered_at: None,
        rearm_percent: None,
        rearm_wait: None,
        snoozed_until: None,
        version: 1,
    });
    let mut found = Vec::new();
    for &(second, price) in points {
        let mut fires: Vec<Fire> = Vec::new();
        scan.evaluate(id, price, second * 1_000_000, &mut fires);
        if !fires.is_empty() {
            found.push((second, price.to_string()));
        }
    }
    found
}

fn fires_of(body: &Value) -> Vec<(i64, String)> {
    body["fires"]
        .as_array()
        .expect("fires")
        .iter()
        .map(|f| {
            let at =
                chrono::DateTime::parse_from_rfc3339(f["at"].as_str().expect("at")).expect("iso");
            (at.timestamp(), f["price"].to_string())
        })
        .collect()
}

async fn a_backtest_fires_exactly_where_the_evaluators_reference_scan_does(engine: Engine) {
    let app = spawn_app(engine).await;
    let token = app.user_token("backtester@example.com").await;
    let now = chrono::Utc::now().timestamp();
    let start = now - 6 * 3_600;
    // A random walk around 100, a point every 10 seconds for six hours.
    let mut rng = rand::rngs::StdRng::seed_from_u64(15);
    let mut cents: i64 = 10_000;
    let points: Vec<(i64, Price)> = (0..2_160)
        .map(|i| {
            cents = (cents + rng.gen_range(-40..=40)).clamp(9_000, 11_000);
            (
                start + i * 10,
                Price::new(rust_decimal::Decimal::new(cents, 2)),
            )
        })
        .collect();
    store_history(&app.db, "BTC", "coingecko", &points, true).await;
    let cases = [
        (
            json!({"condition": "above", "target_price": 100.5}),
            Rule::Above(p("100.5")),
        ),
        (
            json!({"condition": "below", "target_price": 99.25}),
            Rule::Below(p("99.25")),
        ),
        (
            json!({"condition": "crosses", "target_price": 100}),
            Rule::Crosses(p("100")),
        ),
        (
            json!({"condition": "range", "target_price": 99.9, "target_price_high": 100.1}),
            Rule::Range {
                low: p("99.9"),
                high: p("100.1"),
            },
        ),
    ];
    for (mut body, rule) in cases {
        body["symbol"] = json!("btc");
        body["cooldown_minutes"] = json!(5);
        body["from"] = json!(iso(start));
        body["to"] = json!(iso(now));
        let answer = backtest(&app, &token, body.clone()).await;
        let expected = reference_fires(rule, 5, &points);
        assert!(!expected.is_empty(), "{body}: the walk should fire it");
        assert_eq!(fires_of(&answer), expected, "{body}");
        assert_eq!(answer["count"], expected.len());
        assert_eq!(answer["resolution"], "tick");
        assert_eq!(answer["evaluated_points"], points.len());
    }
}

async fn a_crosses_backtest_over_a_path_crossing_three_times_fires_three_times(engine: Engine) {
    let app = spawn_app(engine).await;
    let token = app.user_token("crosser@example.com").await;
    let now = chrono::Utc::now().timestamp();
    let start = now - 3_600;
    let path = ["99", "99.5", "101", "102", "99", "98", "100.5"];
    let points: Vec<(i64, Price)> = path
        .iter()
        .enumerate()
        .map(|(i, price)| (start + i as i64 * 300, p(price)))
        .collect();
    store_history(&app.db, "BTC", "coingecko", &points, true).await;
    let body = json!({"symbol": "BTC", "condition": "crosses", "target_price": 100,
        "cooldown_minutes": 1, "from": iso(start), "to": iso(now)});
    let answer = backtest(&app, &token, body.clone()).await;
    let fires = fires_of(&answer);
    assert_eq!(
        fires,
        vec![
            (start + 600, "101".to_owned()),
            (start + 1_200, "99".to_owned()),
            (start + 1_800, "100.5".to_owned())
        ]
    );
    // A cooldown longer than the walk leaves one.
    let mut long = body;
    long["cooldown_minutes"] = json!(120);
    assert_eq!(backtest(&app, &token, long).await["count"], 1);
}

async fn a_backtest_honours_rearm_hysteresis(engine: Engine) {
    let app = spawn_app(engine).await;
    let token = app.user_token("hyst@example.com").await;
    let now = chrono::Utc::now().timestamp();
    let start = now - 3_600;
    let path = ["101", "99", "101", "97.9", "101"];
    let points: Vec<(i64, Price)> = path
        .iter()
        .enumerate()
        .map(|(i, price)| (start + i as i64 * 300, p(price)))
        .collect();
    store_history(&app.db, "BTC", "coingecko", &points, true).await;
    let body = json!({"symbol": "BTC", "condition": "above", "target_price": 100,
        "cooldown_minutes": 1, "from": iso(start), "to": iso(now)});
    assert_eq!(backtest(&app, &token, body.clone()).await["count"], 3);
    // With 2 %, the dip to 99 does not re-arm it; the one to 97.9 does.
    let mut hysteretic = body;
    hysteretic["rearm_percent"] = json!(2);
    let answer = backtest(&app, &token, hysteretic).await;
    assert_eq!(
        fires_of(&answer),
        vec![(start, "101".to_owned()), (start + 1_200, "101".to_owned())]
    );
}

async fn a_percent_move_backtest_never_fires_before_its_window_fills(engine: Engine) {
    let app = spawn_app(engine).await;
    let token = app.user_token("mover@example.com").await;
    let now = chrono::Utc::now().timestamp();
    let start = now - 3_600;
    // Flat at 100, a 10 % jump two minutes in, back, and the same jump twenty minutes in.
    let mut points: Vec<(i64, Price)> = (0..60).map(|i| (start + i * 30, p("100"))).collect();
    points[4].1 = p("110");
    points[40].1 = p("110");
    store_history(&app.db, "BTC", "coingecko", &points, true).await;
    let body = json!({"symbol": "BTC", "condition": "percent_move", "target_price": 5,
        "window_minutes": 10, "direction": "up", "cooldown_minutes": 1,
        "from": iso(start), "to": iso(now)});
    let answer = backtest(&app, &token, body).await;
    assert_eq!(fires_of(&answer), vec![(start + 1_200, "110".to_owned())]);
}

async fn a_backtest_falls_back_to_minute_candles_walked_open_extremes_close(engine: Engine) {
    let app = spawn_app(engine).await;
    let token = app.user_token("candles@example.com").await;
    let now = chrono::Utc::now().timestamp();
    let minute = now.div_euclid(60) * 60 - 600;
    // One minute, raw points pruned: open 100, high 103, low 99, close 101.
    let points = [
        (minute + 1, p("100")),
        (minute + 10, p("103")),
        (minute + 20, p("99")),
        (minute + 50, p("101")),
    ];
    store_history(&app.db, "BTC", "coingecko", &points, false).await;
    let body = json!({"symbol": "BTC", "condition": "below", "target_price": 99.5,
        "from": iso(minute), "to": iso(now)});
    let answer = backtest(&app, &token, body).await;
    assert_eq!(answer["resolution"], "1m");
    // open → the nearer extreme (99) → the farther (103) → close.
    assert_eq!(answer["evaluated_points"], 4);
    assert_eq!(fires_of(&answer), vec![(minute + 20, "99".to_owned())]);
}

/// The recorder packs closed days of minute candles into one row each: a backtest over them
/// walks exactly what it walked over the rows.
async fn a_backtest_over_packed_days_fires_as_over_their_rows(engine: Engine) {
    let app = spawn_app(engine).await;
    let token = app.user_token("packs@example.com").await;
    let now = chrono::Utc::now().timestamp();
    let start = now - 4 * 86_400;
    // A point every 7 minutes, zig-zagging around 100 with a period of 13 points.
    let points: Vec<(i64, Price)> = (0..(4 * 86_400 / 420))
        .map(|i| (start + i * 420, p(&format!("{}.5", 94 + (i % 13)))))
        .collect();
    store_history(&app.db, "BTC", "coingecko", &points, false).await;
    let body = json!({"symbol": "BTC", "condition": "crosses", "target_price": 100,
        "from": iso(start), "to": iso(now)});
    let over_rows = backtest(&app, &token, body.clone()).await;
    assert_eq!(over_rows["resolution"], "1m");
    assert!(
        over_rows["count"].as_u64() > Some(10),
        "{}",
        over_rows["count"]
    );
    let key = shared::storage::SeriesKey {
        symbol: "BTC",
        series: "coingecko",
    };
    let today = now.div_euclid(86_400) * 86_400;
    let mut packed = 0;
    let mut day = start.div_euclid(86_400) * 86_400;
    while day < today {
        packed += usize::from(app.db.pack_minutes_of_day(key, day).await.expect("pack"));
        day += 86_400;
    }
    assert!(packed >= 4, "{packed} days packed");
    let over_packs = backtest(&app, &token, body).await;
    assert_eq!(over_packs, over_rows);
}

async fn bad_backtests_are_refused_with_a_json_detail(engine: Engine) {
    let app = spawn_app(engine).await;
    let body = json!({"symbol": "BTC", "condition": "above", "target_price": 1});
    let anonymous = app
        .client
        .post(app.url("/backtest"))
        .json(&body)
        .send()
        .await
        .expect("request");
    assert_eq!(
        json_of(anonymous, StatusCode::UNAUTHORIZED).await["detail"],
        "Not authenticated"
    );
    let token = app.user_token("refused@example.com").await;
    let cases = [
        json!({"symbol": "BTC", "condition": "above", "target_price": 1,
            "from": "2026-01-01T00:00:00Z", "to": "2026-04-15T00:00:00Z"}),
        json!({"symbol": "BTC", "condition": "above", "target_price": 1,
            "from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"}),
        json!({"symbol": "BTC", "condition": "above", "target_price": 1, "from": "soon"}),
        json!({"condition": "above", "target_price": 1}),
        json!({"symbol": "NOPE", "condition": "above", "target_price": 1}),
    ];
    for body in cases {
        let answer = json_of(
            app.post_json(&token, "/backtest", &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(answer["detail"][0]["loc"][0], "body", "{body}: {answer}");
    }
    let range = json!({"symbol": "BTC", "condition": "range", "target_price": 1});
    let answer = json_of(
        app.post_json(&token, "/backtest", &range).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(
        answer["detail"],
        "target_price_high is required for range alerts"
    );
    // Nothing was saved.
    let alerts = json_of(app.get(&token, "/alerts").await, StatusCode::OK).await;
    assert_eq!(alerts, json!([]));
}

on_both_engines!(
    a_backtest_fires_exactly_where_the_evaluators_reference_scan_does,
    a_crosses_backtest_over_a_path_crossing_three_times_fires_three_times,
    a_backtest_honours_rearm_hysteresis,
    a_percent_move_backtest_never_fires_before_its_window_fills,
    a_backtest_falls_back_to_minute_candles_walked_open_extremes_close,
    a_backtest_over_packed_days_fires_as_over_their_rows,
    bad_backtests_are_refused_with_a_json_detail,
);
