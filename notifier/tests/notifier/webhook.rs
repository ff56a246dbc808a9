//! Signed webhooks to receivers on loopback.

use hmac::{Hmac, Mac};
use notifier::store::Store;
use sha2::Sha256;
use shared::domain::Channel;
use shared::storage::DeliveryStatus;
use testkit::{fresh_database, Engine};

use crate::helpers::webhook_receiver::WebhookReceiver;
use crate::helpers::{settled, test_settings, trigger, user, TestNotifier};

const SECRET: &str = "whsec-test-0123456789";

fn expected_signature(body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(SECRET.as_bytes()).expect("any key");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

async fn a_webhook_carries_the_alert_signed_with_the_users_secret(engine: Engine) {
    let test = fresh_database(engine).await;
    let receiver = WebhookReceiver::start(vec![]).await;
    let notifier = TestNotifier::spawn(&test.db, test_settings()).await;
    let judy = user(&test.db, "judy@example.com", None).await;
    testkit::set_webhook(&test.db, judy.id, &receiver.url, SECRET).await;
    let event = trigger(&judy, 31, "webhook");

    notifier.publish(&event).await;
    let record = settled(&test.db, event.event_id, Channel::Webhook).await;

    assert_eq!(record.status, DeliveryStatus::Sent);
    let requests = receiver.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.path, "/hooks/pricealert");
    assert_eq!(
        request.header("x-pricealert-signature"),
        Some(expected_signature(&request.body))
    );
    assert_eq!(
        request.header("x-pricealert-event"),
        Some(event.event_id.to_string())
    );
    assert_eq!(
        request.header("content-type").as_deref(),
        Some("application/json")
    );
    let body = request.json();
    assert_eq!(body["type"], "price_alert");
    assert_eq!(body["event_id"], event.event_id.to_string());
    assert_eq!(body["alert_id"], 31);
    assert_eq!(body["symbol"], "BTC");
    assert_eq!(body["condition"], "above");
    assert_eq!(body["current_price"].to_string(), "50123.45");
    assert_eq!(body["currency"], "USD");
    notifier.stop().await;
}

#[tokio::test]
async fn a_webhook_carries_the_alert_signed_with_the_users_secret_on_sqlite() {
    a_webhook_carries_the_alert_signed_with_the_users_secret(Engine::Sqlite).await;
}

#[tokio::test]
async fn a_webhook_carries_the_alert_signed_with_the_users_secret_on_postgres() {
    a_webhook_carries_the_alert_signed_with_the_users_secret(Engine::Postgres).await;
}

#[tokio::test]
async fn a_webhook_answering_503_is_retried_until_it_succeeds() {
    let test = fresh_database(Engine::Sqlite).await;
    let receiver = WebhookReceiver::start(vec![(503, None), (503, None)]).await;
    let notifier = TestNotifier::spawn(&test.db, test_settings()).await;
    let ken = user(&test.db, "ken@example.com", None).await;
    testkit::set_webhook(&test.db, ken.id, &receiver.url, SECRET).await;
    let event = trigger(&ken, 32, "webhook");

    notifier.publish(&event).await;
    let record = settled(&test.db, event.event_id, Channel::Webhook).await;

    assert_eq!(record.status, DeliveryStatus::Sent);
    assert_eq!(record.attempts, 3);
    let requests = receiver.requests();
    assert_eq!(requests.len(), 3);
    // Every attempt names the same event, so the receiver can drop duplicates.
    assert!(requests
        .iter()
        .all(|r| r.header("x-pricealert-event") == Some(event.event_id.to_string())));
    notifier.stop().await;
}

