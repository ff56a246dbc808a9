//! The notifier's queries (its delivery table, SMS opt-outs) behave the same on PostgreSQL and
//! SQLite.

use chrono::Duration;
use notifier::store::{NewDelivery, RecordOutcome, Settlement, Store};
use shared::domain::{Channel, UserId};
use shared::storage::{now, Database, DeliveryStatus};
use testkit::{eventually, fresh_database, insert_user, Engine};
use uuid::Uuid;

async fn user(db: &Database, email: &str) -> UserId {
    insert_user(db, email, None).await.id
}

fn new_delivery(
    event_id: Uuid,
    channel: Channel,
    alert_id: i64,
    user_id: UserId,
) -> NewDelivery<'static> {
    NewDelivery {
        event_id,
        channel,
        alert_id,
        user_id,
        payload: "{}",
    }
}

async fn a_delivery_is_recorded_once_and_a_redelivery_leaves_it_as_it_was(engine: Engine) {
    let test = fresh_database(engine).await;
    let store = Store::new(test.db.clone());
    let db = &store;
    let alice = user(&test.db, "alice@example.com").await;
    let first = Uuid::new_v4();
    let second = Uuid::new_v4();

    assert_eq!(
        db.record_delivery(&new_delivery(first, Channel::Email, 7, alice))
            .await
            .expect("insert"),
        RecordOutcome::Inserted
    );
    db.settle_delivery(
        first,
        Channel::Email,
        &Settlement::Sent {
            provider_id: Some("<m1>".into()),
            provider_status: Some("250".into()),
        },
    )
    .await
    .expect("settle");
    assert_eq!(
        db.record_delivery(&new_delivery(first, Channel::Email, 7, alice))
            .await
            .expect("again"),
        RecordOutcome::AlreadyRecorded
    );
    db.record_delivery(&new_delivery(first, Channel::Sms, 7, alice))
        .await
        .expect("sms");
    db.record_delivery(&new_delivery(second, Channel::Email, 7, alice))
        .await
        .expect("second");

    let listed = db.deliveries_for_event(first).await.expect("list");
    let keys: Vec<(Uuid, Channel)> = listed.iter().map(|d| (d.event_id, d.channel)).collect();
    assert_eq!(keys, vec![(first, Channel::Email), (first, Channel::Sms)]);
    assert_eq!(
        db.deliveries_for_event(second).await.expect("list").len(),
        1
    );
    let sent = &listed[0];
    assert_eq!(
        sent.status,
        DeliveryStatus::Sent,
        "the redelivery left it as it was"
    );
    assert_eq!(sent.provider_id.as_deref(), Some("<m1>"));
    assert!(sent.sent_at.is_some());
    assert_eq!(
        db.delivery_provider_status(first, Channel::Email)
            .await
            .expect("read")
            .as_deref(),
        Some("250")
    );
    let json = serde_json::to_value(sent).expect("serialises");
    for field in [
        "event_id",
        "channel",
        "status",
        "attempts",
        "provider_id",
        "last_error",
        "created_at",
        "updated_at",
        "sent_at",
    ] {
        assert!(json.get(field).is_some(), "{field} in {json}");
    }
    assert_eq!(json["status"], "sent");
    assert_eq!(json["channel"], "email");
}

#[tokio::test]
async fn a_delivery_is_recorded_once_and_a_redelivery_leaves_it_as_it_was_on_sqlite() {
    a_delivery_is_recorded_once_and_a_redelivery_leaves_it_as_it_was(Engine::Sqlite).await;
}

#[tokio::test]
async fn a_delivery_is_recorded_once_and_a_redelivery_leaves_it_as_it_was_on_postgres() {
    a_delivery_is_recorded_once_and_a_redelivery_leaves_it_as_it_was(Engine::Postgres).await;
}

