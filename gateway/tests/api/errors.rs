//! Every error is JSON with a `detail`; none of the framework's plain-text rejections leak out.

use reqwest::StatusCode;
use serde_json::{json, Value};
use testkit::Engine;

use crate::helpers::{json_of, spawn_app};
use testkit::on_both_engines;

async fn malformed_bodies_and_bad_paths_are_json_errors(engine: Engine) {
    let app = spawn_app(engine).await;
    let token = app.user_token("max@example.com").await;

    let bad_json = app
        .client
        .post(app.url("/alerts"))
        .bearer_auth(&token)
        .header("Content-Type", "application/json")
        .body(r#"{"symbol": "BTC", "#)
        .send()
        .await
        .expect("request");
    let detail = json_of(bad_json, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(detail["detail"][0]["type"], "json_invalid");

    // Found by Schemathesis: an integer beyond 64 bits was a 500.
    let huge = app
        .client
        .post(app.url("/alerts"))
        .bearer_auth(&token)
        .header("Content-Type", "application/json")
        .body(r#"{"symbol": "BTC", "condition": "above", "target_price": 1, "window_minutes": -9223372036854775809}"#)
        .send()
        .await
        .expect("request");
    let huge = json_of(huge, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(huge["detail"][0]["loc"], json!(["body", "window_minutes"]));

    let not_object = app.post_json(&token, "/alerts", &json!([1, 2])).await;
    assert!(json_of(not_object, StatusCode::UNPROCESSABLE_ENTITY).await["detail"].is_array());

    let wrong_type = app
        .client
        .post(app.url("/alerts"))
        .bearer_auth(&token)
        .header("Content-Type", "text/plain")
        .body(r#"{"symbol":"BTC","condition":"above","target_price":1}"#)
        .send()
        .await
        .expect("request");
    assert!(json_of(wrong_type, StatusCode::UNSUPPORTED_MEDIA_TYPE).await["detail"].is_string());

    let login_wrong_type = app
        .client
        .post(app.url("/auth/login"))
        .header("Content-Type", "text/plain")
        .body("username=a&password=b")
        .send()
        .await
        .expect("request");
    assert!(
        json_of(login_wrong_type, StatusCode::UNSUPPORTED_MEDIA_TYPE).await["detail"].is_string()
    );

    let not_an_id = json_of(
        app.get(&token, "/alerts/abc").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(not_an_id["detail"][0]["loc"], json!(["path", "alert_id"]));
    assert_eq!(not_an_id["detail"][0]["input"], "abc");
    let not_utf8_id = json_of(
        app.get(&token, "/alerts/%FF").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(not_utf8_id["detail"][0]["loc"], json!(["path", "alert_id"]));
    assert_eq!(not_utf8_id["detail"][0]["input"], "%FF");
    let not_utf8_symbol = json_of(
        app.get(&token, "/prices/%FF%FE").await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(not_utf8_symbol, json!({"detail": "Unknown symbol: %FF%FE"}));

    let long_uri = app
        .get(&token, &format!("/prices?symbols={}", "B".repeat(9000)))
        .await;
    assert_eq!(
        json_of(long_uri, StatusCode::URI_TOO_LONG).await,
        json!({"detail": "URI Too Long"})
    );
    let mut many_headers = app.client.get(app.url("/health"));
    for index in 0..120 {
        many_headers = many_headers.header(format!("x-filler-{index}"), "x");
    }
    let many_headers = many_headers.send().await.expect("request");
    assert_eq!(
        json_of(many_headers, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE).await,
        json!({"detail": "Request Header Fields Too Large"})
    );
    let big_header = app
        .client
        .get(app.url("/health"))
        .header("x-big", "x".repeat(20 * 1024))
        .send()
        .await
        .expect("request");
    assert_eq!(
        big_header.status(),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    );
    assert!(
        json_of(big_header, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE).await["detail"]
            .is_string()
    );
    let big_body = app
        .client
        .post(app.url("/alerts"))
        .bearer_auth(&token)
        .header("Content-Type", "application/json")
        .body(format!("{{\"symbol\": \"{}\"}}", "B".repeat(70 * 1024)))
        .send()
        .await
        .expect("request");
    assert!(json_of(big_body, StatusCode::PAYLOAD_TOO_LARGE).await["detail"].is_string());

    let unknown = json_of(
        app.get(&token, "/no/such/route").await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(unknown, json!({"detail": "Not Found"}));

    let wrong_method = app
        .client
        .put(app.url("/alerts"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("request");
    assert_eq!(
        json_of(wrong_method, StatusCode::METHOD_NOT_ALLOWED).await,
        json!({"detail": "Method Not Allowed"})
    );
    let wrong_method = app
        .client
        .delete(app.url("/prices"))
        .send()
        .await
        .expect("request");
    assert_eq!(wrong_method.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(json_of(wrong_method, StatusCode::METHOD_NOT_ALLOWED).await["detail"].is_string());
}

async fn cors_preflight_allows_any_origin_by_default(engine: Engine) {
    let app = spawn_app(engine).await;
    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/alerts/1"))
        .header("Origin", "http://dashboard.example:3000")
        .header("Access-Control-Request-Method", "PATCH")
        .header(
            "Access-Control-Request-Headers",
            "authorization,content-type",
        )
        .send()
        .await
        .expect("request");
    assert!(preflight.status().is_success(), "{}", preflight.status());
    let headers = preflight.headers();
    assert_eq!(headers["access-control-allow-origin"], "*");
    let allowed_headers = headers["access-control-allow-headers"]
        .to_str()
        .expect("ascii")
        .to_lowercase();
    assert!(allowed_headers.contains("authorization") && allowed_headers.contains("content-type"));
    let simple = app
        .client
        .get(app.url("/prices/symbols"))
        .header("Origin", "http://dashboard.example:3000")
        .send()
        .await
        .expect("request");
    assert_eq!(simple.headers()["access-control-allow-origin"], "*");
}

async fn cors_can_be_restricted_to_listed_origins(engine: Engine) {
    let app = crate::helpers::spawn_app_with(engine, |s| {
        s.gateway.cors_origins = vec!["http://good.example".into()]
    })
    .await;
    let good = app
        .client
        .get(app.url("/health"))
        .header("Origin", "http://good.example")
        .send()
        .await
        .expect("request");
    assert_eq!(
        good.headers()["access-control-allow-origin"],
        "http://good.example"
    );
    let bad = app
        .client
        .get(app.url("/health"))
        .header("Origin", "http://evil.example")
        .send()
        .await
        .expect("request");
    assert!(bad.headers().get("access-control-allow-origin").is_none());
}

async fn health_metrics_and_docs_are_served(engine: Engine) {
    let app = spawn_app(engine).await;
    let health = json_of(
        app.client
            .get(app.url("/health"))
            .send()
            .await
            .expect("request"),
        StatusCode::OK,
    )
    .await;
    assert_eq!(health["status"], "healthy");
    assert!(health["timestamp"].is_string());

    let token = app.user_token("ned@example.com").await;
    app.get(&token, "/alerts/12345").await;
    let metrics = app.metrics_text().await;
    assert!(metrics.contains(r#"gateway_http_requests_total{endpoint="/alerts/{alert_id}",method="GET",status="404"} 1"#), "{metrics}");
    assert!(
        !metrics.contains("/alerts/12345"),
        "raw paths never become labels"
    );
    assert!(metrics.contains("service_info{name=\"gateway\""));

    let spec: Value = json_of(
        app.client
            .get(app.url("/openapi.json"))
            .send()
            .await
            .expect("request"),
        StatusCode::OK,
    )
    .await;
    for path in [
        "/auth/register",
        "/auth/login",
        "/auth/me",
        "/alerts",
        "/alerts/{alert_id}",
        "/alerts/{alert_id}/toggle",
        "/prices",
        "/prices/symbols",
        "/prices/{symbol}",
    ] {
        assert!(
            spec["paths"].get(path).is_some(),
            "{path} missing from the OpenAPI spec"
        );
    }
    let docs = app
        .client
        .get(app.url("/docs/"))
        .send()
        .await
        .expect("request");
    assert_eq!(docs.status(), StatusCode::OK);
    assert!(docs.text().await.expect("body").contains("swagger"));
    let bundle = app
        .client
        .get(app.url("/docs/swagger-ui-bundle.js"))
        .send()
        .await
        .expect("request");
    assert_eq!(
        bundle.status(),
        StatusCode::OK,
        "the docs UI assets are vendored, no internet needed"
    );
}

on_both_engines!(
    malformed_bodies_and_bad_paths_are_json_errors,
    cors_preflight_allows_any_origin_by_default,
    cors_can_be_restricted_to_listed_origins,
    health_metrics_and_docs_are_served,
);
