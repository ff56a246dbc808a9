//! `PUT/GET/DELETE /auth/me/quiet-hours` and the alerts' `urgent` flag, on both engines.

use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};
use shared::domain::Channel;
use shared::on_pool;
use testkit::{insert_delivery, Engine};
use uuid::Uuid;

use crate::helpers::{json_of, spawn_app, TestApp};

const PATH: &str = "/auth/me/quiet-hours";

async fn user_id(app: &TestApp, token: &str) -> i64 {
    json_of(app.get(token, "/auth/me").await, StatusCode::OK).await["id"]
        .as_i64()
        .expect("an id")
}

async fn quiet_hours_are_set_read_replaced_and_deleted(engine: Engine) {
    let app = spawn_app(engine).await;
    let token = app.user_token("quinn@example.com").await;
    let other = app.user_token("otto@example.com").await;
    let none = json_of(app.get(&token, PATH).await, StatusCode::NOT_FOUND).await;
    assert_eq!(none, json!({"detail": "No quiet hours configured"}));

    let body = json!({"timezone": "Europe/Berlin", "start": "22:00", "end": "07:00"});
    let set = json_of(app.put_json(&token, PATH, &body).await, StatusCode::OK).await;
    for field in ["timezone", "start", "end"] {
        assert_eq!(set[field], body[field], "{field} as stored: {set}");
    }
    assert!(set["active_now"].is_boolean());
    let read = json_of(app.get(&token, PATH).await, StatusCode::OK).await;
    assert_eq!(read, set);
    // Someone else's are their own.
    json_of(app.get(&other, PATH).await, StatusCode::NOT_FOUND).await;

    let replaced = json_of(
        app.put_json(
            &token,
            PATH,
            &json!({"timezone": "America/New_York", "start": "09:15", "end": "17:45"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (&replaced["timezone"], &replaced["start"], &replaced["end"]),
        (&json!("America/New_York"), &json!("09:15"), &json!("17:45"))
    );
    assert_eq!(replaced["created_at"], set["created_at"]);

    let deleted = app.delete(&token, PATH).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    json_of(app.get(&token, PATH).await, StatusCode::NOT_FOUND).await;
    let again = json_of(app.delete(&token, PATH).await, StatusCode::NOT_FOUND).await;
    assert_eq!(again["detail"], "No quiet hours configured");
}

async fn wrong_zones_times_and_empty_windows_are_422s_naming_the_field(engine: Engine) {
    let app = spawn_app(engine).await;
    let token = app.user_token("wren@example.com").await;
    let cases = [
        (
            json!({"timezone": "Europe/Atlantis", "start": "22:00", "end": "07:00"}),
            "timezone",
        ),
        (
            json!({"timezone": "europe/berlin", "start": "22:00", "end": "07:00"}),
            "timezone",
        ),
        (
            json!({"timezone": "UTC", "start": "24:00", "end": "07:00"}),
            "start",
        ),
        (
            json!({"timezone": "UTC", "start": "7:00", "end": "07:00"}),
            "start",
        ),
        (
            json!({"timezone": "UTC", "start": "22:00", "end": "07:60"}),
            "end",
        ),
        (
            json!({"timezone": "UTC", "start": "22:00", "end": "22:00"}),
            "end",
        ),
        (
            json!({"timezone": "UTC", "start": 22, "end": "07:00"}),
            "start",
        ),
        (json!({"timezone": "UTC", "start": "22:00"}), "end"),
        (
            json!({"timezone": "UTC\u{0}", "start": "22:00", "end": "07:00"}),
            "timezone",
        ),
    ];
    for (body, field) in cases {
        let answer = json_of(
            app.put_json(&token, PATH, &body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        let errors = answer["detail"].as_array().expect("field errors");
        assert_eq!(errors.len(), 1, "{body}: {answer}");
        assert_eq!(errors[0]["loc"], json!(["body", field]), "{body}: {answer}");
    }
    let not_json = app
        .client
        .put(app.url(PATH))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{\"timezone\":")
        .send()
        .await
        .expect("request");
    assert_eq!(not_json.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = not_json.json().await.expect("JSON");
    assert!(body.get("detail").is_some(), "{body}");
    // Nothing was stored by any of them.
    json_of(app.get(&token, PATH).await, StatusCode::NOT_FOUND).await;
}

async fn quiet_hours_go_with_their_user(engine: Engine) {
    let app = spawn_app(engine).await;
    let token = app.user_token("gone@example.com").await;
    let id = user_id(&app, &token).await;
    let body = json!({"timezone": "UTC", "start": "00:00", "end": "06:00"});
    json_of(app.put_json(&token, PATH, &body).await, StatusCode::OK).await;
    assert_eq!(
        app.delete(&token, "/auth/me").await.status(),
        StatusCode::NO_CONTENT
    );
    let left: i64 = on_pool!(&app.db, pool => sqlx::query_scalar(
        "select count(*) from user_quiet_hours where user_id = $1")
        .bind(id)
        .fetch_one(pool)
        .await)
    .expect("count");
    assert_eq!(left, 0);
}

async fn next_attempt(app: &TestApp, event: Uuid) -> DateTime<Utc> {
    on_pool!(&app.db, pool => sqlx::query_scalar(
        "select next_attempt_at from deliveries where event_id = $1")
        .bind(event.to_string())
        .fetch_one(pool)
        .await)
    .expect("a delivery")
}

/// A held delivery (deferred, never attempted) of the user, due at `until`.
async fn held(app: &TestApp, user: i64, until: DateTime<Utc>) -> Uuid {
    let event = Uuid::new_v4();
    insert_delivery(&app.db, event, Channel::Email, 1, user).await;
    on_pool!(&app.db, pool => sqlx::query(
        "update deliveries set status = 'deferred', next_attempt_at = $2 where event_id = $1")
        .bind(event.to_string())
        .bind(until)
        .execute(pool)
        .await
        .map(|_| ()))
    .expect("held");
    event
}

async fn changing_or_deleting_quiet_hours_makes_held_deliveries_due_at_once(engine: Engine) {
    let app = spawn_app(engine).await;
    let token = app.user_token("hale@example.com").await;
    let id = user_id(&app, &token).await;
    let bystander = app.user_token("by@example.com").await;
    let bystander_id = user_id(&app, &bystander).await;
    let later = Utc::now() + Duration::hours(6);
    let body = json!({"timezone": "UTC", "start": "00:00", "end": "23:00"});
    json_of(app.put_json(&token, PATH, &body).await, StatusCode::OK).await;

    let first = held(&app, id, later).await;
    let untouched = held(&app, bystander_id, later).await;
    let before = Utc::now();
    let changed = json!({"timezone": "UTC", "start": "01:00", "end": "23:00"});
    json_of(app.put_json(&token, PATH, &changed).await, StatusCode::OK).await;
    assert!(
        next_attempt(&app, first).await <= Utc::now(),
        "due at once after a change"
    );
    assert!(next_attempt(&app, first).await >= before - Duration::seconds(1));

    let second = held(&app, id, later).await;
    assert_eq!(
        app.delete(&token, PATH).await.status(),
        StatusCode::NO_CONTENT
    );
    assert!(
        next_attempt(&app, second).await <= Utc::now(),
        "due at once after DELETE"
    );
    assert!(
        next_attempt(&app, untouched).await > Utc::now() + Duration::hours(5),
        "another user's stay held"
    );
}

async fn urgent_defaults_to_false_and_is_set_at_create_and_patch(engine: Engine) {
    let app = spawn_app(engine).await;
    let token = app.user_token("ursa@example.com").await;
    let plain = app.create_alert(&token, "BTC", "100").await;
    assert_eq!(plain["urgent"], false, "{plain}");
    let urgent = json_of(
        app.post_json(
            &token,
            "/alerts",
            &json!({"symbol": "BTC", "condition": "above", "target_price": 100, "urgent": true}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(urgent["urgent"], true);
    let path = format!("/alerts/{}", urgent["id"]);
    let kept = json_of(
        app.patch_json(&token, &path, &json!({"cooldown_minutes": 3}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(kept["urgent"], true, "a patch without it keeps it");
    let cleared = json_of(
        app.patch_json(&token, &path, &json!({"urgent": false}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(cleared["urgent"], false);
    let read = json_of(app.get(&token, &path).await, StatusCode::OK).await;
    assert_eq!(read["urgent"], false);
    let refused = json_of(
        app.patch_json(&token, &path, &json!({"urgent": "very"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(
        refused["detail"][0]["loc"],
        json!(["body", "urgent"]),
        "{refused}"
    );
}

testkit::on_both_engines!(
    quiet_hours_are_set_read_replaced_and_deleted,
    wrong_zones_times_and_empty_windows_are_422s_naming_the_field,
    quiet_hours_go_with_their_user,
    changing_or_deleting_quiet_hours_makes_held_deliveries_due_at_once,
    urgent_defaults_to_false_and_is_set_at_create_and_patch,
);
