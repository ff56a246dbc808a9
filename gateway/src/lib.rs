//! The HTTP API: auth, alerts, prices, the live price WebSocket, OpenAPI docs.

mod alert_cache;
mod auth;
mod error;
mod extract;
mod metrics;
mod rate_limit;
pub mod routes;
mod single_flight;
mod startup;
mod state;

pub use error::{ApiError, GatewayError};
pub use startup::Application;
