#[derive(Debug, thiserror::Error)]
pub enum NotifierError {
    #[error("could not bind the notifier port: {0}")]
    Bind(#[source] std::io::Error),
    #[error("the notifier server failed: {0}")]
    Serve(#[source] std::io::Error),
}
