//! `GET /alerts/{id}/explain` in the scaled deployment: the gateway explains an alert whose
//! evaluator runs in another process (gateway, evaluator and ingestor as separate OS processes
//! over a Kafka-protocol broker and PostgreSQL). Explain reads only what storage holds (the
//! alert's firing state, the evaluator's last price), so the answer follows the evaluator's
//! fire without the gateway ever seeing it.

mod support;

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use support::poll_until;
use support::scaled::{register, send, Scaled};

/// The stack's start, the consumer group's first assignment and one tick's pass fit in this.
const PATIENCE: Duration = Duration::from_secs(90);

async fn explain(client: &reqwest::Client, base: &str, token: &str, alert: &Value) -> Value {
    send(
        client
            .get(format!("{base}/alerts/{}/explain", alert["id"]))
            .bearer_auth(token),
        200,
        "explain",
    )
    .await
}

fn time(value: &Value) -> DateTime<Utc> {
    value
        .as_str()
        .and_then(|text| text.parse().ok())
        .unwrap_or_else(|| panic!("a time: {value}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_follows_a_fire_made_by_an_evaluator_in_another_process() {
    let scaled = Scaled::new("scaled-explain", 1, "", &[]).await;
    let _evaluator = scaled.start("evaluator", "evaluator", &[]).await;
    let gateway = scaled.start("gateway", "gateway", &[]).await;
    let base = format!("http://127.0.0.1:{}", gateway.health_port);
    let client = reqwest::Client::new();
    let token = register(&client, &base, "ines@example.com", None).await;
    let create = |body: Value| {
        send(
            client
                .post(format!("{base}/alerts"))
                .bearer_auth(&token)
                .json(&body),
            201,
            "create an alert",
        )
    };
    // Fires on the first BTC tick (the simulated walk starts near 67,000).
    let above = create(
        json!({"symbol": "BTC", "condition": "above", "target_price": 1,
        "cooldown_minutes": 5}),
    )
    .await;
    // Never crosses 1: it waits for a cross whatever the price.
    let crosses = create(json!({"symbol": "BTC", "condition": "crosses", "target_price": 1})).await;

    let before = explain(&client, &base, &token, &above).await;
    assert_eq!(before["state"], "armed", "{before}");
    assert_eq!(before["last_fired_at"], Value::Null);
    assert_eq!(before["last_price"], Value::Null, "no tick evaluated yet");

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
    let after = poll_until("the evaluator's fire to be explained", PATIENCE, || async {
        let answer = explain(&client, &base, &token, &above).await;
        if answer["state"] == "cooling_down" {
            Ok(answer)
        } else {
            Err(format!("still {answer}"))
        }
    })
    .await;
    let fired = time(&after["last_fired_at"]);
    assert_eq!(
        time(&after["until"]),
        fired + chrono::Duration::minutes(5),
        "{after}"
    );
    assert!(
        after["last_price"].as_f64().is_some_and(|p| p > 1.0),
        "{after}"
    );
    assert_eq!(after["distance"], 0, "the condition holds: {after}");

    let waiting = explain(&client, &base, &token, &crosses).await;
    assert_eq!(waiting["state"], "waiting_for_cross", "{waiting}");
    assert_eq!(waiting["level"], 1);
    assert!(
        waiting["last_price"].as_f64().is_some_and(|p| p > 1.0),
        "the evaluator's last price: {waiting}"
    );
}
