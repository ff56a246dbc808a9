//! `spawn_ingestor`: the real ingestor on port 0 with its own database and in-process bus,
//! pointed at the fake providers, plus typed helpers to watch its ticks and metrics.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use shared::bus::{EventBus, InProcessBus, Subscription, Topic};
use shared::catalogue::Instrument;
use shared::config::{PriceSource, Settings};
use shared::context::ServiceContext;
use shared::events::PriceTick;
use testkit::{fresh_database, Engine, TestDatabase};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::fake_providers::FakeProviders;

/// How long any awaited event may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(15);

/// Settings for a test: port 0, both providers at `fake`, one cycle per hour unless the test
/// shortens it, generous budgets, fast retries, and a breaker that stays closed.
pub fn test_settings(fake: &FakeProviders) -> Settings {
    let mut settings = testkit::loopback_settings();
    let ingestor = &mut settings.ingestor;
    ingestor.price_source = PriceSource::Live;
    ingestor.http.timeout = Duration::from_secs(5);
    ingestor.retry.max_attempts = 3;
    ingestor.retry.backoff_base = Duration::from_millis(50);
    ingestor.retry.backoff_max = Duration::from_millis(500);
    ingestor.circuit_breaker.failure_threshold = 1_000;
    ingestor.coingecko.base_url = Some(fake.base_url.clone());
    ingestor.coingecko.interval = Duration::from_secs(3600);
    ingestor.coingecko.requests_per_minute = 6_000;
    ingestor.coingecko.burst = 100;
    ingestor.yahoo.base_url = fake.base_url.clone();
    ingestor.yahoo.interval = Duration::from_secs(3600);
    ingestor.yahoo.requests_per_minute = 6_000;
    ingestor.yahoo.burst = 100;
    // Backfill calls would change the counts of tests about polling; its tests turn it on.
    settings.history.backfill = false;
    settings
}

pub fn with_instruments(mut settings: Settings, instruments: Vec<Instrument>) -> Settings {
    settings.ingestor.instruments = Some(instruments);
    settings
}

pub struct TestIngestor {
    pub ops_port: u16,
    pub database: Arc<TestDatabase>,
    ticks: Box<dyn Subscription>,
    shutdown: CancellationToken,
    running: Option<JoinHandle<()>>,
    http: reqwest::Client,
}

impl Drop for TestIngestor {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

pub async fn spawn_ingestor(settings: Settings, engine: Engine) -> TestIngestor {
    let database = Arc::new(fresh_database(engine).await);
    spawn_ingestor_on(settings, database).await
}

/// Starts an ingestor on an existing database (to restart one).
pub async fn spawn_ingestor_on(settings: Settings, database: Arc<TestDatabase>) -> TestIngestor {
    let bus = InProcessBus::new(4096);
    let ticks = bus
        .subscribe(Topic::PriceEvents, "test")
        .await
        .expect("subscribe to price events");
    let context = ServiceContext::new(settings, database.db.clone(), Arc::new(bus));
    let app = ingestor::Application::build(context)
        .await
        .expect("the ingestor builds");
    let ops_port = app.port();
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    let running = tokio::spawn(async move {
        app.run_until_stopped(stop)
            .await
            .expect("the ingestor runs until stopped");
    });
    TestIngestor {
        ops_port,
        database,
        ticks,
        shutdown,
        running: Some(running),
        http: reqwest::Client::new(),
    }
}

impl TestIngestor {
    /// Stops the ingestor and waits until it has.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(running) = self.running.take() {
            tokio::time::timeout(DEADLINE, running)
                .await
                .expect("the ingestor stops in time")
                .expect("the ingestor task ends cleanly");
        }
    }

    /// The next tick on the bus.
    pub async fn next_tick(&mut self) -> PriceTick {
        let message = tokio::time::timeout(DEADLINE, self.ticks.next())
            .await
            .expect("a tick arrives before the deadline")
            .expect("the bus is open");
        assert_eq!(message.topic, Topic::PriceEvents);
        let tick: PriceTick = serde_json::from_slice(&message.payload).expect("a valid tick");
        assert_eq!(
            message.key,
            tick.symbol.as_str(),
            "ticks are keyed by symbol"
        );
        tick
    }

    /// Ticks until `count` distinct symbols have one; the first tick of each symbol.
    pub async fn first_ticks(&mut self, count: usize) -> BTreeMap<String, PriceTick> {
        let mut seen = BTreeMap::new();
        while seen.len() < count {
            let tick = self.next_tick().await;
            seen.entry(tick.symbol.to_string()).or_insert(tick);
        }
        seen
    }

    /// Ticks already published and not yet read.
    pub fn published_so_far(&mut self) -> Vec<PriceTick> {
        let mut ticks = Vec::new();
        while let Some(message) = self.ticks.try_next().expect("the bus is open") {
            ticks.push(serde_json::from_slice(&message.payload).expect("a valid tick"));
        }
        ticks
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("http://127.0.0.1:{}{path}", self.ops_port))
            .send()
            .await
            .expect("the ops port answers")
    }

    pub async fn metrics_text(&self) -> String {
        self.get("/metrics")
            .await
            .text()
            .await
            .expect("metrics body")
    }

    /// The value of the series `name{labels}`, if it exists.
    pub async fn metric(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        metric_value(&self.metrics_text().await, name, labels)
    }

    /// Polls `name{labels}` until `accept` says yes; returns the accepted value.
    pub async fn wait_for_metric(
        &self,
        name: &str,
        labels: &[(&str, &str)],
        accept: impl Fn(f64) -> bool,
    ) -> f64 {
        let accept = &accept;
        testkit::eventually_within(
            DEADLINE,
            &format!("{name}{labels:?} is accepted"),
            || async move {
                match self.metric(name, labels).await {
                    Some(value) if accept(value) => Ok(value),
                    value => Err(format!("it stayed at {value:?}")),
                }
            },
        )
        .await
    }
}

/// Reads one series from the Prometheus text format; labels must match exactly.
pub fn metric_value(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let wanted: HashMap<&str, &str> = labels.iter().copied().collect();
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (series_name, found) = match series.split_once('{') {
                Some((n, rest)) => (n, parse_labels(rest.strip_suffix('}')?)),
                None => (series, HashMap::new()),
            };
            (series_name == name
                && found.len() == wanted.len()
                && wanted
                    .iter()
                    .all(|(k, v)| found.get(*k).map(String::as_str) == Some(*v)))
            .then(|| value.parse().ok())
            .flatten()
        })
}

fn parse_labels(text: &str) -> HashMap<&str, String> {
    text.split("\",")
        .filter_map(|pair| {
            let (key, value) = pair.split_once("=\"")?;
            Some((key, value.trim_end_matches('"').to_owned()))
        })
        .collect()
}
