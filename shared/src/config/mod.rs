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

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

mod bus;
mod database;
mod env;
mod evaluator;
mod fields;
mod file;
mod gateway;
mod ingestor;
mod log;
mod notifier;

pub use bus::{BusSettings, KafkaSettings};
pub use database::DatabaseSettings;
pub use env::{EnvName, Unit, DOCUMENTED_ENV};
pub use evaluator::EvaluatorSettings;
pub use gateway::GatewaySettings;
pub use ingestor::{
    CircuitBreakerSettings, CoinGeckoPlan, CoinGeckoSettings, HttpClientSettings, IngestorSettings,
    PriceSource, RetrySettings, SimulatedSettings, YahooSettings,
};
pub use log::LogSettings;
pub use notifier::{
    FromAddress, NotifierRateLimitSettings, NotifierRetrySettings, NotifierSettings, SmtpSettings,
    SmtpTls, TwilioSettings, WebhookSettings,
};

/// What went wrong, and where: the file (with line, column and key) or the variable (with the
/// setting it sets). A secret's value is never part of the message.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("could not read settings file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "invalid settings file {}, line {line}, column {column}{}: {message}",
        path.display(),
        key.as_ref().map(|key| format!(", key {key}")).unwrap_or_default()
    )]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        /// The dotted path of the offending key, when the file parsed far enough to tell.
        key: Option<String>,
        message: String,
    },
    #[error("environment variable {name} ({path}): {reason}")]
    Env {
        name: String,
        path: String,
        reason: String,
    },
    #[error("invalid settings: {0}")]
    Invalid(String),
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Where the embedded default keeps its SQLite file and generated JWT secret.
    pub data_dir: PathBuf,
    pub database: DatabaseSettings,
    pub log: LogSettings,
    pub bus: BusSettings,
    pub gateway: GatewaySettings,
    pub ingestor: IngestorSettings,
    pub evaluator: EvaluatorSettings,
    pub notifier: NotifierSettings,
}

impl Settings {
    /// Defaults, then the TOML file (if any), then the environment, then validation.
    ///
    /// The file is `config_file`, else `PRICEALERT_CONFIG` from `env` (empty means none).
    pub fn load(
        config_file: Option<&Path>,
        env: &HashMap<String, String>,
    ) -> Result<Settings, ConfigError> {
        let file = config_file.map(Path::to_path_buf).or_else(|| {
            env.get("PRICEALERT_CONFIG")
                .filter(|path| !path.trim().is_empty())
                .map(PathBuf::from)
        });
        let (settings, tree) = match file {
            Some(path) => file::read(&path)?,
            None => (Settings::default(), toml::Table::new()),
        };
        let settings = env::apply(settings, tree, env)?;
        settings.validate()?;
        Ok(settings)
    }

    /// Settings from the process environment and an optional file. Variables whose name or
    /// value is not UTF-8 are none of ours and are skipped.
    pub fn from_process_env(config_file: Option<&Path>) -> Result<Settings, ConfigError> {
        let env: HashMap<String, String> = std::env::vars_os()
            .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
            .collect();
        Settings::load(config_file, &env)
    }

    /// Each section checks its own rules.
    fn validate(&self) -> Result<(), ConfigError> {
        self.gateway.validate()?;
        self.notifier.validate()?;
        self.bus.validate()?;
        self.evaluator.validate()?;
        self.ingestor.validate()
    }

    /// The data directory, `./data` unless configured.
    pub fn data_dir(&self) -> PathBuf {
        if self.data_dir.as_os_str().is_empty() {
            PathBuf::from("data")
        } else {
            self.data_dir.clone()
        }
    }
}
