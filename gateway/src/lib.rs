//! The HTTP API: auth, alerts, prices, the live price WebSocket, OpenAPI docs.

mod account_notices;
mod alert_cache;
mod alert_list;
mod alert_service;
mod auth;
mod backtest_slots;
mod caller;
mod channel_tests;
mod error;
mod extract;
mod feeds;
mod live;
mod metrics;
mod openapi_errors;
mod overload;
mod price_view;
mod rate_limit;
mod rejections;
mod replay;
mod rfc3339;
pub mod routes;
mod server;
mod single_flight;
mod startup;
mod state;
pub mod store;

pub use error::{ApiError, GatewayError};
pub use startup::Application;
