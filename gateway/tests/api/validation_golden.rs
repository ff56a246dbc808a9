//! The exact 400/422 answers to a fixed set of bad requests (alerts above all: create, patch,
//! list; also register, login and webhook), compared with the
//! answers recorded in `golden/alert_validation.json` before the alert rules moved into
//! `shared::domain::alert`. Clients parse these bodies (`detail[].loc`, `type`, `msg`), so a
//! refactor must not change a byte of them.
//!
//! `PRICEALERT_RECORD_GOLDEN=1 cargo test -p gateway --test api validation_golden` rewrites
//! the file from the running code (only ever on purpose, after reading the diff).

use std::path::PathBuf;

use reqwest::StatusCode;
use serde_json::{json, Value};
use testkit::Engine;

use crate::helpers::{json_of, spawn_app, TestApp};

/// (name, method, path, raw body). `{above}`, `{range}`, `{percent}` in a path stand for the
/// ids of the caller's alerts of that kind.
#[rustfmt::skip]
const CASES: &[(&str, &str, &str, &str)] = &[
    ("create: empty object", "POST", "/alerts", "{}"),
    ("create: not an object", "POST", "/alerts", "[1, 2]"),
    ("create: a string body", "POST", "/alerts", r#""BTC""#),
    ("create: invalid JSON", "POST", "/alerts", r#"{"symbol": "BTC","#),
    ("create: empty symbol", "POST", "/alerts", r#"{"symbol":"  ","condition":"above","target_price":1}"#),
    ("create: long symbol", "POST", "/alerts", r#"{"symbol":"ABCDEFGHIJKLMNOPQRSTU","condition":"above","target_price":1}"#),
    ("create: symbol characters", "POST", "/alerts", r#"{"symbol":"BT C!","condition":"above","target_price":1}"#),
    ("create: unknown symbol", "POST", "/alerts", r#"{"symbol":"NOPE","condition":"above","target_price":1}"#),
    ("create: symbol not a string", "POST", "/alerts", r#"{"symbol":42,"condition":"above","target_price":1}"#),
    ("create: unknown condition", "POST", "/alerts", r#"{"symbol":"BTC","condition":"sideways","target_price":1}"#),
    ("create: upper-case condition", "POST", "/alerts", r#"{"symbol":"BTC","condition":"Above","target_price":1}"#),
    ("create: condition not a string", "POST", "/alerts", r#"{"symbol":"BTC","condition":5,"target_price":1}"#),
    ("create: price text", "POST", "/alerts", r#"{"symbol":"BTC","condition":"above","target_price":"abc"}"#),
    ("create: price boolean", "POST", "/alerts", r#"{"symbol":"BTC","condition":"above","target_price":true}"#),
    ("create: price zero", "POST", "/alerts", r#"{"symbol":"BTC","condition":"above","target_price":0}"#),
    ("create: price negative", "POST", "/alerts", r#"{"symbol":"BTC","condition":"above","target_price":-5.25}"#),
    ("create: range without high", "POST", "/alerts", r#"{"symbol":"BTC","condition":"range","target_price":1}"#),
    ("create: range with null high", "POST", "/alerts", r#"{"symbol":"BTC","condition":"range","target_price":1,"target_price_high":null}"#),
    ("create: range without high and a bad symbol", "POST", "/alerts", r#"{"symbol":"??","condition":"range","target_price":"x"}"#),
    ("create: range high below low", "POST", "/alerts", r#"{"symbol":"BTC","condition":"range","target_price":10,"target_price_high":9.99}"#),
    ("create: range high equal to low", "POST", "/alerts", r#"{"symbol":"BTC","condition":"range","target_price":10,"target_price_high":10}"#),
    ("create: range high not a number", "POST", "/alerts", r#"{"symbol":"BTC","condition":"range","target_price":10,"target_price_high":"high"}"#),
    ("create: unknown channel", "POST", "/alerts", r#"{"symbol":"BTC","condition":"above","target_price":1,"notification_types":"email,fax"}"#),
    ("create: empty channels", "POST", "/alerts", r#"{"symbol":"BTC","condition":"above","target_price":1,"notification_types":""}"#),
    ("create: channel array of numbers", "POST", "/alerts", r#"{"symbol":"BTC","condition":"above","target_price":1,"notification_types":[1,2]}"#),
    ("create: channels a number", "POST", "/alerts", r#"{"symbol":"BTC","condition":"above","target_price":1,"notification_types":5}"#),
    ("create: cooldown zero", "POST", "/alerts", r#"{"symbol":"BTC","condition":"above","target_price":1,"cooldown_minutes":0}"#),
    ("create: cooldown too long", "POST", "/alerts", r#"{"symbol":"BTC","condition":"above","target_price":1,"cooldown_minutes":525601}"#),
    ("create: cooldown fraction", "POST", "/alerts", r#"{"symbol":"BTC","condition":"above","target_price":1,"cooldown_minutes":1.5}"#),
    ("create: cooldown text", "POST", "/alerts", r#"{"symbol":"BTC","condition":"above","target_price":1,"cooldown_minutes":"soon"}"#),
    ("create: cooldown boolean", "POST", "/alerts", r#"{"symbol":"BTC","condition":"above","target_price":1,"cooldown_minutes":false}"#),
    ("create: unknown trigger", "POST", "/alerts", r#"{"symbol":"BTC","condition":"above","target_price":1,"trigger":"twice"}"#),
    ("create: expiry not a date", "POST", "/alerts", r#"{"symbol":"BTC","condition":"above","target_price":1,"expires_at":"tomorrow"}"#),
    ("create: expiry without zone", "POST", "/alerts", r#"{"symbol":"BTC","condition":"above","target_price":1,"expires_at":"2099-01-01T00:00:00"}"#),
    ("create: expiry a number", "POST", "/alerts", r#"{"symbol":"BTC","condition":"above","target_price":1,"expires_at":12345}"#),
    ("create: expiry in the past", "POST", "/alerts", r#"{"symbol":"BTC","condition":"above","target_price":1,"expires_at":"2000-01-01T00:00:00Z"}"#),
    ("create: direction on above", "POST", "/alerts", r#"{"symbol":"BTC","condition":"above","target_price":1,"direction":"up"}"#),
    ("create: window on below", "POST", "/alerts", r#"{"symbol":"BTC","condition":"below","target_price":1,"window_minutes":5}"#),
    ("create: percent move without window", "POST", "/alerts", r#"{"symbol":"BTC","condition":"percent_move","target_price":5}"#),
    ("create: percent move window zero", "POST", "/alerts", r#"{"symbol":"BTC","condition":"percent_move","target_price":5,"window_minutes":0}"#),
    ("create: percent move window too long", "POST", "/alerts", r#"{"symbol":"BTC","condition":"percent_move","target_price":5,"window_minutes":1441}"#),
    ("create: percent move bad direction", "POST", "/alerts", r#"{"symbol":"BTC","condition":"percent_move","target_price":5,"window_minutes":5,"direction":"sideways"}"#),
    ("create: window text", "POST", "/alerts", r#"{"symbol":"BTC","condition":"percent_move","target_price":5,"window_minutes":"five"}"#),
    ("create: every field wrong", "POST", "/alerts", r#"{"symbol":"","condition":"up","target_price":"x","target_price_high":"y","notification_types":"pager","cooldown_minutes":"z","trigger":"t","expires_at":"e","direction":"d","window_minutes":"w"}"#),
    ("create: every rule broken at once", "POST", "/alerts", r#"{"symbol":"ETH","condition":"above","target_price":0,"notification_types":"email,webhook","cooldown_minutes":0,"expires_at":"2001-02-03T04:05:06Z","direction":"up","window_minutes":3}"#),
    ("create: percent rules broken at once", "POST", "/alerts", r#"{"symbol":"ETH","condition":"percent_move","target_price":-1,"cooldown_minutes":999999,"window_minutes":2000}"#),
    ("create: a wrong value hides the broken rules", "POST", "/alerts", r#"{"symbol":"BTC","condition":"above","target_price":"abc","cooldown_minutes":0,"direction":"up"}"#),
    ("patch: not an object", "PATCH", "/alerts/{above}", "[]"),
    ("patch: invalid JSON", "PATCH", "/alerts/{above}", "{"),
    ("patch: price zero", "PATCH", "/alerts/{above}", r#"{"target_price":0}"#),
    ("patch: price text", "PATCH", "/alerts/{above}", r#"{"target_price":"abc"}"#),
    ("patch: cooldown zero", "PATCH", "/alerts/{above}", r#"{"cooldown_minutes":0}"#),
    ("patch: cooldown too long", "PATCH", "/alerts/{above}", r#"{"cooldown_minutes":600000}"#),
    ("patch: active text", "PATCH", "/alerts/{above}", r#"{"active":"maybe"}"#),
    ("patch: active number", "PATCH", "/alerts/{above}", r#"{"active":2}"#),
    ("patch: unknown trigger", "PATCH", "/alerts/{above}", r#"{"trigger":"twice"}"#),
    ("patch: expiry in the past", "PATCH", "/alerts/{above}", r#"{"expires_at":"1999-12-31T23:59:59Z"}"#),
    ("patch: expiry not a date", "PATCH", "/alerts/{above}", r#"{"expires_at":"never"}"#),
    ("patch: unknown channel", "PATCH", "/alerts/{above}", r#"{"notification_types":"email,carrier-pigeon"}"#),
    ("patch: direction on above", "PATCH", "/alerts/{above}", r#"{"direction":"down"}"#),
    ("patch: window on above", "PATCH", "/alerts/{above}", r#"{"window_minutes":10}"#),
    ("patch: several wrong values", "PATCH", "/alerts/{above}", r#"{"target_price":"a","cooldown_minutes":"b","active":"c","trigger":"d","expires_at":"e","direction":"f","window_minutes":"g","notification_types":7}"#),
    ("patch: several broken rules", "PATCH", "/alerts/{above}", r#"{"target_price":-3,"cooldown_minutes":0,"expires_at":"2000-01-01T00:00:00+02:00","notification_types":"sms,webhook","direction":"up"}"#),
    ("patch: wrong values and broken rules together", "PATCH", "/alerts/{above}", r#"{"target_price":"abc","cooldown_minutes":0,"window_minutes":"x","direction":"up","notification_types":"sms"}"#),
    ("patch: range high removed", "PATCH", "/alerts/{range}", r#"{"target_price_high":null}"#),
    ("patch: range high below low", "PATCH", "/alerts/{range}", r#"{"target_price_high":0.5}"#),
    ("patch: range low above high", "PATCH", "/alerts/{range}", r#"{"target_price":3}"#),
    ("patch: range high text", "PATCH", "/alerts/{range}", r#"{"target_price_high":"two"}"#),
    ("patch: percent window zero", "PATCH", "/alerts/{percent}", r#"{"window_minutes":0}"#),
    ("patch: percent window too long", "PATCH", "/alerts/{percent}", r#"{"window_minutes":1441}"#),
    ("patch: percent bad direction", "PATCH", "/alerts/{percent}", r#"{"direction":"sideways"}"#),
    ("patch: percent zero", "PATCH", "/alerts/{percent}", r#"{"target_price":0}"#),
    ("patch: id not an integer", "PATCH", "/alerts/abc", r#"{"target_price":1}"#),
    ("list: every parameter wrong", "GET", "/alerts?symbol=&active=maybe&skip=-1&limit=0", ""),
    ("list: limit too high", "GET", "/alerts?limit=101", ""),
    ("list: not numbers", "GET", "/alerts?skip=x&limit=1.5", ""),
    ("list: a long symbol", "GET", "/alerts?symbol=ABCDEFGHIJKLMNOPQRSTUVWXYZ", ""),
    ("register: empty object", "POST", "/auth/register", "{}"),
    ("register: every field wrong", "POST", "/auth/register", r#"{"email":"not-an-email","password":"short","phone":"12"}"#),
    ("register: long password and numbers", "POST", "/auth/register", r#"{"email":5,"password":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","phone":7}"#),
    ("login: empty JSON", "POST", "/auth/login", "{}"),
    ("login: email without password", "POST", "/auth/login", r#"{"email":"a@example.com"}"#),
    ("login: password not a string", "POST", "/auth/login", r#"{"username":"a@example.com","password":12345678}"#),
    ("webhook: no url", "PUT", "/auth/me/webhook", "{}"),
    ("webhook: not a url", "PUT", "/auth/me/webhook", r#"{"url":"not a url"}"#),
    ("webhook: loopback", "PUT", "/auth/me/webhook", r#"{"url":"http://127.0.0.1:9/hook"}"#),
    ("webhook: url a number", "PUT", "/auth/me/webhook", r#"{"url":42}"#),
];

fn golden_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/api/golden/alert_validation.json")
}

/// A user without a phone (so `sms` is refused) and one alert of each kind.
async fn caller_with_alerts(app: &TestApp) -> (String, [(&'static str, i64); 3]) {
    assert_eq!(
        app.register("golden@example.com", None).await.status(),
        StatusCode::CREATED
    );
    let login = json_of(
        app.login_form("golden@example.com", crate::helpers::PASSWORD)
            .await,
        StatusCode::OK,
    )
    .await;
    let token = login["access_token"].as_str().expect("token").to_owned();
    let mut ids = [("{above}", 0), ("{range}", 0), ("{percent}", 0)];
    let bodies = [
        json!({"symbol": "BTC", "condition": "above", "target_price": 10}),
        json!({"symbol": "ETH", "condition": "range", "target_price": 1, "target_price_high": 2}),
        json!({"symbol": "SOL", "condition": "percent_move", "target_price": 5, "window_minutes": 60}),
    ];
    for (slot, body) in ids.iter_mut().zip(bodies) {
        let created = json_of(
            app.post_json(&token, "/alerts", &body).await,
            StatusCode::CREATED,
        )
        .await;
        slot.1 = created["id"].as_i64().expect("id");
    }
    (token, ids)
}

async fn bad_alert_requests_get_the_recorded_answers(engine: Engine) {
    let app = spawn_app(engine).await;
    let (token, ids) = caller_with_alerts(&app).await;
    let mut answers = Vec::new();
    for (name, method, path, body) in CASES {
        let path = ids.iter().fold((*path).to_owned(), |p, (slot, id)| {
            p.replace(slot, &id.to_string())
        });
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let response = app
            .client
            .request(method, app.url(&path))
            .bearer_auth(&token)
            .header("Content-Type", "application/json")
            .body(*body)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        let answer: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{name}: body is not JSON ({e}): {text}"));
        assert!(
            (400..500).contains(&status),
            "{name}: expected a 4xx, got {status}: {text}"
        );
        answers.push(json!({"case": name, "status": status, "body": answer}));
    }
    let answers = Value::Array(answers);
    if std::env::var_os("PRICEALERT_RECORD_GOLDEN").is_some() {
        let text = serde_json::to_string_pretty(&answers).expect("serialise") + "\n";
        std::fs::write(golden_path(), text).expect("write the golden file");
        return;
    }
    let recorded: Value = serde_json::from_str(
        &std::fs::read_to_string(golden_path()).expect("read the golden file"),
    )
    .expect("golden file is JSON");
    let (Value::Array(recorded), Value::Array(answers)) = (&recorded, &answers) else {
        panic!("golden file is not an array")
    };
    assert_eq!(recorded.len(), answers.len(), "number of cases");
    for (expected, actual) in recorded.iter().zip(answers) {
        // As text, so a change in the order of keys or errors counts too.
        assert_eq!(
            serde_json::to_string_pretty(actual).expect("serialise"),
            serde_json::to_string_pretty(expected).expect("serialise"),
            "answer changed for {}",
            expected["case"]
        );
    }
}

testkit::on_both_engines!(bad_alert_requests_get_the_recorded_answers);
