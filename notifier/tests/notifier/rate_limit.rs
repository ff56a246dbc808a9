//! The per-user, per-channel rate limit: the excess is held back and sent as one digest.

use shared::domain::Channel;
use shared::events::TriggerEvent;
use shared::storage::{Database, DeliveryStatus};
use testkit::{fresh_database, Engine};

use crate::helpers::smtp::SmtpServer;
use crate::helpers::{
    delivery, eventually, metric, settled, test_settings, trigger, user, with_smtp, TestNotifier,
};

/// The default limit, 10 per minute: a burst of 10, then one message slot every 6 s — far
/// more than the test needs to publish 25 triggers, so which ones are held back is certain.
fn limited(smtp: &SmtpServer) -> shared::config::Settings {
    let mut settings = with_smtp(test_settings(), smtp.port);
    settings.notifier.rate_limit.max_per_period = 10;
    settings.notifier.rate_limit.period = std::time::Duration::from_secs(60);
    settings
}

async fn statuses(db: &Database, events: &[TriggerEvent]) -> Vec<DeliveryStatus> {
    let mut statuses = Vec::new();
    for event in events {
        if let Some(record) = delivery(db, event.event_id, Channel::Email).await {
            statuses.push(record.status);
        }
    }
    statuses
}

/// Ten single emails for the first ten alerts, then one digest naming the other fifteen.
fn assert_ten_singles_then_one_digest(smtp: &SmtpServer, events: &[TriggerEvent]) {
    let messages = smtp.messages();
    assert_eq!(messages.len(), 11, "10 single emails and 1 digest");
    let mut singles = Vec::new();
    let mut digests = Vec::new();
    for mail in &messages {
        let parsed = mail.parsed();
        let subject = parsed.subject().expect("subject").to_owned();
        if subject.starts_with("15 price alerts") {
            digests.push(parsed.body_text(0).expect("text part").into_owned());
        } else {
            singles.push(mail.message_id());
        }
    }
    assert_eq!(digests.len(), 1, "one digest");
    for event in &events[..10] {
        assert!(
            singles.contains(&format!("{}.email@pricealert", event.event_id)),
            "alert {} was sent on its own",
            event.alert_id
        );
    }
    for event in &events[10..] {
        assert!(
            digests[0].contains(&format!("Alert id: {}", event.alert_id)),
            "alert {} is in the digest",
            event.alert_id
        );
    }
}

