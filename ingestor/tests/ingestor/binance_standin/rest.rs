//! The stand-in's REST API: `GET /api/v3/ticker/price?symbols=[...]` answering the fixture's
//! shape for known pairs, -1121 for an unknown one, 503 while down, or the next scripted answer.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tokio::time::Instant;

use super::{lock, StandInState, ERROR_1121, PRICES_FIXTURE};

/// A REST answer: status, `Retry-After` seconds, body.
#[derive(Clone, Debug)]
pub struct RestAnswer {
    pub status: u16,
    pub retry_after: Option<u64>,
    pub body: String,
}

impl RestAnswer {
    pub fn error(status: u16, body: &str) -> RestAnswer {
        RestAnswer {
            status,
            retry_after: None,
            body: body.to_owned(),
        }
    }

    pub fn retry_after(mut self, seconds: u64) -> RestAnswer {
        self.retry_after = Some(seconds);
        self
    }
}

#[derive(serde::Deserialize)]
pub(super) struct TickerQuery {
    symbols: Option<String>,
}

pub(super) async fn ticker_price(
    State(state): State<Arc<StandInState>>,
    Query(query): Query<TickerQuery>,
) -> Response {
    let symbols = query.symbols.unwrap_or_default();
    let answer = if state.rest_down.load(Ordering::SeqCst) {
        RestAnswer::error(503, "")
    } else if let Some(scripted) = lock(&state.rest_script).pop_front() {
        scripted
    } else {
        let pairs: Vec<String> = serde_json::from_str(&symbols).unwrap_or_default();
        let prices = lock(&state.rest_prices);
        if let Some(unknown) = pairs.iter().find(|p| !prices.contains_key(*p)) {
            let _ = unknown;
            RestAnswer::error(400, ERROR_1121)
        } else {
            // The fixture's shape, one entry per pair asked for.
            let mut body: Vec<serde_json::Value> =
                serde_json::from_str(PRICES_FIXTURE).expect("fixture");
            let template = body.remove(0);
            let entries: Vec<serde_json::Value> = pairs
                .iter()
                .map(|pair| {
                    let mut entry = template.clone();
                    entry["symbol"] = pair.as_str().into();
                    entry["price"] = prices[pair].as_str().into();
                    entry
                })
                .collect();
            RestAnswer {
                status: 200,
                retry_after: None,
                body: serde_json::Value::from(entries).to_string(),
            }
        }
    };
    lock(&state.rest_calls).push((Instant::now(), symbols, answer.status));
    let status = StatusCode::from_u16(answer.status).expect("status");
    let mut response =
        (status, [("content-type", "application/json")], answer.body).into_response();
    if let Some(seconds) = answer.retry_after {
        response.headers_mut().insert("retry-after", seconds.into());
    }
    response
}
