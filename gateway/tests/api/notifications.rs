use reqwest::StatusCode;
use serde_json::json;
use shared::domain::Channel;
use testkit::Engine;

use crate::helpers::{json_of, spawn_app};
use testkit::on_both_engines;

async fn a_webhook_is_set_with_a_secret_shown_once_and_rotated_on_every_put(engine: Engine) {
    let app = spawn_app(engine).await;
    let token = app.user_token("olga@example.com").await;
    let other = app.user_token("pete@example.com").await;
    let none = json_of(
        app.get(&token, "/auth/me/webhook").await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(none, json!({"detail": "No webhook configured"}));

    let url = "https://hooks.example.com/pricealert";
    let put = |body| {
        app.client
            .put(app.url("/auth/me/webhook"))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let first = json_of(
        put(json!({"url": url})).await.expect("request"),
        StatusCode::OK,
    )
    .await;
    assert_eq!(first["url"], url);
    let secret = first["secret"]
        .as_str()
        .expect("secret shown on PUT")
        .to_owned();
    assert!(secret.starts_with("whsec_") && secret.len() > 40);
    let read = json_of(app.get(&token, "/auth/me/webhook").await, StatusCode::OK).await;
    assert_eq!(read["url"], url);
    assert!(
        read.get("secret").is_none(),
        "the secret is shown only once"
    );
    let rotated = json_of(
        put(json!({"url": url})).await.expect("request"),
        StatusCode::OK,
    )
    .await;
    assert_ne!(rotated["secret"].as_str(), Some(secret.as_str()));
    assert_eq!(
        app.get(&other, "/auth/me/webhook").await.status(),
        StatusCode::NOT_FOUND,
        "another user never sees it"
    );

    for bad in [
        "http://127.0.0.1:9000/hook",
        "http://169.254.169.254/latest",
        "ftp://example.com/x",
        "not a url",
    ] {
        let refused = put(json!({"url": bad})).await.expect("request");
        let detail = json_of(refused, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(detail["detail"][0]["loc"], json!(["body", "url"]), "{bad}");
    }
    assert_eq!(
        app.delete(&token, "/auth/me/webhook").await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.delete(&token, "/auth/me/webhook").await.status(),
        StatusCode::NOT_FOUND
    );
}

async fn webhook_alerts_warn_until_a_webhook_is_configured(engine: Engine) {
    let app = spawn_app(engine).await;
    let token = app.user_token("quinn@example.com").await;
    let body = json!({"symbol": "BTC", "condition": "above", "target_price": 1, "notification_types": "email,webhook"});
    let warned = json_of(
        app.post_json(&token, "/alerts", &body).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(
        warned["warnings"],
        json!([{"channel": "webhook", "detail": "no webhook on the account"}])
    );
    let set = app
        .client
        .put(app.url("/auth/me/webhook"))
        .bearer_auth(&token)
        .json(&json!({"url": "https://hooks.example.com/x"}))
        .send()
        .await
        .expect("request");
    assert_eq!(set.status(), StatusCode::OK);
    let created = json_of(
        app.post_json(&token, "/alerts", &body).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(created["notification_types"], "email,webhook");
    assert!(created.get("warnings").is_none(), "{created}");
}

async fn an_alerts_deliveries_are_listed_for_its_owner_only(engine: Engine) {
    let app = spawn_app(engine).await;
    let token = app.user_token("rita@example.com").await;
    let other = app.user_token("sam@example.com").await;
    let alert = app.create_alert(&token, "BTC", "10").await;
    let alert_id = alert["id"].as_i64().expect("id");
    let path = format!("/alerts/{alert_id}/notifications");
    assert_eq!(
        json_of(app.get(&token, &path).await, StatusCode::OK).await,
        json!([])
    );

    let me = json_of(app.get(&token, "/auth/me").await, StatusCode::OK).await;
    let event_id = uuid::Uuid::new_v4();
    let user_id = me["id"].as_i64().expect("id");
    for channel in [Channel::Email, Channel::Sms] {
        testkit::insert_delivery(&app.db, event_id, channel, alert_id, user_id).await;
    }
    let listed = json_of(app.get(&token, &path).await, StatusCode::OK).await;
    let listed = listed.as_array().expect("array");
    assert_eq!(listed.len(), 2);
    for delivery in listed {
        assert_eq!(delivery["event_id"], event_id.to_string());
        assert_eq!(delivery["status"], "pending");
        assert_eq!(delivery["attempts"], 0);
    }
    let foreign = json_of(app.get(&other, &path).await, StatusCode::NOT_FOUND).await;
    assert_eq!(foreign, json!({"detail": "Alert not found"}));
}

on_both_engines!(
    a_webhook_is_set_with_a_secret_shown_once_and_rotated_on_every_put,
    webhook_alerts_warn_until_a_webhook_is_configured,
    an_alerts_deliveries_are_listed_for_its_owner_only,
);