async fn twenty_five_emails_in_a_second_send_ten_then_one_digest_of_fifteen(engine: Engine) {
    let test = fresh_database(engine).await;
    let smtp = SmtpServer::start();
    let notifier = TestNotifier::spawn(&test.db, limited(&smtp)).await;
    let sam = user(&test.db, "sam@example.com", None).await;
    let events: Vec<_> = (1..=25).map(|i| trigger(&sam, i, "email")).collect();

    for event in &events {
        notifier.publish(event).await;
    }
    for event in &events {
        settled(&test.db, event.event_id, Channel::Email).await;
    }

    assert!(statuses(&test.db, &events)
        .await
        .iter()
        .all(|s| *s == DeliveryStatus::Sent));
    assert_ten_singles_then_one_digest(&smtp, &events);
    let digest_rows: Vec<_> = {
        let mut rows = Vec::new();
        for event in &events[10..] {
            rows.push(
                delivery(&test.db, event.event_id, Channel::Email)
                    .await
                    .expect("row"),
            );
        }
        rows
    };
    let digest_id = digest_rows[0].provider_id.clone();
    assert!(digest_rows.iter().all(|r| r.provider_id == digest_id));
    assert_eq!(
        metric(&notifier, r#"notifier_deferred_total{type="email"}"#).await,
        15.0
    );
    assert_eq!(
        metric(
            &notifier,
            r#"notifier_notifications_sent_total{status="success",type="email"}"#
        )
        .await,
        25.0
    );
    notifier.stop().await;
}

#[tokio::test]
async fn twenty_five_emails_in_a_second_send_ten_then_one_digest_of_fifteen_on_sqlite() {
    twenty_five_emails_in_a_second_send_ten_then_one_digest_of_fifteen(Engine::Sqlite).await;
}

#[tokio::test]
async fn twenty_five_emails_in_a_second_send_ten_then_one_digest_of_fifteen_on_postgres() {
    twenty_five_emails_in_a_second_send_ten_then_one_digest_of_fifteen(Engine::Postgres).await;
}

async fn held_back_emails_survive_a_restart_and_arrive_in_one_digest(engine: Engine) {
    let test = fresh_database(engine).await;
    let smtp = SmtpServer::start();
    // Nothing is released before the restart; after it, the budget spent before the kill
    // still counts (the digest waits for the next message slot instead of ten more singles).
    let settings = limited(&smtp);
    let first_run = TestNotifier::spawn(&test.db, settings.clone()).await;
    let tia = user(&test.db, "tia@example.com", None).await;
    let events: Vec<_> = (1..=25).map(|i| trigger(&tia, i, "email")).collect();

    for event in &events {
        first_run.publish(event).await;
    }
    eventually("ten are sent and fifteen held back", || async {
        let statuses = statuses(&test.db, &events).await;
        let sent = statuses
            .iter()
            .filter(|s| **s == DeliveryStatus::Sent)
            .count();
        let deferred = statuses
            .iter()
            .filter(|s| **s == DeliveryStatus::Deferred)
            .count();
        (sent == 10 && deferred == 15).then_some(())
    })
    .await;
    first_run.kill().await;
    assert_eq!(smtp.messages().len(), 10);

    let second_run = TestNotifier::spawn(&test.db, settings).await;
    for event in &events {
        settled(&test.db, event.event_id, Channel::Email).await;
    }

    assert!(statuses(&test.db, &events)
        .await
        .iter()
        .all(|s| *s == DeliveryStatus::Sent));
    assert_ten_singles_then_one_digest(&smtp, &events);
    second_run.stop().await;
}

#[tokio::test]
async fn held_back_emails_survive_a_restart_and_arrive_in_one_digest_on_sqlite() {
    held_back_emails_survive_a_restart_and_arrive_in_one_digest(Engine::Sqlite).await;
}

#[tokio::test]
async fn held_back_emails_survive_a_restart_and_arrive_in_one_digest_on_postgres() {
    held_back_emails_survive_a_restart_and_arrive_in_one_digest(Engine::Postgres).await;
}

#[tokio::test]
async fn held_back_webhooks_arrive_as_one_signed_digest() {
    let test = fresh_database(Engine::Sqlite).await;
    let receiver = crate::helpers::webhook_receiver::WebhookReceiver::start(vec![]).await;
    let mut settings = test_settings();
    // Two per 4 s: the third trigger waits 2 s for the next slot.
    settings.notifier.rate_limit.max_per_period = 2;
    settings.notifier.rate_limit.period = std::time::Duration::from_secs(4);
    let notifier = TestNotifier::spawn(&test.db, settings).await;
    let uma = user(&test.db, "uma@example.com", None).await;
    testkit::set_webhook(&test.db, uma.id, &receiver.url, "secret").await;
    let events: Vec<_> = (1..=5).map(|i| trigger(&uma, i, "webhook")).collect();

    for event in &events {
        notifier.publish(event).await;
    }
    for event in &events {
        settled(&test.db, event.event_id, Channel::Webhook).await;
    }

    let requests = receiver.requests();
    assert_eq!(requests.len(), 3, "two single webhooks and one digest");
    let digest = requests[2].json();
    assert_eq!(digest["type"], "price_alert_digest");
    assert_eq!(digest["count"], 3);
    let alert_ids: Vec<i64> = digest["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .map(|a| a["alert_id"].as_i64().expect("id"))
        .collect();
    assert_eq!(alert_ids, vec![3, 4, 5]);
    assert_eq!(
        requests[2].header("x-pricealert-event"),
        Some(digest["digest_id"].as_str().expect("digest id").to_owned())
    );
    assert!(requests[2].header("x-pricealert-signature").is_some());
    notifier.stop().await;
}
