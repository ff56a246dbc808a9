//! Email against a real SMTP server on loopback.

use shared::bus::Topic;
use shared::domain::Channel;
use shared::events::DeliveryEvent;
use shared::storage::DeliveryStatus;
use testkit::{fresh_database, Engine};

use crate::helpers::smtp::{SmtpServer, BOUNCING_ADDRESS};
use crate::helpers::{
    delivery, eventually, settled, test_settings, trigger, user, with_smtp, TestNotifier,
};

async fn an_alert_email_arrives_with_headers_and_both_parts(engine: Engine) {
    let test = fresh_database(engine).await;
    let smtp = SmtpServer::start();
    let notifier = TestNotifier::spawn(&test.db, with_smtp(test_settings(), smtp.port)).await;
    let alice = user(&test.db, "alice@example.com", None).await;
    let mut event = trigger(&alice, 42, "email");
    event.condition = "range".parse().expect("condition");
    event.target_price = "50000".parse().expect("price");
    event.target_price_high = Some("51000.5".parse().expect("price"));

    notifier.publish(&event).await;
    let record = settled(&test.db, event.event_id, Channel::Email).await;

    assert_eq!(record.status, DeliveryStatus::Sent);
    assert_eq!(record.attempts, 1);
    let expected_id = format!("{}.email@pricealert", event.event_id);
    assert_eq!(
        record.provider_id.as_deref(),
        Some(format!("<{expected_id}>").as_str())
    );
    let messages = smtp.messages();
    assert_eq!(messages.len(), 1);
    let mail = &messages[0];
    assert_eq!(mail.envelope_to, vec!["alice@example.com".to_owned()]);
    assert!(mail.envelope_from.contains("alerts@pricealert.test"));
    let parsed = mail.parsed();
    assert_eq!(parsed.message_id(), Some(expected_id.as_str()));
    let subject = parsed.subject().expect("a subject");
    assert!(
        subject.contains("BTC"),
        "subject names the symbol: {subject}"
    );
    let from = parsed.from().and_then(|a| a.first()).expect("From");
    assert_eq!(from.address(), Some("alerts@pricealert.test"));
    let content_type = parsed.header_raw("Content-Type").expect("Content-Type");
    assert!(
        content_type.contains("multipart/alternative"),
        "{content_type}"
    );
    let text = parsed.body_text(0).expect("a plain-text part");
    let html = parsed.body_html(0).expect("an HTML part");
    assert!(html.contains("<html>"), "the HTML part is HTML: {html}");
    for part in [text.as_ref(), html.as_ref()] {
        assert!(
            part.contains("between 50000 and 51000.5 USD"),
            "both bounds: {part}"
        );
        assert!(
            part.contains("50123.45 USD"),
            "current price with currency: {part}"
        );
        assert!(part.contains("2026-11-23 07:15:30 UTC"), "the time: {part}");
        assert!(part.contains("42"), "the alert id: {part}");
    }
    notifier.stop().await;
}

#[tokio::test]
async fn an_alert_email_arrives_with_headers_and_both_parts_on_sqlite() {
    an_alert_email_arrives_with_headers_and_both_parts(Engine::Sqlite).await;
}

#[tokio::test]
async fn an_alert_email_arrives_with_headers_and_both_parts_on_postgres() {
    an_alert_email_arrives_with_headers_and_both_parts(Engine::Postgres).await;
}

/// Live views (the gateway's WebSocket) learn how each delivery settled from `delivery-events`.
#[tokio::test]
async fn each_settled_delivery_is_announced_on_delivery_events_keyed_by_its_user() {
    let test = fresh_database(Engine::Sqlite).await;
    let smtp = SmtpServer::start();
    let notifier = TestNotifier::spawn(&test.db, with_smtp(test_settings(), smtp.port)).await;
    let mut announced = notifier
        .bus
        .subscribe(Topic::DeliveryEvents, "test-live-view")
        .await
        .expect("subscribe");
    let alice = user(&test.db, "alice@example.com", None).await;
    let bounced = user(&test.db, BOUNCING_ADDRESS, None).await;
    let sent = trigger(&alice, 42, "email");
    let failed = trigger(&bounced, 43, "email");
    notifier.publish(&sent).await;
    notifier.publish(&failed).await;

    let mut outcomes = std::collections::BTreeMap::new();
    while outcomes.len() < 2 {
        let message = tokio::time::timeout(crate::helpers::PATIENCE, announced.next())
            .await
            .expect("an announcement within the deadline")
            .expect("the bus is open");
        let event: DeliveryEvent = serde_json::from_slice(&message.payload).expect("an event");
        assert_eq!(message.key, event.user_id.to_string(), "keyed by user");
        assert_eq!(event.channel, "email");
        outcomes.insert(
            event.event_id,
            (event.user_id, event.alert_id, event.status),
        );
    }
    assert_eq!(outcomes[&sent.event_id], (alice.id, 42, "sent".to_owned()));
    assert_eq!(
        outcomes[&failed.event_id],
        (bounced.id, 43, "failed".to_owned())
    );
    notifier.stop().await;
}

