//! The ceiling of `GET /alerts` without its list cache: the least a server on our stack (tokio,
//! hyper through axum, sqlx, serde_json) must do for the same answer, and nothing else. Per
//! request: one HS256 verification, the gateway's list query on a pool of the gateway's size,
//! the rows decoded into alerts and written as the gateway's JSON. Not done here, unlike the
//! gateway: the account check, the rate limit, metrics, time-outs, load shedding, per-address
//! limits, CORS. `scripts/bench-api.sh` runs it beside the gateway and pgbench, so the three
//! figures of one run show what the HTTP layer costs and what the gateway adds to it.
//!
//!   cargo bench -p gateway --bench list_ceiling -- ADDRESS DATABASE_URL JWT_SECRET POOL

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::Utc;
use jsonwebtoken::{decode, Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use shared::domain::Alert;
use shared::storage::{AlertRow, ALERT_COLUMNS};
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;

use gateway::routes::alerts::AlertView;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Deserialize)]
struct Claims {
    sub: String,
}

struct Ceiling {
    pool: PgPool,
    key: DecodingKey,
    validation: Validation,
    sql: String,
}

async fn list(State(ceiling): State<Arc<Ceiling>>, headers: HeaderMap) -> Response {
    let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
    else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let Ok(claims) = decode::<Claims>(token, &ceiling.key, &ceiling.validation) else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let Ok(user_id) = claims.claims.sub.parse::<i64>() else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let rows = sqlx::query_as::<_, AlertRow>(&ceiling.sql)
        .bind(user_id)
        .bind(50_i64)
        .bind(0_i64)
        .fetch_all(&ceiling.pool)
        .await;
    let Ok(rows) = rows else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let Ok(alerts) = rows
        .into_iter()
        .map(Alert::try_from)
        .collect::<Result<Vec<Alert>, _>>()
    else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let now = Utc::now();
    let views: Vec<AlertView> = alerts.iter().map(|a| AlertView::of(a, now)).collect();
    Json(views).into_response()
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `cargo bench` passes `--bench` to every bench target; the ceiling takes positional ones.
    let args: Vec<&String> = args.iter().filter(|a| !a.starts_with("--")).collect();
    let [address, database, secret, pool] = args[..] else {
        eprintln!("usage: list_ceiling ADDRESS DATABASE_URL JWT_SECRET POOL");
        std::process::exit(2);
    };
    let pool = PgPoolOptions::new()
        .max_connections(pool.parse().expect("POOL is a number"))
        .test_before_acquire(false)
        .connect(database)
        .await
        .expect("connect to the database");
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_issuer(&["pricealert"]);
    validation.set_audience(&["pricealert-api"]);
    let ceiling = Arc::new(Ceiling {
        pool,
        key: DecodingKey::from_secret(secret.as_bytes()),
        validation,
        sql: format!(
            "select {ALERT_COLUMNS} from alerts where user_id = $1 order by id desc limit $2 offset $3"
        ),
    });
    let app = Router::new()
        .route("/alerts", get(list))
        .route("/health", get(|| async { "ok" }))
        .with_state(ceiling);
    let listener = tokio::net::TcpListener::bind(address.as_str())
        .await
        .expect("bind the address");
    axum::serve(listener, app).await.expect("serve");
}
