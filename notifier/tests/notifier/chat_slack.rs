//! A Slack incoming webhook on loopback, answering with its documented payloads (plain-text
//! errors, a 429 with `Retry-After`).

use std::time::Duration;

use serde_json::json;
use shared::domain::Channel;
use shared::events::TriggerEvent;
use testkit::Engine;

use crate::helpers::chat_scenarios::{self as scenario, ChatCase};
use crate::helpers::chat_service::{FakeChatService, Reply, ServiceRequest};
use crate::helpers::{settled, test_settings, trigger, user, TestNotifier};
use shared::storage::DeliveryStatus;

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

#[tokio::test]
async fn a_slack_alert_for_a_user_without_slack_is_skipped_without_retry() {
    let test = testkit::fresh_database(Engine::Sqlite).await;
    let notifier = TestNotifier::spawn(&test.db, test_settings()).await;
    let fay = user(&test.db, "fay@example.com", None).await;
    let event = trigger(&fay, 77, "slack");

    notifier.publish(&event).await;
    let record = settled(&test.db, event.event_id, Channel::Slack).await;

    assert_eq!(record.status, DeliveryStatus::Skipped);
    assert_eq!(
        record.last_error.as_deref(),
        Some("no slack channel configured on the account")
    );
    assert_eq!(record.attempts, 1);
    notifier.stop().await;
}

/// The address rules apply again at send time: a stored loopback URL (saved while private
/// targets were allowed) is refused once they are not, by literal address or by name.
#[tokio::test]
async fn a_loopback_slack_webhook_is_refused_at_send_time_unless_allowed() {
    let test = testkit::fresh_database(Engine::Sqlite).await;
    let fake = FakeChatService::start(vec![], (slack().accepted)()).await;
    let mut settings = test_settings();
    settings.notifier.webhook.allow_private_addresses = false;
    let notifier = TestNotifier::spawn(&test.db, settings).await;
    let gus = user(&test.db, "gus@example.com", None).await;
    let by_name = fake.base.replace("127.0.0.1", "localhost");
    for (alert_id, base) in [(78, fake.base.clone()), (79, by_name)] {
        let url = json!({ "webhook_url": format!("{base}{HOOK_PATH}") });
        testkit::set_chat_channel(&test.db, gus.id, Channel::Slack, url).await;
        let event = trigger(&gus, alert_id, "slack");
        notifier.publish(&event).await;
        let record = settled(&test.db, event.event_id, Channel::Slack).await;
        assert_eq!(record.status, DeliveryStatus::Failed, "{base}");
        assert!(
            record.last_error.is_some_and(|e| e.contains("loopback")),
            "{base}"
        );
    }
    assert!(fake.requests().is_empty());
    notifier.stop().await;
}