#[tokio::test]
async fn email_sent_while_the_relay_is_down_is_delivered_exactly_once_when_it_is_back() {
    let test = fresh_database(Engine::Sqlite).await;
    let mut smtp = SmtpServer::down();
    let notifier = TestNotifier::spawn(&test.db, with_smtp(test_settings(), smtp.port)).await;
    let bob = user(&test.db, "bob@example.com", None).await;
    let event = trigger(&bob, 7, "email");

    notifier.publish(&event).await;
    // `attempts` counts attempts started: at 3, two have timed out against the hung relay.
    let failing = eventually(
        "two attempts have failed against the hung relay",
        || async {
            delivery(&test.db, event.event_id, Channel::Email)
                .await
                .filter(|d| d.attempts >= 3 && d.status == DeliveryStatus::Pending)
        },
    )
    .await;
    assert!(failing
        .last_error
        .is_some_and(|e| e.contains("SMTP: no answer within 1 s")));
    assert!(smtp.messages().is_empty());

    smtp.come_up();
    let record = settled(&test.db, event.event_id, Channel::Email).await;
    assert_eq!(record.status, DeliveryStatus::Sent);

    // A later email arriving proves the notifier moved on; the first is still there once.
    let later = trigger(&bob, 8, "email");
    notifier.publish(&later).await;
    settled(&test.db, later.event_id, Channel::Email).await;
    assert_eq!(
        smtp.count_with_message_id(&format!("{}.email@pricealert", event.event_id)),
        1
    );
    assert_eq!(smtp.messages().len(), 2);
    notifier.stop().await;
}

#[tokio::test]
async fn a_redelivered_trigger_event_is_emailed_once() {
    let test = fresh_database(Engine::Postgres).await;
    let smtp = SmtpServer::start();
    let notifier = TestNotifier::spawn(&test.db, with_smtp(test_settings(), smtp.port)).await;
    let carol = user(&test.db, "carol@example.com", None).await;
    let event = trigger(&carol, 9, "email");

    notifier.publish(&event).await;
    settled(&test.db, event.event_id, Channel::Email).await;
    notifier.publish(&event).await;
    let later = trigger(&carol, 10, "email");
    notifier.publish(&later).await;
    settled(&test.db, later.event_id, Channel::Email).await;

    assert_eq!(
        smtp.count_with_message_id(&format!("{}.email@pricealert", event.event_id)),
        1
    );
    let record = delivery(&test.db, event.event_id, Channel::Email)
        .await
        .expect("recorded");
    assert_eq!(record.attempts, 1);
    notifier.stop().await;
}

#[tokio::test]
async fn a_mailbox_the_relay_rejects_fails_without_retry() {
    let test = fresh_database(Engine::Sqlite).await;
    let smtp = SmtpServer::start();
    let notifier = TestNotifier::spawn(&test.db, with_smtp(test_settings(), smtp.port)).await;
    let bounce = user(&test.db, BOUNCING_ADDRESS, None).await;
    let event = trigger(&bounce, 11, "email");

    notifier.publish(&event).await;
    let record = settled(&test.db, event.event_id, Channel::Email).await;

    assert_eq!(record.status, DeliveryStatus::Failed);
    assert_eq!(record.attempts, 1);
    assert!(record.last_error.is_some_and(|e| e.contains("550")));
    assert!(smtp.messages().is_empty());
    notifier.stop().await;
}
