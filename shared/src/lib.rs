//! The kernel every pricealert service is built on: settings, the storage connection and
//! migrations, the event bus and its consume loop, the bus's messages, metrics plumbing and
//! telemetry. The domain (types, the catalogue, the alert and its rules) is the `domain`
//! crate, re-exported here as `shared::domain`, and typed settings the `settings` crate, re-exported
//! as `shared::config`; a service's own queries live in that service.

pub mod bus;
pub mod context;
pub mod events;
pub mod metrics;
pub mod storage;
pub mod telemetry;

pub use ::domain;
pub use ::domain::{catalogue, webhook};
/// Typed settings, the `settings` crate (kept as `shared::config` for every service).
pub use ::settings as config;
