//! Which price feed an instrument's ticks come from and how often it polls, so explain can say
//! when a feed has gone quiet (the ingestor's settings, read by the gateway at start). The feed
//! is the one that sent the latest tick: with failover (`ingestor.failover.order`) that may be
//! Binance or a fallback rather than the catalogue's provider.

use std::time::Duration;

use chrono::{DateTime, Utc};
use shared::catalogue::ProviderKind;
use shared::config::{IngestorSettings, PriceSource};

/// The polling interval of each feed.
#[derive(Debug, Clone, Copy)]
pub struct FeedPolling {
    coingecko: Duration,
    yahoo: Duration,
    /// Binance's REST interval: its stream ticks more often, its fallback polls this often.
    binance: Duration,
    simulated: Option<Duration>,
}

/// Missed polls tolerated before a feed counts as stale: one late or failed poll is normal.
const POLLS_ALLOWED: u32 = 2;

impl FeedPolling {
    pub fn from_settings(settings: &IngestorSettings) -> FeedPolling {
        FeedPolling {
            coingecko: settings.coingecko.interval,
            yahoo: settings.yahoo.interval,
            binance: settings.binance.rest_interval,
            simulated: (settings.price_source == PriceSource::Simulated)
                .then_some(settings.simulated.interval),
        }
    }

    /// The feed that supplies an instrument of `provider` whose latest tick came from
    /// `source` (`None`: no tick yet, so its catalogue provider), with its interval.
    fn feed(&self, provider: ProviderKind, source: Option<&str>) -> (&'static str, Duration) {
        match (self.simulated, source, provider) {
            (Some(interval), ..) => ("simulated", interval),
            (None, Some("binance"), _) => ("binance", self.binance),
            (None, Some("coingecko"), _) => ("coingecko", self.coingecko),
            (None, Some("yahoo"), _) => ("yahoo", self.yahoo),
            (None, _, ProviderKind::Coingecko) => ("coingecko", self.coingecko),
            (None, _, ProviderKind::Yahoo) => ("yahoo", self.yahoo),
        }
    }

    /// The name of the feed that supplies an instrument of `provider` when its latest tick
    /// (`latest`: its source and time; `None`: never) is older than that feed's polling allows
    /// at `now`; `None` while it is fresh.
    pub fn stale(
        &self,
        provider: ProviderKind,
        latest: Option<(&str, DateTime<Utc>)>,
        now: DateTime<Utc>,
    ) -> Option<&'static str> {
        let (name, interval) = self.feed(provider, latest.map(|(source, _)| source));
        let last_tick = latest.map(|(_, at)| at);
        let allowed = chrono::Duration::from_std(interval.saturating_mul(POLLS_ALLOWED))
            .unwrap_or(chrono::Duration::MAX);
        let fresh = last_tick.is_some_and(|at| now.signed_duration_since(at) <= allowed);
        (!fresh).then_some(name)
    }
}
