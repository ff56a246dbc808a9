//! The cached alert lists (`ALERT_LIST_CACHE_MS`) are evicted by what changes them behind the
//! gateway's back: fires, and alert changes from other replicas, on the bus. A deletion evicts
//! its owner's list only; one of an older version, which does not name its owner, evicts all.

use reqwest::StatusCode;
use serde_json::json;
use shared::bus::{publish_json, Topic};
use shared::events::AlertChange;
use testkit::{eventually, on_both_engines, Engine};

use crate::helpers::{json_of, spawn_app_with, trigger_event, TestApp};

/// A long TTL, so only the invalidations can make a list fresh again.
async fn spawn_caching_app(engine: Engine) -> TestApp {
    spawn_app_with(engine, |s| {
        s.gateway.alert_list_cache = std::time::Duration::from_secs(600)
    })
    .await
}

/// The `(id, triggered_count)` of each alert `GET /alerts` lists.
async fn listed(app: &TestApp, token: &str) -> Vec<(i64, i64)> {
    let list = json_of(app.get(token, "/alerts").await, StatusCode::OK).await;
    list.as_array()
        .expect("an array")
        .iter()
        .map(|a| {
            (
                a["id"].as_i64().expect("id"),
                a["triggered_count"].as_i64().expect("count"),
            )
        })
        .collect()
}

async fn user_id(app: &TestApp, token: &str) -> i64 {
    let me = json_of(app.get(token, "/auth/me").await, StatusCode::OK).await;
    me["id"].as_i64().expect("id")
}

async fn alert_id(app: &TestApp, token: &str, symbol: &str, target: &str) -> i64 {
    app.create_alert(token, symbol, target).await["id"]
        .as_i64()
        .expect("id")
}

/// What another replica or the evaluator writes, behind this gateway's back.
async fn write_behind(app: &TestApp, sql: &str, alert_id: i64) {
    shared::on_pool!(&app.db, pool => sqlx::query(sql)
        .bind(alert_id)
        .execute(pool)
        .await
        .map(|_| ()))
    .expect("write");
}

async fn a_deletion_on_the_bus_evicts_its_owners_list_alone(engine: Engine) {
    let app = spawn_caching_app(engine).await;
    let ana = app.user_token("ana@example.com").await;
    let kept = alert_id(&app, &ana, "BTC", "10").await;
    let deleted = alert_id(&app, &ana, "ETH", "20").await;
    let bob = app.user_token("bob@example.com").await;
    let bobs = alert_id(&app, &bob, "BTC", "30").await;
    assert_eq!(listed(&app, &ana).await, vec![(deleted, 0), (kept, 0)]);
    assert_eq!(listed(&app, &bob).await, vec![(bobs, 0)]);

    // Another replica deletes one of ana's alerts; the evaluator fires bob's.
    write_behind(&app, "delete from alerts where id = $1", deleted).await;
    write_behind(
        &app,
        "update alerts set triggered_count = 1 where id = $1",
        bobs,
    )
    .await;
    let change = AlertChange::deleted(
        deleted,
        "ETH".parse().expect("symbol"),
        user_id(&app, &ana).await,
    );
    publish_json(&app.bus, Topic::AlertChanges, "ETH", &change)
        .await
        .expect("publish");
    eventually("the deletion evicts ana's list", || async {
        listed(&app, &ana).await == vec![(kept, 0)]
    })
    .await;
    assert_eq!(
        listed(&app, &bob).await,
        vec![(bobs, 0)],
        "bob's list is still the cached one"
    );

    // A deletion of an older version names no owner: every list goes.
    let older = json!({"schema_version": 2, "change": "deleted", "alert_id": -1, "symbol": "SOL"});
    publish_json(&app.bus, Topic::AlertChanges, "SOL", &older)
        .await
        .expect("publish");
    eventually("the ownerless deletion evicts bob's list", || async {
        listed(&app, &bob).await == vec![(bobs, 1)]
    })
    .await;
}

