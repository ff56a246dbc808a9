//! The evaluator service: matches every tick against the active alerts, records each fire
//! durably (alert update + trigger event in one transaction), then publishes it.

pub mod clock;
mod error;
mod fault;
mod fire_check;
mod fire_rounds;
mod last_prices;
mod metrics;
mod processor;
mod record;
mod relay;
mod startup;
pub mod store;

pub use error::EvaluatorError;
pub use startup::Application;
