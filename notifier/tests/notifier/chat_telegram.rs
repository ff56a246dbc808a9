//! Telegram's Bot API (`sendMessage`) on loopback, answering with its documented payloads.

use std::time::Duration;

use serde_json::json;
use shared::domain::Channel;
use shared::events::TriggerEvent;
use testkit::Engine;

use crate::helpers::chat_scenarios::{self as scenario, ChatCase};
use crate::helpers::chat_service::{Reply, ServiceRequest};

const BOT_TOKEN: &str = "123456:TEST-bot-token";
const CHAT_ID: i64 = 123456789;

fn telegram() -> ChatCase {
    ChatCase {
        channel: Channel::Telegram,
        config: |_| json!({ "chat_id": CHAT_ID }),
        configure: |settings, base| {
            settings.notifier.telegram.bot_token = Some(BOT_TOKEN.to_owned().into());
            settings.notifier.telegram.api_base_url = base.to_owned();
        },
        accepted: || {
            Reply::fixture(
                200,
                "telegram/sendMessage_response_200.json",
                "application/json",
            )
        },
        // Flood control names its wait in the body and in Retry-After (5 s in the example, 2 s here).
        throttled: || {
            Reply::fixture(
                429,
                "telegram/error_429_too_many_requests.json",
                "application/json",
            )
            .replacing("\"retry_after\": 5", "\"retry_after\": 2")
            .with_header("retry-after", "2")
        },
        // Longer than the per-chat interval (1 s), which alone spaces two messages.
        throttle_wait: Some(Duration::from_secs(2)),
        refused: || {
            Reply::fixture(
                400,
                "telegram/error_400_chat_not_found.json",
                "application/json",
            )
        },
        refused_error: "chat not found",
        check_request,
    }
}

fn check_request(request: &ServiceRequest, event: &TriggerEvent) {
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, format!("/bot{BOT_TOKEN}/sendMessage"));
    assert_eq!(
        request.header("content-type").as_deref(),
        Some("application/json")
    );
    // The documented request's fields, no others.
    let documented = crate::helpers::twilio::fixture("services/telegram/sendMessage_request.json");
    let documented: serde_json::Value = serde_json::from_str(&documented).expect("JSON");
    let mut keys: Vec<String> = documented
        .as_object()
        .expect("object")
        .keys()
        .cloned()
        .collect();
    keys.sort();
    assert_eq!(request.keys(), keys);
    let body = request.json();
    assert_eq!(body["chat_id"], CHAT_ID);
    let text = body["text"].as_str().expect("text");
    assert!(
        text.contains("BTC") && text.contains(&format!("alert {}", event.alert_id)),
        "{text}"
    );
}

#[tokio::test]
async fn a_telegram_message_is_delivered_once_in_the_documented_shape_on_sqlite() {
    scenario::delivered_once_in_the_documented_shape(telegram(), Engine::Sqlite).await;
}

#[tokio::test]
async fn a_telegram_message_is_delivered_once_in_the_documented_shape_on_postgres() {
    scenario::delivered_once_in_the_documented_shape(telegram(), Engine::Postgres).await;
}

#[tokio::test]
async fn a_telegram_429_is_retried_once_after_its_retry_after() {
    scenario::retried_once_after_a_429_then_sent(telegram(), Engine::Sqlite).await;
}

#[tokio::test]
async fn a_telegram_chat_not_found_is_dead_lettered() {
    scenario::a_permanent_refusal_is_dead_lettered(telegram(), Engine::Postgres).await;
}

#[tokio::test]
async fn a_telegram_send_cut_off_by_a_kill_is_unknown_and_not_resent() {
    scenario::a_send_cut_off_by_a_kill_is_unknown_and_not_resent(telegram(), Engine::Sqlite).await;
}