#[tokio::test]
async fn a_webhook_redirect_is_not_followed() {
    let test = fresh_database(Engine::Sqlite).await;
    let elsewhere = WebhookReceiver::start(vec![]).await;
    let receiver = WebhookReceiver::start(vec![(302, Some(elsewhere.url.clone()))]).await;
    let notifier = TestNotifier::spawn(&test.db, test_settings()).await;
    let leo = user(&test.db, "leo@example.com", None).await;
    testkit::set_webhook(&test.db, leo.id, &receiver.url, SECRET).await;
    let event = trigger(&leo, 33, "webhook");

    notifier.publish(&event).await;
    let record = settled(&test.db, event.event_id, Channel::Webhook).await;

    assert_eq!(record.status, DeliveryStatus::Failed);
    assert!(record.last_error.is_some_and(|e| e.contains("redirect")));
    assert_eq!(receiver.requests().len(), 1);
    assert!(elsewhere.requests().is_empty());
    notifier.stop().await;
}

#[tokio::test]
async fn a_loopback_webhook_is_refused_unless_configuration_allows_it() {
    let test = fresh_database(Engine::Sqlite).await;
    let receiver = WebhookReceiver::start(vec![]).await;
    let mut settings = test_settings();
    settings.notifier.webhook.allow_private_addresses = false;
    let notifier = TestNotifier::spawn(&test.db, settings).await;
    let mallory = user(&test.db, "mallory@example.com", None).await;
    let by_name = receiver.url.replace("127.0.0.1", "localhost");
    for (alert_id, url) in [(34, receiver.url.clone()), (35, by_name)] {
        testkit::set_webhook(&test.db, mallory.id, &url, SECRET).await;
        let event = trigger(&mallory, alert_id, "webhook");
        notifier.publish(&event).await;
        let record = settled(&test.db, event.event_id, Channel::Webhook).await;
        assert_eq!(record.status, DeliveryStatus::Failed, "{url}");
        assert!(
            record.last_error.is_some_and(|e| e.contains("loopback")),
            "{url}"
        );
    }
    assert!(receiver.requests().is_empty());
    notifier.stop().await;
}

#[tokio::test]
async fn a_webhook_for_a_user_without_one_is_skipped_without_retry() {
    let test = fresh_database(Engine::Sqlite).await;
    let notifier = TestNotifier::spawn(&test.db, test_settings()).await;
    let nia = user(&test.db, "nia@example.com", None).await;
    let event = trigger(&nia, 36, "webhook");

    notifier.publish(&event).await;
    let record = settled(&test.db, event.event_id, Channel::Webhook).await;

    assert_eq!(record.status, DeliveryStatus::Skipped);
    assert_eq!(
        record.last_error.as_deref(),
        Some("no webhook on the account")
    );
    assert_eq!(record.attempts, 1);
    notifier.stop().await;
}

#[tokio::test]
async fn a_webhook_failing_past_the_retry_budget_is_kept_as_a_dead_letter() {
    let test = fresh_database(Engine::Postgres).await;
    let receiver = WebhookReceiver::start(vec![(500, None); 10]).await;
    let mut settings = test_settings();
    settings.notifier.retry.max_attempts = 3;
    let notifier = TestNotifier::spawn(&test.db, settings).await;
    let olga = user(&test.db, "olga@example.com", None).await;
    testkit::set_webhook(&test.db, olga.id, &receiver.url, SECRET).await;
    let event = trigger(&olga, 37, "webhook");

    notifier.publish(&event).await;
    let record = settled(&test.db, event.event_id, Channel::Webhook).await;

    assert_eq!(record.status, DeliveryStatus::Failed);
    assert_eq!(record.attempts, 3);
    assert!(record
        .last_error
        .is_some_and(|e| e.contains("gave up after 3 attempts") && e.contains("500")));
    assert_eq!(receiver.requests().len(), 3);
    let listed = Store::new(test.db.clone())
        .deliveries_for_event(event.event_id)
        .await
        .expect("list");
    assert_eq!(listed.len(), 1, "the dead letter is kept");
    assert_eq!(
        crate::helpers::metric(&notifier, r#"notifier_dead_letters_total{type="webhook"}"#).await,
        1.0
    );
    assert_eq!(
        crate::helpers::metric(&notifier, r#"notifier_retries_total{type="webhook"}"#).await,
        2.0
    );
    notifier.stop().await;
}
