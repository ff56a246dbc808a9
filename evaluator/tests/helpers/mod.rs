//! A real evaluator on a fresh database and an in-process bus, with typed helpers.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use evaluator::store::Store;
use shared::bus::{BusError, EventBus, InProcessBus, Subscription, Topic};
use shared::config::Settings;
use shared::context::ServiceContext;
use shared::domain::{Alert, AlertCondition, NewAlert};
use shared::events::{AlertChange, PriceTick, TriggerEvent};
use shared::storage::Database;
use testkit::{eventually, fresh_database, Engine, TestDatabase};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub const DEADLINE: Duration = Duration::from_secs(10);

pub fn at(second: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 8, 0, 0)
        .single()
        .expect("time")
        + chrono::Duration::seconds(second)
}

pub fn tick(symbol: &str, price: &str, received_at: DateTime<Utc>) -> PriceTick {
    PriceTick {
        schema_version: 1,
        symbol: symbol.parse().expect("symbol"),
        price: price.parse().expect("price"),
        previous_price: None,
        currency: "USD".into(),
        source: "simulated".into(),
        timestamp: received_at,
        received_at,
        conversion: None,
    }
}

pub fn alert(symbol: &str, condition: AlertCondition, target: &str) -> NewAlert {
    let target: serde_json::Value = serde_json::from_str(target).expect("a JSON number");
    testkit::new_alert(serde_json::json!({
        "symbol": symbol, "condition": condition.as_str(), "target_price": target,
    }))
}

/// A bus whose notifications never get through: publishing one hangs, as if the process
/// died right after recording the fire and before its publish completed.
pub struct StalledNotifications(pub InProcessBus);

#[async_trait]
impl EventBus for StalledNotifications {
    async fn publish(&self, topic: Topic, key: &str, payload: Vec<u8>) -> Result<(), BusError> {
        if topic == Topic::Notifications {
            std::future::pending::<()>().await;
        }
        self.0.publish(topic, key, payload).await
    }

    async fn subscribe(
        &self,
        topic: Topic,
        group: &str,
    ) -> Result<Box<dyn Subscription>, BusError> {
        self.0.subscribe(topic, group).await
    }
}

/// A running evaluator and what a test needs to drive it.
pub struct TestEvaluator {
    pub port: u16,
    pub bus: Arc<dyn EventBus>,
    pub notifications: Box<dyn Subscription>,
    shutdown: CancellationToken,
    task: JoinHandle<()>,
}

pub struct TestWorld {
    pub database: TestDatabase,
    pub user_id: i64,
}

impl TestWorld {
    pub async fn new(engine: Engine) -> TestWorld {
        let database = fresh_database(engine).await;
        let user = testkit::insert_user(&database.db, "ann@example.com", None).await;
        TestWorld {
            database,
            user_id: user.id,
        }
    }

    pub fn db(&self) -> &Database {
        &self.database.db
    }

    /// The evaluator's queries on this world's database.
    pub fn store(&self) -> Store {
        Store::new(self.database.db.clone())
    }

    /// A second connection pool on the same database, as a restarted process would open.
    pub async fn reopen(&self) -> Database {
        Database::connect(&self.database.url, 4)
            .await
            .expect("reopen the database")
    }

    pub async fn create_alert(&self, alert: &NewAlert) -> Alert {
        testkit::insert_alert(self.db(), self.user_id, alert).await
    }

    /// Starts an evaluator on `db` and `bus`, with a notifications subscriber in place first.
    pub async fn spawn(&self, db: Database, bus: Arc<dyn EventBus>) -> TestEvaluator {
        self.spawn_with(db, bus, |_| {}).await
    }

    /// As [`TestWorld::spawn_default`], with settings adjusted by `configure`.
    pub async fn spawn_configured(&self, configure: impl FnOnce(&mut Settings)) -> TestEvaluator {
        let db = self.reopen().await;
        self.spawn_with(db, Arc::new(InProcessBus::new(64)), configure)
            .await
    }

    pub async fn spawn_with(
        &self,
        db: Database,
        bus: Arc<dyn EventBus>,
        configure: impl FnOnce(&mut Settings),
    ) -> TestEvaluator {
        let notifications = bus
            .subscribe(Topic::Notifications, "test-notifier")
            .await
            .expect("subscribe");
        let mut settings = testkit::loopback_settings();
        configure(&mut settings);
        let context = ServiceContext::new(settings, db, bus.clone());
        let app = evaluator::Application::build(context)
            .await
            .expect("build the evaluator");
        let port = app.port();
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        let task = tokio::spawn(async move {
            app.run_until_stopped(stop).await.expect("evaluator runs");
        });
        TestEvaluator {
            port,
            bus,
            notifications,
            shutdown,
            task,
        }
    }

    pub async fn spawn_default(&self) -> TestEvaluator {
        let db = self.reopen().await;
        self.spawn(db, Arc::new(InProcessBus::new(64))).await
    }
}

impl TestEvaluator {
    pub async fn publish_tick(&self, tick: &PriceTick) {
        shared::bus::publish_json(
            self.bus.as_ref(),
            Topic::PriceEvents,
            tick.symbol.as_str(),
            tick,
        )
        .await
        .expect("publish tick");
    }

    pub async fn publish_change(&self, change: &AlertChange) {
        shared::bus::publish_json(
            self.bus.as_ref(),
            Topic::AlertChanges,
            change.symbol().as_str(),
            change,
        )
        .await
        .expect("publish change");
    }

    pub async fn publish_raw(&self, topic: Topic, payload: &[u8]) {
        self.bus
            .publish(topic, "BTC", payload.to_vec())
            .await
            .expect("publish raw");
    }

    pub async fn next_notification(&mut self) -> TriggerEvent {
        let message = tokio::time::timeout(DEADLINE, self.notifications.next())
            .await
            .expect("a notification within the deadline")
            .expect("bus open");
        serde_json::from_slice(&message.payload).expect("a trigger event")
    }

    /// Stops gracefully and waits.
    pub async fn stop(self) {
        self.shutdown.cancel();
        self.task.await.expect("evaluator task ends");
    }

    /// Stops without any cleanup, like a killed process.
    pub async fn kill(self) {
        self.task.abort();
        let _ = self.task.await;
    }

    /// Polls `/metrics` until every line of `expected` is in it.
    pub async fn wait_for_metrics(&self, what: &str, expected: &[&str]) {
        eventually(what, || async {
            let metrics = self.metrics().await;
            expected.iter().all(|line| metrics.contains(line))
        })
        .await;
    }

    pub async fn metrics(&self) -> String {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .expect("connect to the ops port");
        stream
            .write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")
            .await
            .expect("send request");
        let mut response = String::new();
        stream
            .read_to_string(&mut response)
            .await
            .expect("read response");
        assert!(response.starts_with("HTTP/1.0 200") || response.starts_with("HTTP/1.1 200"));
        response
    }
}
