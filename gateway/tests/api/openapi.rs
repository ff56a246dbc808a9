//! `/openapi.json` lists every status an operation really answers: each operation is called
//! in the ways the layers refuse (no token, a wrong Content-Type, a broken body, a wrong path
//! parameter, too long a URI, too many headers) and every status seen must be documented,
//! with the error schema.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::Value;
use testkit::{on_both_engines, Engine};

use crate::helpers::{json_of, spawn_app, TestApp};

async fn call(
    app: &TestApp,
    method: &Method,
    path: &str,
    token: Option<&str>,
    body: Option<(&str, &str)>,
    extra_headers: usize,
) -> StatusCode {
    let mut request = app.client.request(method.clone(), app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some((content_type, body)) = body {
        request = request
            .header("Content-Type", content_type)
            .body(body.to_owned());
    }
    for index in 0..extra_headers {
        request = request.header(format!("x-filler-{index}"), "x");
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    let text = response.text().await.expect("body");
    if status.is_client_error() || status.is_server_error() {
        let json: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{method} {path} → {status} is not JSON ({e}): {text}"));
        assert!(json.get("detail").is_some(), "{method} {path}: {json}");
    }
    status
}

async fn every_status_an_operation_answers_is_documented(engine: Engine) {
    let app = spawn_app(engine).await;
    let token = app.user_token("spec@example.com").await;
    let spec = json_of(
        app.client
            .get(app.url("/openapi.json"))
            .send()
            .await
            .expect("spec"),
        StatusCode::OK,
    )
    .await;
    assert!(spec["components"]["schemas"]["Error"].is_object());
    let long_query = format!("?symbols={}", "B".repeat(9000));
    let mut undocumented = Vec::new();
    let paths = spec["paths"].as_object().expect("paths");
    for (template, item) in paths {
        if template == "/prices/ws" {
            continue;
        }
        for (method_name, operation) in item.as_object().expect("path item") {
            let Ok(method) = method_name.to_uppercase().parse::<Method>() else {
                continue;
            };
            let documented: BTreeSet<String> = operation["responses"]
                .as_object()
                .expect("responses")
                .keys()
                .cloned()
                .collect();
            for (status, response) in operation["responses"].as_object().expect("responses") {
                if status.starts_with('4') || status.starts_with('5') {
                    assert_eq!(
                        response["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/Error",
                        "{method} {template} {status}"
                    );
                }
            }
            let concrete = template
                .replace("{alert_id}", "999999")
                .replace("{symbol}", "BTC")
                .replace("{kind}", "slack");
            let wrong_parameter = template
                .replace("{alert_id}", "%FF")
                .replace("{symbol}", "%FF%FE")
                .replace("{kind}", "%FF");
            let has_body = operation.get("requestBody").is_some();
            let secured = operation.get("security").is_some();
            let mut seen = vec![
                call(&app, &method, &concrete, Some(&token), None, 0).await,
                call(&app, &method, &wrong_parameter, Some(&token), None, 0).await,
                call(
                    &app,
                    &method,
                    &format!("{concrete}{long_query}"),
                    Some(&token),
                    None,
                    0,
                )
                .await,
                call(&app, &method, &concrete, Some(&token), None, 120).await,
            ];
            if secured {
                seen.push(call(&app, &method, &concrete, None, None, 0).await);
            }
            if has_body {
                for body in [
                    ("text/plain", "hello"),
                    ("application/json", "{\"broken\": "),
                    ("application/json", "[]"),
                ] {
                    seen.push(call(&app, &method, &concrete, Some(&token), Some(body), 0).await);
                }
            }
            for status in seen {
                if !documented.contains(status.as_str()) {
                    undocumented.push(format!("{method} {template} answered {status}"));
                }
            }
        }
    }
    assert!(
        undocumented.is_empty(),
        "statuses missing from /openapi.json:\n{}",
        undocumented.join("\n")
    );
}

on_both_engines!(every_status_an_operation_answers_is_documented);
