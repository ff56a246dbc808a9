//! Two `pricealert notifier` processes on one PostgreSQL database share a burst of trigger
//! events (their consumer group splits the partitions; both dispatchers scan the one delivery
//! table and race for every row's claim): every email and every webhook goes out exactly once.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::support::notifier_stack::NotifierStack;
use crate::support::poll_until;
use crate::support::webhook::WebhookReceiver;

const USERS: usize = 12;
const EVENTS_PER_USER: usize = 25;

/// How many times each id occurs.
fn tally(ids: impl IntoIterator<Item = String>) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for id in ids {
        *counts.entry(id).or_insert(0) += 1;
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_notifiers_on_one_database_send_every_email_and_webhook_exactly_once() {
    let _serial = crate::serial().await;
    let started = Instant::now();
    let stack = NotifierStack::start(
        "two-notifiers",
        3,
        "[notifier]\npoll_interval = \"200ms\"\n",
    )
    .await;
    let receiver = WebhookReceiver::start().await;
    let notifiers = [
        stack.notifier("notifier-a").await,
        stack.notifier("notifier-b").await,
    ];
    let mut subscribers = Vec::new();
    for user in 0..USERS {
        let subscriber = stack
            .subscriber(
                &format!("user{user}@example.com"),
                "email,webhook",
                Some(&receiver.url),
            )
            .await;
        subscribers.push(subscriber);
    }

    let mut events: Vec<Uuid> = Vec::new();
    for _ in 0..EVENTS_PER_USER {
        for subscriber in &subscribers {
            events.push(stack.fire(subscriber, "email,webhook").await);
        }
    }
    let deliveries = (events.len() * 2) as i64;
    poll_until(
        "every delivery to be sent",
        Duration::from_secs(60),
        || async {
            let sent: i64 =
                sqlx::query_scalar("select count(*) from deliveries where status = 'sent'")
                    .fetch_one(&stack.scaled.pool)
                    .await
                    .map_err(|e| e.to_string())?;
            if sent == deliveries {
                Ok(())
            } else {
                Err(format!("{sent} of {deliveries} sent"))
            }
        },
    )
    .await;

    let emails = tally(
        stack
            .smtp
            .received()
            .iter()
            .filter_map(|m| m.message_id().map(str::to_owned)),
    );
    let hooks = tally(receiver.events());
    let mut wrong = Vec::new();
    for event in &events {
        let email = emails
            .get(&format!("<{event}.email@pricealert>"))
            .copied()
            .unwrap_or(0);
        let hook = hooks.get(&event.to_string()).copied().unwrap_or(0);
        if (email, hook) != (1, 1) {
            wrong.push(format!("{event}: {email} emails, {hook} webhooks"));
        }
    }
    let sent_by: Vec<usize> = notifiers
        .iter()
        .map(|n| n.log_lines_with("notification sent").lines().count())
        .collect();
    eprintln!(
        "two notifiers: {} events, {deliveries} deliveries, {} emails, {} webhooks, \
         sent by each {sent_by:?}, {:.1} s",
        events.len(),
        emails.values().sum::<usize>(),
        hooks.values().sum::<usize>(),
        started.elapsed().as_secs_f64()
    );
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert_eq!(
        emails.len(),
        events.len(),
        "emails for no event: {emails:?}"
    );
    assert_eq!(hooks.len(), events.len(), "webhooks for no event");
    assert!(
        sent_by.iter().all(|&n| n > 0),
        "both notifiers sent (they competed): {sent_by:?}"
    );
}
