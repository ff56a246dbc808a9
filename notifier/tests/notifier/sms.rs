//! SMS against an HTTP server on loopback standing in for Twilio, with recorded responses.

use base64::Engine as _;
use notifier::store::Store;
use shared::domain::Channel;
use shared::storage::DeliveryStatus;
use testkit::{fresh_database, Engine};

use crate::helpers::twilio::{
    with_twilio, FakeTwilio, Reply, TwilioRequest, ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER,
};
use crate::helpers::twilio_spec::violations;
use crate::helpers::webhook_receiver::WebhookReceiver;
use crate::helpers::{delivery, metric, settled, test_settings, trigger, user, TestNotifier};

const PHONE: &str = "+14155550100";

fn assert_is_a_valid_create_message(request: &TwilioRequest) {
    assert_eq!(request.method, "POST");
    assert_eq!(
        request.path,
        format!("/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json")
    );
    let expected =
        base64::engine::general_purpose::STANDARD.encode(format!("{ACCOUNT_SID}:{AUTH_TOKEN}"));
    assert_eq!(
        request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok()),
        Some(format!("Basic {expected}").as_str())
    );
    assert_eq!(request.field("To").as_deref(), Some(PHONE));
    assert_eq!(request.field("From").as_deref(), Some(FROM_NUMBER));
    let problems = violations(request);
    assert!(
        problems.is_empty(),
        "not a valid CreateMessage request: {problems:?}"
    );
}

