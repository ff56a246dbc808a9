//! The ingestor service: polls CoinGecko and Yahoo Finance (or a simulated random walk) for the
//! catalogue's instruments, and publishes each new price as a `PriceTick` keyed by symbol.

mod breaker;
mod error;
mod filter;
pub mod history;
mod http;
pub mod metrics;
mod ops;
mod poller;
pub mod providers;
mod publisher;
mod skip;
mod startup;
pub mod store;

pub use error::IngestorError;
pub use skip::SkipReason;
pub use startup::Application;
