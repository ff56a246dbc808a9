//! A Slack incoming webhook on loopback, answering with its documented payloads (plain-text
//! errors, a 429 with `Retry-After`).

use std::time::Duration;

use serde_json::json;
use shared::domain::Channel;
use shared::events::TriggerEvent;
use testkit::Engine;

use crate::helpers::chat_scenarios::{self as scenario, ChatCase};
use crate::helpers::chat_service::{Reply, ServiceRequest};

const HOOK_PATH: &str = "/services/T000/B000/XXXXXXXX";
const TEXT_PLAIN: &str = "text/plain;charset=utf-8";

fn slack() -> ChatCase {
    ChatCase {
        channel: Channel::Slack,
        config: |base| json!({ "webhook_url": format!("{base}{HOOK_PATH}") }),
        configure: |_, _| {},
        accepted: || Reply::fixture(200, "slack/webhook_response_200_ok.txt", TEXT_PLAIN),
        // The official SDK's fixture: an empty body and `retry-after: 1`.
        throttled: || {
            Reply::fixture(429, "slack/webhook_429_ratelimited.txt", TEXT_PLAIN)
                .with_header("retry-after", "1")
        },
        throttle_wait: Some(Duration::from_secs(1)),
        refused: || {
            Reply::fixture(
                410,
                "slack/webhook_error_410_channel_is_archived.txt",
                TEXT_PLAIN,
            )
        },
        refused_error: "channel_is_archived",
        check_request,
    }
}

fn check_request(request: &ServiceRequest, event: &TriggerEvent) {
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, HOOK_PATH);
    assert_eq!(
        request.header("content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(
        request.keys(),
        vec!["text"],
        "the documented body is {{\"text\"}}"
    );
    let text = request.json()["text"].as_str().expect("text").to_owned();
    assert!(
        text.contains("BTC") && text.contains(&format!("alert {}", event.alert_id)),
        "{text}"
    );
}

#[tokio::test]
async fn a_slack_message_is_delivered_once_in_the_documented_shape_on_sqlite() {
    scenario::delivered_once_in_the_documented_shape(slack(), Engine::Sqlite).await;
}

#[tokio::test]
async fn a_slack_message_is_delivered_once_in_the_documented_shape_on_postgres() {
    scenario::delivered_once_in_the_documented_shape(slack(), Engine::Postgres).await;
}

#[tokio::test]
async fn a_slack_429_is_retried_once_after_its_retry_after() {
    scenario::retried_once_after_a_429_then_sent(slack(), Engine::Postgres).await;
}

#[tokio::test]
async fn an_archived_slack_channel_is_dead_lettered() {
    scenario::a_permanent_refusal_is_dead_lettered(slack(), Engine::Sqlite).await;
}

#[tokio::test]
async fn a_slack_send_cut_off_by_a_kill_is_unknown_and_not_resent() {
    scenario::a_send_cut_off_by_a_kill_is_unknown_and_not_resent(slack(), Engine::Postgres).await;
}
