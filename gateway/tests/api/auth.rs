use reqwest::StatusCode;
use serde_json::{json, Value};
use testkit::Engine;

use crate::helpers::{json_of, spawn_app, spawn_app_with, PASSWORD};
use testkit::on_both_engines;

async fn register_returns_the_user_without_secrets(engine: Engine) {
    let app = spawn_app(engine).await;
    let body = json_of(
        app.register("Alice@Example.com", Some("+1 (415) 555-2671"))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let keys: Vec<&str> = body
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["id", "email", "phone", "created_at"]);
    assert_eq!(body["email"], "alice@example.com");
    assert_eq!(body["phone"], "+14155552671");
    assert!(body["id"].is_i64());
}

async fn empty_and_null_phones_are_stored_as_null(engine: Engine) {
    let app = spawn_app(engine).await;
    let empty = json_of(
        app.register("a@example.com", Some("")).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(empty["phone"], Value::Null);
    let response = app
        .client
        .post(app.url("/auth/register"))
        .json(&json!({"email": "b@example.com", "password": PASSWORD, "phone": null}))
        .send()
        .await
        .expect("request");
    assert_eq!(
        json_of(response, StatusCode::CREATED).await["phone"],
        Value::Null
    );
}

async fn registering_an_email_twice_in_any_case_is_400(engine: Engine) {
    let app = spawn_app(engine).await;
    app.register("bob@example.com", None).await;
    let body = json_of(
        app.register("BOB@example.com", None).await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(body, json!({"detail": "Email already registered"}));
}

async fn invalid_registrations_are_422_with_field_locations(engine: Engine) {
    let app = spawn_app(engine).await;
    for (body, field) in [
        (
            json!({"email": "not-an-email", "password": PASSWORD}),
            "email",
        ),
        (
            json!({"email": "c@example.com", "password": "short"}),
            "password",
        ),
        (
            json!({"email": "c@example.com", "password": "x".repeat(129)}),
            "password",
        ),
        (
            json!({"email": "c@example.com", "password": PASSWORD, "phone": "12"}),
            "phone",
        ),
        (json!({"password": PASSWORD}), "email"),
    ] {
        let response = app
            .client
            .post(app.url("/auth/register"))
            .json(&body)
            .send()
            .await
            .expect("request");
        let detail = json_of(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        let first = &detail["detail"][0];
        assert_eq!(first["loc"], json!(["body", field]), "{detail}");
        assert!(
            first["msg"].is_string() && first["type"].is_string(),
            "{detail}"
        );
    }
}

async fn login_accepts_the_form_and_json_bodies(engine: Engine) {
    let app = spawn_app(engine).await;
    app.register("dave@example.com", None).await;
    let token = json_of(
        app.login_form("DAVE@example.com", PASSWORD).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(token["token_type"], "bearer");
    assert_eq!(token["expires_in"], 86400);
    assert!(token["access_token"]
        .as_str()
        .is_some_and(|t| t.split('.').count() == 3));
    for body in [
        json!({"email": "dave@example.com", "password": PASSWORD}),
        json!({"username": "dave@example.com", "password": PASSWORD}),
    ] {
        let response = app
            .client
            .post(app.url("/auth/login"))
            .json(&body)
            .send()
            .await
            .expect("request");
        assert!(json_of(response, StatusCode::OK).await["access_token"].is_string());
    }
}

async fn wrong_password_and_unknown_email_get_the_same_401(engine: Engine) {
    let app = spawn_app(engine).await;
    app.register("erin@example.com", None).await;
    for (user, password) in [
        ("erin@example.com", "wrong password"),
        ("nobody@example.com", PASSWORD),
    ] {
        let body = json_of(
            app.login_form(user, password).await,
            StatusCode::UNAUTHORIZED,
        )
        .await;
        assert_eq!(body, json!({"detail": "Incorrect email or password"}));
    }
    let missing = app
        .client
        .post(app.url("/auth/login"))
        .form(&[("username", "erin@example.com")])
        .send()
        .await
        .expect("request");
    let detail = json_of(missing, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(detail["detail"][0]["loc"], json!(["body", "password"]));
}

async fn login_is_rate_limited_per_account_with_retry_after(engine: Engine) {
    let app = spawn_app_with(engine, |s| {
        s.gateway.login_attempts_per_minute_per_account = 3;
    })
    .await;
    app.register("frank@example.com", None).await;
    for _ in 0..3 {
        assert_eq!(
            app.login_form("frank@example.com", "wrong password")
                .await
                .status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let limited = app.login_form("FRANK@example.com", PASSWORD).await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry_after));
    assert!(json_of(limited, StatusCode::TOO_MANY_REQUESTS).await["detail"].is_string());
    // Another account from the same address is not affected by this account's budget.
    app.register("grace@example.com", None).await;
    assert_eq!(
        app.login_form("grace@example.com", PASSWORD).await.status(),
        StatusCode::OK
    );
}

async fn login_is_rate_limited_per_client_ip(engine: Engine) {
    let app = spawn_app_with(engine, |s| {
        s.gateway.login_attempts_per_minute_per_ip = 4;
    })
    .await;
    for i in 0..4 {
        let status = app
            .login_form(&format!("user{i}@example.com"), PASSWORD)
            .await
            .status();
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(
        app.login_form("user9@example.com", PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

async fn me_returns_the_caller_and_delete_me_removes_everything(engine: Engine) {
    let app = spawn_app(engine).await;
    let token = app.user_token("henry@example.com").await;
    let me = json_of(app.get(&token, "/auth/me").await, StatusCode::OK).await;
    assert_eq!(me["email"], "henry@example.com");
    let alert = app.create_alert(&token, "BTC", "100").await;
    let alert_id = alert["id"].as_i64().expect("id");

    let deleted = app.delete(&token, "/auth/me").await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let after = json_of(app.get(&token, "/auth/me").await, StatusCode::UNAUTHORIZED).await;
    assert_eq!(after, json!({"detail": "Could not validate credentials"}));
    assert!(testkit::read_alert(&app.db, alert_id).await.is_none());
    assert_eq!(
        app.login_form("henry@example.com", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

async fn the_api_rate_limit_applies_per_user(engine: Engine) {
    let app = spawn_app_with(engine, |s| s.gateway.api_requests_per_second_per_user = 3).await;
    let token = app.user_token("ivy@example.com").await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(app.get(&token, "/alerts").await.status());
    }
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    let other = app.user_token("jack@example.com").await;
    assert_eq!(app.get(&other, "/alerts").await.status(), StatusCode::OK);
}

on_both_engines!(
    register_returns_the_user_without_secrets,
    empty_and_null_phones_are_stored_as_null,
    registering_an_email_twice_in_any_case_is_400,
    invalid_registrations_are_422_with_field_locations,
    login_accepts_the_form_and_json_bodies,
    wrong_password_and_unknown_email_get_the_same_401,
    login_is_rate_limited_per_account_with_retry_after,
    login_is_rate_limited_per_client_ip,
    me_returns_the_caller_and_delete_me_removes_everything,
    the_api_rate_limit_applies_per_user,
);
