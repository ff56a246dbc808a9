//! Test harness: `TestNotifier` runs the real service on its own database and bus; the fakes
//! for the outside world (SMTP, Twilio, webhook receivers) are real servers on loopback.

pub mod chat_scenarios;
pub mod chat_service;
pub mod smtp;
pub mod twilio;
pub mod twilio_spec;
pub mod webhook_receiver;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use notifier::store::Store;
use notifier::{Application, NotifierError};
use shared::bus::{publish_json, EventBus, InProcessBus, Topic};
use shared::config::{Settings, SmtpTls};
use shared::context::ServiceContext;
use shared::domain::{Channel, PhoneNumber};
use shared::events::TriggerEvent;
use shared::storage::{Database, DeliveryRecord, DeliveryStatus};
use testkit::{Polled, TestUser};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// How long a test waits for something that should happen quickly.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// Settings for tests: fast retries and scans, loopback webhooks allowed, a generous rate
/// limit (tests of the limit set their own).
pub fn test_settings() -> Settings {
    let mut settings = testkit::loopback_settings();
    let notifier = &mut settings.notifier;
    notifier.poll_interval = Duration::from_millis(100);
    // Longer than any send timeout below: a claim older than this was cut off by a kill.
    notifier.claim_timeout = Duration::from_secs(3);
    notifier.retry.initial_backoff = Duration::from_millis(50);
    notifier.retry.max_backoff = Duration::from_secs(1);
    notifier.retry.max_attempts = 20;
    notifier.rate_limit.max_per_period = 1000;
    notifier.rate_limit.period = Duration::from_secs(60);
    notifier.webhook.allow_private_addresses = true;
    notifier.twilio.timeout = Duration::from_secs(1);
    notifier.smtp.timeout = Duration::from_secs(1);
    settings
}

/// Points the settings' email channel at a plain local relay, without credentials.
pub fn with_smtp(mut settings: Settings, port: u16) -> Settings {
    settings.notifier.smtp.host = Some("127.0.0.1".to_owned());
    settings.notifier.smtp.port = port;
    settings.notifier.smtp.tls = SmtpTls::None;
    settings.notifier.smtp.from_email = "Price Alerts <alerts@pricealert.test>"
        .parse()
        .expect("a valid sender");
    settings
}

/// The notifier running as a task, with the bus it listens on.
pub struct TestNotifier {
    pub bus: Arc<dyn EventBus>,
    pub ops_port: u16,
    shutdown: CancellationToken,
    handle: JoinHandle<Result<(), NotifierError>>,
}

impl TestNotifier {
    pub async fn spawn(db: &Database, settings: Settings) -> TestNotifier {
        let bus: Arc<dyn EventBus> = Arc::new(InProcessBus::new(1024));
        let context = ServiceContext::new(settings, db.clone(), Arc::clone(&bus));
        let app = Application::build(context)
            .await
            .expect("the notifier builds");
        let ops_port = app.port();
        let shutdown = CancellationToken::new();
        let handle = tokio::spawn(app.run_until_stopped(shutdown.clone()));
        TestNotifier {
            bus,
            ops_port,
            shutdown,
            handle,
        }
    }

    pub async fn publish(&self, event: &TriggerEvent) {
        publish_json(
            self.bus.as_ref(),
            Topic::Notifications,
            &event.user_id.to_string(),
            event,
        )
        .await
        .expect("publish a trigger event");
    }

    pub async fn publish_raw(&self, payload: &[u8]) {
        self.bus
            .publish(Topic::Notifications, "1", payload.to_vec())
            .await
            .expect("publish raw bytes");
    }

    /// Stops the notifier abruptly, wherever it is (as a crash or `kill -9` would).
    pub async fn kill(self) {
        self.handle.abort();
        let _ = self.handle.await;
    }

    /// Stops the notifier the orderly way.
    pub async fn stop(self) {
        self.shutdown.cancel();
        self.handle
            .await
            .expect("the notifier task ends")
            .expect("the notifier stops cleanly");
    }

    pub fn ops_url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.ops_port)
    }
}

/// A registered user (deliveries reference users).
pub async fn user(db: &Database, email: &str, phone: Option<&str>) -> TestUser {
    let phone: Option<PhoneNumber> = phone.map(|p| p.parse().expect("valid phone"));
    testkit::insert_user(db, email, phone.as_ref().map(PhoneNumber::as_str)).await
}

/// A trigger event for `user` on `channels`, as the evaluator would publish it.
pub fn trigger(user: &TestUser, alert_id: i64, channels: &str) -> TriggerEvent {
    TriggerEvent {
        schema_version: 1,
        event_id: Uuid::new_v4(),
        alert_id,
        user_id: user.id,
        user_email: user.email.clone(),
        user_phone: user.phone.clone(),
        symbol: "BTC".parse().expect("symbol"),
        condition: "above".parse().expect("condition"),
        target_price: "50000".parse().expect("price"),
        target_price_high: None,
        current_price: "50123.45".parse().expect("price"),
        previous_price: Some("49990.10".parse().expect("price")),
        currency: "USD".to_owned(),
        notification_types: channels.parse().expect("channels"),
        options: Default::default(),
        timestamp: "2026-11-23T07:15:30Z".parse().expect("time"),
    }
}

/// [`testkit::eventually`] with the notifier's longer patience (retries back off for
/// seconds).
pub async fn eventually<P, F, Fut>(what: &str, check: F) -> P::Value
where
    P: Polled,
    F: FnMut() -> Fut,
    Fut: Future<Output = P>,
{
    testkit::eventually_within(PATIENCE, what, check).await
}

pub async fn delivery(db: &Database, event_id: Uuid, channel: Channel) -> Option<DeliveryRecord> {
    Store::new(db.clone())
        .deliveries_for_event(event_id)
        .await
        .expect("read deliveries")
        .into_iter()
        .find(|d| d.channel == channel)
}

/// Waits until the delivery of (event, channel) reaches a final status, and returns it.
pub async fn settled(db: &Database, event_id: Uuid, channel: Channel) -> DeliveryRecord {
    eventually(
        &format!("{event_id}/{} is settled", channel.as_str()),
        || async {
            delivery(db, event_id, channel).await.filter(|d| {
                matches!(
                    d.status,
                    DeliveryStatus::Sent
                        | DeliveryStatus::Failed
                        | DeliveryStatus::Unknown
                        | DeliveryStatus::Skipped
                )
            })
        },
    )
    .await
}

/// The value of a metric sample line such as `name{labels} 3` in Prometheus text.
pub async fn metric(notifier: &TestNotifier, sample: &str) -> f64 {
    let text = reqwest::get(notifier.ops_url("/metrics"))
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("metrics body");
    text.lines()
        .find_map(|line| line.strip_prefix(sample)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no metric sample {sample} in:\n{text}"))
}
