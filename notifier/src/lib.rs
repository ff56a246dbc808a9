//! The notifier service: turns trigger events into emails, SMS and signed webhooks, each
//! delivered exactly once per (event, channel), rate-limited per user with digests.

mod channels;
mod consumer;
mod dispatcher;
mod error;
mod limiter;
mod message;
mod metrics;
mod settle;
mod startup;
mod stats;

pub use error::NotifierError;
pub use startup::Application;
