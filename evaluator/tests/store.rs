//! The evaluator's queries (the fire transaction, the outbox, the alerts it indexes) behave
//! the same on PostgreSQL and SQLite.

use chrono::{DateTime, Duration, TimeZone, Utc};
use evaluator::store::{FireCandidate, FireOutcome, Store, TickRecord};
use matching::Rearmed;
use shared::domain::{AlertPatch, NewAlert, RearmWait, TriggerPolicy};
use shared::events::PriceTick;
use shared::storage::Database;
use testkit::{fresh_database, insert_alert, insert_user, Engine};

fn at(minute: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0)
        .single()
        .expect("time")
        + Duration::minutes(minute)
}

fn tick(price: &str, received_at: DateTime<Utc>) -> PriceTick {
    PriceTick {
        schema_version: 1,
        symbol: "BTC".parse().expect("symbol"),
        price: price.parse().expect("price"),
        previous_price: None,
        currency: "USD".into(),
        source: "simulated".into(),
        timestamp: received_at,
        received_at,
        conversion: None,
    }
}

fn above(target: &str, trigger: TriggerPolicy) -> NewAlert {
    let target: serde_json::Value = serde_json::from_str(target).expect("a JSON number");
    testkit::new_alert(serde_json::json!({
        "symbol": "BTC", "condition": "above", "target_price": target,
        "notification_types": "email,sms", "cooldown_minutes": 10, "trigger": trigger.as_str(),
    }))
}

/// The outcomes of a tick that was recorded (panics if storage refused it).
fn outcomes(record: TickRecord) -> Vec<FireOutcome> {
    match record {
        TickRecord::Recorded(outcomes) => outcomes,
        refused => panic!("the tick was refused: {refused:?}"),
    }
}

fn price(text: &str) -> Option<shared::domain::Price> {
    Some(text.parse().expect("a price"))
}

async fn user_with_alert(db: &Database, alert: &NewAlert) -> (i64, i64) {
    let user = insert_user(db, "ann@example.com", Some("+14155552671")).await;
    (user.id, insert_alert(db, user.id, alert).await.id())
}

async fn a_fire_updates_the_alert_and_writes_one_event_in_the_same_transaction(engine: Engine) {
    let test = fresh_database(engine).await;
    let store = Store::new(test.db.clone());
    let db = &store;
    let (user_id, alert_id) = user_with_alert(&test.db, &above("100", TriggerPolicy::Repeat)).await;
    let candidate = FireCandidate {
        alert_id,
        version: 1,
        rearm_wait: None,
    };
    let outcomes = db
        .record_tick(
            &tick("101.5", at(0)),
            Some("99".parse().expect("p")),
            &[candidate],
            &[],
        )
        .await
        .map(outcomes)
        .expect("recorded");
    let FireOutcome::Fired(event) = &outcomes[0] else {
        panic!("expected a fire, got {outcomes:?}");
    };
    assert_eq!(event.user_id, user_id);
    assert_eq!(event.user_email, "ann@example.com");
    assert_eq!(event.user_phone.as_deref(), Some("+14155552671"));
    assert_eq!(event.current_price.to_string(), "101.5");
    assert_eq!(
        event.previous_price.map(|p| p.to_string()).as_deref(),
        Some("99")
    );
    assert_eq!(event.notification_types.to_string(), "email,sms");
    assert_eq!(event.timestamp, at(0));

    let alert = testkit::read_alert(&test.db, alert_id)
        .await
        .expect("exists");
    assert_eq!(alert.triggered_count(), 1);
    assert_eq!(alert.last_triggered_at(), Some(at(0)));
    assert_eq!(alert.version(), 2);
    assert!(alert.active());

    let pending = db.unpublished_outbox(10).await.expect("outbox");
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].message_key, user_id.to_string());
    let decoded: shared::events::TriggerEvent =
        serde_json::from_str(&pending[0].payload).expect("payload is an event");
    assert_eq!(&decoded, event.as_ref());
    assert_eq!(db.outbox_backlog().await.expect("backlog"), 1);
    db.mark_outbox_published(pending[0].id).await.expect("mark");
    assert_eq!(db.outbox_backlog().await.expect("backlog"), 0);
    assert!(db.unpublished_outbox(10).await.expect("outbox").is_empty());

    let prices = db.evaluator_last_prices().await.expect("prices");
    assert_eq!(prices.len(), 1);
    assert_eq!(prices[0].1.to_string(), "101.5");
}

