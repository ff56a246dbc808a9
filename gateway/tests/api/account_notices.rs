//! Accounts changed behind a gateway's back (another replica, an operator's SQL) reach it as
//! PostgreSQL notices. The gateway here keeps accounts ten minutes, so only a notice, or the
//! notices coming back after a loss, can make it read one again.

use std::time::Duration;

use reqwest::StatusCode;
use sqlx::PgPool;
use testkit::{eventually, Engine};

use crate::helpers::{spawn_app_with, TestApp};
use crate::live_client::LiveClient;

/// Accounts kept ten minutes, and WebSockets' accounts looked up again as seldom.
async fn spawn_app_keeping_accounts() -> TestApp {
    spawn_app_with(Engine::Postgres, |s| {
        s.gateway.user_cache = Duration::from_secs(600);
        s.gateway.websocket_auth_recheck = Duration::from_secs(600);
    })
    .await
}

/// Another writer's connection to the test's database.
async fn elsewhere(app: &TestApp) -> PgPool {
    PgPool::connect(app.database_url())
        .await
        .expect("connect to the test database")
}

/// The backends listening for account changes on the test's database.
async fn listeners(db: impl sqlx::PgExecutor<'_>) -> Vec<i32> {
    sqlx::query_scalar(
        "select pid from pg_stat_activity where datname = current_database() \
         and query ilike 'listen%pricealert_account_changes%'",
    )
    .fetch_all(db)
    .await
    .expect("read pg_stat_activity")
}

/// Terminates the backends listening for account changes; returns their pids.
async fn cut_the_listener(db: &mut sqlx::PgConnection) -> Vec<i32> {
    let cut = listeners(&mut *db).await;
    sqlx::query("select pg_terminate_backend(pid) from unnest($1::int[]) as pid")
        .bind(&cut)
        .execute(db)
        .await
        .expect("cut the listener");
    cut
}

/// `gateway_account_notices_listening` as the gateway's `/metrics` page shows it.
async fn listening_gauge(app: &TestApp) -> Option<String> {
    let page = app.metrics_text().await;
    page.lines()
        .find_map(|line| {
            line.strip_prefix(
                "gateway_account_notices_listening{channel=\"pricealert_account_changes\"} ",
            )
        })
        .map(str::to_owned)
}

async fn listening_says(app: &TestApp, value: &str, what: &str) {
    eventually(what, || async {
        listening_gauge(app).await.as_deref() == Some(value)
    })
    .await;
}

/// Waits until the gateway listens, then signs `email` up and has its account cached.
async fn cached_account(app: &TestApp, db: &PgPool, email: &str) -> String {
    listening_says(app, "1", "the gateway listening for account changes").await;
    assert_eq!(listeners(db).await.len(), 1, "one listening connection");
    let token = app.user_token(email).await;
    assert_eq!(app.get(&token, "/auth/me").await.status(), StatusCode::OK);
    token
}

/// Ends `email`'s sessions so far, as a password change does (without changing it).
async fn end_sessions(db: impl sqlx::PgExecutor<'_>, email: &str) {
    sqlx::query("update users set token_generation = token_generation + 1 where email = $1")
        .bind(email)
        .execute(db)
        .await
        .expect("bump the token generation");
}

/// A gateway keeping accounts, another writer's pool, and `email`'s account cached there.
async fn cached_elsewhere(email: &str) -> (TestApp, PgPool, String) {
    let app = spawn_app_keeping_accounts().await;
    let db = elsewhere(&app).await;
    let token = cached_account(&app, &db, email).await;
    (app, db, token)
}

async fn refused_soon(app: &TestApp, token: &str, what: &str) {
    eventually(what, || async {
        app.get(token, "/auth/me").await.status() == StatusCode::UNAUTHORIZED
    })
    .await;
}

#[tokio::test]
async fn a_password_changed_elsewhere_ends_the_old_sessions_here_at_once() {
    let (app, db, token) = cached_elsewhere("ana@example.com").await;
    // What another replica's password change writes.
    sqlx::query(
        "update users set password_hash = 'elsewhere', token_generation = token_generation + 1 \
         where email = 'ana@example.com'",
    )
    .execute(&db)
    .await
    .expect("change the password");
    refused_soon(
        &app,
        &token,
        "the old token refused after the change elsewhere",
    )
    .await;
}