async fn a_conforming_sms_is_sent_and_its_sid_recorded(engine: Engine) {
    let test = fresh_database(engine).await;
    let twilio = FakeTwilio::start(vec![Reply::created()]).await;
    let notifier = TestNotifier::spawn(&test.db, with_twilio(test_settings(), &twilio)).await;
    let dave = user(&test.db, "dave@example.com", Some(PHONE)).await;
    let event = trigger(&dave, 21, "sms");

    notifier.publish(&event).await;
    let record = settled(&test.db, event.event_id, Channel::Sms).await;

    assert_eq!(record.status, DeliveryStatus::Sent);
    assert_eq!(
        record.provider_id.as_deref(),
        Some("SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
    );
    assert_eq!(
        Store::new(test.db.clone())
            .delivery_provider_status(event.event_id, Channel::Sms)
            .await
            .expect("read")
            .as_deref(),
        Some("queued")
    );
    let requests = twilio.requests();
    assert_eq!(requests.len(), 1);
    assert_is_a_valid_create_message(&requests[0]);
    let body = requests[0].field("Body").expect("a Body");
    assert!(body.contains("BTC") && body.contains("50123.45 USD") && body.contains("alert 21"));
    assert_eq!(
        metric(
            &notifier,
            r#"notifier_notifications_sent_total{status="success",type="sms"}"#
        )
        .await,
        1.0
    );
    notifier.stop().await;
}

#[tokio::test]
async fn a_conforming_sms_is_sent_and_its_sid_recorded_on_sqlite() {
    a_conforming_sms_is_sent_and_its_sid_recorded(Engine::Sqlite).await;
}

#[tokio::test]
async fn a_conforming_sms_is_sent_and_its_sid_recorded_on_postgres() {
    a_conforming_sms_is_sent_and_its_sid_recorded(Engine::Postgres).await;
}

#[tokio::test]
async fn a_throttled_sms_is_retried_and_sent_once() {
    let test = fresh_database(Engine::Sqlite).await;
    let twilio = FakeTwilio::start(vec![
        Reply::fixture(429, "twilio_error_20429_429.json"),
        Reply::created(),
    ])
    .await;
    let notifier = TestNotifier::spawn(&test.db, with_twilio(test_settings(), &twilio)).await;
    let erin = user(&test.db, "erin@example.com", Some(PHONE)).await;
    let event = trigger(&erin, 22, "sms");

    notifier.publish(&event).await;
    let record = settled(&test.db, event.event_id, Channel::Sms).await;

    assert_eq!(record.status, DeliveryStatus::Sent);
    assert_eq!(record.attempts, 2);
    assert!(record.last_error.is_some_and(|e| e.contains("20429")));
    let requests = twilio.requests();
    assert_eq!(requests.len(), 2);
    for request in &requests {
        assert_is_a_valid_create_message(request);
    }
    assert_eq!(
        metric(&notifier, r#"notifier_retries_total{type="sms"}"#).await,
        1.0
    );
    assert_eq!(
        metric(
            &notifier,
            r#"notifier_notifications_sent_total{status="success",type="sms"}"#
        )
        .await,
        1.0
    );
    notifier.stop().await;
}

#[tokio::test]
async fn an_invalid_number_fails_without_retry() {
    let test = fresh_database(Engine::Postgres).await;
    let twilio = FakeTwilio::start(vec![Reply::fixture(
        400,
        "twilio_error_21211_invalid_to_400.json",
    )])
    .await;
    let notifier = TestNotifier::spawn(&test.db, with_twilio(test_settings(), &twilio)).await;
    let frank = user(&test.db, "frank@example.com", Some(PHONE)).await;
    let event = trigger(&frank, 23, "sms");

    notifier.publish(&event).await;
    let record = settled(&test.db, event.event_id, Channel::Sms).await;
    let later = trigger(&frank, 24, "sms");
    notifier.publish(&later).await;
    settled(&test.db, later.event_id, Channel::Sms).await;

    assert_eq!(record.status, DeliveryStatus::Failed);
    assert_eq!(record.attempts, 1);
    assert!(record.last_error.is_some_and(|e| e.contains("21211")));
    assert_eq!(twilio.requests_mentioning("alert 23"), 1);
    assert_eq!(
        metric(
            &notifier,
            r#"notifier_notifications_sent_total{status="failed",type="sms"}"#
        )
        .await,
        1.0
    );
    assert_eq!(
        metric(&notifier, r#"notifier_dead_letters_total{type="sms"}"#).await,
        1.0
    );
    notifier.stop().await;
}

#[tokio::test]
async fn rejected_credentials_fail_without_retry() {
    let test = fresh_database(Engine::Sqlite).await;
    let twilio = FakeTwilio::start(vec![Reply::fixture(
        401,
        "twilio_error_20003_auth_401.captured.json",
    )])
    .await;
    let notifier = TestNotifier::spawn(&test.db, with_twilio(test_settings(), &twilio)).await;
    let jo = user(&test.db, "jo@example.com", Some(PHONE)).await;
    let event = trigger(&jo, 30, "sms");

    notifier.publish(&event).await;
    let record = settled(&test.db, event.event_id, Channel::Sms).await;

    assert_eq!(record.status, DeliveryStatus::Failed);
    assert_eq!(record.attempts, 1);
    assert!(record.last_error.is_some_and(|e| e.contains("20003")));
    assert_eq!(twilio.requests().len(), 1);
    notifier.stop().await;
}

#[tokio::test]
async fn a_timed_out_sms_is_recorded_as_unknown_and_never_resent() {
    let test = fresh_database(Engine::Sqlite).await;
    let twilio = FakeTwilio::start(vec![Reply::Hang]).await;
    let notifier = TestNotifier::spawn(&test.db, with_twilio(test_settings(), &twilio)).await;
    let grace = user(&test.db, "grace@example.com", Some(PHONE)).await;
    let event = trigger(&grace, 25, "sms");

    notifier.publish(&event).await;
    let record = settled(&test.db, event.event_id, Channel::Sms).await;
    // The notifier keeps working: a later SMS goes out, the timed-out one is not repeated.
    let later = trigger(&grace, 26, "sms");
    notifier.publish(&later).await;
    settled(&test.db, later.event_id, Channel::Sms).await;

    assert_eq!(record.status, DeliveryStatus::Unknown);
    assert_eq!(record.attempts, 1);
    assert!(record
        .last_error
        .is_some_and(|e| e.contains("did not answer")));
    assert_eq!(twilio.requests_mentioning("alert 25"), 1);
    assert_eq!(
        delivery(&test.db, event.event_id, Channel::Sms)
            .await
            .expect("recorded")
            .status,
        DeliveryStatus::Unknown
    );
    assert_eq!(
        metric(
            &notifier,
            r#"notifier_notifications_sent_total{status="error",type="sms"}"#
        )
        .await,
        1.0
    );
    notifier.stop().await;
}

#[tokio::test]
async fn a_recipient_who_replied_stop_is_opted_out_and_not_texted_again() {
    let test = fresh_database(Engine::Sqlite).await;
    // Twilio's error shape for code 21610 (no recorded fixture for it).
    let stop = r#"{"code":21610,"message":"Attempt to send to unsubscribed recipient","more_info":"https://www.twilio.com/docs/errors/21610","status":400}"#;
    let twilio = FakeTwilio::start(vec![Reply::Json(400, stop.to_owned())]).await;
    let notifier = TestNotifier::spawn(&test.db, with_twilio(test_settings(), &twilio)).await;
    let heidi = user(&test.db, "heidi@example.com", Some(PHONE)).await;
    let first = trigger(&heidi, 27, "sms");

    notifier.publish(&first).await;
    let record = settled(&test.db, first.event_id, Channel::Sms).await;
    assert_eq!(record.status, DeliveryStatus::Failed);
    assert!(Store::new(test.db.clone())
        .phone_opted_out(heidi.id, PHONE)
        .await
        .expect("read"));

    let second = trigger(&heidi, 28, "sms");
    notifier.publish(&second).await;
    let record = settled(&test.db, second.event_id, Channel::Sms).await;
    assert_eq!(record.status, DeliveryStatus::Failed);
    assert!(record.last_error.is_some_and(|e| e.contains("opted out")));
    assert_eq!(twilio.requests().len(), 1);
    notifier.stop().await;
}

async fn an_sms_for_a_user_without_a_phone_is_skipped_and_the_other_channels_delivered(
    engine: Engine,
) {
    let test = fresh_database(engine).await;
    let twilio = FakeTwilio::start(vec![]).await;
    let receiver = WebhookReceiver::start(vec![]).await;
    let notifier = TestNotifier::spawn(&test.db, with_twilio(test_settings(), &twilio)).await;
    let ivan = user(&test.db, "ivan@example.com", None).await;
    testkit::set_webhook(&test.db, ivan.id, &receiver.url, "whsec-test-0123456789").await;
    let event = trigger(&ivan, 29, "sms,webhook");

    notifier.publish(&event).await;
    let sms = settled(&test.db, event.event_id, Channel::Sms).await;
    let webhook = settled(&test.db, event.event_id, Channel::Webhook).await;

    assert_eq!(sms.status, DeliveryStatus::Skipped);
    assert_eq!(
        sms.last_error.as_deref(),
        Some("no phone number on the account")
    );
    assert!(twilio.requests().is_empty());
    assert_eq!(webhook.status, DeliveryStatus::Sent);
    assert_eq!(receiver.requests().len(), 1);
    assert_eq!(
        metric(
            &notifier,
            r#"notifier_notifications_sent_total{status="skipped",type="sms"}"#
        )
        .await,
        1.0
    );
    notifier.stop().await;
}

testkit::on_both_engines!(
    an_sms_for_a_user_without_a_phone_is_skipped_and_the_other_channels_delivered
);
