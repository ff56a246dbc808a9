//! Black-box tests of the gateway: the real app on port 0, PostgreSQL and SQLite.

mod alerts;
mod auth;
mod bus_errors;
mod errors;
mod helpers;
mod notifications;
mod outbox;
mod prices;
mod tokens;
mod validation_golden;
