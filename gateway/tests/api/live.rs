//! WebSocket v2: per-symbol subscriptions, sign-in, a user's own fires and deliveries, limits.
//! The legacy protocol (a client that sends nothing) is covered in `prices.rs`.

use jsonwebtoken::{encode, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::{json, Value};
use shared::bus::{publish_json, Topic};
use shared::events::{DeliveryEvent, PriceTick};
use shared::storage::LatestPrice;
use testkit::Engine;

use crate::helpers::{json_of, spawn_app, spawn_app_with, trigger_event, TestApp, JWT_SECRET};
use crate::live_client::{kind, LiveClient, PRICE};
use testkit::on_both_engines;

async fn store_prices(app: &TestApp, symbols: &[&str]) {
    for symbol in symbols {
        let price = LatestPrice {
            symbol: (*symbol).to_owned(),
            price: "100".parse().expect("price"),
            currency: "USD".to_owned(),
            source: "coingecko".to_owned(),
            quoted_at: shared::storage::now(),
        };
        testkit::store_latest_price(&app.db, &price).await;
    }
}

async fn publish_tick(app: &TestApp, symbol: &str) {
    let tick = PriceTick {
        schema_version: 1,
        symbol: symbol.parse().expect("symbol"),
        price: "42".parse().expect("price"),
        previous_price: None,
        currency: "USD".into(),
        source: "simulated".into(),
        timestamp: chrono::Utc::now(),
        received_at: chrono::Utc::now(),
        conversion: None,
    };
    publish_json(&app.bus, Topic::PriceEvents, symbol, &tick)
        .await
        .expect("publish");
}

/// Publishes a tick of each of `symbols`, in order, until `client` receives a price; returns
/// the symbol of the first price it received. Ticks of symbols it does not watch never reach
/// it, so the first one it gets names a watched symbol even when an unwatched one went first.
async fn first_price_symbol(app: &TestApp, client: &mut LiveClient, symbols: &[&str]) -> String {
    for symbol in symbols {
        publish_tick(app, symbol).await;
    }
    let price = client.next_of(PRICE).await;
    price["symbol"].as_str().expect("symbol").to_owned()
}

fn snapshot_symbols(snapshot: &Value) -> Vec<String> {
    assert_eq!(snapshot["type"], "snapshot");
    snapshot["prices"]
        .as_object()
        .expect("prices")
        .keys()
        .cloned()
        .collect()
}

async fn user_id(app: &TestApp, token: &str) -> i64 {
    let me = json_of(app.get(token, "/auth/me").await, StatusCode::OK).await;
    me["id"].as_i64().expect("id")
}

async fn symbols_chosen_at_connect_narrow_the_snapshot_and_the_ticks(engine: Engine) {
    let app = spawn_app(engine).await;
    store_prices(&app, &["BTC", "ETH", "SOL"]).await;
    let mut client = LiveClient::connect(&app, "?symbols=btc,ETH").await;
    assert_eq!(snapshot_symbols(&client.next().await), ["BTC", "ETH"]);
    assert_eq!(
        first_price_symbol(&app, &mut client, &["SOL", "ETH"]).await,
        "ETH"
    );

    let mut everything = LiveClient::connect(&app, "?symbols=*").await;
    assert_eq!(
        snapshot_symbols(&everything.next().await),
        ["BTC", "ETH", "SOL"]
    );

    let url = format!("ws://127.0.0.1:{}/prices/ws?symbols=BTC,NOPE", app.port);
    match tokio_tungstenite::connect_async(url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), StatusCode::BAD_REQUEST.as_u16());
            let body: Value =
                serde_json::from_slice(response.body().as_deref().unwrap_or_default())
                    .expect("a JSON body");
            assert!(
                body["detail"].as_str().expect("detail").contains("NOPE"),
                "{body}"
            );
        }
        other => panic!("an unknown symbol at connect is a 400, not {other:?}"),
    }
}

