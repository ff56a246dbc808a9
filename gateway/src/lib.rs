//! The HTTP API.

mod error;
mod startup;

pub use error::GatewayError;
pub use startup::Application;
