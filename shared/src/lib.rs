//! What the pricealert services share: domain types, settings, storage, the event bus,
//! metrics plumbing and telemetry.

pub mod bus;
pub mod catalogue;
pub mod config;
pub mod context;
pub mod domain;
pub mod events;
pub mod metrics;
pub mod storage;
pub mod telemetry;
#[cfg(any(test, feature = "test-support"))]
pub mod testing;
pub mod webhook;
