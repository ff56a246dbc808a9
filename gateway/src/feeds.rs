//! Which price feed an instrument's ticks come from and how often it polls, so explain can say
//! when a feed has gone quiet (the ingestor's settings, read by the gateway at start).

use std::time::Duration;

use chrono::{DateTime, Utc};
use shared::catalogue::ProviderKind;
use shared::config::{IngestorSettings, PriceSource};

/// The polling interval of each feed.
#[derive(Debug, Clone, Copy)]
pub struct FeedPolling {
    coingecko: Duration,
    yahoo: Duration,
    simulated: Option<Duration>,
}

/// Missed polls tolerated before a feed counts as stale: one late or failed poll is normal.
const POLLS_ALLOWED: u32 = 2;

impl FeedPolling {
    pub fn from_settings(settings: &IngestorSettings) -> FeedPolling {
        FeedPolling {
            coingecko: settings.coingecko.interval,
            yahoo: settings.yahoo.interval,
            simulated: (settings.price_source == PriceSource::Simulated)
                .then_some(settings.simulated.interval),
        }
    }

    /// The feed an instrument of `provider` is polled from, with its interval.
    fn feed(&self, provider: ProviderKind) -> (&'static str, Duration) {
        match (self.simulated, provider) {
            (Some(interval), _) => ("simulated", interval),
            (None, ProviderKind::Coingecko) => ("coingecko", self.coingecko),
            (None, ProviderKind::Yahoo) => ("yahoo", self.yahoo),
        }
    }

    /// The feed's name when its last tick (`last_tick`, `None`: never) is older than its
    /// polling allows at `now`; `None` while it is fresh.
    pub fn stale(
        &self,
        provider: ProviderKind,
        last_tick: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Option<&'static str> {
        let (name, interval) = self.feed(provider);
        let allowed = chrono::Duration::from_std(interval.saturating_mul(POLLS_ALLOWED))
            .unwrap_or(chrono::Duration::MAX);
        let fresh = last_tick.is_some_and(|at| now.signed_duration_since(at) <= allowed);
        (!fresh).then_some(name)
    }
}
