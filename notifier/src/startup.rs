use std::net::SocketAddr;
use std::sync::Arc;

use shared::bus::{Consumer, Subscription, Topic};
use shared::context::ServiceContext;
use shared::events::{ChannelTestRequest, TriggerEvent};
use shared::metrics::{ops_router, service_registry, OpsServer};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::channel_tests::SendChannelTests;
use crate::channels::Senders;
use crate::consumer::RecordDeliveries;
use crate::dispatcher::Dispatcher;
use crate::limiter::DeliveryRateLimiter;
use crate::metrics::NotifierMetrics;
use crate::stats::{self, StatsState};
use crate::store::Store;
use crate::NotifierError;

/// The notifier, bound and subscribed, ready to run.
pub struct Application {
    ops: OpsServer,
    trigger_events: Box<dyn Subscription>,
    record: RecordDeliveries,
    channel_tests: Box<dyn Subscription>,
    send_tests: SendChannelTests,
    metrics: NotifierMetrics,
    dispatcher: Arc<Dispatcher>,
}

impl Application {
    /// Builds the senders from settings, subscribes to trigger events and binds the ops port
    /// (`/health`, `/metrics`, `/stats`).
    pub async fn build(context: ServiceContext) -> Result<Application, NotifierError> {
        let settings = context.settings.notifier.clone();
        let registry = service_registry("notifier");
        let metrics = NotifierMetrics::new(&registry);
        let senders = Arc::new(Senders::from_settings(&settings)?);
        let limiter = Arc::new(DeliveryRateLimiter::new(
            &settings.rate_limit,
            Store::new(context.db.clone()),
        )?);
        let mut trigger_events = context
            .bus
            .subscribe(Topic::Notifications, &context.consumer_group("notifier"))
            .await?;
        let consumer_metrics = shared::bus::ConsumerMetrics::register(&registry);
        trigger_events.report_metrics_to(&consumer_metrics);
        // A test request is worth answering only while its gateway waits: start at the end.
        let mut channel_tests = context
            .bus
            .subscribe_latest(
                Topic::ChannelTests,
                &context.consumer_group("notifier-channel-tests"),
            )
            .await?;
        channel_tests.report_metrics_to(&consumer_metrics);
        let wake = Arc::new(Notify::new());
        let router = ops_router(registry).merge(stats::router(StatsState {
            db: Store::new(context.db.clone()),
            senders: Arc::clone(&senders),
            settings: Arc::new(settings.clone()),
        }));
        let addr = SocketAddr::new(context.settings.gateway.host, settings.port);
        let ops = OpsServer::bind(addr, router)
            .await
            .map_err(NotifierError::Bind)?;
        Ok(Application {
            ops,
            trigger_events,
            record: RecordDeliveries {
                db: Store::new(context.db.clone()),
                wake: Arc::clone(&wake),
            },
            channel_tests,
            send_tests: SendChannelTests {
                db: Store::new(context.db.clone()),
                senders: Arc::clone(&senders),
                bus: context.bus.clone(),
            },
            metrics: metrics.clone(),
            dispatcher: Arc::new(Dispatcher {
                db: Store::new(context.db.clone()),
                senders,
                limiter,
                metrics,
                settings,
                wake,
                bus: context.bus.clone(),
            }),
        })
    }

    pub fn port(&self) -> u16 {
        self.ops.port()
    }

    /// Resumes whatever the delivery table holds open, then consumes and sends until
    /// `shutdown`. Everything runs inside this future: dropping it stops it all.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> Result<(), NotifierError> {
        let Application {
            ops,
            trigger_events,
            record,
            channel_tests,
            send_tests,
            metrics,
            dispatcher,
        } = self;
        let consumer =
            Consumer::<TriggerEvent>::new(trigger_events, &metrics.malformed, shutdown.clone());
        let tests = Consumer::<ChannelTestRequest>::new(
            channel_tests,
            &metrics.malformed,
            shutdown.clone(),
        );
        let (served, (), (), ()) = tokio::join!(
            ops.run(shutdown.clone()),
            consumer.run(record),
            tests.run(send_tests),
            dispatcher.run(shutdown.clone()),
        );
        served.map_err(NotifierError::Serve)
    }
}
