use std::time::Duration;

/// Everything that can go wrong in the ingestor, from binding its port to one provider call.
#[derive(Debug, thiserror::Error)]
pub enum IngestorError {
    #[error("could not bind the ingestor port: {0}")]
    Bind(#[source] std::io::Error),
    #[error("the ingestor server failed: {0}")]
    Serve(#[source] std::io::Error),
    #[error("storage: {0}")]
    Storage(#[from] shared::storage::StorageError),
    #[error("could not subscribe the price history recorder: {0}")]
    Bus(#[from] shared::bus::BusError),
    #[error("invalid ingestor settings: {0}")]
    Config(String),
    #[error("could not build the HTTP client: {0}")]
    HttpClient(#[source] reqwest::Error),
    #[error("rate limited by the provider; retry after {retry_after:?}")]
    RateLimited { retry_after: Duration },
    #[error("the provider answered HTTP {status}")]
    Status { status: u16 },
    #[error("the provider refused the call (HTTP {status}, code {code}): {message}")]
    Refused {
        status: u16,
        code: i64,
        message: String,
    },
    #[error("the provider's stream failed: {0}")]
    Stream(String),
    #[error("the provider does not know this instrument")]
    NotFound,
    #[error("the provider could not be reached: {0}")]
    Transport(#[source] reqwest::Error),
    #[error("the provider's answer could not be read: {0}")]
    Malformed(String),
    #[error("the provider's answer is larger than {limit} bytes")]
    TooLarge { limit: usize },
}

impl IngestorError {
    /// Worth another attempt within the same cycle (after backoff).
    pub(crate) fn is_transient(&self) -> bool {
        match self {
            IngestorError::RateLimited { .. } | IngestorError::Transport(_) => true,
            IngestorError::Status { status } => *status >= 500 || *status == 408,
            _ => false,
        }
    }
}
