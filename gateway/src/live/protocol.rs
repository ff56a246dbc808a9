//! What a client may send and what the server answers, as JSON text frames.
//!
//! Client messages are read leniently, as API.md promises: anything that is not a JSON
//! object with a known `type` is ignored. Only `subscribe`, `unsubscribe` and `auth` are
//! checked, and a bad one is answered with `{"type":"error","detail":...}`; the socket stays.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::ws::Utf8Bytes;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use shared::catalogue::Catalogue;
use shared::domain::{Symbol, UserId};
use shared::events::{DeliveryEvent, TriggerEvent};

use crate::price_view::PriceView;

/// Which symbols a socket watches.
#[derive(Debug, Clone, PartialEq)]
pub enum Selection {
    /// Every symbol: the default, and `"*"`.
    Everything,
    Symbols(Vec<Arc<str>>),
}

#[derive(Debug)]
pub enum ClientMessage {
    Ping,
    Subscribe(Selection),
    Unsubscribe(Selection),
    Auth(String),
    /// Not ours to answer (API.md: unknown messages are ignored).
    Ignored,
}

/// Reads one client text frame; `Err` holds the `detail` of the error to answer.
pub fn parse(text: &str, catalogue: &Catalogue) -> Result<ClientMessage, String> {
    let Ok(Value::Object(message)) = serde_json::from_str::<Value>(text) else {
        return Ok(ClientMessage::Ignored);
    };
    match message.get("type").and_then(Value::as_str) {
        Some("ping") => Ok(ClientMessage::Ping),
        Some(kind @ ("subscribe" | "unsubscribe")) => {
            let selection = match message.get("symbols") {
                Some(value) => selection(value, catalogue)?,
                None => {
                    return Err(format!(
                        "{kind} needs \"symbols\": a list of symbols or \"*\""
                    ))
                }
            };
            Ok(if kind == "subscribe" {
                ClientMessage::Subscribe(selection)
            } else {
                ClientMessage::Unsubscribe(selection)
            })
        }
        Some("auth") => match message.get("token").and_then(Value::as_str) {
            Some(token) if !token.trim().is_empty() => {
                Ok(ClientMessage::Auth(token.trim().to_owned()))
            }
            _ => Err("auth needs \"token\": an access token from /auth/login".to_owned()),
        },
        _ => Ok(ClientMessage::Ignored),
    }
}

fn selection(value: &Value, catalogue: &Catalogue) -> Result<Selection, String> {
    match value {
        Value::String(all) if all == "*" => Ok(Selection::Everything),
        Value::Array(items) if !items.is_empty() => {
            let names: Vec<&str> = items
                .iter()
                .map(|item| item.as_str().ok_or("symbols must be strings"))
                .collect::<Result<_, _>>()?;
            symbols(names, catalogue).map(Selection::Symbols)
        }
        _ => Err("symbols must be \"*\" or a non-empty list of symbols".to_owned()),
    }
}

/// Known symbols by name (case-insensitive), or the `detail` naming the unknown ones.
pub fn symbols<'a>(
    names: impl IntoIterator<Item = &'a str>,
    catalogue: &Catalogue,
) -> Result<Vec<Arc<str>>, String> {
    let mut known: Vec<Arc<str>> = Vec::new();
    let mut unknown = Vec::new();
    for name in names {
        match name.parse::<Symbol>() {
            Ok(symbol) if catalogue.contains(&symbol) => {
                let symbol: Arc<str> = Arc::from(symbol.as_ref());
                if !known.contains(&symbol) {
                    known.push(symbol);
                }
            }
            _ => unknown.push(name.to_owned()),
        }
    }
    if unknown.is_empty() {
        Ok(known)
    } else {
        Err(format!("unknown symbols: {}", unknown.join(", ")))
    }
}

fn frame(value: &Value) -> Utf8Bytes {
    Utf8Bytes::from(value.to_string())
}

pub fn error(detail: &str) -> Utf8Bytes {
    frame(&json!({"type": "error", "detail": detail}))
}

pub fn pong() -> Utf8Bytes {
    Utf8Bytes::from_static(r#"{"type":"pong"}"#)
}

pub fn heartbeat() -> Utf8Bytes {
    frame(&json!({"type": "heartbeat", "timestamp": Utc::now()}))
}

pub fn snapshot(prices: &BTreeMap<String, PriceView>) -> Utf8Bytes {
    frame(&json!({"type": "snapshot", "prices": prices, "timestamp": Utc::now()}))
}

/// The socket's whole selection after a `subscribe` or `unsubscribe`.
pub fn subscribed(selection: &Selection) -> Utf8Bytes {
    let symbols = match selection {
        Selection::Everything => json!("*"),
        Selection::Symbols(symbols) => json!(symbols.iter().map(|s| &**s).collect::<Vec<_>>()),
    };
    frame(&json!({"type": "subscribed", "symbols": symbols}))
}

pub fn authenticated(user_id: UserId, expires_at: DateTime<Utc>) -> Utf8Bytes {
    frame(&json!({"type": "authenticated", "user_id": user_id, "expires_at": expires_at}))
}

pub fn auth_expired() -> Utf8Bytes {
    Utf8Bytes::from_static(r#"{"type":"auth_expired"}"#)
}

pub fn price(view: &PriceView) -> Option<Utf8Bytes> {
    serde_json::to_string(view).ok().map(Utf8Bytes::from)
}

pub fn alert(event: &TriggerEvent) -> Utf8Bytes {
    frame(&json!({
        "type": "alert",
        "event_id": event.event_id,
        "alert_id": event.alert_id,
        "symbol": event.symbol,
        "condition": event.condition,
        "target_price": event.target_price,
        "target_price_high": event.target_price_high,
        "current_price": event.current_price,
        "currency": event.currency,
        "triggered_at": event.timestamp,
    }))
}

pub fn delivery(event: &DeliveryEvent) -> Utf8Bytes {
    frame(&json!({
        "type": "delivery",
        "event_id": event.event_id,
        "alert_id": event.alert_id,
        "channel": event.channel,
        "status": event.status,
    }))
}
