//! The evaluator service.

mod error;
mod startup;

pub use error::EvaluatorError;
pub use startup::Application;
