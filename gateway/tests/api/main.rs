//! Black-box tests of the gateway: the real app on port 0, PostgreSQL and SQLite.

mod account;
mod alerts;
mod auth;
mod backtest;
mod bus_errors;
mod channel_tests;
mod channels;
mod errors;
mod explain;
mod helpers;
mod history;
mod list_cache;
mod list_reads;
mod live;
mod live_client;
mod notifications;
mod openapi;
mod outbox;
mod overload;
mod policies;
mod prices;
mod quiet_hours;
mod raw_http;
mod tokens;
mod validation_golden;
mod web;
