use std::time::Duration;

use futures::{SinkExt, StreamExt};
use reqwest::StatusCode;
use serde_json::{json, Value};
use shared::bus::{publish_json, Topic};
use shared::events::PriceTick;
use shared::storage::LatestPrice;
use testkit::Engine;
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{json_of, spawn_app, spawn_app_with, TestApp};
use testkit::on_both_engines;

async fn store_price(app: &TestApp, symbol: &str, price: &str, currency: &str) {
    let price = LatestPrice {
        symbol: symbol.to_owned(),
        price: price.parse().expect("price"),
        currency: currency.to_owned(),
        source: "coingecko".to_owned(),
        quoted_at: shared::storage::now(),
    };
    testkit::store_latest_price(&app.db, &price).await;
}

async fn symbols_lists_the_55_instruments_sorted(engine: Engine) {
    let app = spawn_app(engine).await;
    let body = json_of(
        app.client
            .get(app.url("/prices/symbols"))
            .send()
            .await
            .expect("request"),
        StatusCode::OK,
    )
    .await;
    assert_eq!(body["count"], 55);
    let symbols: Vec<&str> = body["symbols"]
        .as_array()
        .expect("array")
        .iter()
        .map(|s| s.as_str().expect("str"))
        .collect();
    let mut sorted = symbols.clone();
    sorted.sort_unstable();
    assert_eq!(symbols, sorted);
    assert!(symbols.contains(&"NIFTY50") && symbols.contains(&"BTC"));
}

async fn prices_are_served_exactly_and_filtered_case_insensitively(engine: Engine) {
    let app = spawn_app(engine).await;
    store_price(&app, "BTC", "67187.3358936566", "USD").await;
    store_price(&app, "ETH", "0.00001234", "USD").await;
    store_price(&app, "NIFTY50", "24350.5", "INR").await;

    let response = app
        .client
        .get(app.url("/prices?symbols=btc,ETH,nifty50"))
        .send()
        .await
        .expect("request");
    let text = response.text().await.expect("body");
    assert!(text.contains(r#""price":67187.3358936566"#), "{text}");
    let body: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(body["count"], 3);
    assert_eq!(body["prices"]["NIFTY50"]["currency"], "INR");
    assert_eq!(body["prices"]["BTC"]["source"], "coingecko");
    for key in ["symbol", "price", "currency", "source", "timestamp"] {
        assert!(body["prices"]["ETH"].get(key).is_some(), "{key}");
    }
    let some = json_of(
        app.client
            .get(app.url("/prices/?symbols=eth"))
            .send()
            .await
            .expect("request"),
        StatusCode::OK,
    )
    .await;
    assert_eq!(some["count"], 1);
    let all = json_of(
        app.client
            .get(app.url("/prices"))
            .send()
            .await
            .expect("request"),
        StatusCode::OK,
    )
    .await;
    assert_eq!(all["count"], 3);
    let one = json_of(
        app.client
            .get(app.url("/prices/btc"))
            .send()
            .await
            .expect("request"),
        StatusCode::OK,
    )
    .await;
    assert_eq!(one["price"].to_string(), "67187.3358936566");
}

async fn a_known_symbol_without_a_price_and_an_unknown_symbol_are_distinguished(engine: Engine) {
    let app = spawn_app(engine).await;
    let pending = json_of(
        app.client
            .get(app.url("/prices/SOL"))
            .send()
            .await
            .expect("request"),
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        pending,
        json!({"symbol": "SOL", "price": null, "message": "Price not yet available"})
    );
    let unknown = json_of(
        app.client
            .get(app.url("/prices/xyz"))
            .send()
            .await
            .expect("request"),
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(unknown, json!({"detail": "Unknown symbol: XYZ"}));
}

async fn next_text(
    socket: &mut (impl StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin),
) -> Value {
    let deadline = Duration::from_secs(10);
    loop {
        let message = tokio::time::timeout(deadline, socket.next())
            .await
            .expect("a message within the deadline")
            .expect("stream open")
            .expect("valid frame");
        if let Message::Text(text) = message {
            return serde_json::from_str(&text).expect("JSON message");
        }
    }
}

async fn the_websocket_sends_a_snapshot_then_ticks_and_answers_pings(engine: Engine) {
    let app = spawn_app_with(engine, |s| {
        s.gateway.websocket_heartbeat = Duration::from_secs(1)
    })
    .await;
    store_price(&app, "BTC", "100.5", "USD").await;
    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{}/prices/ws", app.port))
            .await
            .expect("connect");
    let snapshot = next_text(&mut socket).await;
    assert_eq!(snapshot["type"], "snapshot");
    assert_eq!(snapshot["prices"]["BTC"]["price"].to_string(), "100.5");

    let tick = PriceTick {
        schema_version: 1,
        symbol: "ETH".parse().expect("symbol"),
        price: "3456.78".parse().expect("price"),
        previous_price: None,
        currency: "USD".into(),
        source: "simulated".into(),
        timestamp: chrono::Utc::now(),
        received_at: chrono::Utc::now(),
        conversion: None,
    };
    // The feed is subscribed asynchronously with the socket; publish until the tick shows up.
    let mut received = None;
    for _ in 0..50 {
        publish_json(&app.bus, Topic::PriceEvents, "ETH", &tick)
            .await
            .expect("publish");
        let message = next_text(&mut socket).await;
        if message.get("symbol").is_some() {
            received = Some(message);
            break;
        }
    }
    let received = received.expect("a tick reached the socket");
    assert_eq!(received["price"].to_string(), "3456.78");
    assert_eq!(received["source"], "simulated");
    assert!(
        received.get("type").is_none(),
        "ticks are bare price objects"
    );

    socket
        .send(Message::Text(r#"{"type":"hello"}"#.into()))
        .await
        .expect("send");
    socket
        .send(Message::Text("not json".into()))
        .await
        .expect("send");
    socket
        .send(Message::Text(r#"{"type":"ping"}"#.into()))
        .await
        .expect("send");
    loop {
        let message = next_text(&mut socket).await;
        if message["type"] == "pong" {
            break;
        }
        assert!(
            message.get("symbol").is_some(),
            "unknown messages are ignored: {message}"
        );
    }
    // Silence for longer than the (test-configured) heartbeat interval brings a heartbeat.
    loop {
        let message = next_text(&mut socket).await;
        if message["type"] == "heartbeat" {
            assert!(message["timestamp"].is_string());
            break;
        }
    }
    let metrics = app.metrics_text().await;
    assert!(metrics.contains("gateway_active_websockets 1"), "{metrics}");
}

on_both_engines!(
    symbols_lists_the_55_instruments_sorted,
    prices_are_served_exactly_and_filtered_case_insensitively,
    a_known_symbol_without_a_price_and_an_unknown_symbol_are_distinguished,
    the_websocket_sends_a_snapshot_then_ticks_and_answers_pings,
);
