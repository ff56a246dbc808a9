//! The rate limit's budget in the database: the GCRA admits a burst, then one message per
//! interval, per (user, channel), whichever connection (notifier replica) asks; and two
//! notifiers on one database share one budget.

use notifier::store::Store;
use shared::domain::Channel;
use shared::storage::{Database, DeliveryStatus};
use testkit::{fresh_database, insert_user, on_both_engines, Engine};

use crate::helpers::smtp::SmtpServer;
use crate::helpers::{settled, test_settings, trigger, user, with_smtp, TestNotifier};

/// 10 per minute: a 6 s interval, a tolerance of nine intervals.
const INTERVAL_US: i64 = 6_000_000;
const TOLERANCE_US: i64 = 9 * INTERVAL_US;

async fn take(store: &Store, user: i64, channel: Channel, now_us: i64) -> Option<i64> {
    store
        .take_budget(user, channel, now_us, INTERVAL_US, TOLERANCE_US)
        .await
        .expect("take")
}

async fn the_budget_admits_a_burst_then_one_per_interval_across_connections(engine: Engine) {
    let test = fresh_database(engine).await;
    // Two stores over two pools on one database: as two notifier replicas see it.
    let replica_a = Store::new(test.db.clone());
    let other_pool = Database::connect(&test.url, 2)
        .await
        .expect("a second pool");
    let replica_b = Store::new(other_pool);
    let ann = insert_user(&test.db, "ann@example.com", None).await.id;
    let bob = insert_user(&test.db, "bob@example.com", None).await.id;
    let t0: i64 = 1_800_000_000_000_000;

    for i in 0..10 {
        let store = if i % 2 == 0 { &replica_a } else { &replica_b };
        assert_eq!(
            take(store, ann, Channel::Email, t0).await,
            None,
            "message {i} of the burst"
        );
    }
    let refused = take(&replica_b, ann, Channel::Email, t0)
        .await
        .expect("the 11th waits");
    assert_eq!(
        refused - TOLERANCE_US - t0,
        INTERVAL_US,
        "one interval until the next slot"
    );
    assert!(take(&replica_a, ann, Channel::Email, t0 + INTERVAL_US - 1)
        .await
        .is_some());
    assert_eq!(
        take(&replica_a, ann, Channel::Email, t0 + INTERVAL_US).await,
        None
    );
    assert_eq!(
        take(&replica_b, ann, Channel::Slack, t0).await,
        None,
        "channels are separate"
    );
    assert_eq!(
        take(&replica_b, bob, Channel::Email, t0).await,
        None,
        "users are separate"
    );

    // Once full again, a user's row can go; the next message is admitted as before.
    assert_eq!(
        replica_a
            .forget_idle_budgets(t0 + 11 * INTERVAL_US)
            .await
            .expect("forget"),
        3
    );
    assert_eq!(
        take(&replica_a, ann, Channel::Email, t0 + 11 * INTERVAL_US).await,
        None
    );
}

/// Two notifiers on one database, each receiving half of a user's 25 triggers: between them
/// they send no more than one budget allows (a burst of 10, then one message per 6 s; two
/// budgets would let 20 single emails out), the rest in digests, each event exactly once.
async fn two_notifiers_on_one_database_share_one_budget(engine: Engine) {
    let test = fresh_database(engine).await;
    let smtp = SmtpServer::start();
    let mut settings = with_smtp(test_settings(), smtp.port);
    settings.notifier.rate_limit.max_per_period = 10;
    settings.notifier.rate_limit.period = std::time::Duration::from_secs(60);
    let first = TestNotifier::spawn(&test.db, settings.clone()).await;
    let second = TestNotifier::spawn(&test.db, settings).await;
    let val = user(&test.db, "val@example.com", None).await;
    let events: Vec<_> = (1..=25).map(|i| trigger(&val, i, "email")).collect();
    let started = std::time::Instant::now();

    for (index, event) in events.iter().enumerate() {
        let notifier = if index % 2 == 0 { &first } else { &second };
        notifier.publish(event).await;
    }
    for event in &events {
        let record = settled(&test.db, event.event_id, Channel::Email).await;
        assert_eq!(record.status, DeliveryStatus::Sent);
    }

    let messages = smtp.messages();
    let mut singles = 0;
    let mut bodies = String::new();
    for mail in &messages {
        let parsed = mail.parsed();
        let subject = parsed.subject().expect("subject").to_owned();
        if subject.starts_with("BTC price alert") {
            singles += 1;
        }
        bodies.push_str(&parsed.body_text(0).expect("text part"));
    }
    // Two replicas racing for one delivery can each take a slot; the loser gives it back,
    // but a third check in between may already have been refused.
    assert!(
        (5..=10).contains(&singles),
        "{singles} single emails: one budget of 10 for both"
    );
    let slots = 10 + started.elapsed().as_secs() / 6 + 1;
    assert!(
        messages.len() as u64 <= slots,
        "{} messages, the budget allows {slots}",
        messages.len()
    );
    for event in &events {
        let needle = format!("Alert id: {}", event.alert_id);
        let mentions = bodies
            .match_indices(&needle)
            .filter(|(at, _)| {
                !bodies[at + needle.len()..].starts_with(|c: char| c.is_ascii_digit())
            })
            .count();
        assert_eq!(
            mentions, 1,
            "alert {} delivered exactly once: {bodies}",
            event.alert_id
        );
    }
    first.stop().await;
    second.stop().await;
}

on_both_engines!(
    the_budget_admits_a_burst_then_one_per_interval_across_connections,
    two_notifiers_on_one_database_share_one_budget,
);
