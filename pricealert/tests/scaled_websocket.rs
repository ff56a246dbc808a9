//! WebSocket push across gateway replicas: two gateway processes, an evaluator, a notifier and
//! the ingestor over a Kafka-protocol broker (librdkafka's mock cluster) and PostgreSQL. A user
//! signed in on both replicas gets, on each socket, the fire and the email's delivery outcome of
//! an alert written through replica A — B never saw the write. (With the replicas in one
//! consumer group, each fire would reach one replica only: checked, the probe then never
//! reaches both sockets.)

mod support;

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use shared::bus::{publish_json, EventBus, Topic};
use shared::events::{DeliveryEvent, TriggerEvent};
use support::scaled::{register, send, smtp_env, Scaled};
use support::smtp::SmtpSink;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The stack's start, a consumer group's first assignment and one pipeline pass fit in this.
const PATIENCE: Duration = Duration::from_secs(60);

async fn next_message(socket: &mut Socket, until: tokio::time::Instant) -> Value {
    loop {
        let frame = tokio::time::timeout_at(until, socket.next())
            .await
            .expect("a message before the deadline")
            .expect("the socket stays open")
            .expect("a valid frame");
        if let Message::Text(text) = frame {
            return serde_json::from_str(&text).expect("JSON");
        }
    }
}

/// Publishes `probe` until every socket shows a message of `kind`: then each replica's
/// consumer of that topic has its partitions (a replica's new group starts at the end of the
/// log, so anything published before its first assignment is not for it).
async fn until_assigned(
    bus: &dyn EventBus,
    sockets: &mut [Socket],
    topic: Topic,
    key: &str,
    probe: Value,
    kind: &str,
) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let mut seen = vec![false; sockets.len()];
    while seen.contains(&false) {
        publish_json(bus, topic, key, &probe)
            .await
            .expect("publish");
        let retry = (tokio::time::Instant::now() + Duration::from_millis(500)).min(deadline);
        for (socket, seen) in sockets.iter_mut().zip(seen.iter_mut()) {
            while let Ok(Some(Ok(frame))) = tokio::time::timeout_at(retry, socket.next()).await {
                if let Message::Text(text) = frame {
                    let message: Value = serde_json::from_str(&text).expect("JSON");
                    if message["type"] == kind {
                        *seen = true;
                        break;
                    }
                }
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the {kind} probe never reached every replica's socket: {seen:?}"
        );
    }
}

/// The next message of `kind` whose `field` is `value`, skipping others.
async fn wait_for(socket: &mut Socket, kind: &str, field: &str, value: &Value) -> Value {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let message = next_message(socket, deadline).await;
        if message["type"] == kind && &message[field] == value {
            return message;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fire_reaches_the_users_sockets_on_every_replica_including_the_one_that_did_not_see_the_write(
) {
    let smtp = SmtpSink::start().await;
    let scaled = Scaled::new("scaled-ws", 3, "", &smtp_env(smtp.port)).await;
    let _notifier = scaled.start("notifier", "notifier", &[]).await;
    let _evaluator = scaled.start("evaluator", "evaluator", &[]).await;
    let gateway_a = scaled.start("gateway", "gateway-a", &[]).await;
    let gateway_b = scaled.start("gateway", "gateway-b", &[]).await;
    let a = format!("http://127.0.0.1:{}", gateway_a.health_port);
    let client = reqwest::Client::new();
    let token = register(&client, &a, "lea@example.com", None).await;
    let me = send(
        client.get(format!("{a}/auth/me")).bearer_auth(&token),
        200,
        "me",
    )
    .await;
    let user_id = me["id"].as_i64().expect("id");

    // A socket of the user on each replica: B is the one that does not see the write.
    let mut sockets = Vec::new();
    for gateway in [&gateway_a, &gateway_b] {
        let url = format!(
            "ws://127.0.0.1:{}/prices/ws?symbols=BTC",
            gateway.health_port
        );
        let (mut socket, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("connect");
        let auth = json!({"type": "auth", "token": token}).to_string();
        socket.send(Message::Text(auth.into())).await.expect("send");
        wait_for(&mut socket, "authenticated", "user_id", &json!(user_id)).await;
        sockets.push(socket);
    }

    // The test stands in for the evaluator and the notifier only to learn when replica B's
    // new consumer groups have their partitions; the fire below is the product's own.
    let bus = kafka_bus::KafkaBus::connect(&scaled.kafka_settings())
        .await
        .expect("connect to the mock cluster");
    let probe: TriggerEvent = serde_json::from_value(json!({
        "event_id": uuid::Uuid::new_v4(), "alert_id": 0, "user_id": user_id,
        "user_email": "lea@example.com", "user_phone": null, "symbol": "BTC",
        "condition": "above", "target_price": 1, "target_price_high": null, "current_price": 2,
        "previous_price": null, "currency": "USD", "notification_types": "email",
        "timestamp": chrono::Utc::now()}))
    .expect("a probe fire");
    let key = user_id.to_string();
    until_assigned(
        &bus,
        &mut sockets,
        Topic::Notifications,
        &key,
        serde_json::to_value(&probe).expect("JSON"),
        "alert",
    )
    .await;
    let settled = DeliveryEvent {
        schema_version: 2,
        event_id: probe.event_id,
        user_id,
        alert_id: 0,
        channel: "email".into(),
        status: "skipped".into(),
        settled_at: chrono::Utc::now(),
    };
    until_assigned(
        &bus,
        &mut sockets,
        Topic::DeliveryEvents,
        &key,
        serde_json::to_value(&settled).expect("JSON"),
        "delivery",
    )
    .await;

    // Written through A; fires on the first BTC tick (the simulated walk starts near 67,000).
    let alert = send(
        client.post(format!("{a}/alerts")).bearer_auth(&token).json(
            &json!({"symbol": "BTC", "condition": "above", "target_price": 1,
                "notification_types": "email"}),
        ),
        201,
        "create an alert through A",
    )
    .await;
    let alert_id = alert["id"].as_i64().expect("id");
    let _ingestor = scaled
        .start(
            "ingestor",
            "ingestor",
            &[
                ("PRICEALERT_PRICE_SOURCE", "simulated".to_owned()),
                ("SIMULATED_INTERVAL_MS", "200".to_owned()),
            ],
        )
        .await;
    // Every socket of the user, on either replica, gets the fire and its email's outcome.
    for socket in &mut sockets {
        let fire = wait_for(socket, "alert", "alert_id", &json!(alert_id)).await;
        assert_eq!(fire["symbol"], "BTC");
        assert_eq!(fire["condition"], "above");
        let delivery = wait_for(socket, "delivery", "event_id", &fire["event_id"]).await;
        assert_eq!(delivery["channel"], "email");
        assert_eq!(delivery["status"], "sent");
    }
}
