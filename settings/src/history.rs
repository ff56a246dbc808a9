//! Price history: what the recorder keeps, for how long, and the backtests that read it.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::ConfigError;

const DAY: u64 = 24 * 60 * 60;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HistorySettings {
    /// Whether the ingestor records every published tick (`HISTORY_ENABLED`).
    pub enabled: bool,
    /// Raw points (the last price of each second) are kept this long (`HISTORY_RAW_DAYS`).
    #[serde(with = "humantime_serde")]
    pub raw_retention: Duration,
    /// 1-minute candles (`HISTORY_1M_DAYS`).
    #[serde(with = "humantime_serde")]
    pub minute_retention: Duration,
    /// 1-hour candles (`HISTORY_1H_DAYS`).
    #[serde(with = "humantime_serde")]
    pub hour_retention: Duration,
    /// 1-day candles (`HISTORY_1D_DAYS`); 0 keeps them forever.
    #[serde(with = "humantime_serde")]
    pub day_retention: Duration,
    /// How often expired rows are pruned.
    #[serde(with = "humantime_serde")]
    pub prune_every: Duration,
    /// Rows deleted per statement while pruning: small, so writers never wait long.
    pub prune_batch: u32,
    /// After the database reported a full disk, recording pauses this long before it retries.
    #[serde(with = "humantime_serde")]
    pub disk_full_pause: Duration,
    /// Whether the ingestor fetches recent history from the providers on first start and
    /// after a gap (`HISTORY_BACKFILL`).
    pub backfill: bool,
    /// A gap in a series longer than this is backfilled at start.
    #[serde(with = "humantime_serde")]
    pub backfill_gap: Duration,
    /// Backtests one user may run at the same time (`BACKTEST_MAX_CONCURRENT_PER_USER`).
    pub max_concurrent_backtests_per_user: u32,
}

impl Default for HistorySettings {
    fn default() -> Self {
        HistorySettings {
            enabled: true,
            raw_retention: Duration::from_secs(2 * DAY),
            minute_retention: Duration::from_secs(90 * DAY),
            hour_retention: Duration::from_secs(730 * DAY),
            day_retention: Duration::ZERO,
            prune_every: Duration::from_secs(60),
            prune_batch: 1_000,
            disk_full_pause: Duration::from_secs(30),
            backfill: true,
            backfill_gap: Duration::from_secs(10 * 60),
            max_concurrent_backtests_per_user: 2,
        }
    }
}

impl HistorySettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let retentions = [
            ("raw_retention", self.raw_retention),
            ("minute_retention", self.minute_retention),
            ("hour_retention", self.hour_retention),
        ];
        if let Some((name, _)) = retentions
            .iter()
            .find(|(_, r)| *r < Duration::from_secs(DAY))
        {
            return Err(ConfigError::Invalid(format!(
                "history.{name} must be at least one day"
            )));
        }
        if self.prune_batch == 0 || self.prune_every.is_zero() {
            return Err(ConfigError::Invalid(
                "history.prune_batch and history.prune_every must be more than 0".to_owned(),
            ));
        }
        if self.max_concurrent_backtests_per_user == 0 {
            return Err(ConfigError::Invalid(
                "history.max_concurrent_backtests_per_user must be at least 1".to_owned(),
            ));
        }
        Ok(())
    }
}
