//! `GET /alerts/{id}/explain` in every state the API can reach, from stored state: the alert's
//! firing state and the evaluator's last price are written the way the evaluator writes them.
//! (`owner_inactive` is unreachable here: an inactive owner's token is refused; the matching
//! crate's tests cover it.)

use chrono::{DateTime, Duration, SubsecRound, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};
use shared::domain::{Channel, Price};
use shared::on_pool;
use shared::storage::LatestPrice;
use testkit::{insert_delivery, store_latest_price, Engine};

use crate::helpers::{json_of, spawn_app, spawn_app_with, TestApp};

async fn explain(app: &TestApp, token: &str, alert: &Value) -> Value {
    let path = format!("/alerts/{}/explain", alert["id"]);
    json_of(app.get(token, &path).await, StatusCode::OK).await
}

async fn create(app: &TestApp, token: &str, body: Value) -> Value {
    json_of(
        app.post_json(token, "/alerts", &body).await,
        StatusCode::CREATED,
    )
    .await
}

/// What the fire transaction writes: the last trigger, and the re-arm wait it starts.
async fn fired(app: &TestApp, alert: &Value, at: DateTime<Utc>, wait: Option<&str>) {
    on_pool!(&app.db, pool => sqlx::query(
        "update alerts set last_triggered_at = $2, rearm_wait = $3 where id = $1")
        .bind(alert["id"].as_i64())
        .bind(at)
        .bind(wait)
        .execute(pool)
        .await
        .map(|_| ()))
    .expect("fire written");
}

/// The evaluator's last price of BTC.
async fn evaluated(app: &TestApp, price: &str) {
    on_pool!(&app.db, pool => sqlx::query(
        "insert into evaluator_last_prices (symbol, price, received_at, updated_at) \
         values ('BTC', $1, $2, $2)")
        .bind(price.parse::<Price>().expect("price"))
        .bind(Utc::now())
        .execute(pool)
        .await
        .map(|_| ()))
    .expect("last price written");
}

