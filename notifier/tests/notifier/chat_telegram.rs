//! Telegram's Bot API (`sendMessage`) on loopback, answering with its documented payloads.

use std::time::Duration;

use serde_json::json;
use shared::domain::Channel;
use shared::events::TriggerEvent;
use testkit::Engine;

use crate::helpers::chat_scenarios::{self as scenario, ChatCase};
use crate::helpers::chat_service::{FakeChatService, Reply, ServiceRequest};
use crate::helpers::{settled, test_settings, trigger, user, TestNotifier};
use shared::storage::DeliveryStatus;

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

/// Telegram allows about one message per second to one chat: three alerts of one user go
/// out a second apart, not in a burst that flood control would answer with 429s.
#[tokio::test]
async fn telegram_messages_to_one_chat_are_spaced_by_the_per_chat_interval() {
    let test = testkit::fresh_database(Engine::Sqlite).await;
    let fake = FakeChatService::start(vec![], (telegram().accepted)()).await;
    let mut settings = test_settings();
    (telegram().configure)(&mut settings, &fake.base);
    let notifier = TestNotifier::spawn(&test.db, settings).await;
    let eve = user(&test.db, "eve@example.com", None).await;
    testkit::set_chat_channel(
        &test.db,
        eve.id,
        Channel::Telegram,
        json!({ "chat_id": CHAT_ID }),
    )
    .await;
    let events: Vec<_> = (81..=83).map(|i| trigger(&eve, i, "telegram")).collect();

    for event in &events {
        notifier.publish(event).await;
    }
    for event in &events {
        settled(&test.db, event.event_id, Channel::Telegram).await;
    }

    let requests = fake.requests();
    assert_eq!(requests.len(), 3);
    for pair in requests.windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(
            gap >= Duration::from_millis(950),
            "two messages {gap:?} apart"
        );
    }
    notifier.stop().await;
}

/// The bot as a whole stays under its limit (2 a second here): four users' chats get a
/// burst of two, then one message every half second.
#[tokio::test]
async fn the_bot_wide_telegram_limit_spaces_messages_across_chats() {
    let test = testkit::fresh_database(Engine::Postgres).await;
    let fake = FakeChatService::start(vec![], (telegram().accepted)()).await;
    let mut settings = test_settings();
    (telegram().configure)(&mut settings, &fake.base);
    settings.notifier.telegram.max_messages_per_second = 2;
    let notifier = TestNotifier::spawn(&test.db, settings).await;
    let mut events = Vec::new();
    for index in 0..4 {
        let someone = user(&test.db, &format!("chat{index}@example.com"), None).await;
        let chat = json!({ "chat_id": 1000 + index });
        testkit::set_chat_channel(&test.db, someone.id, Channel::Telegram, chat).await;
        events.push(trigger(&someone, 90 + index, "telegram"));
    }

    for event in &events {
        notifier.publish(event).await;
    }
    for event in &events {
        settled(&test.db, event.event_id, Channel::Telegram).await;
    }

    let mut times: Vec<_> = fake.requests().iter().map(|r| r.at).collect();
    times.sort();
    assert_eq!(times.len(), 4);
    let spread = times[3] - times[0];
    assert!(
        spread >= Duration::from_millis(950),
        "four messages within {spread:?}"
    );
    notifier.stop().await;
}

#[tokio::test]
async fn a_telegram_alert_without_a_bot_token_fails_as_not_configured() {
    let test = testkit::fresh_database(Engine::Sqlite).await;
    let notifier = TestNotifier::spawn(&test.db, test_settings()).await;
    let hal = user(&test.db, "hal@example.com", None).await;
    testkit::set_chat_channel(
        &test.db,
        hal.id,
        Channel::Telegram,
        json!({ "chat_id": CHAT_ID }),
    )
    .await;
    let event = trigger(&hal, 99, "telegram");

    notifier.publish(&event).await;
    let record = settled(&test.db, event.event_id, Channel::Telegram).await;

    assert_eq!(record.status, DeliveryStatus::Failed);
    assert!(record
        .last_error
        .is_some_and(|e| e.contains("TELEGRAM_BOT_TOKEN")));
    notifier.stop().await;
}
