//! A Discord webhook on loopback, answering with its documented payloads (`wait=true`'s
//! message, the 429 body and headers, Unknown Webhook).

use std::time::Duration;

use serde_json::json;
use shared::domain::Channel;
use shared::events::TriggerEvent;
use testkit::Engine;

use crate::helpers::chat_scenarios::{self as scenario, ChatCase};
use crate::helpers::chat_service::{Reply, ServiceRequest};

const HOOK_PATH: &str = "/api/webhooks/223704706495545344/3d89bb7572e0fb30d8128367b3b1b44f";
const JSON: &str = "application/json";

fn discord() -> ChatCase {
    ChatCase {
        channel: Channel::Discord,
        config: |base| json!({ "webhook_url": format!("{base}{HOOK_PATH}") }),
        configure: |_, _| {},
        accepted: || {
            Reply::fixture(
                200,
                "discord/execute_webhook_response_200_wait_true.json",
                JSON,
            )
        },
        // The documented user-limit answer; its 64.57 s wait shortened for the test.
        throttled: || {
            Reply::fixture(429, "discord/rate_limit_429_user.json", JSON)
                .replacing("64.57", "1.2")
                .with_header("retry-after", "2")
                .with_header("x-ratelimit-limit", "10")
                .with_header("x-ratelimit-remaining", "0")
                .with_header("x-ratelimit-reset-after", "1.2")
                .with_header("x-ratelimit-bucket", "abcd1234")
                .with_header("x-ratelimit-scope", "user")
        },
        throttle_wait: Some(Duration::from_millis(1200)),
        refused: || Reply::fixture(404, "discord/error_404_unknown_webhook.json", JSON),
        refused_error: "Unknown webhook (code 10015)",
        check_request,
    }
}

fn check_request(request: &ServiceRequest, event: &TriggerEvent) {
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, HOOK_PATH);
    assert_eq!(request.query.as_deref(), Some("wait=true"));
    assert_eq!(
        request.header("content-type").as_deref(),
        Some("application/json")
    );
    let body = request.json();
    let content = body["content"].as_str().expect("content");
    assert!(content.chars().count() <= 2000);
    assert!(content.contains("BTC") && content.contains(&format!("alert {}", event.alert_id)));
    assert_eq!(body["allowed_mentions"], json!({ "parse": [] }));
}

#[tokio::test]
async fn a_discord_message_is_delivered_once_in_the_documented_shape_on_sqlite() {
    scenario::delivered_once_in_the_documented_shape(discord(), Engine::Sqlite).await;
}

#[tokio::test]
async fn a_discord_message_is_delivered_once_in_the_documented_shape_on_postgres() {
    scenario::delivered_once_in_the_documented_shape(discord(), Engine::Postgres).await;
}

#[tokio::test]
async fn a_discord_429_is_retried_once_after_the_wait_in_its_body() {
    scenario::retried_once_after_a_429_then_sent(discord(), Engine::Sqlite).await;
}

#[tokio::test]
async fn an_unknown_discord_webhook_is_dead_lettered() {
    scenario::a_permanent_refusal_is_dead_lettered(discord(), Engine::Postgres).await;
}

#[tokio::test]
async fn a_discord_send_cut_off_by_a_kill_is_unknown_and_not_resent() {
    scenario::a_send_cut_off_by_a_kill_is_unknown_and_not_resent(discord(), Engine::Sqlite).await;
}
