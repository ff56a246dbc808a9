//! The settings tree: one section per service and per shared concern.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{
    BusSettings, ConfigError, DatabaseSettings, EvaluatorSettings, GatewaySettings,
    HistorySettings, IngestorSettings, LogSettings, NotifierSettings,
};

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
    pub history: HistorySettings,
}

impl Settings {
    /// Each section checks its own rules.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        self.gateway.validate()?;
        self.notifier.validate()?;
        self.bus.validate()?;
        self.evaluator.validate()?;
        self.history.validate()?;
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