async fn subscribing_narrows_to_the_symbols_named_and_unsubscribing_removes_them(engine: Engine) {
    let app = spawn_app(engine).await;
    store_prices(&app, &["BTC", "ETH", "SOL"]).await;
    let mut client = LiveClient::connect(&app, "").await;
    assert_eq!(
        snapshot_symbols(&client.next().await).len(),
        3,
        "everything by default"
    );

    client
        .send(json!({"type": "subscribe", "symbols": ["SOL"]}))
        .await;
    assert_eq!(
        client.next_of("subscribed").await["symbols"],
        json!(["SOL"])
    );
    assert_eq!(snapshot_symbols(&client.next_of("snapshot").await), ["SOL"]);
    assert_eq!(
        first_price_symbol(&app, &mut client, &["BTC", "SOL"]).await,
        "SOL"
    );

    client
        .send(json!({"type": "subscribe", "symbols": ["btc"]}))
        .await;
    assert_eq!(
        client.next_of("subscribed").await["symbols"],
        json!(["SOL", "BTC"])
    );
    assert_eq!(snapshot_symbols(&client.next_of("snapshot").await), ["BTC"]);

    client
        .send(json!({"type": "unsubscribe", "symbols": ["SOL"]}))
        .await;
    assert_eq!(
        client.next_of("subscribed").await["symbols"],
        json!(["BTC"])
    );
    assert_eq!(
        first_price_symbol(&app, &mut client, &["SOL", "ETH", "BTC"]).await,
        "BTC"
    );

    client
        .send(json!({"type": "subscribe", "symbols": "*"}))
        .await;
    assert_eq!(client.next_of("subscribed").await["symbols"], "*");
    assert_eq!(snapshot_symbols(&client.next_of("snapshot").await).len(), 3);
    assert_eq!(first_price_symbol(&app, &mut client, &["ETH"]).await, "ETH");

    client
        .send(json!({"type": "unsubscribe", "symbols": "*"}))
        .await;
    assert_eq!(client.next_of("subscribed").await["symbols"], json!([]));
}

async fn bad_subscribe_unsubscribe_and_auth_messages_are_answered_with_errors_not_closes(
    engine: Engine,
) {
    let app = spawn_app(engine).await;
    let mut client = LiveClient::connect(&app, "?symbols=BTC").await;
    let bad = [
        json!({"type": "subscribe", "symbols": ["BTC", "NOPE"]}),
        json!({"type": "unsubscribe", "symbols": ["NOPE"]}),
        json!({"type": "subscribe"}),
        json!({"type": "subscribe", "symbols": []}),
        json!({"type": "subscribe", "symbols": [1]}),
        json!({"type": "subscribe", "symbols": "BTC"}),
        json!({"type": "auth"}),
        json!({"type": "auth", "token": "not-a-jwt"}),
    ];
    for message in bad {
        client.send(message.clone()).await;
        let error = client.next_of("error").await;
        assert!(error["detail"].is_string(), "{message} → {error}");
        assert!(client.ping().await.iter().all(|m| kind(m) != "error"));
    }
    client
        .send(json!({"type": "subscribe", "symbols": ["BTC", "NOPE"]}))
        .await;
    let error = client.next_of("error").await;
    assert!(
        error["detail"].as_str().expect("detail").contains("NOPE"),
        "{error}"
    );
    // Unknown message types stay ignored: no answer at all before the pong.
    client.send(json!({"type": "frobnicate"})).await;
    assert!(client.ping().await.is_empty());
    // The failed subscribe changed nothing: still BTC only.
    assert_eq!(
        first_price_symbol(&app, &mut client, &["ETH", "BTC"]).await,
        "BTC"
    );
}

