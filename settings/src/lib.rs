//! Typed settings in four layers, each overriding the one before:
//!
//! 1. defaults in code (each section's `Default`);
//! 2. an optional TOML file (`--config FILE` or `PRICEALERT_CONFIG`), durations written as
//!    `"500ms"`, `"60s"`, `"24h"`;
//! 3. the documented environment variables (`GATEWAY_PORT`, `SMTP_TIMEOUT_SECONDS`, …), each in
//!    its documented unit ([`DOCUMENTED_ENV`]);
//! 4. generic overrides `PRICEALERT__SECTION__KEY` for any key, which win over the documented
//!    names so a deployment can always correct one value without knowing its alias.
//!
//! The loader takes the environment as a map so it can be tested without touching the process.

mod bus;
mod database;
mod env;
mod error;
mod evaluator;
mod feeds;
mod fields;
mod file;
mod gateway;
mod history;
mod ingestor;
mod load;
mod log;
mod notifier;
mod settings;

pub use bus::{BusSettings, KafkaSettings, Topic};
pub use database::DatabaseSettings;
pub use domain::catalogue::BinancePair;
pub use env::{EnvName, Unit, DOCUMENTED_ENV};
pub use error::ConfigError;
pub use evaluator::EvaluatorSettings;
pub use feeds::{BinanceSettings, FailoverSettings};
pub use gateway::GatewaySettings;
pub use history::HistorySettings;
pub use ingestor::{
    CircuitBreakerSettings, CoinGeckoPlan, CoinGeckoSettings, HttpClientSettings, IngestorSettings,
    PriceSource, RetrySettings, SimulatedSettings, YahooSettings,
};
pub use log::LogSettings;
pub use notifier::{
    FromAddress, NotifierRateLimitSettings, NotifierRetrySettings, NotifierSettings, SmtpSettings,
    SmtpTls, TelegramSettings, TwilioSettings, WebhookSettings,
};
pub use settings::Settings;
