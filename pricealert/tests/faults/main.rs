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

/// Held for the whole of one scenario (a failed one releases it as it unwinds).
pub async fn serial() -> tokio::sync::MutexGuard<'static, ()> {
    static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    SERIAL.lock().await
}
