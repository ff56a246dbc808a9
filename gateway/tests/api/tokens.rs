//! Every way a bearer token can be wrong is a 401.

use base64::Engine as _;
use jsonwebtoken::{encode, EncodingKey, Header};
use reqwest::StatusCode;
use serde_json::json;
use testkit::Engine;

use crate::helpers::{json_of, spawn_app, JWT_SECRET};
use std::time::Duration;
use testkit::{eventually_within, on_both_engines};

fn token(secret: &str, claims: serde_json::Value) -> String {
    encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("encode")
}

fn claims(sub: &str, exp_offset: i64, aud: &str) -> serde_json::Value {
    let now = chrono::Utc::now().timestamp();
    json!({"sub": sub, "exp": now + exp_offset, "iat": now, "iss": "pricealert", "aud": aud})
}

async fn missing_or_unsupported_tokens_are_not_authenticated(engine: Engine) {
    let app = spawn_app(engine).await;
    let none = app
        .client
        .get(app.url("/alerts"))
        .send()
        .await
        .expect("request");
    assert_eq!(none.headers()["www-authenticate"], "Bearer");
    assert_eq!(
        json_of(none, StatusCode::UNAUTHORIZED).await,
        json!({"detail": "Not authenticated"})
    );
    let basic = app
        .client
        .get(app.url("/auth/me"))
        .header("Authorization", "Basic dXNlcjpwYXNz")
        .send()
        .await
        .expect("request");
    assert_eq!(
        json_of(basic, StatusCode::UNAUTHORIZED).await,
        json!({"detail": "Not authenticated"})
    );
}

async fn bad_tokens_cannot_be_validated(engine: Engine) {
    let app = spawn_app(engine).await;
    let valid = app.user_token("kate@example.com").await;
    let me = json_of(app.get(&valid, "/auth/me").await, StatusCode::OK).await;
    let sub = me["id"].as_i64().expect("id").to_string();

    let mut tampered = valid.clone();
    let last = tampered.pop().expect("non-empty");
    tampered.push(if last == 'A' { 'B' } else { 'A' });

    let engine_b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let alg_none = format!(
        "{}.{}.",
        engine_b64.encode(r#"{"alg":"none","typ":"JWT"}"#),
        engine_b64.encode(claims(&sub, 3600, "pricealert-api").to_string())
    );
    let hs512 = encode(
        &Header::new(jsonwebtoken::Algorithm::HS512),
        &claims(&sub, 3600, "pricealert-api"),
        &EncodingKey::from_secret(JWT_SECRET.as_bytes()),
    )
    .expect("encode");
    let mut not_yet_valid = claims(&sub, 7200, "pricealert-api");
    not_yet_valid["nbf"] = json!(chrono::Utc::now().timestamp() + 3600);
    // A token that is valid in every other way: only its `nbf` is wrong.
    let mut already_valid = claims(&sub, 7200, "pricealert-api");
    already_valid["nbf"] = json!(chrono::Utc::now().timestamp() - 60);
    let already_valid = token(JWT_SECRET, already_valid);
    json_of(app.get(&already_valid, "/auth/me").await, StatusCode::OK).await;
    // The valid token's header and signature (verified above, so remembered) around other
    // claims: another user's, for a day more.
    let parts: Vec<&str> = valid.split('.').collect();
    let other_claims = claims("1", 2 * 86_400, "pricealert-api").to_string();
    let glued = format!(
        "{}.{}.{}",
        parts[0],
        engine_b64.encode(other_claims),
        parts[2]
    );

    for (case, bad) in [
        ("tampered signature", tampered),
        ("alg none", alg_none),
        ("another algorithm", hs512),
        (
            "expired",
            token(JWT_SECRET, claims(&sub, -3600, "pricealert-api")),
        ),
        (
            "wrong audience",
            token(JWT_SECRET, claims(&sub, 3600, "someone-else")),
        ),
        (
            "wrong key",
            token(
                "another-secret-another-secret-another-secret",
                claims(&sub, 3600, "pricealert-api"),
            ),
        ),
        (
            "unknown user",
            token(JWT_SECRET, claims("999999", 3600, "pricealert-api")),
        ),
        (
            "not valid before an hour from now",
            token(JWT_SECRET, not_yet_valid),
        ),
        ("a verified token's signature on other claims", glued),
        ("garbage", "not.a.token".to_owned()),
    ] {
        let response = app.get(&bad, "/auth/me").await;
        assert_eq!(response.headers()["www-authenticate"], "Bearer", "{case}");
        let body = json_of(response, StatusCode::UNAUTHORIZED).await;
        assert_eq!(
            body,
            json!({"detail": "Could not validate credentials"}),
            "{case}"
        );
    }
}

async fn issued_tokens_carry_the_documented_claims(engine: Engine) {
    let app = spawn_app(engine).await;
    let valid = app.user_token("liam@example.com").await;
    let payload = valid.split('.').nth(1).expect("payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64");
    let claims: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
    assert!(claims["sub"].is_string(), "sub is the user id as a string");
    assert_eq!(claims["iss"], "pricealert");
    assert_eq!(claims["aud"], "pricealert-api");
    let lifetime = claims["exp"].as_i64().expect("exp") - claims["iat"].as_i64().expect("iat");
    assert_eq!(lifetime, 86_400);
}

/// A token is remembered once verified (a later request skips the signature); it must still
/// stop working when it expires. Tokens get 5 s of leeway either side.
async fn a_used_token_is_refused_once_it_expires(engine: Engine) {
    let app = spawn_app(engine).await;
    let valid = app.user_token("mia@example.com").await;
    let me = json_of(app.get(&valid, "/auth/me").await, StatusCode::OK).await;
    let sub = me["id"].as_i64().expect("id").to_string();
    let short_lived = token(JWT_SECRET, claims(&sub, 1, "pricealert-api"));
    let expires_at = chrono::Utc::now() + chrono::Duration::seconds(1);
    json_of(app.get(&short_lived, "/auth/me").await, StatusCode::OK).await;

    eventually_within(
        Duration::from_secs(20),
        "the expired token refused",
        || async { app.get(&short_lived, "/auth/me").await.status() == StatusCode::UNAUTHORIZED },
    )
    .await;
    assert!(
        chrono::Utc::now() >= expires_at + chrono::Duration::seconds(4),
        "refused only once past its expiry and the leeway"
    );
}

on_both_engines!(
    a_used_token_is_refused_once_it_expires,
    missing_or_unsupported_tokens_are_not_authenticated,
    bad_tokens_cannot_be_validated,
    issued_tokens_carry_the_documented_claims,
);
