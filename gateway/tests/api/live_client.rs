//! A real WebSocket client for `/prices/ws`, reading with a deadline instead of sleeping.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::helpers::TestApp;

const PATIENCE: Duration = Duration::from_secs(10);

pub struct LiveClient {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// The subprotocol the server selected.
    pub protocol: Option<String>,
}

/// How a message that is not a `{"type":...}` object (a bare price) is named by [`kind`].
pub const PRICE: &str = "price";

/// A message's `type`, or [`PRICE`] for a bare price object.
pub fn kind(message: &Value) -> &str {
    message["type"].as_str().unwrap_or(PRICE)
}

impl LiveClient {
    /// Connects to `/prices/ws{query}` (e.g. `?symbols=BTC`).
    pub async fn connect(app: &TestApp, query: &str) -> LiveClient {
        LiveClient::connect_offering(app, query, None).await
    }

    /// Connects offering `Sec-WebSocket-Protocol: {protocols}`.
    pub async fn connect_offering(
        app: &TestApp,
        query: &str,
        protocols: Option<&str>,
    ) -> LiveClient {
        let mut request = format!("ws://127.0.0.1:{}/prices/ws{query}", app.port)
            .into_client_request()
            .expect("request");
        if let Some(protocols) = protocols {
            request.headers_mut().insert(
                "sec-websocket-protocol",
                HeaderValue::from_str(protocols).expect("header"),
            );
        }
        let (socket, response) = tokio_tungstenite::connect_async(request)
            .await
            .expect("connect");
        let protocol = response
            .headers()
            .get("sec-websocket-protocol")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        LiveClient { socket, protocol }
    }

    pub async fn send(&mut self, message: Value) {
        self.socket
            .send(Message::Text(message.to_string().into()))
            .await
            .expect("send");
    }

    /// The next text message; panics after the deadline or when the socket closes.
    pub async fn next(&mut self) -> Value {
        loop {
            let message = tokio::time::timeout(PATIENCE, self.socket.next())
                .await
                .expect("a message within the deadline")
                .expect("the socket stays open")
                .expect("a valid frame");
            match message {
                Message::Text(text) => return serde_json::from_str(&text).expect("JSON"),
                Message::Close(frame) => panic!("the server closed the socket: {frame:?}"),
                _ => {}
            }
        }
    }

    /// The next message of `kind` (see [`kind`]), skipping others.
    pub async fn next_of(&mut self, wanted: &str) -> Value {
        loop {
            let message = self.next().await;
            if kind(&message) == wanted {
                return message;
            }
        }
    }

    /// The close frame's code, skipping any messages before it.
    pub async fn close_code(&mut self) -> Option<u16> {
        loop {
            match tokio::time::timeout(PATIENCE, self.socket.next())
                .await
                .expect("closed within the deadline")
            {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| f.code.into()),
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return None,
            }
        }
    }

    /// Whether the socket answers a ping (false when the server closes it instead).
    pub async fn answers(&mut self) -> bool {
        self.send(serde_json::json!({"type": "ping"})).await;
        loop {
            match tokio::time::timeout(PATIENCE, self.socket.next()).await {
                Ok(Some(Ok(Message::Text(text)))) if text.contains(r#""type":"pong""#) => {
                    return true
                }
                Ok(Some(Ok(Message::Close(_)) | Err(_)) | None) | Err(_) => return false,
                Ok(Some(Ok(_))) => {}
            }
        }
    }

    /// Proves the socket is open and answering: a ping gets its pong (other messages before
    /// it are returned).
    pub async fn ping(&mut self) -> Vec<Value> {
        self.send(serde_json::json!({"type": "ping"})).await;
        let mut before = Vec::new();
        loop {
            let message = self.next().await;
            if kind(&message) == "pong" {
                return before;
            }
            before.push(message);
        }
    }
}
