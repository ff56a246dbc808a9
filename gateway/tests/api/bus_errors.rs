//! The gateway's bus consumers live through transport errors: after the bus fails for a while
//! and comes back, bus messages evict cached alert lists and reach WebSockets again.

use std::time::Duration;

use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::Value;
use shared::bus::{publish_json, EventBus, Topic};
use shared::events::{AlertChange, PriceTick};
use testkit::{eventually, on_both_engines, Engine, FaultyBus};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{json_of, spawn_app_on_faulty_bus, trigger_event, TestApp};

/// The `triggered_count` of the user's only alert, as `GET /alerts` serves it.
async fn listed_triggered_count(app: &TestApp, token: &str) -> i64 {
    let list = json_of(app.get(token, "/alerts").await, StatusCode::OK).await;
    list[0]["triggered_count"].as_i64().expect("count")
}

/// What the evaluator's fire transaction does, behind the gateway's back.
async fn store_triggered_count(app: &TestApp, alert_id: i64, count: i64) {
    shared::on_pool!(&app.db, pool => sqlx::query("update alerts set triggered_count = $1 where id = $2")
        .bind(count)
        .bind(alert_id)
        .execute(pool)
        .await
        .map(|_| ()))
    .expect("update");
}

/// Changes the stored count to `count`, checks the cached list still shows the old one, then
/// publishes `topic`'s message and waits for the list to show `count`.
async fn a_message_evicts_the_cached_list(
    app: &TestApp,
    token: &str,
    alert_id: i64,
    user_id: i64,
    count: i64,
    topic: Topic,
) {
    let cached = listed_triggered_count(app, token).await;
    store_triggered_count(app, alert_id, count).await;
    assert_eq!(
        listed_triggered_count(app, token).await,
        cached,
        "served from the cache"
    );
    match topic {
        Topic::Notifications => {
            publish_json(
                &app.bus,
                topic,
                &user_id.to_string(),
                &trigger_event(alert_id, user_id, "ines@example.com"),
            )
            .await
        }
        _ => {
            let change = AlertChange::deleted(alert_id, "BTC".parse().expect("symbol"), user_id);
            publish_json(&app.bus, topic, "BTC", &change).await
        }
    }
    .expect("publish");
    eventually(&format!("a {topic:?} message evicts the list"), || async {
        listed_triggered_count(app, token).await == count
    })
    .await;
}

async fn cached_alert_lists_are_still_evicted_by_bus_messages_after_a_bus_error(engine: Engine) {
    let bus = FaultyBus::new(1024);
    // A long TTL, so only the invalidations can make the list fresh again.
    let app = spawn_app_on_faulty_bus(engine, &bus, |s| {
        s.gateway.alert_list_cache = Duration::from_secs(600)
    })
    .await;
    let token = app.user_token("ines@example.com").await;
    let alert = app.create_alert(&token, "BTC", "10").await;
    let alert_id = alert["id"].as_i64().expect("id");
    let me: Value = json_of(app.get(&token, "/auth/me").await, StatusCode::OK).await;
    let user_id = me["id"].as_i64().expect("id");
    let invalidations = [Topic::Notifications, Topic::AlertChanges];

    let mut count = 0;
    for topic in invalidations {
        count += 1;
        a_message_evicts_the_cached_list(&app, &token, alert_id, user_id, count, topic).await;
    }

    for topic in invalidations {
        bus.fail(topic);
    }
    eventually(
        "each invalidation consumer reads again after an error",
        || async { invalidations.iter().all(|topic| bus.errors(*topic) >= 2) },
    )
    .await;
    for topic in invalidations {
        bus.heal(topic);
    }

    for topic in invalidations {
        count += 1;
        a_message_evicts_the_cached_list(&app, &token, alert_id, user_id, count, topic).await;
    }

    // Whose list a malformed message concerned is unknown: it evicts every list.
    store_triggered_count(&app, alert_id, count + 1).await;
    app.bus
        .publish(Topic::Notifications, "1", b"{not json".to_vec())
        .await
        .expect("publish");
    eventually("a malformed message evicts every list", || async {
        listed_triggered_count(&app, &token).await == count + 1
    })
    .await;
    let metrics = app.metrics_text().await;
    assert!(
        metrics.contains(r#"gateway_malformed_messages_total{topic="notifications"} 1"#)
            && metrics.contains(r#"gateway_malformed_messages_total{topic="price-events"} 0"#),
        "{metrics}"
    );
}

fn tick(price: &str) -> PriceTick {
    PriceTick {
        schema_version: 1,
        symbol: "ETH".parse().expect("symbol"),
        price: price.parse().expect("price"),
        previous_price: None,
        currency: "USD".into(),
        source: "simulated".into(),
        timestamp: chrono::Utc::now(),
        received_at: chrono::Utc::now(),
        conversion: None,
    }
}

/// Publishes a tick at `price` until the socket sends it (the feed may join the socket a
/// little after the connection is accepted); fails after 10 s.
async fn publish_until_the_socket_sends(
    app: &TestApp,
    socket: &mut (impl StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin),
    price: &str,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        publish_json(&app.bus, Topic::PriceEvents, "ETH", &tick(price))
            .await
            .expect("publish");
        while let Ok(frame) = tokio::time::timeout(Duration::from_millis(100), socket.next()).await
        {
            let frame = frame.expect("stream open").expect("valid frame");
            if let Message::Text(text) = frame {
                let message: Value = serde_json::from_str(&text).expect("JSON message");
                if message.get("price").map(Value::to_string).as_deref() == Some(price) {
                    return;
                }
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no tick at {price} reached the socket"
        );
    }
}

async fn price_ticks_reach_websockets_again_after_a_bus_error(engine: Engine) {
    let bus = FaultyBus::new(1024);
    let app = spawn_app_on_faulty_bus(engine, &bus, |_| {}).await;
    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{}/prices/ws", app.port))
            .await
            .expect("connect");
    publish_until_the_socket_sends(&app, &mut socket, "1.5").await;

    bus.fail(Topic::PriceEvents);
    eventually("the tick forwarder reads again after an error", || async {
        bus.errors(Topic::PriceEvents) >= 2
    })
    .await;
    bus.heal(Topic::PriceEvents);

    publish_until_the_socket_sends(&app, &mut socket, "2.5").await;
}

on_both_engines!(
    cached_alert_lists_are_still_evicted_by_bus_messages_after_a_bus_error,
    price_ticks_reach_websockets_again_after_a_bus_error,
);
