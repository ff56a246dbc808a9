//! The one window in which the notifier may send an email twice, constructed exactly with a
//! real `pricealert notifier` process, PostgreSQL, the mock Kafka broker and a real SMTP
//! server on loopback:
//! - the process SIGKILLed after the SMTP server's `250` and before its settle write (the test
//!   holds the delivery row locked with `select … for update`, so the settle write waits);
//! - the SMTP server never answering the end of DATA (the send times out).
//!
//! Either way the email is resent exactly once after the claim expires (or the retry is
//! due), and that possible duplicate is counted: `notifier_possible_duplicates_total` and
//! `possible_duplicates` in the delivery history. A delivery outside the window is sent once
//! and counts nothing.

use std::time::Duration;

use crate::support::notifier_stack::{metric_value, NotifierStack};
use crate::support::poll_until;
use crate::support::smtp::DataReply;

/// Short claims and timeouts, so the resend comes within the test.
const SETTINGS: &str = "[notifier]\nclaim_timeout = \"3s\"\npoll_interval = \"200ms\"\n\
    [notifier.retry]\ninitial_backoff = \"200ms\"\n\
    [notifier.smtp]\ntimeout = \"2s\"\n\
    [notifier.twilio]\ntimeout = \"2s\"\n\
    [notifier.webhook]\ntimeout = \"2s\"\n";

const DUPLICATES: &str = "notifier_possible_duplicates_total{type=\"email\"}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notifier_killed_between_the_smtp_250_and_its_settle_write_resends_once_and_counts_it() {
    let _serial = crate::serial().await;
    let stack = NotifierStack::start("notifier-kill", 1, SETTINGS).await;
    // PostgreSQL notices that a client died only when it next talks to it; a backend waiting
    // for a lock talks to nobody. This makes it check every 100 ms, so the killed process's
    // settle write dies with it, as it would if the process had not sent it yet.
    let database = stack
        .scaled
        .database_url
        .rsplit('/')
        .next()
        .unwrap_or_default();
    sqlx::query(&format!(
        "alter database {database} set client_connection_check_interval = 100"
    ))
    .execute(&stack.scaled.pool)
    .await
    .expect("set client_connection_check_interval");
    let mut notifier = stack.notifier("notifier").await;
    let ada = stack.subscriber("ada@example.com", "email", None).await;

    let (arrived, arrival) = tokio::sync::oneshot::channel();
    let (release, released) = tokio::sync::oneshot::channel();
    stack.smtp.then(DataReply::AcceptWhenReleased {
        arrived,
        release: released,
    });
    let event = stack.fire(&ada, "email").await;
    tokio::time::timeout(Duration::from_secs(30), arrival)
        .await
        .expect("the email reaches the SMTP server within 30 s")
        .expect("the SMTP server reports it");
    // The claim is committed (the send started after it): lock the row, so the settle write
    // that follows the 250 has to wait for this transaction.
    let mut lock = stack.scaled.pool.begin().await.expect("begin");
    let claimed: Option<bool> = sqlx::query_scalar(
        "select claimed_until is not null from deliveries \
         where event_id = $1 and channel = 'email' and status = 'pending' for update",
    )
    .bind(event.to_string())
    .fetch_optional(&mut *lock)
    .await
    .expect("lock the delivery row");
    assert_eq!(claimed, Some(true), "the row is claimed and not settled");
    release.send(()).expect("let the SMTP server answer 250");
    let settle_waiting = || async {
        sqlx::query_scalar::<_, i64>(
            "select count(*) from pg_stat_activity where datname = current_database() \
             and wait_event_type = 'Lock' and query like 'update deliveries set status%'",
        )
        .fetch_one(&stack.scaled.pool)
        .await
        .map_err(|e| e.to_string())
    };
    poll_until(
        "the notifier's settle write to wait for the row lock",
        Duration::from_secs(20),
        || async {
            match settle_waiting().await? {
                1 => Ok(()),
                waiting => Err(format!("{waiting} waiting")),
            }
        },
    )
    .await;
    notifier.kill_9().await;
    poll_until(
        "the killed process's settle write to be aborted",
        Duration::from_secs(20),
        || async {
            match settle_waiting().await? {
                0 => Ok(()),
                waiting => Err(format!("{waiting} still waiting")),
            }
        },
    )
    .await;
    lock.rollback().await.expect("release the row");
    assert_eq!(stack.emails_of(event), 1);
    assert_eq!(
        stack.delivery(event, "email").await,
        Some(("pending".to_owned(), 0)),
        "the 250 was never recorded"
    );

    notifier.restart().await;
    assert_eq!(
        stack.sent(event, "email").await,
        1,
        "one possible duplicate"
    );
    assert_eq!(stack.emails_of(event), 2, "resent exactly once");
    assert_eq!(metric_value(&notifier, DUPLICATES).await, 1.0);
    let history = stack.history(&ada).await;
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!(history[0]["status"], "sent");
    assert_eq!(history[0]["possible_duplicates"], 1, "{history:?}");
    assert!(notifier.is_running(), "{}", notifier.logs());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_smtp_server_silent_after_the_end_of_data_gets_the_email_once_more_counted_as_a_possible_duplicate(
) {
    let _serial = crate::serial().await;
    let stack = NotifierStack::start("notifier-silent", 1, SETTINGS).await;
    let notifier = stack.notifier("notifier").await;
    let bo = stack.subscriber("bo@example.com", "email", None).await;

    // Outside the window: sent once, nothing counted.
    let calm = stack.fire(&bo, "email").await;
    assert_eq!(stack.sent(calm, "email").await, 0);
    assert_eq!(stack.emails_of(calm), 1);
    assert_eq!(metric_value(&notifier, DUPLICATES).await, 0.0);

    stack.smtp.then(DataReply::Silence);
    let event = stack.fire(&bo, "email").await;
    assert_eq!(
        stack.sent(event, "email").await,
        1,
        "one possible duplicate"
    );
    assert_eq!(stack.emails_of(event), 2, "resent exactly once");
    assert_eq!(stack.emails_of(calm), 1);
    assert_eq!(metric_value(&notifier, DUPLICATES).await, 1.0);
    let history = stack.history(&bo).await;
    let counted: Vec<(String, i64)> = history
        .iter()
        .map(|d| {
            (
                d["event_id"].as_str().unwrap_or_default().to_owned(),
                d["possible_duplicates"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    assert!(
        counted.contains(&(event.to_string(), 1)) && counted.contains(&(calm.to_string(), 0)),
        "{history:?}"
    );
    drop(notifier);
}