async fn replaying_a_tick_or_a_stale_version_never_fires_twice(engine: Engine) {
    let test = fresh_database(engine).await;
    let store = Store::new(test.db.clone());
    let db = &store;
    let (_, alert_id) = user_with_alert(&test.db, &above("100", TriggerPolicy::Repeat)).await;
    let first = FireCandidate {
        alert_id,
        version: 1,
        rearm_wait: None,
    };
    db.record_tick(&tick("101", at(0)), None, &[first], &[])
        .await
        .map(outcomes)
        .expect("recorded");
    let replay = db
        .record_tick(&tick("101", at(0)), None, &[first], &[])
        .await
        .expect("refused");
    assert_eq!(
        replay,
        TickRecord::AlreadyRecorded {
            stored: "101".parse().expect("price")
        },
        "a replayed tick writes nothing"
    );
    let stale = db
        .record_tick(&tick("101", at(1)), price("101"), &[first], &[])
        .await
        .expect("refused");
    assert_eq!(
        stale,
        TickRecord::AlertChanged,
        "stale version: nothing written"
    );
    let next = FireCandidate {
        alert_id,
        version: 2,
        rearm_wait: None,
    };
    let cooling = db
        .record_tick(&tick("101", at(9)), price("101"), &[next], &[])
        .await
        .map(outcomes)
        .expect("recorded");
    assert_eq!(cooling, vec![FireOutcome::Rejected], "still cooling down");
    let cooled = db
        .record_tick(&tick("101", at(10)), price("101"), &[next], &[])
        .await
        .map(outcomes)
        .expect("recorded");
    assert!(matches!(cooled[0], FireOutcome::Fired(_)));
    assert_eq!(db.outbox_backlog().await.expect("backlog"), 2);
}

async fn a_once_alert_is_deactivated_by_its_fire(engine: Engine) {
    let test = fresh_database(engine).await;
    let store = Store::new(test.db.clone());
    let db = &store;
    let (_, alert_id) = user_with_alert(&test.db, &above("100", TriggerPolicy::Once)).await;
    let outcomes = db
        .record_tick(
            &tick("100", at(0)),
            None,
            &[FireCandidate {
                alert_id,
                version: 1,
                rearm_wait: None,
            }],
            &[],
        )
        .await
        .map(outcomes)
        .expect("recorded");
    assert!(matches!(outcomes[0], FireOutcome::Fired(_)));
    let alert = testkit::read_alert(&test.db, alert_id)
        .await
        .expect("exists");
    assert!(!alert.active());
    assert!(db.active_alert(alert_id).await.expect("read").is_none());
}

async fn paused_deleted_or_ownerless_alerts_are_rejected(engine: Engine) {
    let test = fresh_database(engine).await;
    let store = Store::new(test.db.clone());
    let db = &store;
    let (user_id, alert_id) = user_with_alert(&test.db, &above("100", TriggerPolicy::Repeat)).await;
    let candidate = FireCandidate {
        alert_id,
        version: 1,
        rearm_wait: None,
    };
    shared::on_pool!(&test.db, pool => sqlx::query("update users set is_active = false where id = $1")
        .bind(user_id)
        .execute(pool)
        .await
        .map(|_| ()))
    .expect("deactivate user");
    let rejected = db
        .record_tick(&tick("101", at(0)), None, &[candidate], &[])
        .await
        .map(outcomes)
        .expect("recorded");
    assert_eq!(rejected, vec![FireOutcome::Rejected], "inactive owner");
    assert!(db.active_alert(alert_id).await.expect("read").is_none());
    assert!(testkit::delete_alert(&test.db, alert_id).await);
    let rejected = db
        .record_tick(&tick("101", at(1)), price("101"), &[candidate], &[])
        .await
        .map(outcomes)
        .expect("recorded");
    assert_eq!(rejected, vec![FireOutcome::Rejected], "deleted");
    assert_eq!(db.outbox_backlog().await.expect("backlog"), 0);
}

