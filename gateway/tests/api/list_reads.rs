//! `GET /alerts` for a caller the user cache does not hold: the account and the page are read
//! in one round trip, and the account is checked there exactly as every other route checks it.
//! A password change and an account deletion evict the account from the user cache, so the
//! next list read of that account takes this path.

use reqwest::StatusCode;
use serde_json::json;
use testkit::{on_both_engines, Engine};

use crate::helpers::{json_of, spawn_app_with, TestApp, PASSWORD};

const REFUSED: &str = "Could not validate credentials";

/// Changes `token`'s password from `current` to `new` and returns the new session's token.
async fn change_password(app: &TestApp, token: &str, current: &str, new: &str) -> String {
    let changed = app
        .post_json(
            token,
            "/auth/me/password",
            &json!({"current_password": current, "new_password": new}),
        )
        .await;
    let answer = json_of(changed, StatusCode::OK).await;
    answer["access_token"]
        .as_str()
        .expect("the new session's token")
        .to_owned()
}

async fn list(app: &TestApp, token: &str, query: &str) -> Vec<i64> {
    let page = json_of(
        app.get(token, &format!("/alerts{query}")).await,
        StatusCode::OK,
    )
    .await;
    page.as_array()
        .expect("a JSON array")
        .iter()
        .map(|alert| alert["id"].as_i64().expect("an id"))
        .collect()
}

async fn refused(app: &TestApp, token: &str) {
    let answer = json_of(app.get(token, "/alerts").await, StatusCode::UNAUTHORIZED).await;
    assert_eq!(answer, json!({"detail": REFUSED}));
}

async fn created_id(app: &TestApp, token: &str, symbol: &str, target: &str) -> i64 {
    app.create_alert(token, symbol, target).await["id"]
        .as_i64()
        .expect("an id")
}

/// The first read after each eviction takes the one-round-trip path: the new token sees the
/// caller's alerts (filtered and paged), never another user's; the old token, a deleted
/// account's token, are refused; an account with no alert reads an empty page.
async fn the_first_read_of_an_evicted_caller(engine: Engine, list_cache: bool) {
    let app = spawn_app_with(engine, |s| {
        if !list_cache {
            s.gateway.alert_list_cache = std::time::Duration::ZERO;
        }
    })
    .await;
    let ana = app.user_token("ana@example.com").await;
    let first = created_id(&app, &ana, "BTC", "100").await;
    let second = created_id(&app, &ana, "ETH", "200").await;
    let third = created_id(&app, &ana, "BTC", "300").await;
    let bob = app.user_token("bob@example.com").await;
    created_id(&app, &bob, "BTC", "400").await;

    let passwords = [
        PASSWORD,
        "second passphrase",
        "third passphrase",
        "fourth passphrase",
        "fifth passphrase",
    ];
    let reads = [
        ("", vec![third, second, first]),
        ("?symbol=BTC", vec![third, first]),
        ("?skip=1&limit=1", vec![second]),
    ];
    let mut token = ana.clone();
    for (pair, (query, expected)) in passwords.windows(2).zip(reads) {
        token = change_password(&app, &token, pair[0], pair[1]).await;
        assert_eq!(list(&app, &token, query).await, expected, "{query}");
    }
    let old = token;
    token = change_password(&app, &old, passwords[3], passwords[4]).await;
    refused(&app, &old).await;
    // The account is cached again by now: the old token is refused there too.
    refused(&app, &ana).await;
    assert_eq!(list(&app, &token, "").await, vec![third, second, first]);

    let carl = app.user_token("carl@example.com").await;
    assert_eq!(list(&app, &carl, "").await, Vec::<i64>::new());

    let deleted = app.delete(&bob, "/auth/me").await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    // The account is checked before the query, as on every route.
    let bad_query = app.get(&bob, "/alerts?limit=many").await;
    let answer = json_of(bad_query, StatusCode::UNAUTHORIZED).await;
    assert_eq!(answer, json!({"detail": REFUSED}));
    refused(&app, &bob).await;
    let bad_query = app.get(&token, "/alerts?limit=many").await;
    let answer = json_of(bad_query, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(answer["detail"][0]["loc"], json!(["query", "limit"]));
}

async fn the_first_read_of_an_evicted_caller_with_the_list_cache(engine: Engine) {
    the_first_read_of_an_evicted_caller(engine, true).await;
}

async fn the_first_read_of_an_evicted_caller_without_the_list_cache(engine: Engine) {
    the_first_read_of_an_evicted_caller(engine, false).await;
}

on_both_engines!(
    the_first_read_of_an_evicted_caller_with_the_list_cache,
    the_first_read_of_an_evicted_caller_without_the_list_cache,
);