async fn cached_alert_lists_are_refreshed_by_fires_and_changes_on_the_bus(engine: Engine) {
    let app = spawn_caching_app(engine).await;
    let token = app.user_token("lea@example.com").await;
    let alert_id = alert_id(&app, &token, "BTC", "10").await;
    let user_id = user_id(&app, &token).await;
    assert_eq!(listed(&app, &token).await, vec![(alert_id, 0)]);

    // What the evaluator's fire transaction does, behind the gateway's back.
    write_behind(
        &app,
        "update alerts set triggered_count = 1 where id = $1",
        alert_id,
    )
    .await;
    assert_eq!(
        listed(&app, &token).await,
        vec![(alert_id, 0)],
        "served from the cache"
    );

    let event = trigger_event(alert_id, user_id, "lea@example.com");
    publish_json(&app.bus, Topic::Notifications, &user_id.to_string(), &event)
        .await
        .expect("publish");
    eventually("the fire refreshes the list", || async {
        listed(&app, &token).await == vec![(alert_id, 1)]
    })
    .await;
}

/// An alert reads `active: false` from its expiry on, so a list that shows it active is not
/// served from the cache past that instant, however long the cache keeps lists.
async fn a_cached_list_is_not_served_past_an_alerts_expiry(engine: Engine) {
    let app = spawn_caching_app(engine).await;
    let ana = app.user_token("ana@example.com").await;
    let expires_at = (chrono::Utc::now() + chrono::Duration::seconds(4)).to_rfc3339();
    let body = json!({"symbol": "BTC", "condition": "above", "target_price": 10, "expires_at": expires_at});
    json_of(
        app.post_json(&ana, "/alerts", &body).await,
        StatusCode::CREATED,
    )
    .await;
    let active = || async {
        let list = json_of(app.get(&ana, "/alerts").await, StatusCode::OK).await;
        list[0]["active"].as_bool()
    };
    assert_eq!(active().await, Some(true), "cached while active");
    eventually("the list to show the alert expired", || async {
        active().await == Some(false)
    })
    .await;
}

/// `?active=` matches the `active` each alert reads: an expired alert is listed by
/// `active=false`, not `active=true`, from the list cache and from the database alike.
async fn the_active_filter_counts_an_expired_alert_as_inactive(engine: Engine, cached: bool) {
    let app = if cached {
        spawn_caching_app(engine).await
    } else {
        spawn_app_with(engine, |s| {
            s.gateway.alert_list_cache = std::time::Duration::ZERO
        })
        .await
    };
    let ana = app.user_token("ana@example.com").await;
    let expires_at = (chrono::Utc::now() + chrono::Duration::seconds(3)).to_rfc3339();
    let mut ids = Vec::new();
    for body in [
        json!({"symbol": "BTC", "condition": "above", "target_price": 10, "expires_at": expires_at}),
        json!({"symbol": "BTC", "condition": "above", "target_price": 20}),
    ] {
        let created = json_of(
            app.post_json(&ana, "/alerts", &body).await,
            StatusCode::CREATED,
        )
        .await;
        ids.push(created["id"].as_i64().expect("id"));
    }
    let (expiring, lasting) = (ids[0], ids[1]);
    let listed = |query: &'static str| {
        let (app, ana) = (&app, &ana);
        async move {
            let list = json_of(app.get(ana, query).await, StatusCode::OK).await;
            list.as_array()
                .expect("an array")
                .iter()
                .map(|a| (a["id"].as_i64().expect("id"), a["active"] == json!(true)))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        listed("/alerts?active=true").await,
        [(lasting, true), (expiring, true)]
    );
    eventually("the alert to read expired", || async {
        listed("/alerts").await.contains(&(expiring, false))
    })
    .await;
    assert_eq!(listed("/alerts?active=true").await, [(lasting, true)]);
    assert_eq!(listed("/alerts?active=false").await, [(expiring, false)]);
}

async fn the_active_filter_counts_an_expired_alert_as_inactive_when_cached(engine: Engine) {
    the_active_filter_counts_an_expired_alert_as_inactive(engine, true).await;
}

async fn the_active_filter_counts_an_expired_alert_as_inactive_when_read(engine: Engine) {
    the_active_filter_counts_an_expired_alert_as_inactive(engine, false).await;
}

on_both_engines!(
    the_active_filter_counts_an_expired_alert_as_inactive_when_cached,
    the_active_filter_counts_an_expired_alert_as_inactive_when_read,
    a_cached_list_is_not_served_past_an_alerts_expiry,
    cached_alert_lists_are_refreshed_by_fires_and_changes_on_the_bus,
    a_deletion_on_the_bus_evicts_its_owners_list_alone,
);
