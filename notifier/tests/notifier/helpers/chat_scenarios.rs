//! What every chat channel must do, written once and run against each service's fake: deliver
//! once in the documented shape, retry once after a 429 (no sooner than it asked), dead-letter
//! a permanent refusal, and record a send cut off by a kill as `unknown` without resending.

use std::time::Duration;

use serde_json::Value;
use shared::config::Settings;
use shared::domain::Channel;
use shared::events::TriggerEvent;
use shared::storage::DeliveryStatus;
use testkit::{fresh_database, Engine};

use super::chat_service::{FakeChatService, Reply, ServiceRequest};
use super::{eventually, metric, settled, test_settings, trigger, user, TestNotifier};

/// One chat service as the scenarios drive it.
pub struct ChatCase {
    pub channel: Channel,
    /// The user's configuration, given the fake's base URL.
    pub config: fn(&str) -> Value,
    /// The operator's settings the channel needs, given the fake's base URL.
    pub configure: fn(&mut Settings, &str),
    pub accepted: fn() -> Reply,
    pub throttled: fn() -> Reply,
    /// The wait the throttled answer names, if it names one.
    pub throttle_wait: Option<Duration>,
    pub refused: fn() -> Reply,
    /// Quoted in the dead letter's `last_error`.
    pub refused_error: &'static str,
    /// Asserts that a request is the documented one for `event`.
    pub check_request: fn(&ServiceRequest, &TriggerEvent),
}

impl ChatCase {
    fn name(&self) -> &'static str {
        self.channel.as_str()
    }

    async fn notifier(
        &self,
        db: &shared::storage::Database,
        fake: &FakeChatService,
    ) -> TestNotifier {
        TestNotifier::spawn(db, self.settings(fake)).await
    }

    fn settings(&self, fake: &FakeChatService) -> Settings {
        let mut settings = test_settings();
        (self.configure)(&mut settings, &fake.base);
        settings
    }

    async fn user_with_channel(
        &self,
        db: &shared::storage::Database,
        email: &str,
        fake: &FakeChatService,
    ) -> testkit::TestUser {
        let user = user(db, email, None).await;
        testkit::set_chat_channel(db, user.id, self.channel, (self.config)(&fake.base)).await;
        user
    }
}

pub async fn delivered_once_in_the_documented_shape(case: ChatCase, engine: Engine) {
    let test = fresh_database(engine).await;
    let fake = FakeChatService::start(vec![], (case.accepted)()).await;
    let notifier = case.notifier(&test.db, &fake).await;
    let ada = case
        .user_with_channel(&test.db, "ada@example.com", &fake)
        .await;
    let event = trigger(&ada, 71, case.name());

    notifier.publish(&event).await;
    let record = settled(&test.db, event.event_id, case.channel).await;
    // The same event again (a redelivery), then a later one, which settles after it.
    notifier.publish(&event).await;
    let later = trigger(&ada, 72, case.name());
    notifier.publish(&later).await;
    settled(&test.db, later.event_id, case.channel).await;

    assert_eq!(
        record.status,
        DeliveryStatus::Sent,
        "{:?}",
        record.last_error
    );
    assert_eq!(record.attempts, 1);
    assert_eq!(fake.requests_mentioning("alert 71"), 1, "sent exactly once");
    let requests = fake.requests();
    assert_eq!(requests.len(), 2);
    (case.check_request)(&requests[0], &event);
    let sample = format!(
        r#"notifier_notifications_sent_total{{status="success",type="{}"}}"#,
        case.name()
    );
    assert_eq!(metric(&notifier, &sample).await, 2.0);
    notifier.stop().await;
}

pub async fn retried_once_after_a_429_then_sent(case: ChatCase, engine: Engine) {
    let test = fresh_database(engine).await;
    let fake = FakeChatService::start(vec![(case.throttled)()], (case.accepted)()).await;
    let notifier = case.notifier(&test.db, &fake).await;
    let bo = case
        .user_with_channel(&test.db, "bo@example.com", &fake)
        .await;
    let event = trigger(&bo, 73, case.name());

    notifier.publish(&event).await;
    let record = settled(&test.db, event.event_id, case.channel).await;

    assert_eq!(
        record.status,
        DeliveryStatus::Sent,
        "{:?}",
        record.last_error
    );
    assert_eq!(record.attempts, 2);
    assert!(record.last_error.is_some_and(|e| e.contains("429")));
    let requests = fake.requests();
    assert_eq!(requests.len(), 2);
    for request in &requests {
        (case.check_request)(request, &event);
    }
    if let Some(wait) = case.throttle_wait {
        // The backoff alone would retry after 50 ms.
        let gap = requests[1].at - requests[0].at;
        assert!(gap >= wait, "retried after {gap:?}, asked to wait {wait:?}");
    }
    let sample = format!(r#"notifier_retries_total{{type="{}"}}"#, case.name());
    assert_eq!(metric(&notifier, &sample).await, 1.0);
    notifier.stop().await;
}

pub async fn a_permanent_refusal_is_dead_lettered(case: ChatCase, engine: Engine) {
    let test = fresh_database(engine).await;
    let fake = FakeChatService::start(vec![(case.refused)()], (case.accepted)()).await;
    let notifier = case.notifier(&test.db, &fake).await;
    let cy = case
        .user_with_channel(&test.db, "cy@example.com", &fake)
        .await;
    let event = trigger(&cy, 74, case.name());

    notifier.publish(&event).await;
    let record = settled(&test.db, event.event_id, case.channel).await;

    assert_eq!(record.status, DeliveryStatus::Failed);
    assert_eq!(record.attempts, 1);
    assert!(
        record
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains(case.refused_error)),
        "{:?}",
        record.last_error
    );
    assert_eq!(fake.requests().len(), 1);
    let sample = format!(r#"notifier_dead_letters_total{{type="{}"}}"#, case.name());
    assert_eq!(metric(&notifier, &sample).await, 1.0);
    notifier.stop().await;
}

pub async fn a_send_cut_off_by_a_kill_is_unknown_and_not_resent(case: ChatCase, engine: Engine) {
    let test = fresh_database(engine).await;
    let fake = FakeChatService::start(vec![Reply::Hang], (case.accepted)()).await;
    let first_run = case.notifier(&test.db, &fake).await;
    let di = case
        .user_with_channel(&test.db, "di@example.com", &fake)
        .await;
    let event = trigger(&di, 75, case.name());
    first_run.publish(&event).await;
    eventually("the service has the request", || async {
        (fake.requests().len() == 1).then_some(())
    })
    .await;

    first_run.kill().await;
    let second_run = case.notifier(&test.db, &fake).await;
    let record = settled(&test.db, event.event_id, case.channel).await;
    let later = trigger(&di, 76, case.name());
    second_run.publish(&later).await;
    let later_record = settled(&test.db, later.event_id, case.channel).await;

    assert_eq!(record.status, DeliveryStatus::Unknown);
    assert!(record
        .last_error
        .is_some_and(|e| e.contains("outcome is unknown")));
    assert_eq!(later_record.status, DeliveryStatus::Sent);
    assert_eq!(fake.requests_mentioning("alert 75"), 1, "never resent");
    second_run.stop().await;
}
