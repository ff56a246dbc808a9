//! JSON encoding of bus payloads, and the one place malformed messages are recognised.

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{BusError, BusMessage, EventBus, Topic};

/// Serialises `value` as JSON and publishes it under `key`.
pub async fn publish_json<T: Serialize + Sync>(
    bus: &dyn EventBus,
    topic: Topic,
    key: &str,
    value: &T,
) -> Result<(), BusError> {
    let payload = serde_json::to_vec(value)?;
    bus.publish(topic, key, payload).await
}

/// A received message decoded, or the reason it could not be.
pub enum Decoded<T> {
    Ok(T),
    /// Not valid JSON for `T`: count it, log it once, commit past it.
    Malformed(String),
}

pub fn decode<T: DeserializeOwned>(message: &BusMessage) -> Decoded<T> {
    match serde_json::from_slice(&message.payload) {
        Ok(value) => Decoded::Ok(value),
        Err(e) => Decoded::Malformed(e.to_string()),
    }
}
