#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("could not bind the gateway port: {0}")]
    Bind(#[source] std::io::Error),
    #[error("the gateway server failed: {0}")]
    Serve(#[source] std::io::Error),
}
