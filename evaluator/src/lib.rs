//! The evaluator service: matches every tick against the active alerts and records fires
//! durably before publishing them.

pub mod engine;
mod error;
mod startup;

pub use error::EvaluatorError;
pub use startup::Application;
