#[derive(Debug, thiserror::Error)]
pub enum IngestorError {
    #[error("could not bind the ingestor port: {0}")]
    Bind(#[source] std::io::Error),
    #[error("the ingestor server failed: {0}")]
    Serve(#[source] std::io::Error),
}
