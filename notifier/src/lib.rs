//! The notifier service: turns trigger events into emails, SMS, signed webhooks and chat
//! messages (Telegram, Slack, Discord, ntfy), each delivered exactly once per (event,
//! channel), rate-limited per user with digests.
//!
//! How a trigger event travels:
//! 1. `consumer` inserts one `deliveries` row per channel (insert-if-absent on
//!    `(event_id, channel)`) and only then commits the bus message: a redelivered event finds
//!    its rows and changes nothing.
//! 2. `dispatcher` scans the table for due rows (at start too, so nothing pending or deferred
//!    is forgotten), checks the per-user per-channel rate limit, claims each row for one
//!    attempt and sends it; past the limit, rows become `deferred` and later go out together
//!    as one digest that settles each of them.
//! 3. `settle` records the outcome: `sent`, `failed` (permanent, or retry budget spent — kept
//!    as a dead letter), `unknown` (no answer from a service without idempotency: never
//!    resent) or back to `pending` with exponential backoff (no sooner than a 429 asked).
//!
//! Deliveries due while their user's quiet hours hold (`quiet`) are held until the window
//! ends and then sent as one digest, unless their alert is `urgent`.
//!
//! A kill mid-send leaves a claim that expires after `claim_timeout`: emails and
//! webhooks are then resent under the same Message-ID / `X-Pricealert-Event` id; an SMS or a
//! chat message (no idempotency key on those services) is marked `unknown`. The rate limit's
//! budget lives in the database (`delivery_budgets`), so it holds across restarts and across
//! notifier replicas.

mod channel_tests;
mod channels;
mod consumer;
mod custom_message;
mod dispatcher;
mod error;
mod limiter;
mod message;
mod metrics;
mod quiet;
mod settle;
mod startup;
mod stats;
pub mod store;

pub use error::NotifierError;
pub use startup::Application;