async fn claims_are_exclusive_and_interrupted_sends_without_idempotency_become_unknown(
    engine: Engine,
) {
    let test = fresh_database(engine).await;
    let store = Store::new(test.db.clone());
    let db = &store;
    let carol = user(&test.db, "carol@example.com").await;
    let event = Uuid::new_v4();
    db.record_delivery(&new_delivery(event, Channel::Email, 1, carol))
        .await
        .expect("email");
    db.record_delivery(&new_delivery(event, Channel::Sms, 1, carol))
        .await
        .expect("sms");
    db.record_delivery(&new_delivery(event, Channel::Slack, 1, carol))
        .await
        .expect("slack");
    let at = now();
    assert_eq!(db.due_delivery_keys(at, 10).await.expect("due").len(), 3);

    let short = at + Duration::milliseconds(1);
    assert!(db
        .claim_delivery(event, Channel::Email, None, short)
        .await
        .expect("claim"));
    assert!(db
        .claim_delivery(event, Channel::Sms, None, short)
        .await
        .expect("claim"));
    assert!(db
        .claim_delivery(event, Channel::Slack, None, short)
        .await
        .expect("claim"));
    assert!(
        !db.claim_delivery(event, Channel::Sms, None, short)
            .await
            .expect("claim"),
        "held"
    );

    // The claims expire: the email may be taken again; the SMS and the Slack message (no
    // idempotency key on either service) are settled as unknown.
    let later = at + Duration::seconds(1);
    let mut expired = db.expire_interrupted_sends(later).await.expect("expire");
    expired.sort();
    assert_eq!(expired, vec![(Channel::Sms, 1), (Channel::Slack, 1)]);
    // The email's claim lapses at `short` by the clock, which a fast machine (SQLite in
    // process) may not have reached yet: a claim that finds it held changes nothing, so retry.
    eventually(
        "the email claimable again once its claim lapsed",
        || async {
            db.claim_delivery(event, Channel::Email, None, later + Duration::seconds(60))
                .await
                .expect("reclaim")
        },
    )
    .await;
    let records = db.deliveries_for_event(event).await.expect("read");
    let email = records
        .iter()
        .find(|d| d.channel == Channel::Email)
        .expect("email");
    let sms = records
        .iter()
        .find(|d| d.channel == Channel::Sms)
        .expect("sms");
    assert_eq!(email.attempts, 2);
    assert_eq!(sms.status, DeliveryStatus::Unknown);
    let slack = records
        .iter()
        .find(|d| d.channel == Channel::Slack)
        .expect("slack");
    assert_eq!(slack.status, DeliveryStatus::Unknown);
    assert!(
        !db.claim_delivery(event, Channel::Sms, None, later)
            .await
            .expect("claim"),
        "final"
    );
}

#[tokio::test]
async fn claims_are_exclusive_and_interrupted_sends_without_idempotency_become_unknown_on_sqlite() {
    claims_are_exclusive_and_interrupted_sends_without_idempotency_become_unknown(Engine::Sqlite)
        .await;
}

#[tokio::test]
async fn claims_are_exclusive_and_interrupted_sends_without_idempotency_become_unknown_on_postgres()
{
    claims_are_exclusive_and_interrupted_sends_without_idempotency_become_unknown(Engine::Postgres)
        .await;
}

