//! The process-level fault harness: real `pricealert` processes over PostgreSQL and the mock
//! Kafka broker, killed with SIGKILL where a claim of crash safety is tested.
//!
//! One binary, and one scenario at a time (each starts several processes; run side by side
//! on a small machine they would only measure its load): every test takes [`serial`] first.

#[path = "../support/mod.rs"]
mod support;

mod alert_change_outbox;
mod batch_commit;
mod evaluator;
mod notifier;
mod two_notifiers;

use chrono::{DateTime, Utc};
use shared::domain::{Price, Symbol};
use shared::events::{PriceTick, SCHEMA_VERSION};

/// A tick of the simulated source at `received_at` (the evaluator decides cooldowns on it).
pub fn tick(symbol: &Symbol, price: Price, received_at: DateTime<Utc>) -> PriceTick {
    PriceTick {
        schema_version: SCHEMA_VERSION,
        symbol: symbol.clone(),
        price,
        previous_price: None,
        currency: "USD".to_owned(),
        source: "simulated".to_owned(),
        timestamp: received_at,
        received_at,
        conversion: None,
    }
}

/// Held for the whole of one scenario (a failed one releases it as it unwinds).
pub async fn serial() -> tokio::sync::MutexGuard<'static, ()> {
    static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    SERIAL.lock().await
}