async fn a_users_fires_reach_all_their_sockets_and_no_other_users(engine: Engine) {
    let app = spawn_app(engine).await;
    let lea_token = app.user_token("lea@example.com").await;
    let max_token = app.user_token("max@example.com").await;
    let (lea, max) = (
        user_id(&app, &lea_token).await,
        user_id(&app, &max_token).await,
    );

    let mut by_message = LiveClient::connect(&app, "?symbols=BTC").await;
    by_message
        .send(json!({"type": "auth", "token": lea_token}))
        .await;
    assert_eq!(by_message.next_of("authenticated").await["user_id"], lea);
    let offered = format!("bearer, {lea_token}");
    let mut by_protocol = LiveClient::connect_offering(&app, "", Some(&offered)).await;
    assert_eq!(
        by_protocol.protocol.as_deref(),
        Some("bearer"),
        "the token is never echoed"
    );
    assert_eq!(by_protocol.next_of("authenticated").await["user_id"], lea);
    let mut other = LiveClient::connect(&app, "").await;
    other
        .send(json!({"type": "auth", "token": max_token}))
        .await;
    assert_eq!(other.next_of("authenticated").await["user_id"], max);

    // Lea's fire first, then Max's: a socket that got Lea's would see it before its own.
    let leas = trigger_event(7, lea, "lea@example.com");
    let maxs = trigger_event(8, max, "max@example.com");
    for event in [&leas, &maxs] {
        publish_json(
            &app.bus,
            Topic::Notifications,
            &event.user_id.to_string(),
            event,
        )
        .await
        .expect("publish");
    }
    for socket in [&mut by_message, &mut by_protocol] {
        let alert = socket.next_of("alert").await;
        assert_eq!(alert["event_id"], leas.event_id.to_string());
        assert_eq!(alert["alert_id"], 7);
        assert_eq!(alert["symbol"], "BTC");
        assert_eq!(alert["condition"], "above");
        assert_eq!(alert["target_price"].to_string(), "10");
        assert_eq!(alert["target_price_high"], Value::Null);
        assert_eq!(alert["current_price"].to_string(), "11");
        assert_eq!(alert["currency"], "USD");
        assert!(alert["triggered_at"].is_string());
    }
    assert_eq!(
        other.next_of("alert").await["event_id"],
        maxs.event_id.to_string()
    );

    let settled = DeliveryEvent {
        schema_version: 2,
        event_id: leas.event_id,
        user_id: lea,
        alert_id: 7,
        channel: "email".into(),
        status: "sent".into(),
        settled_at: chrono::Utc::now(),
    };
    publish_json(&app.bus, Topic::DeliveryEvents, &lea.to_string(), &settled)
        .await
        .expect("publish");
    let delivery = by_protocol.next_of("delivery").await;
    assert_eq!(delivery["event_id"], leas.event_id.to_string());
    assert_eq!(
        (&delivery["channel"], &delivery["status"]),
        (&json!("email"), &json!("sent"))
    );

    let metrics = app.metrics_text().await;
    assert!(
        metrics.contains(r#"gateway_websockets{kind="authenticated"} 3"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"gateway_websocket_pushes_total{kind="alert"} 3"#),
        "{metrics}"
    );
}

fn token_expiring_in(user_id: i64, seconds: i64) -> String {
    let now = chrono::Utc::now().timestamp();
    let claims = json!({"sub": user_id.to_string(), "exp": now + seconds, "iat": now,
        "iss": "pricealert", "aud": "pricealert-api"});
    encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .expect("encode")
}

async fn an_expired_token_or_a_deleted_user_ends_the_signed_in_part_only(engine: Engine) {
    let app = spawn_app(engine).await;
    let token = app.user_token("lea@example.com").await;
    let lea = user_id(&app, &token).await;

    let mut expiring = LiveClient::connect(&app, "?symbols=BTC").await;
    expiring
        .send(json!({"type": "auth", "token": token_expiring_in(lea, 2)}))
        .await;
    expiring.next_of("authenticated").await;
    expiring.next_of("auth_expired").await;
    expiring.ping().await;

    let mut deleted = LiveClient::connect(&app, "?symbols=BTC").await;
    deleted.send(json!({"type": "auth", "token": token})).await;
    deleted.next_of("authenticated").await;
    let response = app.delete(&token, "/auth/me").await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    deleted.next_of("auth_expired").await;
    assert_eq!(
        first_price_symbol(&app, &mut deleted, &["BTC"]).await,
        "BTC",
        "still open"
    );

    let metrics = app.metrics_text().await;
    assert!(
        metrics.contains(r#"gateway_websockets{kind="authenticated"} 0"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"gateway_websockets{kind="anonymous"} 2"#),
        "{metrics}"
    );
}

async fn sockets_beyond_the_limits_are_closed_with_1013(engine: Engine) {
    let app = spawn_app_with(engine, |s| {
        s.gateway.websocket_max_connections = 2;
        s.gateway.websocket_max_connections_per_address = 1;
    })
    .await;
    let mut first = LiveClient::connect(&app, "?symbols=BTC").await;
    let mut second = LiveClient::connect(&app, "?symbols=BTC").await;
    assert_eq!(second.close_code().await, Some(1013));
    first.ping().await;
    drop(first);
    // The slot is given back once the first socket's task has ended.
    testkit::eventually("a closed socket's slot is given back", || async {
        LiveClient::connect(&app, "?symbols=BTC")
            .await
            .answers()
            .await
    })
    .await;
}

on_both_engines!(
    symbols_chosen_at_connect_narrow_the_snapshot_and_the_ticks,
    subscribing_narrows_to_the_symbols_named_and_unsubscribing_removes_them,
    bad_subscribe_unsubscribe_and_auth_messages_are_answered_with_errors_not_closes,
    a_users_fires_reach_all_their_sockets_and_no_other_users,
    an_expired_token_or_a_deleted_user_ends_the_signed_in_part_only,
    sockets_beyond_the_limits_are_closed_with_1013,
);
