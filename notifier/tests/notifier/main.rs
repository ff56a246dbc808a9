//! Black-box tests of the notifier: the real service against a real SMTP server, an HTTP
//! server standing in for Twilio, webhook receivers on loopback, and both database engines.
//! One test binary (modules below) keeps link time down.

mod helpers;

mod budget;
mod chat_discord;
mod chat_ntfy;
mod chat_slack;
mod chat_telegram;
mod delivery;
mod email;
mod ops;
mod quiet_hours;
mod rate_limit;
mod sms;
mod smtp_tls;
mod store;
mod webhook;
