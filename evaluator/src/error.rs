#[derive(Debug, thiserror::Error)]
pub enum EvaluatorError {
    #[error("could not bind the evaluator port: {0}")]
    Bind(#[source] std::io::Error),
    #[error("the evaluator server failed: {0}")]
    Serve(#[source] std::io::Error),
}