async fn every_reachable_state_is_explained_with_its_details(engine: Engine) {
    let app = spawn_app(engine).await;
    let token = app.user_token("exa@example.com").await;
    evaluated(&app, "80").await;

    let armed = app.create_alert(&token, "BTC", "100").await;
    let answer = explain(&app, &token, &armed).await;
    assert_eq!(answer["state"], "armed", "{answer}");
    assert_eq!(answer["alert_id"], armed["id"]);
    assert_eq!(answer["last_price"], 80);
    assert!(answer["last_price_at"].is_string());
    assert_eq!(
        (
            answer["distance"].clone(),
            answer["distance_percent"].clone()
        ),
        (json!(20), json!(25))
    );
    assert_eq!(answer["in_quiet_hours"], false);
    assert_eq!(answer["feed_stale"], "coingecko", "no tick yet");
    assert_eq!(answer["deliveries"], json!([]));
    for field in ["until", "level", "missing_window_seconds", "last_fired_at"] {
        assert_eq!(answer[field], Value::Null, "{field}");
    }

    let crosses = create(
        &app,
        &token,
        json!({"symbol": "BTC", "condition": "crosses", "target_price": 90}),
    )
    .await;
    let answer = explain(&app, &token, &crosses).await;
    assert_eq!(
        (answer["state"].clone(), answer["level"].clone()),
        (json!("waiting_for_cross"), json!(90))
    );

    let hysteretic = create(
        &app,
        &token,
        json!({"symbol": "BTC", "condition": "above", "target_price": 100, "rearm_percent": 2}),
    )
    .await;
    let long_ago = Utc::now() - Duration::hours(3);
    fired(&app, &hysteretic, long_ago, Some("below")).await;
    let answer = explain(&app, &token, &hysteretic).await;
    assert_eq!(
        (answer["state"].clone(), answer["level"].clone()),
        (json!("waiting_rearm"), json!(98))
    );
    assert!(answer["last_fired_at"].is_string());

    let recent = (Utc::now() - Duration::minutes(10)).trunc_subsecs(6);
    fired(&app, &hysteretic, recent, Some("below")).await;
    let answer = explain(&app, &token, &hysteretic).await;
    assert_eq!(answer["state"], "cooling_down");
    let until =
        DateTime::parse_from_rfc3339(answer["until"].as_str().expect("until")).expect("ISO-8601");
    assert_eq!(until, recent + Duration::minutes(60));

    let percent = create(
        &app,
        &token,
        json!({"symbol": "BTC", "condition": "percent_move",
        "target_price": 2, "window_minutes": 30}),
    )
    .await;
    let answer = explain(&app, &token, &percent).await;
    assert_eq!(answer["state"], "waiting_for_window");
    assert_eq!(answer["missing_window_seconds"], 1800);
    assert_eq!(answer["distance"], Value::Null);

    let until = (Utc::now() + Duration::hours(1)).to_rfc3339();
    let snooze = format!("/alerts/{}/snooze", armed["id"]);
    json_of(
        app.post_json(&token, &snooze, &json!({ "until": until }))
            .await,
        StatusCode::OK,
    )
    .await;
    let answer = explain(&app, &token, &armed).await;
    assert_eq!(answer["state"], "snoozed");
    assert_eq!(
        DateTime::parse_from_rfc3339(answer["until"].as_str().expect("until")).expect("time"),
        DateTime::parse_from_rfc3339(&until).expect("time")
    );

    json_of(
        app.post_json(
            &token,
            &format!("/alerts/{}/toggle", armed["id"]),
            &json!({}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(explain(&app, &token, &armed).await["state"], "paused");
}

async fn an_expired_alert_is_explained_as_expired(engine: Engine) {
    let app = spawn_app(engine).await;
    let token = app.user_token("exp@example.com").await;
    let expiry = Utc::now() + Duration::seconds(1);
    let alert = create(
        &app,
        &token,
        json!({"symbol": "BTC", "condition": "above",
        "target_price": 100, "expires_at": expiry.to_rfc3339()}),
    )
    .await;
    testkit::eventually("the alert to be explained as expired", || async {
        let state = explain(&app, &token, &alert).await["state"].clone();
        // Armed until its expiry, then expired: never anything else.
        assert!(state == "armed" || state == "expired", "{state}");
        state == "expired"
    })
    .await;
}

async fn feed_freshness_and_each_channels_last_delivery_are_shown(engine: Engine) {
    let app = spawn_app(engine).await;
    let token = app.user_token("fed@example.com").await;
    let alert = create(
        &app,
        &token,
        json!({"symbol": "BTC", "condition": "above",
        "target_price": 100, "notification_types": "email,sms"}),
    )
    .await;
    store_latest_price(
        &app.db,
        &LatestPrice {
            symbol: "BTC".into(),
            price: "99".parse().expect("price"),
            currency: "USD".into(),
            source: "coingecko".into(),
            quoted_at: Utc::now(),
        },
    )
    .await;
    let me = json_of(app.get(&token, "/auth/me").await, StatusCode::OK).await;
    let (alert_id, user_id) = (
        alert["id"].as_i64().expect("id"),
        me["id"].as_i64().expect("id"),
    );
    for channel in [Channel::Email, Channel::Email, Channel::Sms] {
        insert_delivery(&app.db, uuid::Uuid::new_v4(), channel, alert_id, user_id).await;
    }
    on_pool!(&app.db, pool => sqlx::query(
        "update deliveries set status = 'failed', last_error = 'mailbox full' \
         where channel = 'email' and seq = (select min(seq) from deliveries)")
        .execute(pool)
        .await
        .map(|_| ()))
    .expect("an outcome");
    let answer = explain(&app, &token, &alert).await;
    assert_eq!(answer["feed_stale"], Value::Null, "{answer}");
    let deliveries = answer["deliveries"].as_array().expect("list");
    assert_eq!(deliveries.len(), 2, "one per channel: {answer}");
    assert_eq!(deliveries[0]["channel"], "email");
    assert_eq!(
        deliveries[0]["status"], "pending",
        "the latest email, not the first"
    );
    assert_eq!(deliveries[1]["channel"], "sms");
    assert!(deliveries[1]["at"].is_string());

    let other = app.user_token("eve@example.com").await;
    let path = format!("/alerts/{alert_id}/explain");
    let body = json_of(app.get(&other, &path).await, StatusCode::NOT_FOUND).await;
    assert_eq!(body["detail"], "Alert not found");
}

/// `in_quiet_hours` follows the owner's stored window, by the notifier's rule.
async fn in_quiet_hours_says_whether_the_owners_window_holds_now(engine: Engine) {
    let app = spawn_app(engine).await;
    let token = app.user_token("quiet@example.com").await;
    let alert = app.create_alert(&token, "BTC", "100").await;
    let hh_mm = |offset: Duration| (Utc::now() + offset).format("%H:%M").to_string();
    let holding = json!({"timezone": "UTC", "start": hh_mm(Duration::hours(-1)),
                         "end": hh_mm(Duration::hours(1))});
    let later = json!({"timezone": "UTC", "start": hh_mm(Duration::hours(2)),
                       "end": hh_mm(Duration::hours(3))});
    assert_eq!(explain(&app, &token, &alert).await["in_quiet_hours"], false);
    json_of(
        app.put_json(&token, "/auth/me/quiet-hours", &holding).await,
        StatusCode::OK,
    )
    .await;
    let answer = explain(&app, &token, &alert).await;
    assert_eq!(answer["in_quiet_hours"], true, "{answer}");
    assert_eq!(
        answer["state"], "armed",
        "quiet hours hold notifications, not fires"
    );
    json_of(
        app.put_json(&token, "/auth/me/quiet-hours", &later).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(explain(&app, &token, &alert).await["in_quiet_hours"], false);
    json_of(
        app.put_json(&token, "/auth/me/quiet-hours", &holding).await,
        StatusCode::OK,
    )
    .await;
    let deleted = app.delete(&token, "/auth/me/quiet-hours").await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_eq!(explain(&app, &token, &alert).await["in_quiet_hours"], false);
}

/// The feed named stale is the one that sent the latest tick, judged by its own polling:
/// BTC fed by Binance (stream first, REST every 5 s) is stale after 10 s, while CoinGecko, its
/// catalogue provider and fallback, polling every minute, allows two.
async fn feed_stale_judges_the_feed_that_sent_the_latest_tick(engine: Engine) {
    let app = spawn_app_with(engine, |settings| {
        settings.ingestor.binance.rest_interval = std::time::Duration::from_secs(5);
        settings.ingestor.coingecko.interval = std::time::Duration::from_secs(60);
    })
    .await;
    let token = app.user_token("feed@example.com").await;
    let alert = app.create_alert(&token, "BTC", "100").await;
    let quoted = |source: &str, age: Duration| LatestPrice {
        symbol: "BTC".into(),
        price: "99".parse().expect("price"),
        currency: "USD".into(),
        source: source.into(),
        quoted_at: Utc::now() - age,
    };
    let cases = [
        ("binance", Duration::seconds(30), json!("binance")),
        ("binance", Duration::seconds(1), Value::Null),
        ("coingecko", Duration::seconds(30), Value::Null),
        ("coingecko", Duration::seconds(150), json!("coingecko")),
    ];
    for (source, age, expected) in cases {
        store_latest_price(&app.db, &quoted(source, age)).await;
        let answer = explain(&app, &token, &alert).await;
        assert_eq!(answer["feed_stale"], expected, "{source} {age}: {answer}");
    }
}

testkit::on_both_engines!(
    feed_stale_judges_the_feed_that_sent_the_latest_tick,
    every_reachable_state_is_explained_with_its_details,
    an_expired_alert_is_explained_as_expired,
    feed_freshness_and_each_channels_last_delivery_are_shown,
    in_quiet_hours_says_whether_the_owners_window_holds_now,
);
