//! Quiet hours against the real SMTP server: deliveries due inside the window are held, then
//! go out as one digest when it ends; an urgent alert's go out at once; nothing held is lost
//! across a kill and restart. The window is stored as the gateway stores it and read by the
//! notifier from the database.
//!
//! Windows are whole local minutes: a test whose window must end soon ends it at the next
//! minute boundary (at least `MARGIN` away), so it waits up to a minute, polling.

use std::time::Duration;

use chrono::{DateTime, FixedOffset, TimeDelta, Timelike, Utc};
use shared::domain::Channel;
use shared::events::TriggerEvent;
use shared::on_pool;
use shared::storage::{now, Database, DeliveryRecord, DeliveryStatus};
use testkit::{fresh_database, Engine, TestUser};

use crate::helpers::smtp::SmtpServer;
use crate::helpers::{
    delivery, eventually, metric, settled, test_settings, trigger, user, with_smtp, TestNotifier,
};

/// Time to publish and see the deliveries held before the window ends.
const MARGIN: TimeDelta = TimeDelta::seconds(8);
/// Longer than the longest window a test waits out (a minute and its margin).
const WINDOW_PATIENCE: Duration = Duration::from_secs(100);

/// Asia/Kathmandu is UTC+05:45 all year: local minutes computed without a zone database.
fn kathmandu() -> FixedOffset {
    FixedOffset::east_opt(5 * 3600 + 45 * 60).expect("a valid offset")
}

/// Stores quiet hours for `user` from `start` to `end` (local Kathmandu), as the gateway does.
async fn store_quiet_hours(
    db: &Database,
    user: &TestUser,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) {
    let local = |t: DateTime<Utc>| t.with_timezone(&kathmandu()).format("%H:%M").to_string();
    on_pool!(db, pool => sqlx::query(
        "insert into user_quiet_hours (user_id, timezone, start_time, end_time, created_at, \
         updated_at) values ($1, 'Asia/Kathmandu', $2, $3, $4, $4)")
        .bind(user.id)
        .bind(local(start))
        .bind(local(end))
        .bind(now())
        .execute(pool)
        .await
        .map(|_| ()))
    .expect("quiet hours stored");
}

/// Quiet hours that hold now and end at the next whole minute at least `MARGIN` away.
async fn quiet_hours_ending_soon(db: &Database, user: &TestUser) -> DateTime<Utc> {
    let at = Utc::now();
    let minute = at
        .with_second(0)
        .and_then(|t| t.with_nanosecond(0))
        .expect("a minute");
    let mut end = minute + TimeDelta::minutes(1);
    if end - at < MARGIN {
        end += TimeDelta::minutes(1);
    }
    store_quiet_hours(db, user, end - TimeDelta::hours(3), end).await;
    end
}

/// Quiet hours that hold for the next hour or so.
async fn quiet_hours_holding(db: &Database, user: &TestUser) {
    let at = Utc::now();
    store_quiet_hours(db, user, at - TimeDelta::hours(1), at + TimeDelta::hours(2)).await;
}

fn urgent(mut event: TriggerEvent) -> TriggerEvent {
    event.options = serde_json::from_value(serde_json::json!({"urgent": true})).expect("options");
    event
}

/// When the event's email delivery is due next.
async fn next_attempt_at(db: &Database, event: &TriggerEvent) -> DateTime<Utc> {
    on_pool!(db, pool => sqlx::query_scalar(
        "select next_attempt_at from deliveries where event_id = $1 and channel = 'email'")
        .bind(event.event_id.to_string())
        .fetch_one(pool)
        .await)
    .expect("a delivery")
}

/// Waits until each event's email delivery is held until `until`.
async fn all_held(db: &Database, events: &[TriggerEvent], until: DateTime<Utc>) {
    for event in events {
        eventually("the delivery is held until the window ends", || async {
            let held = delivery(db, event.event_id, Channel::Email)
                .await
                .filter(|d| d.status == DeliveryStatus::Deferred && d.attempts == 0)?;
            (next_attempt_at(db, event).await == until).then_some(held)
        })
        .await;
    }
}