#[tokio::test]
async fn a_password_changed_elsewhere_ends_the_old_websockets_here_at_once() {
    let (app, db, token) = cached_elsewhere("di@example.com").await;
    let mut socket = LiveClient::connect(&app, "?symbols=BTC").await;
    socket
        .send(serde_json::json!({"type": "auth", "token": token}))
        .await;
    socket.next_of("authenticated").await;
    end_sessions(&db, "di@example.com").await;
    socket.next_of("auth_expired").await;
}

#[tokio::test]
async fn an_account_deleted_elsewhere_is_refused_here_at_once() {
    let (app, db, token) = cached_elsewhere("bo@example.com").await;
    sqlx::query("delete from users where email = 'bo@example.com'")
        .execute(&db)
        .await
        .expect("delete the account");
    refused_soon(&app, &token, "the deleted account's token refused").await;
}

#[tokio::test]
async fn accounts_are_forgotten_when_the_notices_come_back_after_a_loss() {
    let (app, db, token) = cached_elsewhere("cy@example.com").await;
    // A change nobody is told of (triggers off for this transaction, as if its notice were
    // sent while the gateway was not listening): the cached account still answers.
    let mut silent = db.begin().await.expect("begin");
    sqlx::query("set local session_replication_role = replica")
        .execute(&mut *silent)
        .await
        .expect("triggers off");
    end_sessions(&mut *silent, "cy@example.com").await;
    silent.commit().await.expect("commit");
    assert_eq!(
        app.get(&token, "/auth/me").await.status(),
        StatusCode::OK,
        "an unannounced change is not seen while the account is cached"
    );
    // The listening connection is cut; once back, it has forgotten every account.
    let cut = cut_the_listener(&mut db.acquire().await.expect("a connection")).await;
    refused_soon(&app, &token, "the token refused once notices flow again").await;
    // On a connection of its own, which the gauge counts as listening.
    listening_says(&app, "1", "the gauge back at 1").await;
    let now = listeners(&db).await;
    assert!(
        now.len() == 1 && !cut.contains(&now[0]),
        "listening on {now:?}, cut {cut:?}"
    );
}

#[tokio::test]
async fn a_gateway_that_cannot_listen_again_says_so_and_listens_once_it_can() {
    let (app, db, token) = cached_elsewhere("ed@example.com").await;
    // One connection held throughout: no new one can be opened while connections are refused.
    let mut held = db.acquire().await.expect("a connection");
    let database: String = sqlx::query_scalar("select current_database()")
        .fetch_one(&mut *held)
        .await
        .expect("the database's name");
    let connections =
        |allowed: bool| format!("alter database \"{database}\" allow_connections {allowed}");
    // Only from another database: PostgreSQL refuses it on the current one.
    let (server, _) = app
        .database_url()
        .rsplit_once('/')
        .expect("a database URL ends in its name");
    let admin = PgPool::connect(&format!("{server}/postgres"))
        .await
        .expect("connect to the postgres database");
    // The listener is cut, and cannot connect again for now.
    sqlx::query(&connections(false))
        .execute(&admin)
        .await
        .expect("refuse connections");
    assert_eq!(
        cut_the_listener(&mut held).await.len(),
        1,
        "one listener cut"
    );
    listening_says(&app, "0", "the gauge at 0 while the notices are lost").await;
    // A change made meanwhile has no notice to come with.
    end_sessions(&mut *held, "ed@example.com").await;
    sqlx::query(&connections(true))
        .execute(&admin)
        .await
        .expect("allow connections");
    listening_says(&app, "1", "the gauge back at 1 once the gateway can listen").await;
    refused_soon(
        &app,
        &token,
        "the token refused once the notices flow again",
    )
    .await;
    let page = app.metrics_text().await;
    assert!(
        page.contains("gateway_account_notices_total{channel=\"pricealert_account_changes\"}"),
        "{page}"
    );
}

#[tokio::test]
async fn a_gateway_on_sqlite_has_no_notices_and_no_series_for_them() {
    let app = spawn_app_with(Engine::Sqlite, |_| {}).await;
    let token = app.user_token("fy@example.com").await;
    assert_eq!(app.get(&token, "/auth/me").await.status(), StatusCode::OK);
    let page = app.metrics_text().await;
    assert!(page.contains("gateway_active_websockets"), "{page}");
    assert!(!page.contains("gateway_account_notices"), "{page}");
}
