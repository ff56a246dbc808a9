//! The matching engine's memory and its outbox.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::ConfigError;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvaluatorSettings {
    pub port: u16,
    /// Price history kept per symbol for `percent_move` averages, in whole minutes; longer
    /// windows never fire.
    #[serde(with = "humantime_serde")]
    pub history: Duration,
    /// Published outbox rows are deleted after this long.
    #[serde(with = "humantime_serde")]
    pub outbox_retention: Duration,
    /// How often alerts written recently are re-read from storage, so a change whose bus
    /// message was lost still reaches the index.
    #[serde(with = "humantime_serde")]
    pub alert_resync: Duration,
    /// Ticks recorded together in one transaction at most (`1`: every tick its own).
    pub batch_max_ticks: usize,
    /// How long a batch waits for more ticks after its first one: each tick's record (and
    /// email) may be this much later, in exchange for fuller batches at moderate load. What is
    /// already queued is always taken, so `0` (the default) still groups whatever queued up
    /// while the previous batch was being written: batches grow with the load, and an idle
    /// tick waits for nothing (on the busy machine 2 ms raised the idle tick → email p50 from
    /// 2.9 to 5.5 ms without more throughput: docs/BENCHMARKS.md).
    #[serde(with = "humantime_serde")]
    pub batch_max_wait: Duration,
    /// Test only (the kill tests): after a batch with a fire is committed to storage, and
    /// before its offsets are, the evaluator creates this path with `.reached` appended and
    /// waits until this path exists. Unset in every deployment.
    pub test_pause_after_commit: Option<PathBuf>,
}

impl Default for EvaluatorSettings {
    fn default() -> Self {
        EvaluatorSettings {
            port: 8002,
            history: Duration::from_secs(24 * 60 * 60),
            outbox_retention: Duration::from_secs(24 * 60 * 60),
            alert_resync: Duration::from_secs(10),
            batch_max_ticks: 1000,
            batch_max_wait: Duration::ZERO,
            test_pause_after_commit: None,
        }
    }
}

impl EvaluatorSettings {
    /// [`EvaluatorSettings::history`] in minutes, the unit of `percent_move` windows.
    pub fn history_minutes(&self) -> i64 {
        i64::try_from(self.history.as_secs() / 60).unwrap_or(i64::MAX)
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let whole_minutes = Duration::from_secs(self.history.as_secs() / 60 * 60);
        if self.history < Duration::from_secs(60) || self.history != whole_minutes {
            return Err(ConfigError::Invalid(
                "evaluator.history must be a whole number of minutes, at least 1".to_owned(),
            ));
        }
        if self.batch_max_ticks == 0 {
            return Err(ConfigError::Invalid(
                "evaluator.batch_max_ticks must be at least 1".to_owned(),
            ));
        }
        if self.alert_resync.is_zero() {
            return Err(ConfigError::Invalid(
                "evaluator.alert_resync must be longer than 0".to_owned(),
            ));
        }
        Ok(())
    }
}
