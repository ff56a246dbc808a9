//! User traffic through the gateway that moves every metric the end-to-end run checks: a user,
//! alerts that fire at once (so emails go out), a failed login, a 404, and a WebSocket client.

use std::time::Duration;

use futures::StreamExt;
use serde_json::json;
use tokio_tungstenite::{connect_async, MaybeTlsStream, WebSocketStream};

use super::scaled::{send, PASSWORD};

/// Keeps the WebSocket client connected while it lives.
pub struct Traffic {
    _socket: WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>,
}

const EMAIL: &str = "observability-e2e@example.com";

impl Traffic {
    pub async fn drive(gateway_url: &str) -> Traffic {
        let client = reqwest::Client::new();
        let url = |path: &str| format!("{gateway_url}{path}");
        send(
            client
                .post(url("/auth/register"))
                .json(&json!({"email": EMAIL, "password": PASSWORD})),
            201,
            "register",
        )
        .await;
        send(
            client
                .post(url("/auth/login"))
                .form(&[("username", EMAIL), ("password", "not the password")]),
            401,
            "login with a wrong password",
        )
        .await;
        let login = send(
            client
                .post(url("/auth/login"))
                .form(&[("username", EMAIL), ("password", PASSWORD)]),
            200,
            "login",
        )
        .await;
        let token = login["access_token"]
            .as_str()
            .expect("login returns an access token")
            .to_owned();
        // Conditions true for any realistic price, so each fires on the next tick.
        for alert in [
            json!({"symbol": "BTC", "condition": "above", "target_price": 0.0001, "notification_types": "email", "cooldown_minutes": 1}),
            json!({"symbol": "ETH", "condition": "below", "target_price": 1_000_000_000, "notification_types": "email", "cooldown_minutes": 1}),
            json!({"symbol": "SOL", "condition": "range", "target_price": 0.0001, "target_price_high": 1_000_000_000, "notification_types": "email", "cooldown_minutes": 1}),
        ] {
            send(
                client.post(url("/alerts")).bearer_auth(&token).json(&alert),
                201,
                "create an alert",
            )
            .await;
        }
        send(
            client.get(url("/alerts")).bearer_auth(&token),
            200,
            "list alerts",
        )
        .await;
        send(
            client.get(url("/alerts/987654321")).bearer_auth(&token),
            404,
            "an unknown alert",
        )
        .await;
        send(client.get(url("/prices")), 200, "prices").await;

        let ws_url = format!("{}/prices/ws", gateway_url.replacen("http", "ws", 1));
        let (mut socket, _) = connect_async(&ws_url)
            .await
            .unwrap_or_else(|e| panic!("connect {ws_url}: {e}"));
        // The first message (snapshot or tick) proves the server counts this client.
        tokio::time::timeout(Duration::from_secs(30), socket.next())
            .await
            .expect("a WebSocket message within 30 s")
            .expect("the WebSocket stays open")
            .expect("a readable WebSocket message");
        Traffic { _socket: socket }
    }
}
