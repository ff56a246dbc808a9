use std::sync::Arc;

use shared::bus::{EventBus, OutboxRelay};
use shared::catalogue::Catalogue;
use shared::config::GatewaySettings;

use crate::alert_cache::AlertCache;
use crate::auth::{JwtKeys, Passwords, UserCache};
use crate::backtest_slots::BacktestSlots;
use crate::channel_tests::ChannelTestWaiters;
use crate::feeds::FeedPolling;
use crate::live::{Hub, SocketLimits};
use crate::metrics::GatewayMetrics;
use crate::rate_limit::Limits;
use crate::single_flight::SingleFlight;
use crate::store::Store;

/// Everything a handler needs; cheap to clone: one reference count (every extractor and
/// middleware clones it, per request).
#[derive(Clone)]
pub struct AppState(Arc<AppParts>);

impl AppState {
    pub fn new(parts: AppParts) -> AppState {
        AppState(Arc::new(parts))
    }
}

impl std::ops::Deref for AppState {
    type Target = AppParts;

    fn deref(&self) -> &AppParts {
        &self.0
    }
}

/// What an [`AppState`] holds.
pub struct AppParts {
    pub store: Store,
    pub bus: Arc<dyn EventBus>,
    /// Publishes the alert change outbox every alert write fills.
    pub alert_changes: OutboxRelay,
    pub catalogue: Arc<Catalogue>,
    pub settings: Arc<GatewaySettings>,
    pub jwt: JwtKeys,
    pub passwords: Passwords,
    pub users: UserCache,
    pub alert_lists: AlertCache,
    /// Serialises cache fills per user (user records and alert lists).
    pub fills: SingleFlight,
    pub limits: Limits,
    pub metrics: GatewayMetrics,
    pub registry: prometheus::Registry,
    /// The WebSocket live feed: who watches which symbols, who is signed in (lossy by design:
    /// a slow socket skips stale prices).
    pub live: Hub,
    pub socket_limits: SocketLimits,
    /// Whether webhook URLs may point at private addresses (the notifier's setting).
    pub webhook_allow_private: bool,
    /// Backtests running per user.
    pub backtests: BacktestSlots,
    /// How often each price feed polls (explain's `feed_stale`).
    pub feeds: FeedPolling,
    /// This replica's channel test requests waiting for the notifier's answer.
    pub channel_tests: ChannelTestWaiters,
}