async fn published_outbox_rows_are_pruned_and_unpublished_ones_kept(engine: Engine) {
    let test = fresh_database(engine).await;
    let store = Store::new(test.db.clone());
    let db = &store;
    let (_, first) = user_with_alert(&test.db, &above("100", TriggerPolicy::Repeat)).await;
    let bob = insert_user(&test.db, "bob@example.com", None).await;
    let second = insert_alert(&test.db, bob.id, &above("100", TriggerPolicy::Repeat)).await;
    let candidates = [first, second.id()].map(|alert_id| FireCandidate {
        alert_id,
        version: 1,
        rearm_wait: None,
    });
    db.record_tick(&tick("101", at(0)), None, &candidates, &[])
        .await
        .map(outcomes)
        .expect("recorded");
    let pending = db.unpublished_outbox(10).await.expect("outbox");
    assert_eq!(pending.len(), 2);
    db.mark_outbox_published(pending[0].id).await.expect("mark");
    let far_future = Utc::now() + Duration::days(365);
    assert_eq!(
        db.prune_published_outbox(far_future).await.expect("prune"),
        1
    );
    assert_eq!(
        db.unpublished_outbox(10).await.expect("outbox"),
        vec![pending[1].clone()]
    );
}

/// After a rebalance an evaluator may decide a symbol's tick on the previous price it last
/// saw, while another evaluator has moved it on since: storage refuses that decision.
async fn a_decision_on_a_stale_previous_price_writes_nothing(engine: Engine) {
    let test = fresh_database(engine).await;
    let db = Store::new(test.db.clone());
    let (_, alert_id) = user_with_alert(&test.db, &above("100", TriggerPolicy::Repeat)).await;
    db.record_tick(&tick("101", at(0)), price("99"), &[], &[])
        .await
        .map(outcomes)
        .expect("recorded");
    let candidate = FireCandidate {
        alert_id,
        version: 1,
        rearm_wait: None,
    };
    let refused = db
        .record_tick(&tick("102", at(1)), price("98"), &[candidate], &[])
        .await
        .expect("refused");
    assert_eq!(
        refused,
        TickRecord::PreviousChanged {
            stored: "101".parse().expect("price")
        }
    );
    assert_eq!(db.outbox_backlog().await.expect("backlog"), 0);
    let prices = db.evaluator_last_prices().await.expect("prices");
    assert_eq!(
        prices[0].1.to_string(),
        "101",
        "the last price did not move"
    );
    let fired = db
        .record_tick(&tick("102", at(1)), price("101"), &[candidate], &[])
        .await
        .map(outcomes)
        .expect("recorded");
    assert!(matches!(fired[0], FireOutcome::Fired(_)));
}

async fn a_fire_stores_its_rearm_wait_and_the_rearming_tick_clears_it(engine: Engine) {
    let test = fresh_database(engine).await;
    let store = Store::new(test.db.clone());
    let hysteretic = testkit::new_alert(serde_json::json!({
        "symbol": "BTC", "condition": "above", "target_price": 100, "cooldown_minutes": 1,
        "rearm_percent": 2,
    }));
    let (_, alert_id) = user_with_alert(&test.db, &hysteretic).await;
    let first = FireCandidate {
        alert_id,
        version: 1,
        rearm_wait: Some(RearmWait::Below),
    };
    let fired = store
        .record_tick(&tick("101", at(0)), None, &[first], &[])
        .await
        .map(outcomes)
        .expect("recorded");
    assert!(matches!(fired[0], FireOutcome::Fired(_)));
    let stored = store
        .active_alert(alert_id)
        .await
        .expect("read")
        .expect("active");
    assert_eq!(stored.rearm_wait(), Some(RearmWait::Below));
    // Storage refuses a fire while the wait lasts, whatever an evaluator decided.
    let early = FireCandidate {
        version: 2,
        ..first
    };
    let refused = store
        .record_tick(&tick("101", at(5)), price("101"), &[early], &[])
        .await
        .map(outcomes)
        .expect("recorded");
    assert_eq!(refused, vec![FireOutcome::Rejected]);
    let rearmed = Rearmed {
        alert_id,
        version: 2,
    };
    store
        .record_tick(&tick("98", at(6)), price("101"), &[], &[rearmed])
        .await
        .map(outcomes)
        .expect("recorded");
    let stored = store
        .active_alert(alert_id)
        .await
        .expect("read")
        .expect("active");
    assert_eq!(stored.rearm_wait(), None);
    assert_eq!(
        stored.version(),
        3,
        "ending the wait bumps the version, as the engine does"
    );
    let again = FireCandidate {
        version: 3,
        ..first
    };
    let fired = store
        .record_tick(&tick("101", at(7)), price("98"), &[again], &[])
        .await
        .map(outcomes)
        .expect("recorded");
    assert!(matches!(fired[0], FireOutcome::Fired(_)));
}

