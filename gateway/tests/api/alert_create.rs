//! Creating alerts: the documented object, what each field accepts, and the 422 naming the
//! field for what it does not.

use reqwest::StatusCode;
use serde_json::{json, Value};
use testkit::Engine;

use crate::helpers::{json_of, spawn_app};
use testkit::on_both_engines;

fn body(text: &str) -> Value {
    serde_json::from_str(text).expect("valid JSON")
}

async fn creating_an_alert_without_a_trailing_slash_returns_the_documented_object(engine: Engine) {
    let app = spawn_app(engine).await;
    let token = app.user_token("amy@example.com").await;
    let response = app
        .post_json(
            &token,
            "/alerts",
            &body(r#"{"symbol":"btc","condition":"above","target_price":67187.3358936566}"#),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let text = response.text().await.expect("body");
    assert!(
        text.contains(r#""target_price":67187.3358936566"#),
        "exact price in {text}"
    );
    let alert: Value = serde_json::from_str(&text).expect("json");
    let keys: Vec<&str> = alert
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys[..11],
        [
            "id",
            "symbol",
            "condition",
            "target_price",
            "target_price_high",
            "notification_types",
            "cooldown_minutes",
            "active",
            "triggered_count",
            "created_at",
            "last_triggered_at"
        ]
    );
    assert_eq!(alert["symbol"], "BTC");
    assert_eq!(alert["notification_types"], "email");
    assert_eq!(alert["cooldown_minutes"], 60);
    assert_eq!(alert["active"], true);
    assert_eq!(alert["triggered_count"], 0);
    assert_eq!(alert["target_price_high"], Value::Null);
    assert_eq!(alert["last_triggered_at"], Value::Null);

    let with_slash = app
        .post_json(
            &token,
            "/alerts/",
            &body(r#"{"symbol":"ETH","condition":"below","target_price":0.1}"#),
        )
        .await;
    assert_eq!(
        json_of(with_slash, StatusCode::CREATED).await["target_price"].to_string(),
        "0.1"
    );
}

async fn notification_types_accept_spaces_and_arrays(engine: Engine) {
    let app = spawn_app(engine).await;
    let token = app.user_token("ben@example.com").await;
    let spaced = app
        .post_json(&token, "/alerts", &json!({"symbol": "ETH", "condition": "above", "target_price": 1, "notification_types": "email, sms"}))
        .await;
    assert_eq!(
        json_of(spaced, StatusCode::CREATED).await["notification_types"],
        "email,sms"
    );
    let array = app
        .post_json(&token, "/alerts", &json!({"symbol": "ETH", "condition": "above", "target_price": 1, "notification_types": ["sms"]}))
        .await;
    assert_eq!(
        json_of(array, StatusCode::CREATED).await["notification_types"],
        "sms"
    );
}

async fn sms_without_a_phone_or_webhook_without_one_is_accepted_with_a_warning(engine: Engine) {
    let app = spawn_app(engine).await;
    assert_eq!(
        app.register("nophone@example.com", None).await.status(),
        StatusCode::CREATED
    );
    let login = json_of(
        app.login_form("nophone@example.com", crate::helpers::PASSWORD)
            .await,
        StatusCode::OK,
    )
    .await;
    let token = login["access_token"].as_str().expect("token");
    let create = app
        .post_json(token, "/alerts", &json!({"symbol": "BTC", "condition": "above", "target_price": 1, "notification_types": "sms"}))
        .await;
    let created = json_of(create, StatusCode::CREATED).await;
    assert_eq!(created["notification_types"], "sms");
    assert_eq!(
        created["warnings"],
        json!([{"channel": "sms", "detail": "no phone number on the account"}])
    );

    let alert = app.create_alert(token, "BTC", "1").await;
    assert!(alert.get("warnings").is_none(), "{alert}");
    let patch = app
        .patch_json(
            token,
            &format!("/alerts/{}", alert["id"]),
            &json!({"notification_types": "email,sms,webhook"}),
        )
        .await;
    let patched = json_of(patch, StatusCode::OK).await;
    assert_eq!(patched["notification_types"], "email,sms,webhook");
    assert_eq!(
        patched["warnings"],
        json!([
            {"channel": "sms", "detail": "no phone number on the account"},
            {"channel": "webhook", "detail": "no webhook on the account"}
        ])
    );
    let read = json_of(
        app.get(token, &format!("/alerts/{}", alert["id"])).await,
        StatusCode::OK,
    )
    .await;
    assert!(read.get("warnings").is_none(), "{read}");

    let with_phone = app.user_token("phone@example.com").await;
    let created = json_of(
        app.post_json(&with_phone, "/alerts", &json!({"symbol": "BTC", "condition": "above", "target_price": 1, "notification_types": "email,sms"}))
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert!(created.get("warnings").is_none(), "{created}");
}

async fn range_alerts_need_a_valid_upper_bound(engine: Engine) {
    let app = spawn_app(engine).await;
    let token = app.user_token("cat@example.com").await;
    let missing = app
        .post_json(
            &token,
            "/alerts",
            &json!({"symbol": "BTC", "condition": "range", "target_price": 100}),
        )
        .await;
    assert_eq!(
        json_of(missing, StatusCode::BAD_REQUEST).await,
        json!({"detail": "target_price_high is required for range alerts"})
    );
    let inverted = app
        .post_json(&token, "/alerts", &json!({"symbol": "BTC", "condition": "range", "target_price": 100, "target_price_high": 90}))
        .await;
    let detail = json_of(inverted, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(
        detail["detail"][0]["loc"],
        json!(["body", "target_price_high"])
    );
    let range = json_of(
        app.post_json(&token, "/alerts", &json!({"symbol": "BTC", "condition": "range", "target_price": 100, "target_price_high": 110.5})).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(range["target_price_high"].to_string(), "110.5");
    let path = format!("/alerts/{}", range["id"]);
    let broken = app
        .patch_json(&token, &path, &json!({"target_price": 200}))
        .await;
    assert_eq!(
        broken.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "range must stay valid"
    );
    let fixed = app
        .patch_json(
            &token,
            &path,
            &json!({"target_price": 200, "target_price_high": 300}),
        )
        .await;
    let fixed = json_of(fixed, StatusCode::OK).await;
    assert_eq!(
        (
            fixed["target_price"].to_string(),
            fixed["target_price_high"].to_string()
        ),
        ("200".into(), "300".into())
    );
}

async fn invalid_alerts_are_422_naming_the_field(engine: Engine) {
    let app = spawn_app(engine).await;
    let token = app.user_token("dan@example.com").await;
    for (request, field) in [
        (
            json!({"symbol": "NOPE", "condition": "above", "target_price": 1}),
            "symbol",
        ),
        (
            json!({"symbol": "", "condition": "above", "target_price": 1}),
            "symbol",
        ),
        (
            json!({"symbol": "A".repeat(21), "condition": "above", "target_price": 1}),
            "symbol",
        ),
        (
            json!({"symbol": "BTC", "condition": "sideways", "target_price": 1}),
            "condition",
        ),
        (
            json!({"symbol": "BTC", "condition": "above", "target_price": 0}),
            "target_price",
        ),
        (
            json!({"symbol": "BTC", "condition": "above", "target_price": -5}),
            "target_price",
        ),
        (
            json!({"symbol": "BTC", "condition": "above", "target_price": "abc"}),
            "target_price",
        ),
        (
            json!({"symbol": "BTC", "condition": "above"}),
            "target_price",
        ),
        (
            json!({"symbol": "BTC", "condition": "above", "target_price": 1, "cooldown_minutes": 0}),
            "cooldown_minutes",
        ),
        (
            json!({"symbol": "BTC", "condition": "above", "target_price": 1, "notification_types": "email,fax"}),
            "notification_types",
        ),
        (
            json!({"symbol": "BTC", "condition": "percent_move", "target_price": 2}),
            "window_minutes",
        ),
        (
            json!({"symbol": "BTC", "condition": "above", "target_price": 1, "expires_at": "2001-01-01T00:00:00Z"}),
            "expires_at",
        ),
    ] {
        let response = app.post_json(&token, "/alerts", &request).await;
        let detail = json_of(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        let locs: Vec<&Value> = detail["detail"]
            .as_array()
            .expect("list")
            .iter()
            .map(|e| &e["loc"])
            .collect();
        assert!(
            locs.contains(&&json!(["body", field])),
            "{request} → {detail}"
        );
    }
}

async fn extension_fields_round_trip(engine: Engine) {
    let app = spawn_app(engine).await;
    let token = app.user_token("eve@example.com").await;
    let created = app
        .post_json(&token, "/alerts", &json!({
            "symbol": "ETH", "condition": "percent_move", "target_price": 2, "window_minutes": 5,
            "direction": "up", "trigger": "once", "expires_at": "2099-01-01T00:00:00Z"
        }))
        .await;
    let alert = json_of(created, StatusCode::CREATED).await;
    assert_eq!(alert["condition"], "percent_move");
    assert_eq!(alert["direction"], "up");
    assert_eq!(alert["window_minutes"], 5);
    assert_eq!(alert["trigger"], "once");
    assert_eq!(alert["expires_at"], "2099-01-01T00:00:00Z");
}

on_both_engines!(
    creating_an_alert_without_a_trailing_slash_returns_the_documented_object,
    notification_types_accept_spaces_and_arrays,
    sms_without_a_phone_or_webhook_without_one_is_accepted_with_a_warning,
    range_alerts_need_a_valid_upper_bound,
    invalid_alerts_are_422_naming_the_field,
    extension_fields_round_trip,
);
