use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use shared::bus::{decode, Decoded, Subscription, Topic};
use shared::context::ServiceContext;
use shared::events::{AlertChange, AlertChangeKind, PriceTick, TriggerEvent};
use shared::metrics::service_registry;
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::alert_cache::AlertCache;
use crate::auth::{secret, JwtKeys, Passwords};
use crate::metrics::GatewayMetrics;
use crate::price_view::PriceView;
use crate::rate_limit::Limits;
use crate::routes;
use crate::state::AppState;
use crate::store::Store;
use crate::GatewayError;

/// The HTTP API, bound and subscribed to price ticks, ready to run.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    ticks: Box<dyn Subscription>,
    /// Alert changes and trigger events, which make cached alert lists stale.
    invalidations: [Box<dyn Subscription>; 2],
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
        for subscription in [&mut ticks, &mut alert_changes, &mut fires] {
            subscription.report_metrics_to(&consumer_metrics);
        }
        let (tick_sender, _) = broadcast::channel(1024);
        let state = AppState {
            store: Store::new(context.db.clone()),
            bus: context.bus.clone(),
            catalogue: context.catalogue.clone(),
            settings: Arc::new(settings.clone()),
            jwt: JwtKeys::new(
                &secret,
                &settings.jwt_issuer,
                &settings.jwt_audience,
                i64::try_from(settings.token_ttl.as_secs()).unwrap_or(i64::MAX),
            ),
            passwords,
            users: Default::default(),
            fills: Default::default(),
            alert_lists: AlertCache::new(settings.alert_list_cache),
            limits: Limits::new(settings),
            metrics,
            registry,
            ticks: tick_sender,
            webhook_allow_private: context.settings.notifier.webhook.allow_private_addresses,
        };
        let listener = TcpListener::bind(SocketAddr::new(settings.host, settings.port))
            .await
            .map_err(GatewayError::Bind)?;
        Ok(Application {
            listener,
            state,
            ticks,
            invalidations: [alert_changes, fires],
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
            invalidations,
        } = self;
        tokio::spawn(forward_ticks(ticks, state.clone(), shutdown.clone()));
        for subscription in invalidations {
            tokio::spawn(evict_stale_lists(
                subscription,
                state.clone(),
                shutdown.clone(),
            ));
        }
        tokio::spawn(shrink_limiters(state.limits.clone(), shutdown.clone()));
        let app = routes::router(state);
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
        .map_err(GatewayError::Serve)
    }
}

/// Price ticks from the bus to the WebSocket fan-out.
async fn forward_ticks(
    mut ticks: Box<dyn Subscription>,
    state: AppState,
    shutdown: CancellationToken,
) {
    loop {
        let message = tokio::select! {
            () = shutdown.cancelled() => return,
            message = ticks.next() => message,
        };
        let message = match message {
            Ok(message) => message,
            Err(error) => {
                tracing::warn!(%error, "price feed closed");
                return;
            }
        };
        match decode::<PriceTick>(&message) {
            Decoded::Ok(tick) => {
                // No receivers is fine: nobody is watching.
                let _ = state.ticks.send(PriceView::from(tick));
            }
            Decoded::Malformed(reason) => {
                state
                    .metrics
                    .malformed_messages
                    .with_label_values(&["price-events"])
                    .inc();
                tracing::warn!(%reason, offset = message.offset, "skipping a malformed price event");
            }
        }
        if let Err(error) = ticks.commit(&message).await {
            tracing::warn!(%error, "could not commit a price event");
        }
    }
}

/// Evicts the cached alert list of whoever an alert change or a fire concerns.
async fn evict_stale_lists(
    mut subscription: Box<dyn Subscription>,
    state: AppState,
    shutdown: CancellationToken,
) {
    loop {
        let message = tokio::select! {
            () = shutdown.cancelled() => return,
            message = subscription.next() => message,
        };
        let Ok(message) = message else { return };
        match message.topic {
            Topic::AlertChanges => match decode::<AlertChange>(&message) {
                Decoded::Ok(change) => match change.kind {
                    AlertChangeKind::Upserted { alert } => state.alert_lists.evict(alert.user_id()),
                    AlertChangeKind::Deleted { .. } => state.alert_lists.clear(),
                },
                Decoded::Malformed(_) => state.alert_lists.clear(),
            },
            Topic::Notifications => match decode::<TriggerEvent>(&message) {
                Decoded::Ok(event) => state.alert_lists.evict(event.user_id),
                Decoded::Malformed(_) => state.alert_lists.clear(),
            },
            Topic::PriceEvents => {}
        }
        if let Err(error) = subscription.commit(&message).await {
            tracing::warn!(%error, "could not commit an invalidation message");
        }
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
