use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use shared::bus::{BusMessage, Consumer, Delivery, Handler, OutboxRelay, Subscription, Topic};
use shared::context::ServiceContext;
use shared::events::{
    AlertChange, AlertChangeKind, ChannelTestResult, DeliveryEvent, PriceTick, TriggerEvent,
};
use shared::metrics::service_registry;
use shared::storage::OutboxTable;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::account_notices;
use crate::alert_cache::AlertCache;
use crate::alert_service::relay_alert_changes;
use crate::auth::{secret, JwtKeys, Passwords, UserCache};
use crate::backtest_slots::BacktestSlots;
use crate::channel_tests::ChannelTestWaiters;
use crate::feeds::FeedPolling;
use crate::live::{self, ForwardTicks, Hub, PushDeliveries, SocketLimits};
use crate::metrics::GatewayMetrics;
use crate::rate_limit::Limits;
use crate::routes;
use crate::server;
use crate::state::{AppParts, AppState};
use crate::store::Store;
use crate::GatewayError;

/// How often the alert change outbox is relayed besides after each write: what a bus failure
/// or a crash between commit and publish left reaches the evaluators within this.
const ALERT_CHANGE_RELAY_EVERY: Duration = Duration::from_secs(1);

/// The HTTP API, bound and subscribed to price ticks, ready to run.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    ticks: Box<dyn Subscription>,
    /// Alert changes and trigger events (fires) make cached alert lists stale.
    alert_changes: Box<dyn Subscription>,
    fires: Box<dyn Subscription>,
    /// Settled deliveries, pushed to their user's sockets.
    deliveries: Box<dyn Subscription>,
    /// The notifier's answers to channel test requests (this replica's among them).
    channel_test_results: Box<dyn Subscription>,
}