/// An edit committed between the decision and its transaction: the wait stays (the engine
/// decides the tick again on the edited alert), so the edit's change event, which carries the
/// wait, cannot put back a wait storage has cleared.
async fn a_rearm_decided_on_an_older_version_is_refused(engine: Engine) {
    let test = fresh_database(engine).await;
    let store = Store::new(test.db.clone());
    let hysteretic = testkit::new_alert(serde_json::json!({
        "symbol": "BTC", "condition": "above", "target_price": 100, "cooldown_minutes": 1,
        "rearm_percent": 2,
    }));
    let (_, alert_id) = user_with_alert(&test.db, &hysteretic).await;
    let first = FireCandidate {
        alert_id,
        version: 1,
        rearm_wait: Some(RearmWait::Below),
    };
    store
        .record_tick(&tick("101", at(0)), None, &[first], &[])
        .await
        .expect("recorded");
    let current = testkit::read_alert(&test.db, alert_id)
        .await
        .expect("exists");
    let until = shared::domain::Input::sent(serde_json::json!(at(1).to_rfc3339()));
    let edit = AlertPatch::snooze(&current, &until, at(0)).expect("a future time");
    let edited = testkit::write_alert(&test.db, alert_id, &edit).await;
    assert_eq!(edited.version(), 3);
    let stale = Rearmed {
        alert_id,
        version: 2,
    };
    let refused = store
        .record_tick(&tick("98", at(6)), price("101"), &[], &[stale])
        .await
        .expect("answered");
    assert!(matches!(refused, TickRecord::AlertChanged), "{refused:?}");
    let stored = testkit::read_alert(&test.db, alert_id)
        .await
        .expect("exists");
    assert_eq!(stored.rearm_wait(), Some(RearmWait::Below));
    assert_eq!(stored.version(), 3);
    // Decided again on the edited version, the same tick clears it.
    let current = Rearmed {
        alert_id,
        version: 3,
    };
    store
        .record_tick(&tick("98", at(6)), price("101"), &[], &[current])
        .await
        .map(outcomes)
        .expect("recorded");
    let stored = testkit::read_alert(&test.db, alert_id)
        .await
        .expect("exists");
    assert_eq!(stored.rearm_wait(), None);
    assert_eq!(stored.version(), 4);
}

async fn a_snoozed_alert_is_refused_by_the_fire_transaction(engine: Engine) {
    let test = fresh_database(engine).await;
    let store = Store::new(test.db.clone());
    let (_, alert_id) = user_with_alert(&test.db, &above("100", TriggerPolicy::Repeat)).await;
    let current = testkit::read_alert(&test.db, alert_id)
        .await
        .expect("exists");
    let until = shared::domain::Input::sent(serde_json::json!(at(10).to_rfc3339()));
    let snooze = AlertPatch::snooze(&current, &until, at(-1)).expect("a future time");
    let snoozed = testkit::write_alert(&test.db, alert_id, &snooze).await;
    let candidate = FireCandidate {
        alert_id,
        version: snoozed.version(),
        rearm_wait: None,
    };
    let refused = store
        .record_tick(
            &tick("101", at(10) - Duration::microseconds(1)),
            None,
            &[candidate],
            &[],
        )
        .await
        .map(outcomes)
        .expect("recorded");
    assert_eq!(refused, vec![FireOutcome::Rejected]);
    let fired = store
        .record_tick(&tick("101", at(10)), price("101"), &[candidate], &[])
        .await
        .map(outcomes)
        .expect("recorded");
    assert!(matches!(fired[0], FireOutcome::Fired(_)));
}

testkit::on_both_engines!(
    a_fire_stores_its_rearm_wait_and_the_rearming_tick_clears_it,
    a_rearm_decided_on_an_older_version_is_refused,
    a_snoozed_alert_is_refused_by_the_fire_transaction,
    a_decision_on_a_stale_previous_price_writes_nothing,
    a_fire_updates_the_alert_and_writes_one_event_in_the_same_transaction,
    replaying_a_tick_or_a_stale_version_never_fires_twice,
    a_once_alert_is_deactivated_by_its_fire,
    paused_deleted_or_ownerless_alerts_are_rejected,
    published_outbox_rows_are_pruned_and_unpublished_ones_kept,
);
