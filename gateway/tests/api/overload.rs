//! Slow and greedy clients cannot take the service from honest ones: the attack of issue 14
//! (slow uploads to `/auth/login`) at a small scale, with the limits lowered by settings.

use std::time::Duration;

use reqwest::StatusCode;
use testkit::{on_both_engines, Engine};
use tokio::io::AsyncWriteExt;

use crate::helpers::{json_of, spawn_app_with, PASSWORD};
use crate::raw_http::{
    connect_from, read_head, read_json_response, request, start_slow_upload, try_slow_upload,
    PATIENCE,
};

/// More slow uploads than the gateway has in-flight slots, from several addresses; every
/// one is reading its body when the honest clients come.
const SLOW_UPLOADS: u8 = 24;
const IN_FLIGHT_SLOTS: usize = 8;

async fn slow_uploads_to_login_leave_logins_and_health_served(engine: Engine) {
    // Only a setting main already had: main's code fails this test (every login 503).
    let app = spawn_app_with(engine, |settings| {
        settings.gateway.max_in_flight_requests = IN_FLIGHT_SLOTS;
    })
    .await;
    assert_eq!(
        app.register("honest@example.com", None).await.status(),
        StatusCode::CREATED
    );
    // Each is reading its body once the gateway said `100 Continue`; one refused at once
    // is kept too (with main's code the uploads beyond the in-flight slots were 503).
    let mut attackers = Vec::new();
    for index in 0..SLOW_UPLOADS {
        let host = 2 + index % 4;
        attackers.push(try_slow_upload(host, app.port, "/auth/login", 5000).await);
    }

    for attempt in 0..5 {
        let login = app.login_form("honest@example.com", PASSWORD).await;
        let status = login.status();
        let body = login.text().await.expect("body");
        assert_eq!(
            status,
            StatusCode::OK,
            "login {attempt} under attack: {body}"
        );
    }
    let health = app
        .client
        .get(app.url("/health"))
        .send()
        .await
        .expect("health");
    json_of(health, StatusCode::OK).await;
    drop(attackers);
}

async fn a_body_that_does_not_arrive_in_time_is_answered_408(engine: Engine) {
    let app = spawn_app_with(engine, |settings| {
        settings.gateway.body_read_timeout = Duration::from_secs(1);
    })
    .await;
    let mut slow = start_slow_upload(2, app.port, "/auth/login", 5000).await;
    let (status, body) = read_json_response(&mut slow).await;
    assert!(status.starts_with("HTTP/1.1 408"), "{status}: {body}");
    assert!(body["detail"].is_string(), "{body}");
}

async fn a_connection_that_does_not_finish_its_headers_is_closed(engine: Engine) {
    let app = spawn_app_with(engine, |settings| {
        settings.gateway.header_read_timeout = Duration::from_secs(1);
    })
    .await;
    let mut stream = connect_from(2, app.port).await;
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        .await
        .expect("send half a head");
    // Closed without an answer: `read_head` returns what came before the close.
    let answer = tokio::time::timeout(PATIENCE, read_head(&mut stream))
        .await
        .expect("closed in time");
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
}

async fn connections_beyond_the_limits_are_answered_and_closed(engine: Engine) {
    let app = spawn_app_with(engine, |settings| {
        settings.gateway.max_connections_per_address = 2;
        settings.gateway.max_connections = 3;
    })
    .await;
    let health = "GET /health HTTP/1.1\r\nHost: 127.0.0.1";
    // Two kept-alive connections from 127.0.0.2, each served once, so both are held.
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = connect_from(2, app.port).await;
        let (status, _) = request(&mut stream, health).await;
        assert!(status.starts_with("HTTP/1.1 200"), "{status}");
        held.push(stream);
    }
    let mut third = connect_from(2, app.port).await;
    let (status, body) = read_json_response(&mut third).await;
    assert!(status.starts_with("HTTP/1.1 429"), "{status}: {body}");
    assert!(body["detail"].is_string(), "{body}");

    // Another address may still connect, up to the global limit.
    let mut other = connect_from(3, app.port).await;
    let (status, _) = request(&mut other, health).await;
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    let mut over = connect_from(4, app.port).await;
    let (status, body) = read_json_response(&mut over).await;
    assert!(status.starts_with("HTTP/1.1 503"), "{status}: {body}");
    assert!(body["detail"].is_string(), "{body}");

    // A connection closed gives its place back.
    drop(held);
    testkit::eventually("a freed place is taken again", || async {
        let mut stream = connect_from(2, app.port).await;
        let (status, _) = request(&mut stream, health).await;
        status.starts_with("HTTP/1.1 200").then_some(())
    })
    .await;
}

async fn requests_in_flight_are_limited_per_address(engine: Engine) {
    let app = spawn_app_with(engine, |settings| {
        settings.gateway.max_in_flight_requests_per_address = 2;
    })
    .await;
    let _slow = [
        start_slow_upload(2, app.port, "/auth/login", 5000).await,
        start_slow_upload(2, app.port, "/auth/register", 5000).await,
    ];
    let health = "GET /health HTTP/1.1\r\nHost: 127.0.0.1";
    let mut same = connect_from(2, app.port).await;
    let (status, body) = request(&mut same, health).await;
    assert!(status.starts_with("HTTP/1.1 429"), "{status}: {body}");
    assert!(body["detail"].is_string(), "{body}");
    let mut other = connect_from(3, app.port).await;
    let (status, _) = request(&mut other, health).await;
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
}

on_both_engines!(
    slow_uploads_to_login_leave_logins_and_health_served,
    a_body_that_does_not_arrive_in_time_is_answered_408,
    a_connection_that_does_not_finish_its_headers_is_closed,
    connections_beyond_the_limits_are_answered_and_closed,
    requests_in_flight_are_limited_per_address,
);
