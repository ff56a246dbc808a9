//! The embedded default as a new user meets it: one process, the simulated price source.

mod support;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::Value;
use support::product::Product;
use tokio_tungstenite::tungstenite::Message;

const ALL_INSTRUMENTS: usize = 55;

async fn prices(client: &reqwest::Client, gateway: &str) -> BTreeMap<String, String> {
    let body: Value = client
        .get(format!("{gateway}/prices"))
        .send()
        .await
        .expect("GET /prices")
        .json()
        .await
        .expect("JSON body");
    body["prices"]
        .as_object()
        .map(|prices| {
            prices
                .iter()
                .map(|(symbol, p)| (symbol.clone(), p["price"].to_string()))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn within_15_seconds_every_instrument_has_a_moving_price_over_rest_and_websocket() {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(15);
    let product = Product::start(&[]).await;
    let gateway = product.gateway_url();
    let client = reqwest::Client::new();

    // REST: all 55 priced, and each one seen at two different prices, before the deadline.
    let mut seen: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    loop {
        for (symbol, price) in prices(&client, &gateway).await {
            seen.entry(symbol).or_default().insert(price);
        }
        let moving = seen.values().filter(|p| p.len() >= 2).count();
        if seen.len() == ALL_INSTRUMENTS && moving == ALL_INSTRUMENTS {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "after 15 s: {} symbols priced, {moving} moving\n{}",
            seen.len(),
            product.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let body: Value = client
        .get(format!("{gateway}/prices/BTC"))
        .send()
        .await
        .expect("GET /prices/BTC")
        .json()
        .await
        .expect("JSON");
    assert_eq!(body["source"], "simulated", "simulated prices are labelled");

    // WebSocket: a snapshot of all 55, then live ticks for every symbol.
    let ws_url = format!("ws://127.0.0.1:{}/prices/ws", product.ports.gateway);
    let (mut socket, _) = tokio_tungstenite::connect_async(ws_url)
        .await
        .expect("connect");
    let mut snapshot_size = None;
    let mut ticked: BTreeSet<String> = BTreeSet::new();
    let ws_deadline = Instant::now() + Duration::from_secs(15);
    while ticked.len() < ALL_INSTRUMENTS {
        let remaining = ws_deadline.saturating_duration_since(Instant::now());
        let frame = tokio::time::timeout(remaining, socket.next())
            .await
            .unwrap_or_else(|_| panic!("only {} symbols ticked over the WebSocket", ticked.len()))
            .expect("socket open")
            .expect("valid frame");
        let Message::Text(text) = frame else { continue };
        let message: Value = serde_json::from_str(&text).expect("JSON message");
        if message["type"] == "snapshot" {
            snapshot_size = message["prices"].as_object().map(|p| p.len());
        } else if let Some(symbol) = message["symbol"].as_str() {
            assert_eq!(message["source"], "simulated");
            ticked.insert(symbol.to_owned());
        }
    }
    assert_eq!(
        snapshot_size,
        Some(ALL_INSTRUMENTS),
        "the snapshot comes first"
    );
    product.stop();
}

#[tokio::test]
async fn the_smoke_test_script_passes_against_the_embedded_default() {
    let product = Product::start(&[]).await;
    let script = support::repo_root().join("scripts/test-alerts.sh");
    let output = tokio::process::Command::new("bash")
        .arg(&script)
        .env("BASE_URL", product.gateway_url())
        .output()
        .await
        .expect("run scripts/test-alerts.sh (needs curl and jq)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let summary = stdout.lines().last().unwrap_or_default().to_owned();
    assert!(
        output.status.success() && summary.ends_with(" 0 failed"),
        "smoke test failed ({summary}):\n{stdout}\n{}\n{}",
        String::from_utf8_lossy(&output.stderr),
        product.log_tail()
    );
    product.stop();
}

/// GET `path` with `token` as JSON.
async fn get_json(client: &reqwest::Client, url: String, token: &str) -> Value {
    client
        .get(url)
        .bearer_auth(token)
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("JSON")
}

#[tokio::test]
async fn an_alert_fired_by_the_real_pipeline_is_explained_from_what_the_evaluator_stored() {
    let product = Product::start(&[]).await;
    let gateway = product.gateway_url();
    let client = reqwest::Client::new();
    let token = support::scaled::register(&client, &gateway, "xp@example.com", None).await;
    let alert: Value = client
        .post(format!("{gateway}/alerts"))
        .bearer_auth(&token)
        .json(
            &serde_json::json!({"symbol": "BTC", "condition": "above", "target_price": 0.0001,
            "rearm_percent": 50, "message": "{{symbol}} <{{price}}>"}),
        )
        .send()
        .await
        .expect("POST /alerts")
        .json()
        .await
        .expect("JSON");
    assert_eq!(alert["rearm_percent"], 50, "{alert}");
    let explain_url = format!("{gateway}/alerts/{}/explain", alert["id"]);
    let explained = support::poll_until(
        "the alert to fire and deliver",
        Duration::from_secs(20),
        || {
            let (client, explain_url, token) = (&client, explain_url.clone(), &token);
            async move {
                let explained = get_json(client, explain_url, token).await;
                let delivered = explained["deliveries"]
                    .as_array()
                    .is_some_and(|d| !d.is_empty());
                if explained["state"] == "cooling_down" && delivered {
                    Ok(explained)
                } else {
                    Err(format!("not fired and delivered yet: {explained}"))
                }
            }
        },
    )
    .await;
    assert!(explained["last_fired_at"].is_string(), "{explained}");
    assert!(explained["until"].is_string());
    assert!(explained["last_price"].is_number());
    assert_eq!(
        explained["feed_stale"],
        Value::Null,
        "simulated ticks every second"
    );
    assert_eq!(explained["distance"], 0, "the condition holds");
    assert_eq!(explained["deliveries"][0]["channel"], "email");
    product.stop();
}

/// A Slack incoming webhook on loopback: answers each request with the next of `script`
/// (status, Slack's documented body from shared/fixtures/services/slack) and counts them.
async fn fake_slack(script: Vec<(u16, &'static str)>) -> (String, Arc<Mutex<Vec<Value>>>) {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/fixtures/services/slack");
    let answers: Vec<(u16, String)> = script
        .into_iter()
        .map(|(status, name)| {
            let body = std::fs::read_to_string(fixtures.join(name)).expect("a Slack fixture");
            (status, body)
        })
        .collect();
    let answers = Arc::new(Mutex::new(VecDeque::from(answers)));
    let received: Arc<Mutex<Vec<Value>>> = Arc::default();
    let recorded = received.clone();
    let app = axum::Router::new().fallback(move |body: axum::body::Bytes| {
        let (answers, recorded) = (answers.clone(), recorded.clone());
        async move {
            let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
            recorded.lock().expect("lock").push(json);
            let (status, body) = answers
                .lock()
                .expect("lock")
                .pop_front()
                .unwrap_or((200, "ok".to_owned()));
            let status = axum::http::StatusCode::from_u16(status).expect("status");
            (status, [("content-type", "text/plain;charset=utf-8")], body)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the fake Slack");
    let port = listener.local_addr().expect("address").port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (
        format!("http://127.0.0.1:{port}/services/T000/B000/XXXX"),
        received,
    )
}

/// `POST /auth/me/channels/{kind}/test`: the gateway asks the notifier over the bus, the
/// notifier posts to the user's Slack webhook, and the gateway answers with the outcome.
#[tokio::test]
async fn a_chat_channel_test_message_is_sent_by_the_notifier_and_its_outcome_answered() {
    let (hook, received) = fake_slack(vec![
        (200, "webhook_response_200_ok.txt"),
        (410, "webhook_error_410_channel_is_archived.txt"),
    ])
    .await;
    let product = Product::start(&[("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", "true".to_owned())]).await;
    let gateway = product.gateway_url();
    let client = reqwest::Client::new();
    let token = support::scaled::register(&client, &gateway, "test@example.com", None).await;
    let test_url = format!("{gateway}/auth/me/channels/slack/test");
    let post_test = || client.post(&test_url).bearer_auth(&token).send();

    let unconfigured = post_test().await.expect("POST test");
    assert_eq!(unconfigured.status(), 404);
    let set = client
        .put(format!("{gateway}/auth/me/channels/slack"))
        .bearer_auth(&token)
        .json(&serde_json::json!({ "webhook_url": hook }))
        .send()
        .await
        .expect("PUT slack");
    assert_eq!(set.status(), 200);

    let sent = post_test().await.expect("POST test");
    assert_eq!(sent.status(), 200, "{}", product.log_tail());
    let body: Value = sent.json().await.expect("JSON");
    assert_eq!(body, serde_json::json!({ "status": "sent" }));
    {
        let received = received.lock().expect("lock");
        assert_eq!(received.len(), 1, "one test message");
        assert!(received[0]["text"]
            .as_str()
            .is_some_and(|t| t.contains("test message")));
    }

    let refused = post_test().await.expect("POST test");
    assert_eq!(refused.status(), 502);
    let body: Value = refused.json().await.expect("JSON");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("channel_is_archived")),
        "{body}"
    );
    assert_eq!(received.lock().expect("lock").len(), 2, "never resent");
    product.stop();
}