async fn deferred_deliveries_wait_and_recent_sends_count_a_digest_once(engine: Engine) {
    let test = fresh_database(engine).await;
    let store = Store::new(test.db.clone());
    let db = &store;
    let dan = user(&test.db, "dan@example.com").await;
    let events: Vec<Uuid> = (0..3).map(|_| Uuid::new_v4()).collect();
    for event in &events {
        db.record_delivery(&new_delivery(*event, Channel::Email, 1, dan))
            .await
            .expect("insert");
    }
    let until = now() + Duration::seconds(30);
    for event in &events {
        assert!(db
            .defer_delivery(*event, Channel::Email, until)
            .await
            .expect("defer"));
    }
    assert!(db
        .due_delivery_keys(now(), 10)
        .await
        .expect("due")
        .is_empty());
    assert_eq!(db.next_delivery_due_at().await.expect("next"), Some(until));
    let open = db
        .open_deliveries(dan, Channel::Email, now(), 10)
        .await
        .expect("open");
    assert_eq!(
        open.iter().map(|d| d.event_id).collect::<Vec<_>>(),
        events,
        "arrival order"
    );
    assert!(open.iter().all(|d| d.status == DeliveryStatus::Deferred));

    let digest = Uuid::new_v4().to_string();
    for event in &events {
        assert!(db
            .claim_delivery(
                *event,
                Channel::Email,
                Some(&digest),
                now() + Duration::seconds(60)
            )
            .await
            .expect("claim"));
        db.settle_delivery(
            *event,
            Channel::Email,
            &Settlement::Sent {
                provider_id: Some(digest.clone()),
                provider_status: None,
            },
        )
        .await
        .expect("settle");
    }
    let recent = db
        .recent_sends(now() - Duration::minutes(1))
        .await
        .expect("recent");
    assert_eq!(recent, vec![(dan, Channel::Email, 1)]);
    assert_eq!(db.next_delivery_due_at().await.expect("next"), None);
    let counts = db.delivery_status_counts().await.expect("counts");
    assert_eq!(counts, vec![(DeliveryStatus::Sent, 3)]);
}

#[tokio::test]
async fn deferred_deliveries_wait_and_recent_sends_count_a_digest_once_on_sqlite() {
    deferred_deliveries_wait_and_recent_sends_count_a_digest_once(Engine::Sqlite).await;
}

#[tokio::test]
async fn deferred_deliveries_wait_and_recent_sends_count_a_digest_once_on_postgres() {
    deferred_deliveries_wait_and_recent_sends_count_a_digest_once(Engine::Postgres).await;
}

async fn opt_outs_are_kept_and_deleting_a_user_removes_their_notifier_data(engine: Engine) {
    let test = fresh_database(engine).await;
    let store = Store::new(test.db.clone());
    let db = &store;
    let erin = user(&test.db, "erin@example.com").await;
    assert!(db.db().webhook(erin).await.expect("read").is_none());
    testkit::set_webhook(&test.db, erin, "https://hooks.example.com/a", "s1").await;
    let hook = db.db().webhook(erin).await.expect("read").expect("set");
    assert_eq!(hook.url, "https://hooks.example.com/a");
    assert!(
        !format!("{hook:?}").contains("s1\""),
        "Debug hides the secret"
    );

    db.mark_phone_opted_out(erin, "+14155550100")
        .await
        .expect("opt out");
    db.mark_phone_opted_out(erin, "+14155550100")
        .await
        .expect("idempotent");
    assert!(db
        .phone_opted_out(erin, "+14155550100")
        .await
        .expect("read"));
    assert!(!db
        .phone_opted_out(erin, "+14155550199")
        .await
        .expect("read"));
    let event = Uuid::new_v4();
    db.record_delivery(&new_delivery(event, Channel::Webhook, 3, erin))
        .await
        .expect("insert");

    shared::on_pool!(&test.db, pool => sqlx::query("delete from users where id = $1")
        .bind(erin)
        .execute(pool)
        .await
        .map(|_| ()))
    .expect("delete the user");
    assert!(db.db().webhook(erin).await.expect("read").is_none());
    assert!(db
        .deliveries_for_event(event)
        .await
        .expect("read")
        .is_empty());
    assert!(!db
        .phone_opted_out(erin, "+14155550100")
        .await
        .expect("read"));
    assert_eq!(
        db.record_delivery(&new_delivery(Uuid::new_v4(), Channel::Email, 3, erin))
            .await
            .expect("insert"),
        RecordOutcome::UserGone
    );
}

#[tokio::test]
async fn opt_outs_are_kept_and_deleting_a_user_removes_their_notifier_data_on_sqlite() {
    opt_outs_are_kept_and_deleting_a_user_removes_their_notifier_data(Engine::Sqlite).await;
}

#[tokio::test]
async fn opt_outs_are_kept_and_deleting_a_user_removes_their_notifier_data_on_postgres() {
    opt_outs_are_kept_and_deleting_a_user_removes_their_notifier_data(Engine::Postgres).await;
}
