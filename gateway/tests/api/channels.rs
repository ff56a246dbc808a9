//! `PUT/GET/DELETE /auth/me/channels/{kind}`: chat channels set per user, secrets never shown
//! back, alerts naming an unconfigured one warned about, all deleted with the user.

use reqwest::StatusCode;
use serde_json::{json, Value};
use shared::on_pool;
use testkit::{on_both_engines, Engine};

use crate::helpers::{json_of, spawn_app, TestApp};

const SLACK_URL: &str = "https://hooks.slack.com/services/T000/B000/SLACKSECRET";
const DISCORD_URL: &str = "https://discord.com/api/webhooks/1234/DISCORDSECRET";
const NTFY_TOKEN: &str = "tk_NTFYSECRET";

async fn put(app: &TestApp, token: &str, kind: &str, body: &Value) -> reqwest::Response {
    app.client
        .put(app.url(&format!("/auth/me/channels/{kind}")))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .expect("request")
}

async fn each_chat_channel_is_set_read_and_deleted_with_its_secrets_masked(engine: Engine) {
    let app = spawn_app(engine).await;
    let token = app.user_token("chat@example.com").await;
    let other = app.user_token("other@example.com").await;
    let cases = [
        (
            "telegram",
            json!({"chat_id": "@price_news"}),
            json!({"chat_id": "@price_news"}),
        ),
        (
            "slack",
            json!({"webhook_url": SLACK_URL}),
            json!({"webhook_url": "https://hooks.slack.com/…"}),
        ),
        (
            "discord",
            json!({"webhook_url": DISCORD_URL}),
            json!({"webhook_url": "https://discord.com/…"}),
        ),
        (
            "ntfy",
            json!({"server": "https://ntfy.sh", "topic": "btc_alerts", "token": NTFY_TOKEN}),
            json!({"server": "https://ntfy.sh/", "topic": "btc_alerts", "token_set": true}),
        ),
    ];
    for (kind, body, shown) in cases {
        let path = format!("/auth/me/channels/{kind}");
        let none = json_of(app.get(&token, &path).await, StatusCode::NOT_FOUND).await;
        assert_eq!(
            none,
            json!({"detail": format!("No {kind} channel configured")})
        );

        let set = put(&app, &token, kind, &body).await;
        let text = set.text().await.expect("body");
        let set: Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(set["kind"], kind, "{text}");
        assert_eq!(set["config"], shown, "{kind}");
        let read = app.get(&token, &path).await;
        assert_eq!(read.status(), StatusCode::OK);
        let read_text = read.text().await.expect("body");
        for secret in ["SLACKSECRET", "DISCORDSECRET", "NTFYSECRET"] {
            assert!(
                !text.contains(secret) && !read_text.contains(secret),
                "{read_text}"
            );
        }
        assert_eq!(
            app.get(&other, &path).await.status(),
            StatusCode::NOT_FOUND,
            "another user never sees it"
        );
        assert_eq!(
            app.delete(&token, &path).await.status(),
            StatusCode::NO_CONTENT
        );
        assert_eq!(
            app.delete(&token, &path).await.status(),
            StatusCode::NOT_FOUND
        );
    }
}

async fn bad_kinds_and_bad_configurations_are_json_4xx(engine: Engine) {
    let app = spawn_app(engine).await;
    let token = app.user_token("bad@example.com").await;
    for kind in ["fax", "email", "webhook"] {
        let unknown = json_of(
            app.get(&token, &format!("/auth/me/channels/{kind}")).await,
            StatusCode::NOT_FOUND,
        )
        .await;
        assert!(unknown["detail"]
            .as_str()
            .is_some_and(|d| d.contains("Unknown channel kind")));
    }
    for (kind, body, field) in [
        ("telegram", json!({"chat_id": "news"}), "chat_id"),
        ("telegram", json!({}), "chat_id"),
        (
            "slack",
            json!({"webhook_url": "http://hooks.slack.com/x"}),
            "webhook_url",
        ),
        (
            "slack",
            json!({"webhook_url": "https://127.0.0.1/x"}),
            "webhook_url",
        ),
        (
            "discord",
            json!({"webhook_url": "https://169.254.169.254/x"}),
            "webhook_url",
        ),
        ("discord", json!({"webhook_url": 7}), "webhook_url"),
        (
            "ntfy",
            json!({"server": "https://ntfy.sh", "topic": "a/b"}),
            "topic",
        ),
        (
            "ntfy",
            json!({"server": "https://ntfy.sh", "topic": "t", "token": "a b"}),
            "token",
        ),
        (
            "ntfy",
            json!({"server": "http://localhost", "topic": "t"}),
            "server",
        ),
        (
            "ntfy",
            json!({"server": "https://ntfy.sh", "topic": "t", "tokn": "x"}),
            "tokn",
        ),
    ] {
        let refused = json_of(
            put(&app, &token, kind, &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        assert_eq!(
            refused["detail"][0]["loc"],
            json!(["body", field]),
            "{kind} {body}"
        );
    }
}

async fn chat_alerts_warn_until_the_channel_is_configured(engine: Engine) {
    let app = spawn_app(engine).await;
    let token = app.user_token("warn@example.com").await;
    let body = json!({"symbol": "BTC", "condition": "above", "target_price": 1,
        "notification_types": "email,slack,telegram"});
    let warned = json_of(
        app.post_json(&token, "/alerts", &body).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(warned["notification_types"], "email,slack,telegram");
    assert_eq!(
        warned["warnings"],
        json!([
            {"channel": "telegram", "detail": "no telegram channel configured on the account"},
            {"channel": "slack", "detail": "no slack channel configured on the account"},
        ])
    );
    let set = put(&app, &token, "slack", &json!({"webhook_url": SLACK_URL})).await;
    assert_eq!(set.status(), StatusCode::OK);
    let set = put(&app, &token, "telegram", &json!({"chat_id": 42})).await;
    assert_eq!(set.status(), StatusCode::OK);
    let created = json_of(
        app.post_json(&token, "/alerts", &body).await,
        StatusCode::CREATED,
    )
    .await;
    assert!(created.get("warnings").is_none(), "{created}");
}

async fn a_users_chat_channels_are_deleted_with_the_user(engine: Engine) {
    let app = spawn_app(engine).await;
    let token = app.user_token("gone@example.com").await;
    let set = put(
        &app,
        &token,
        "discord",
        &json!({"webhook_url": DISCORD_URL}),
    )
    .await;
    assert_eq!(set.status(), StatusCode::OK);
    let count = || async {
        let count: i64 =
            on_pool!(&app.db, pool => sqlx::query_scalar("select count(*) from user_channels")
            .fetch_one(pool)
            .await)
            .expect("count");
        count
    };
    assert_eq!(count().await, 1);
    assert_eq!(
        app.delete(&token, "/auth/me").await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(count().await, 0);
}

on_both_engines!(
    each_chat_channel_is_set_read_and_deleted_with_its_secrets_masked,
    bad_kinds_and_bad_configurations_are_json_4xx,
    chat_alerts_warn_until_the_channel_is_configured,
    a_users_chat_channels_are_deleted_with_the_user,
);