/// Waits (up to a window's length) until each event's email delivery is settled.
async fn all_settled_after_the_window(
    db: &Database,
    events: &[TriggerEvent],
) -> Vec<DeliveryRecord> {
    let mut records = Vec::new();
    for event in events {
        records.push(
            testkit::eventually_within(WINDOW_PATIENCE, "the held delivery is settled", || async {
                delivery(db, event.event_id, Channel::Email)
                    .await
                    .filter(|d| {
                        d.status != DeliveryStatus::Deferred && d.status != DeliveryStatus::Pending
                    })
            })
            .await,
        );
    }
    records
}

/// One email, a digest naming every event, settled into every row.
fn assert_one_digest_of(
    smtp: &SmtpServer,
    events: &[TriggerEvent],
    records: &[DeliveryRecord],
    end: DateTime<Utc>,
) {
    let messages = smtp.messages();
    assert_eq!(messages.len(), 1, "one digest, nothing else");
    let parsed = messages[0].parsed();
    let subject = parsed.subject().expect("a subject");
    assert!(
        subject.starts_with(&format!("{} price alerts", events.len())),
        "{subject}"
    );
    let text = parsed.body_text(0).expect("a text part");
    for event in events {
        assert!(
            text.contains(&format!("Alert id: {}", event.alert_id)),
            "alert {}: {text}",
            event.alert_id
        );
    }
    for record in records {
        assert_eq!(record.status, DeliveryStatus::Sent);
        assert_eq!(record.attempts, 1);
        assert_eq!(
            record.provider_id, records[0].provider_id,
            "settled by the one digest"
        );
        assert!(
            record.sent_at.is_some_and(|sent| sent >= end),
            "not before the window ended"
        );
    }
}

async fn deliveries_due_in_quiet_hours_go_out_as_one_digest_when_the_window_ends(engine: Engine) {
    let test = fresh_database(engine).await;
    let smtp = SmtpServer::start();
    let notifier = TestNotifier::spawn(&test.db, with_smtp(test_settings(), smtp.port)).await;
    let quinn = user(&test.db, "quinn@example.com", None).await;
    let end = quiet_hours_ending_soon(&test.db, &quinn).await;
    let events: Vec<_> = (1..=3).map(|i| trigger(&quinn, i, "email")).collect();

    // One at a time: each newcomer makes the user's key due again while the others are held.
    for (index, event) in events.iter().enumerate() {
        notifier.publish(event).await;
        all_held(&test.db, &events[..=index], end).await;
    }
    assert!(Utc::now() < end, "held while the window holds");
    assert!(smtp.messages().is_empty(), "nothing sent during the window");
    assert_eq!(
        metric(
            &notifier,
            r#"notifier_held_quiet_hours_total{type="email"}"#
        )
        .await,
        3.0,
        "each held once, however often the key is scanned"
    );

    let records = all_settled_after_the_window(&test.db, &events).await;
    assert_one_digest_of(&smtp, &events, &records, end);
    notifier.stop().await;
}

#[tokio::test]
async fn deliveries_due_in_quiet_hours_go_out_as_one_digest_when_the_window_ends_on_sqlite() {
    deliveries_due_in_quiet_hours_go_out_as_one_digest_when_the_window_ends(Engine::Sqlite).await;
}

#[tokio::test]
async fn deliveries_due_in_quiet_hours_go_out_as_one_digest_when_the_window_ends_on_postgres() {
    deliveries_due_in_quiet_hours_go_out_as_one_digest_when_the_window_ends(Engine::Postgres).await;
}

