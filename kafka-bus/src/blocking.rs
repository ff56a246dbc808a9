//! Keeping librdkafka's blocking calls off the async threads.

use shared::bus::BusError;

/// Runs a blocking librdkafka call on the blocking pool.
pub(crate) async fn on_blocking_thread<T, F>(call: F) -> Result<T, BusError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(call)
        .await
        .map_err(|e| BusError::Transport(format!("a kafka client call panicked: {e}")))
}

/// Drops a librdkafka handle (whose destructor blocks) on the blocking pool when inside a
/// runtime, else right here.
pub(crate) fn drop_off_async_thread<T: Send + 'static>(value: T) {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => {
            runtime.spawn_blocking(move || drop(value));
        }
        Err(_) => drop(value),
    }
}