impl Application {
    pub async fn build(context: ServiceContext) -> Result<Application, GatewayError> {
        let settings = &context.settings.gateway;
        let embedded = context.db.is_embedded();
        let secret = secret::load_or_generate(
            settings.jwt_secret.as_ref(),
            &context.settings.data_dir(),
            embedded,
        )?;
        let registry = service_registry("gateway");
        let metrics = GatewayMetrics::new(&registry);
        let passwords = Passwords::new(settings.max_concurrent_password_hashes)
            .await
            .map_err(|e| GatewayError::JwtSecret(format!("password hasher: {e:#}")))?;
        // Every gateway replica must see every tick: each gets a group of its own.
        let group = context.consumer_group(&format!("gateway-{}", uuid::Uuid::new_v4().simple()));
        // Only what happens from now on matters to this replica: start at the end of the log.
        let consumer_metrics = shared::bus::ConsumerMetrics::register(&registry);
        let mut ticks = context
            .bus
            .subscribe_latest(Topic::PriceEvents, &group)
            .await?;
        let mut alert_changes = context
            .bus
            .subscribe_latest(Topic::AlertChanges, &group)
            .await?;
        let mut fires = context
            .bus
            .subscribe_latest(Topic::Notifications, &group)
            .await?;
        let mut deliveries = context
            .bus
            .subscribe_latest(Topic::DeliveryEvents, &group)
            .await?;
        let mut channel_test_results = context
            .bus
            .subscribe_latest(Topic::ChannelTestResults, &group)
            .await?;
        for subscription in [
            &mut ticks,
            &mut alert_changes,
            &mut fires,
            &mut deliveries,
            &mut channel_test_results,
        ] {
            subscription.report_metrics_to(&consumer_metrics);
        }
        let live = Hub::new(metrics.live.clone());
        let state = AppState::new(AppParts {
            store: Store::observed(context.db.clone(), metrics.list_batch_pages.clone()),
            bus: context.bus.clone(),
            alert_changes: OutboxRelay::new(
                context.db.clone(),
                context.bus.clone(),
                OutboxTable::AlertChanges,
                Topic::AlertChanges,
            ),
            catalogue: context.catalogue.clone(),
            settings: Arc::new(settings.clone()),
            jwt: JwtKeys::new(
                &secret,
                &settings.jwt_issuer,
                &settings.jwt_audience,
                i64::try_from(settings.token_ttl.as_secs()).unwrap_or(i64::MAX),
            ),
            passwords,
            users: UserCache::new(settings.user_cache),
            fills: Default::default(),
            alert_lists: AlertCache::new(settings.alert_list_cache),
            limits: Limits::new(settings),
            metrics,
            registry,
            live,
            socket_limits: SocketLimits::new(
                settings.websocket_max_connections,
                settings.websocket_max_connections_per_address,
            ),
            webhook_allow_private: context.settings.notifier.webhook.allow_private_addresses,
            backtests: BacktestSlots::new(
                context.settings.history.max_concurrent_backtests_per_user,
            ),
            feeds: FeedPolling::from_settings(&context.settings.ingestor),
            channel_tests: ChannelTestWaiters::default(),
        });
        let listener = TcpListener::bind(SocketAddr::new(settings.host, settings.port))
            .await
            .map_err(GatewayError::Bind)?;
        Ok(Application {
            listener,
            state,
            ticks,
            alert_changes,
            fires,
            deliveries,
            channel_test_results,
        })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> Result<(), GatewayError> {
        let Application {
            listener,
            state,
            ticks,
            alert_changes,
            fires,
            deliveries,
            channel_test_results,
        } = self;
        let malformed = &state.metrics.malformed_messages;
        let forward = ForwardTicks(state.live.clone());
        tokio::spawn(Consumer::<PriceTick>::new(ticks, malformed, shutdown.clone()).run(forward));
        tokio::spawn(state.live.clone().fan_out(shutdown.clone()));
        let evict = EvictStaleLists {
            lists: state.alert_lists.clone(),
            live: state.live.clone(),
        };
        tokio::spawn(
            Consumer::<AlertChange>::new(alert_changes, malformed, shutdown.clone())
                .run(evict.clone()),
        );
        tokio::spawn(Consumer::<TriggerEvent>::new(fires, malformed, shutdown.clone()).run(evict));
        let push = PushDeliveries(state.live.clone());
        tokio::spawn(
            Consumer::<DeliveryEvent>::new(deliveries, malformed, shutdown.clone()).run(push),
        );
        tokio::spawn(
            Consumer::<ChannelTestResult>::new(channel_test_results, malformed, shutdown.clone())
                .run(state.channel_tests.clone()),
        );
        tokio::spawn(live::recheck_users(
            state.clone(),
            state.settings.websocket_auth_recheck,
            shutdown.clone(),
        ));
        tokio::spawn(account_notices::follow(state.clone(), shutdown.clone()));
        tokio::spawn(shrink_limiters(state.limits.clone(), shutdown.clone()));
        let settings = Arc::clone(&state.settings);
        tokio::spawn(relay_alert_changes(
            state.clone(),
            ALERT_CHANGE_RELAY_EVERY,
            shutdown.clone(),
        ));
        let app = routes::router(state);
        server::serve(listener, app, &settings, shutdown)
            .await
            .map_err(GatewayError::Serve)
    }
}

/// Evicts the cached alert list of whoever an alert change or a fire concerns; a fire also
/// goes to its user's WebSockets.
#[derive(Clone)]
struct EvictStaleLists {
    lists: AlertCache,
    live: Hub,
}

impl Handler<AlertChange> for EvictStaleLists {
    type Error = Infallible;

    async fn handle(&mut self, delivery: &Delivery<AlertChange>) -> Result<(), Infallible> {
        match &delivery.event.kind {
            AlertChangeKind::Upserted { alert } => self.lists.evict(alert.user_id()),
            AlertChangeKind::Deleted {
                user_id: Some(user),
                ..
            } => self.lists.evict(*user),
            // A change of an older version does not say whose list it concerns.
            AlertChangeKind::Deleted { user_id: None, .. } => self.lists.clear(),
        }
        Ok(())
    }

    /// Whose list it concerned is unknown: forget everyone's.
    fn skipped(&mut self, _message: &BusMessage) {
        self.lists.clear();
    }
}

impl Handler<TriggerEvent> for EvictStaleLists {
    type Error = Infallible;

    async fn handle(&mut self, delivery: &Delivery<TriggerEvent>) -> Result<(), Infallible> {
        self.lists.evict(delivery.event.user_id);
        live::push_fire(&self.live, &delivery.event);
        Ok(())
    }

    fn skipped(&mut self, _message: &BusMessage) {
        self.lists.clear();
    }
}

async fn shrink_limiters(limits: Limits, shutdown: CancellationToken) {
    let mut every = tokio::time::interval(Duration::from_secs(60));
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = every.tick() => limits.shrink(),
        }
    }
}
