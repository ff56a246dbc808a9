//! The ingestor service: polls CoinGecko and Yahoo Finance and streams Binance (or runs a
//! simulated random walk) for the catalogue's instruments, fails over between an instrument's
//! providers, and publishes each new price as a `PriceTick` keyed by symbol.

mod breaker;
mod error;
mod failover;
mod feeds;
mod filter;
pub mod history;
mod http;
mod latest;
pub mod metrics;
mod ops;
mod poller;
pub mod providers;
mod publisher;
mod sink;
mod skip;
mod startup;
pub mod store;

pub use error::IngestorError;
pub use skip::SkipReason;
pub use startup::Application;
