//! `PATCH /auth/me` and `POST /auth/me/password`: what a user changes about their own account.

use reqwest::StatusCode;
use serde_json::{json, Value};
use testkit::Engine;

use crate::helpers::{json_of, spawn_app, TestApp, PASSWORD};
use crate::live_client::LiveClient;
use testkit::{eventually_within, on_both_engines};

const NEW_PASSWORD: &str = "a new and longer passphrase";

async fn login(app: &TestApp, email: &str, password: &str) -> String {
    let token = json_of(app.login_form(email, password).await, StatusCode::OK).await;
    token["access_token"].as_str().expect("token").to_owned()
}

async fn change_password(
    app: &TestApp,
    token: &str,
    current: &str,
    new: &str,
) -> reqwest::Response {
    app.post_json(
        token,
        "/auth/me/password",
        &json!({"current_password": current, "new_password": new}),
    )
    .await
}

async fn the_phone_is_set_normalised_kept_and_cleared(engine: Engine) {
    let app = spawn_app(engine).await;
    let token = app.user_token("paula@example.com").await;

    let set = app
        .patch_json(&token, "/auth/me", &json!({"phone": "+44 20 7946 0958"}))
        .await;
    let user = json_of(set, StatusCode::OK).await;
    assert_eq!(user["phone"], "+442079460958");
    assert_eq!(user["email"], "paula@example.com");
    let me = json_of(app.get(&token, "/auth/me").await, StatusCode::OK).await;
    assert_eq!(me["phone"], "+442079460958", "stored, not only answered");

    let untouched = app.patch_json(&token, "/auth/me", &json!({})).await;
    assert_eq!(
        json_of(untouched, StatusCode::OK).await["phone"],
        "+442079460958",
        "a field not sent does not change"
    );
    let cleared = app
        .patch_json(&token, "/auth/me", &json!({"phone": null}))
        .await;
    assert_eq!(json_of(cleared, StatusCode::OK).await["phone"], Value::Null);
    let me = json_of(app.get(&token, "/auth/me").await, StatusCode::OK).await;
    assert_eq!(me["phone"], Value::Null);
}

async fn a_bad_phone_is_422_and_changes_nothing(engine: Engine) {
    let app = spawn_app(engine).await;
    let token = app.user_token("quinn@example.com").await;
    for bad in [json!("call me maybe"), json!(12), json!(["+14155552671"])] {
        let response = app
            .patch_json(&token, "/auth/me", &json!({"phone": bad}))
            .await;
        let body = json_of(response, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(body["detail"][0]["loc"], json!(["body", "phone"]), "{bad}");
    }
    let me = json_of(app.get(&token, "/auth/me").await, StatusCode::OK).await;
    assert_eq!(me["phone"], "+14155552671");
    let anonymous = app
        .client
        .patch(app.url("/auth/me"))
        .json(&json!({"phone": null}))
        .send()
        .await
        .expect("request");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

async fn a_password_change_ends_every_other_session_and_keeps_this_one(engine: Engine) {
    let app = spawn_app(engine).await;
    let email = "rosa@example.com";
    let laptop = app.user_token(email).await;
    let phone = login(&app, email, PASSWORD).await;
    let mut socket = LiveClient::connect(&app, "?symbols=BTC").await;
    socket.send(json!({"type": "auth", "token": phone})).await;
    socket.next_of("authenticated").await;

    let changed = change_password(&app, &laptop, PASSWORD, NEW_PASSWORD).await;
    let answer = json_of(changed, StatusCode::OK).await;
    assert_eq!(answer["token_type"], "bearer");
    let fresh = answer["access_token"].as_str().expect("new token");

    for (session, old) in [("laptop", &laptop), ("phone", &phone)] {
        let refused = json_of(app.get(old, "/auth/me").await, StatusCode::UNAUTHORIZED).await;
        assert_eq!(
            refused,
            json!({"detail": "Could not validate credentials"}),
            "{session}"
        );
    }
    let me = json_of(app.get(fresh, "/auth/me").await, StatusCode::OK).await;
    assert_eq!(me["email"], email);
    socket.next_of("auth_expired").await;
    socket.send(json!({"type": "auth", "token": phone})).await;
    socket.next_of("error").await;

    assert_eq!(
        app.login_form(email, PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED,
        "the old password no longer signs in"
    );
    let relogged = login(&app, email, NEW_PASSWORD).await;
    assert_eq!(
        app.get(&relogged, "/auth/me").await.status(),
        StatusCode::OK
    );
    assert_eq!(app.get(fresh, "/auth/me").await.status(), StatusCode::OK);
}

/// Each replica keeps the accounts it checked (the user cache): a password change on one ends
/// the old token on the others at once on PostgreSQL (a notice), within 2 s on SQLite.
async fn a_password_change_on_one_replica_ends_the_old_token_on_the_others(engine: Engine) {
    let app = spawn_app(engine).await;
    let other = app.replica().await;
    let email = "uma@example.com";
    let old = app.user_token(email).await;
    app.create_alert(&old, "BTC", "100").await;
    // The other replica now holds the account in its cache.
    assert_eq!(other.get(&old, "/alerts").await.status(), StatusCode::OK);
    assert_eq!(other.get(&old, "/auth/me").await.status(), StatusCode::OK);

    let changed = change_password(&app, &old, PASSWORD, NEW_PASSWORD).await;
    let fresh = json_of(changed, StatusCode::OK).await["access_token"]
        .as_str()
        .expect("new token")
        .to_owned();
    // The cache held the account since before the change: within 2 s it is read again.
    // Four seconds of patience leave two for a loaded machine.
    for path in ["/alerts", "/auth/me"] {
        eventually_within(
            std::time::Duration::from_secs(4),
            &format!("the other replica refuses the old token on {path}"),
            || async { other.get(&old, path).await.status() == StatusCode::UNAUTHORIZED },
        )
        .await;
    }
    let listed = json_of(other.get(&fresh, "/alerts").await, StatusCode::OK).await;
    assert_eq!(listed.as_array().map(Vec::len), Some(1));
}

async fn a_wrong_current_password_is_400_and_changes_nothing(engine: Engine) {
    let app = spawn_app(engine).await;
    let email = "sam@example.com";
    let token = app.user_token(email).await;

    let wrong = change_password(&app, &token, "not my password", NEW_PASSWORD).await;
    let body = json_of(wrong, StatusCode::BAD_REQUEST).await;
    assert_eq!(body, json!({"detail": "Current password is incorrect"}));

    let short = change_password(&app, &token, PASSWORD, "short").await;
    let body = json_of(short, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(body["detail"][0]["loc"], json!(["body", "new_password"]));
    assert_eq!(body["detail"][0]["type"], "string_too_short");
    let missing = app
        .post_json(
            &token,
            "/auth/me/password",
            &json!({"new_password": NEW_PASSWORD}),
        )
        .await;
    let body = json_of(missing, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(
        body["detail"][0]["loc"],
        json!(["body", "current_password"])
    );

    assert_eq!(app.get(&token, "/auth/me").await.status(), StatusCode::OK);
    assert_eq!(
        app.login_form(email, PASSWORD).await.status(),
        StatusCode::OK
    );
}

on_both_engines!(
    the_phone_is_set_normalised_kept_and_cleared,
    a_bad_phone_is_422_and_changes_nothing,
    a_password_change_ends_every_other_session_and_keeps_this_one,
    a_password_change_on_one_replica_ends_the_old_token_on_the_others,
    a_wrong_current_password_is_400_and_changes_nothing,
);
