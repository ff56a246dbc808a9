//! The ceiling, in a process of its own: a minimal axum broadcast server that serialises each
//! tick once and hands it to every socket through tokio's broadcast channel; a socket filters
//! the symbols it was asked for, and one that falls behind skips ahead (counted at `/lagged`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, Utf8Bytes, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::routing::get;
use ingestor::providers::simulated_prices::START_PRICES;
use tokio::sync::broadcast;

#[derive(Clone)]
struct Ceiling {
    ticks: broadcast::Sender<(usize, Utf8Bytes)>,
    lagged: Arc<AtomicU64>,
}

pub async fn run(interval_ms: u64) {
    let (ticks, _) = broadcast::channel(4096);
    let state = Ceiling {
        ticks: ticks.clone(),
        lagged: Arc::new(AtomicU64::new(0)),
    };
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_millis(interval_ms));
        loop {
            every.tick().await;
            for (index, (symbol, price)) in START_PRICES.iter().enumerate() {
                let text = serde_json::json!({"symbol": symbol, "price": price, "currency": "USD",
                    "source": "simulated", "timestamp": chrono::Utc::now()})
                .to_string();
                let _ = ticks.send((index, Utf8Bytes::from(text)));
            }
        }
    });
    let app =
        axum::Router::new()
            .route("/health", get(|| async { "{\"status\":\"healthy\"}" }))
            .route(
                "/lagged",
                get(|State(s): State<Ceiling>| async move {
                    s.lagged.load(Ordering::Relaxed).to_string()
                }),
            )
            .route("/prices/ws", get(ceiling_socket))
            .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    println!("{}", listener.local_addr().expect("address").port());
    axum::serve(listener, app).await.expect("serve");
}

async fn ceiling_socket(
    State(state): State<Ceiling>,
    Query(query): Query<HashMap<String, String>>,
    ws: WebSocketUpgrade,
) -> axum::response::Response {
    let watched: Option<Vec<usize>> = query.get("symbols").map(|symbols| {
        symbols
            .split(',')
            .filter_map(|s| START_PRICES.iter().position(|(symbol, _)| *symbol == s))
            .collect()
    });
    ws.on_upgrade(move |mut socket| async move {
        let mut ticks = state.ticks.subscribe();
        loop {
            match ticks.recv().await {
                Ok((index, frame)) => {
                    if watched.as_ref().is_none_or(|w| w.contains(&index))
                        && socket.send(Message::Text(frame)).await.is_err()
                    {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(skipped)) => {
                    state.lagged.fetch_add(skipped, Ordering::Relaxed);
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    })
}
