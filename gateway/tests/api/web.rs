//! The browser app at `/` and `/app/...`: its page and assets with their types, validators and
//! security headers, while every API path keeps its answer and unknown routes stay JSON 404s.

use reqwest::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use reqwest::{Response, StatusCode};
use serde_json::Value;
use testkit::Engine;

use crate::helpers::{json_of, spawn_app, TestApp};

async fn fetch(app: &TestApp, path: &str) -> Response {
    app.client.get(app.url(path)).send().await.expect("request")
}

fn header<'a>(response: &'a Response, name: &reqwest::header::HeaderName) -> &'a str {
    response
        .headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
}

/// Every directive the app's policy must hold: nothing inline, nothing from another host.
fn assert_strict_policy(response: &Response, path: &str) {
    let policy = header(response, &CONTENT_SECURITY_POLICY);
    for directive in [
        "default-src 'self'",
        "script-src 'self'",
        "connect-src 'self'",
        "img-src 'self' data:",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    ] {
        assert!(
            policy.contains(directive),
            "{path}: {directive} missing from {policy:?}"
        );
    }
    assert!(
        !policy.contains("unsafe-inline") && !policy.contains("unsafe-eval"),
        "{policy}"
    );
    assert_eq!(
        header(response, &reqwest::header::X_CONTENT_TYPE_OPTIONS),
        "nosniff",
        "{path}"
    );
}

/// The `src`/`href` values of the page: each must be one of the app's own paths.
fn references(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for attribute in ["src=\"", "href=\""] {
        for (at, _) in html.match_indices(attribute) {
            let rest = &html[at + attribute.len()..];
            if let Some(end) = rest.find('"') {
                found.push(rest[..end].to_owned());
            }
        }
    }
    found
}

#[tokio::test]
async fn the_app_page_and_its_assets_are_served_with_a_strict_policy_and_validators() {
    let app = spawn_app(Engine::Sqlite).await;

    let page = fetch(&app, "/").await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(header(&page, &CONTENT_TYPE), "text/html; charset=utf-8");
    assert_strict_policy(&page, "/");
    let html = page.text().await.expect("the page");
    assert!(
        !html.contains("<style") && !html.contains(" style="),
        "no inline styles"
    );
    let assets: Vec<String> = references(&html)
        .into_iter()
        .filter(|r| !r.starts_with('#') && !r.starts_with("https://www.tradingview.com/"))
        .collect();
    assert!(assets.len() >= 3, "{assets:?}");
    for asset in &assets {
        assert!(
            asset.starts_with("/app/"),
            "only the app's own files: {asset}"
        );
    }
    // Scripts are only external modules of the app: an inline one would break under the policy.
    for (at, _) in html.match_indices("<script") {
        let tag = &html[at..at + html[at..].find('>').expect("closed tag")];
        assert!(tag.contains("src=\"/app/"), "inline script: {tag}");
    }

    let module = fetch(&app, "/app/js/main.js").await;
    assert_eq!(module.status(), StatusCode::OK);
    assert_eq!(
        header(&module, &CONTENT_TYPE),
        "text/javascript; charset=utf-8"
    );
    assert_strict_policy(&module, "/app/js/main.js");
    let etag = header(&module, &ETAG).to_owned();
    assert!(etag.starts_with('"') && etag.len() > 10, "{etag}");
    assert_eq!(header(&module, &CACHE_CONTROL), "no-cache");
    let style = fetch(&app, "/app/style.css").await;
    assert_eq!(header(&style, &CONTENT_TYPE), "text/css; charset=utf-8");
    let chart = fetch(
        &app,
        "/app/vendor/lightweight-charts/lightweight-charts.standalone.production.mjs",
    )
    .await;
    assert_eq!(chart.status(), StatusCode::OK);
    assert_eq!(
        header(&chart, &CONTENT_TYPE),
        "text/javascript; charset=utf-8"
    );

    let revalidated = app
        .client
        .get(app.url("/app/js/main.js"))
        .header(IF_NONE_MATCH, &etag)
        .send()
        .await
        .expect("request");
    assert_eq!(revalidated.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(header(&revalidated, &ETAG), etag);
    assert!(revalidated.bytes().await.expect("body").is_empty());
    let stale = app
        .client
        .get(app.url("/app/js/main.js"))
        .header(IF_NONE_MATCH, "\"another-version\"")
        .send()
        .await
        .expect("request");
    assert_eq!(stale.status(), StatusCode::OK);
}

#[tokio::test]
async fn api_paths_keep_their_answers_and_unknown_routes_stay_json_404s() {
    let app = spawn_app(Engine::Sqlite).await;
    for path in [
        "/no/such/route",
        "/app/no-such-file.js",
        "/app/",
        "/app/index.html",
        "/app/vendor/lightweight-charts/LICENSE",
        "/app/../Cargo.toml",
        "/index.html",
    ] {
        let body = json_of(fetch(&app, path).await, StatusCode::NOT_FOUND).await;
        assert_eq!(body["detail"], "Not Found", "{path}");
    }
    let unauthenticated = json_of(fetch(&app, "/alerts").await, StatusCode::UNAUTHORIZED).await;
    assert_eq!(unauthenticated["detail"], "Not authenticated");
    let symbols: Value = json_of(fetch(&app, "/prices/symbols").await, StatusCode::OK).await;
    assert_eq!(symbols["count"], 55);
    let health = json_of(fetch(&app, "/health").await, StatusCode::OK).await;
    assert_eq!(health["status"], "healthy");
    let wrong_method = app.client.post(app.url("/")).send().await.expect("request");
    assert!(
        json_of(wrong_method, StatusCode::METHOD_NOT_ALLOWED).await["detail"].is_string(),
        "a wrong method on the page is JSON like any other"
    );
    let openapi = json_of(fetch(&app, "/openapi.json").await, StatusCode::OK).await;
    let paths = openapi["paths"].as_object().expect("paths");
    assert!(
        paths.keys().all(|p| p != "/" && !p.starts_with("/app")),
        "the app is no part of the API contract"
    );
}
