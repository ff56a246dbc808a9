use shared::bus::BusError;
use shared::storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum EvaluatorError {
    #[error("could not bind the evaluator port: {0}")]
    Bind(#[source] std::io::Error),
    #[error("the evaluator server failed: {0}")]
    Serve(#[source] std::io::Error),
    #[error("evaluator storage failed: {0}")]
    Storage(#[from] StorageError),
    #[error("evaluator bus failed: {0}")]
    Bus(#[from] BusError),
    #[error("the outbox relay failed: {0}")]
    Relay(#[from] shared::bus::RelayError),
    #[error("loading the alert index failed: {0}")]
    Load(String),
}
