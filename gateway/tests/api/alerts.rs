//! The caller's alerts after creation: listing, ownership, patch, toggle and delete, the
//! active alert quota, and the change each write announces on the bus.

use reqwest::StatusCode;
use serde_json::json;
use shared::bus::{decode, Decoded, EventBus, Topic};
use shared::events::{AlertChange, AlertChangeKind};
use testkit::Engine;

use crate::helpers::{json_of, spawn_app, spawn_app_with};
use testkit::on_both_engines;

async fn listing_filters_pages_and_orders_newest_first(engine: Engine) {
    let app = spawn_app(engine).await;
    let token = app.user_token("fay@example.com").await;
    let mut ids = Vec::new();
    for symbol in ["BTC", "ETH", "BTC", "SOL"] {
        ids.push(
            app.create_alert(&token, symbol, "10").await["id"]
                .as_i64()
                .expect("id"),
        );
    }
    let toggled = app
        .post_json(&token, &format!("/alerts/{}/toggle", ids[0]), &json!({}))
        .await;
    assert_eq!(json_of(toggled, StatusCode::OK).await["active"], false);

    let all = json_of(app.get(&token, "/alerts").await, StatusCode::OK).await;
    let listed: Vec<i64> = all
        .as_array()
        .expect("array")
        .iter()
        .map(|a| a["id"].as_i64().expect("id"))
        .collect();
    let mut newest_first = ids.clone();
    newest_first.reverse();
    assert_eq!(listed, newest_first);
    let with_slash = json_of(app.get(&token, "/alerts/").await, StatusCode::OK).await;
    assert_eq!(with_slash, all);

    let btc = json_of(app.get(&token, "/alerts?symbol=btc").await, StatusCode::OK).await;
    assert_eq!(btc.as_array().expect("array").len(), 2);
    let active = json_of(app.get(&token, "/alerts?active=true").await, StatusCode::OK).await;
    assert_eq!(active.as_array().expect("array").len(), 3);
    let inactive = json_of(
        app.get(&token, "/alerts?active=false").await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(inactive[0]["id"].as_i64(), Some(ids[0]));
    let page = json_of(
        app.get(&token, "/alerts?skip=1&limit=2").await,
        StatusCode::OK,
    )
    .await;
    let page_ids: Vec<i64> = page
        .as_array()
        .expect("array")
        .iter()
        .map(|a| a["id"].as_i64().expect("id"))
        .collect();
    assert_eq!(page_ids, vec![ids[2], ids[1]]);
    for (query, field) in [
        ("limit=101", "limit"),
        ("limit=0", "limit"),
        ("skip=-1", "skip"),
        ("active=maybe", "active"),
        ("limit=ten", "limit"),
    ] {
        let detail = json_of(
            app.get(&token, &format!("/alerts?{query}")).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(
            detail["detail"][0]["loc"],
            json!(["query", field]),
            "{query}"
        );
    }
}

async fn another_users_alert_is_not_found_everywhere(engine: Engine) {
    let app = spawn_app(engine).await;
    let owner = app.user_token("gil@example.com").await;
    let intruder = app.user_token("hal@example.com").await;
    let alert = app.create_alert(&owner, "BTC", "10").await;
    let path = format!("/alerts/{}", alert["id"]);
    let not_found = json!({"detail": "Alert not found"});
    assert_eq!(
        json_of(app.get(&intruder, &path).await, StatusCode::NOT_FOUND).await,
        not_found
    );
    assert_eq!(
        json_of(
            app.patch_json(&intruder, &path, &json!({"active": false}))
                .await,
            StatusCode::NOT_FOUND
        )
        .await,
        not_found
    );
    assert_eq!(
        json_of(app.delete(&intruder, &path).await, StatusCode::NOT_FOUND).await,
        not_found
    );
    assert_eq!(
        json_of(
            app.post_json(&intruder, &format!("{path}/toggle"), &json!({}))
                .await,
            StatusCode::NOT_FOUND
        )
        .await,
        not_found
    );
    assert_eq!(
        json_of(app.get(&intruder, "/alerts").await, StatusCode::OK).await,
        json!([])
    );
    // Nothing the intruder did changed the owner's alert.
    let unchanged = json_of(app.get(&owner, &path).await, StatusCode::OK).await;
    assert_eq!(unchanged, alert);
}

async fn patch_toggle_and_delete_change_the_alert(engine: Engine) {
    let app = spawn_app(engine).await;
    let token = app.user_token("ida@example.com").await;
    let alert = app.create_alert(&token, "BTC", "10").await;
    let path = format!("/alerts/{}", alert["id"]);
    let patched = json_of(
        app.patch_json(&token, &path, &json!({"target_price": 0.00001234, "cooldown_minutes": 5, "notification_types": "sms, email"})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(patched["target_price"].to_string(), "0.00001234");
    assert_eq!(patched["cooldown_minutes"], 5);
    assert_eq!(patched["notification_types"], "sms,email");
    let invalid = app
        .patch_json(&token, &path, &json!({"cooldown_minutes": 0}))
        .await;
    assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let off = json_of(
        app.post_json(&token, &format!("{path}/toggle"), &json!({}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(off["active"], false);
    let on = json_of(
        app.post_json(&token, &format!("{path}/toggle"), &json!({}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(on["active"], true);
    let deleted = app.delete(&token, &path).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert!(deleted.text().await.expect("body").is_empty());
    assert_eq!(app.get(&token, &path).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        app.delete(&token, &path).await.status(),
        StatusCode::NOT_FOUND
    );
}

async fn the_active_alert_quota_is_enforced(engine: Engine) {
    let app = spawn_app_with(engine, |s| s.gateway.max_active_alerts_per_user = 2).await;
    let token = app.user_token("jon@example.com").await;
    let first = app.create_alert(&token, "BTC", "1").await;
    app.create_alert(&token, "BTC", "2").await;
    let third = app
        .post_json(
            &token,
            "/alerts",
            &json!({"symbol": "BTC", "condition": "above", "target_price": 3}),
        )
        .await;
    assert!(
        json_of(third, StatusCode::UNPROCESSABLE_ENTITY).await["detail"]
            .as_str()
            .is_some_and(|d| d.contains("limit"))
    );
    let path = format!("/alerts/{}/toggle", first["id"]);
    json_of(
        app.post_json(&token, &path, &json!({})).await,
        StatusCode::OK,
    )
    .await;
    app.create_alert(&token, "BTC", "3").await;
    let reactivate = app.post_json(&token, &path, &json!({})).await;
    assert_eq!(reactivate.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

async fn every_alert_change_is_announced_on_the_bus(engine: Engine) {
    let app = spawn_app(engine).await;
    let mut changes = app
        .bus
        .subscribe(Topic::AlertChanges, "test")
        .await
        .expect("subscribe");
    let token = app.user_token("kim@example.com").await;
    let alert = app.create_alert(&token, "ETH", "10").await;
    let path = format!("/alerts/{}", alert["id"]);
    json_of(
        app.patch_json(&token, &path, &json!({"target_price": 11}))
            .await,
        StatusCode::OK,
    )
    .await;
    json_of(
        app.post_json(&token, &format!("{path}/toggle"), &json!({}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        app.delete(&token, &path).await.status(),
        StatusCode::NO_CONTENT
    );
    let mut seen = Vec::new();
    for _ in 0..4 {
        let message = changes
            .try_next()
            .expect("open")
            .expect("announced before the response");
        assert_eq!(message.key, "ETH");
        let Decoded::Ok(change) = decode::<AlertChange>(&message) else {
            panic!("malformed change")
        };
        seen.push(match change.kind {
            AlertChangeKind::Upserted { alert } => format!(
                "upsert v{} active={} {}",
                alert.version(),
                alert.active(),
                alert.spec().target_price()
            ),
            AlertChangeKind::Deleted { alert_id, .. } => format!("delete {alert_id}"),
        });
    }
    assert_eq!(
        seen,
        vec![
            "upsert v1 active=true 10".to_owned(),
            "upsert v2 active=true 11".to_owned(),
            "upsert v3 active=false 11".to_owned(),
            format!("delete {}", alert["id"]),
        ]
    );
}

on_both_engines!(
    listing_filters_pages_and_orders_newest_first,
    another_users_alert_is_not_found_everywhere,
    patch_toggle_and_delete_change_the_alert,
    the_active_alert_quota_is_enforced,
    every_alert_change_is_announced_on_the_bus,
);
