//! `GET /prices/ws`: a snapshot on connect, then every tick; ping/pong; heartbeat after 30 s idle.

use std::time::Duration;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use chrono::Utc;
use serde_json::{json, Value};
use tokio::sync::broadcast::error::RecvError;

use crate::price_view;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/prices/ws", get(upgrade))
}

#[utoipa::path(get, path = "/prices/ws", tag = "prices",
    responses((status = 101, description = "WebSocket: snapshot, then one price object per tick; {\"type\":\"ping\"} → {\"type\":\"pong\"}; heartbeat after 30 s idle"),
              (status = 400, description = "Not a WebSocket upgrade request"), (status = 426, description = "The connection cannot be upgraded")))]
pub async fn upgrade(State(state): State<AppState>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| stream_prices(state, socket))
}

/// Decrements the open-socket gauge however the stream ends.
struct SocketGuard(prometheus::IntGauge);

impl Drop for SocketGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

async fn send_json(socket: &mut WebSocket, value: &impl serde::Serialize) -> bool {
    match serde_json::to_string(value) {
        Ok(text) => socket.send(Message::Text(text.into())).await.is_ok(),
        Err(_) => true,
    }
}

async fn stream_prices(state: AppState, mut socket: WebSocket) {
    state.metrics.active_websockets.inc();
    let _guard = SocketGuard(state.metrics.active_websockets.clone());
    // Subscribe before reading the snapshot so no tick falls between the two.
    let mut ticks = state.ticks.subscribe();
    match state
        .store
        .db()
        .latest_prices()
        .await
        .map(price_view::by_symbol)
    {
        Ok(prices) if !prices.is_empty() => {
            let snapshot = json!({"type": "snapshot", "prices": prices, "timestamp": Utc::now()});
            if !send_json(&mut socket, &snapshot).await {
                return;
            }
        }
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "websocket snapshot unavailable"),
    }
    let heartbeat_after = state
        .settings
        .websocket_heartbeat
        .max(Duration::from_secs(1));
    let mut idle = Box::pin(tokio::time::sleep(heartbeat_after));
    loop {
        tokio::select! {
            tick = ticks.recv() => match tick {
                Ok(price) => if !send_json(&mut socket, &price).await { return },
                // A slow client skips ticks rather than slowing anyone else down.
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    idle.as_mut().reset(tokio::time::Instant::now() + heartbeat_after);
                    let is_ping = serde_json::from_str::<Value>(&text)
                        .ok()
                        .is_some_and(|v| v.get("type").and_then(Value::as_str) == Some("ping"));
                    if is_ping && !send_json(&mut socket, &json!({"type": "pong"})).await {
                        return;
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => idle.as_mut().reset(tokio::time::Instant::now() + heartbeat_after),
            },
            () = &mut idle => {
                idle.as_mut().reset(tokio::time::Instant::now() + heartbeat_after);
                if !send_json(&mut socket, &json!({"type": "heartbeat", "timestamp": Utc::now()})).await {
                    return;
                }
            }
        }
    }
}
