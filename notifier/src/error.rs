use shared::bus::BusError;
use shared::storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum NotifierError {
    #[error("could not bind the notifier port: {0}")]
    Bind(#[source] std::io::Error),
    #[error("the notifier server failed: {0}")]
    Serve(#[source] std::io::Error),
    #[error("could not subscribe to trigger events: {0}")]
    Bus(#[from] BusError),
    #[error("storage failed: {0}")]
    Storage(#[from] StorageError),
    #[error("invalid notifier settings: {0}")]
    Config(String),
}
