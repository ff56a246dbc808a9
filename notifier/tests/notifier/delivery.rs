//! Exactly-once delivery across kills and restarts, and bad input on the bus.

use notifier::store::Store;
use shared::domain::Channel;
use shared::storage::DeliveryStatus;
use testkit::{fresh_database, Engine};

use crate::helpers::smtp::SmtpServer;
use crate::helpers::twilio::{with_twilio, FakeTwilio, Reply};
use crate::helpers::{
    delivery, eventually, metric, settled, test_settings, trigger, user, with_smtp, TestNotifier,
};

async fn deliveries_pending_at_a_kill_are_each_sent_exactly_once_after_restart(engine: Engine) {
    let test = fresh_database(engine).await;
    let mut smtp = SmtpServer::down();
    let settings = with_smtp(test_settings(), smtp.port);
    let first_run = TestNotifier::spawn(&test.db, settings.clone()).await;
    let olivia = user(&test.db, "olivia@example.com", None).await;
    let events: Vec<_> = (0..5).map(|i| trigger(&olivia, 100 + i, "email")).collect();
    for event in &events {
        first_run.publish(event).await;
    }
    for event in &events {
        eventually("every delivery is recorded and has been tried", || async {
            delivery(&test.db, event.event_id, Channel::Email)
                .await
                .filter(|d| d.attempts >= 1 && d.status == DeliveryStatus::Pending)
        })
        .await;
    }

    first_run.kill().await;
    smtp.come_up();
    let second_run = TestNotifier::spawn(&test.db, settings).await;

    for event in &events {
        let record = settled(&test.db, event.event_id, Channel::Email).await;
        assert_eq!(record.status, DeliveryStatus::Sent);
    }
    let later = trigger(&olivia, 200, "email");
    second_run.publish(&later).await;
    settled(&test.db, later.event_id, Channel::Email).await;
    for event in &events {
        assert_eq!(
            smtp.count_with_message_id(&format!("{}.email@pricealert", event.event_id)),
            1,
            "event {} delivered exactly once",
            event.alert_id
        );
    }
    assert_eq!(smtp.messages().len(), 6);
    second_run.stop().await;
}

#[tokio::test]
async fn deliveries_pending_at_a_kill_are_each_sent_exactly_once_after_restart_on_sqlite() {
    deliveries_pending_at_a_kill_are_each_sent_exactly_once_after_restart(Engine::Sqlite).await;
}

#[tokio::test]
async fn deliveries_pending_at_a_kill_are_each_sent_exactly_once_after_restart_on_postgres() {
    deliveries_pending_at_a_kill_are_each_sent_exactly_once_after_restart(Engine::Postgres).await;
}

#[tokio::test]
async fn an_sms_in_flight_at_a_kill_is_recorded_as_unknown_after_restart_not_resent() {
    let test = fresh_database(Engine::Postgres).await;
    let twilio = FakeTwilio::start(vec![Reply::Hang]).await;
    let mut settings = with_twilio(test_settings(), &twilio);
    settings.notifier.twilio.timeout = std::time::Duration::from_secs(2);
    let first_run = TestNotifier::spawn(&test.db, settings.clone()).await;
    let pat = user(&test.db, "pat@example.com", Some("+14155550100")).await;
    let event = trigger(&pat, 41, "sms");
    first_run.publish(&event).await;
    eventually("twilio has the request", || async {
        (twilio.requests().len() == 1).then_some(())
    })
    .await;

    first_run.kill().await;
    let second_run = TestNotifier::spawn(&test.db, settings).await;
    let record = settled(&test.db, event.event_id, Channel::Sms).await;

    assert_eq!(record.status, DeliveryStatus::Unknown);
    let later = trigger(&pat, 42, "sms");
    second_run.publish(&later).await;
    assert_eq!(
        settled(&test.db, later.event_id, Channel::Sms).await.status,
        DeliveryStatus::Sent
    );
    assert_eq!(twilio.requests_mentioning("alert 41"), 1);
    second_run.stop().await;
}

#[tokio::test]
async fn a_malformed_bus_message_is_counted_and_skipped() {
    let test = fresh_database(Engine::Sqlite).await;
    let smtp = SmtpServer::start();
    let notifier = TestNotifier::spawn(&test.db, with_smtp(test_settings(), smtp.port)).await;
    let quinn = user(&test.db, "quinn@example.com", None).await;

    notifier.publish_raw(b"{not json").await;
    notifier
        .publish_raw(br#"{"event_id":"not-a-uuid","alert_id":1}"#)
        .await;
    let event = trigger(&quinn, 51, "email");
    notifier.publish(&event).await;

    assert_eq!(
        settled(&test.db, event.event_id, Channel::Email)
            .await
            .status,
        DeliveryStatus::Sent
    );
    assert_eq!(
        metric(
            &notifier,
            r#"notifier_malformed_messages_total{topic="notifications"}"#
        )
        .await,
        2.0
    );
    notifier.stop().await;
}

#[tokio::test]
async fn one_event_on_several_channels_gets_one_delivery_per_channel() {
    let test = fresh_database(Engine::Postgres).await;
    let smtp = SmtpServer::start();
    let twilio = FakeTwilio::start(vec![]).await;
    let settings = with_twilio(with_smtp(test_settings(), smtp.port), &twilio);
    let notifier = TestNotifier::spawn(&test.db, settings).await;
    let rita = user(&test.db, "rita@example.com", Some("+14155550100")).await;
    let event = trigger(&rita, 61, "email,sms");

    notifier.publish(&event).await;
    settled(&test.db, event.event_id, Channel::Email).await;
    settled(&test.db, event.event_id, Channel::Sms).await;

    let listed = Store::new(test.db.clone())
        .deliveries_for_event(event.event_id)
        .await
        .expect("list");
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|d| d.status == DeliveryStatus::Sent));
    assert_eq!(smtp.messages().len(), 1);
    assert_eq!(twilio.requests().len(), 1);
    notifier.stop().await;
}