async fn an_urgent_alert_is_sent_during_quiet_hours_and_the_others_wait(engine: Engine) {
    let test = fresh_database(engine).await;
    let smtp = SmtpServer::start();
    let notifier = TestNotifier::spawn(&test.db, with_smtp(test_settings(), smtp.port)).await;
    let uma = user(&test.db, "uma@example.com", None).await;
    quiet_hours_holding(&test.db, &uma).await;
    let ordinary = trigger(&uma, 1, "email");
    let pressing = urgent(trigger(&uma, 2, "email"));

    notifier.publish(&ordinary).await;
    notifier.publish(&pressing).await;
    let sent = settled(&test.db, pressing.event_id, Channel::Email).await;
    assert_eq!(sent.status, DeliveryStatus::Sent);
    let held = eventually("the ordinary one is held", || async {
        delivery(&test.db, ordinary.event_id, Channel::Email)
            .await
            .filter(|d| d.status == DeliveryStatus::Deferred)
    })
    .await;
    assert_eq!(held.attempts, 0);
    assert!(
        next_attempt_at(&test.db, &ordinary).await > Utc::now() + TimeDelta::minutes(30),
        "until the window ends"
    );
    assert_eq!(
        smtp.messages()
            .iter()
            .map(|m| m.message_id())
            .collect::<Vec<_>>(),
        [format!("{}.email@pricealert", pressing.event_id)]
    );

    // What `DELETE /auth/me/quiet-hours` does: remove the window and make held rows due.
    on_pool!(&test.db, pool => async {
        sqlx::query("delete from user_quiet_hours where user_id = $1").bind(uma.id).execute(pool).await?;
        sqlx::query("update deliveries set next_attempt_at = $2 where user_id = $1 and status = 'deferred'")
            .bind(uma.id)
            .bind(now())
            .execute(pool)
            .await
            .map(|_| ())
    }.await)
    .expect("quiet hours removed");
    let released = settled(&test.db, ordinary.event_id, Channel::Email).await;
    assert_eq!(released.status, DeliveryStatus::Sent);
    assert_eq!(
        smtp.count_with_message_id(&format!("{}.email@pricealert", ordinary.event_id)),
        1
    );
    notifier.stop().await;
}

#[tokio::test]
async fn an_urgent_alert_is_sent_during_quiet_hours_and_the_others_wait_on_sqlite() {
    an_urgent_alert_is_sent_during_quiet_hours_and_the_others_wait(Engine::Sqlite).await;
}

#[tokio::test]
async fn an_urgent_alert_is_sent_during_quiet_hours_and_the_others_wait_on_postgres() {
    an_urgent_alert_is_sent_during_quiet_hours_and_the_others_wait(Engine::Postgres).await;
}

async fn held_deliveries_survive_a_restart_and_go_out_as_one_digest(engine: Engine) {
    let test = fresh_database(engine).await;
    let smtp = SmtpServer::start();
    let settings = with_smtp(test_settings(), smtp.port);
    let first_run = TestNotifier::spawn(&test.db, settings.clone()).await;
    let rhea = user(&test.db, "rhea@example.com", None).await;
    let end = quiet_hours_ending_soon(&test.db, &rhea).await;
    let events: Vec<_> = (1..=2).map(|i| trigger(&rhea, i, "email")).collect();
    for event in &events {
        first_run.publish(event).await;
    }
    all_held(&test.db, &events, end).await;

    first_run.kill().await;
    let second_run = TestNotifier::spawn(&test.db, settings).await;
    let records = all_settled_after_the_window(&test.db, &events).await;
    assert_one_digest_of(&smtp, &events, &records, end);
    second_run.stop().await;
}

#[tokio::test]
async fn held_deliveries_survive_a_restart_and_go_out_as_one_digest_on_sqlite() {
    held_deliveries_survive_a_restart_and_go_out_as_one_digest(Engine::Sqlite).await;
}

#[tokio::test]
async fn held_deliveries_survive_a_restart_and_go_out_as_one_digest_on_postgres() {
    held_deliveries_survive_a_restart_and_go_out_as_one_digest(Engine::Postgres).await;
}
