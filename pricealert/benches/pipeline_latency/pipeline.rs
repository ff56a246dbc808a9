//! One deployment's evaluator, notifier and gateway in this process, the alerts the bench
//! creates through the gateway, and the bench's ticks.

use std::collections::HashMap;
use std::str::FromStr;

use chrono::Utc;
use rdkafka::mocking::MockCluster;
use serde_json::{json, Value};
use shared::bus::{publish_json, Topic};
use shared::catalogue::{default_instruments, AssetClass, Instrument, ProviderKind};
use shared::config::Settings;
use shared::context::ServiceContext;
use shared::domain::{Price, Symbol};
use shared::events::{PriceTick, SCHEMA_VERSION};
use testkit::{fresh_database_url, Engine, TempDir};
use tokio_util::sync::CancellationToken;

use crate::smtp::SmtpSink;

const PASSWORD: &str = "correct horse battery staple";

/// The default 55 and synthetic instruments `SYN0001`… up to `count` in all.
fn instruments(count: usize) -> Vec<Instrument> {
    let mut list = default_instruments();
    let first = list.len();
    for n in first..count.max(first) {
        list.push(Instrument {
            symbol: Symbol::from_str(&format!("SYN{n:04}")).expect("a synthetic symbol"),
            provider: ProviderKind::Coingecko,
            provider_id: format!("synthetic-{n}"),
            asset_class: AssetClass::Crypto,
            currency: "USD".to_owned(),
        });
    }
    list
}

/// How one run of a mode is set up.
#[derive(Clone, Copy)]
pub struct Run {
    pub recording: bool,
    pub batch_ticks: Option<usize>,
    pub instruments: usize,
}

/// The evaluator, notifier and gateway of one deployment, in this process.
pub struct Pipeline {
    pub context: ServiceContext,
    gateway: String,
    evaluator_metrics: String,
    shutdown: CancellationToken,
    running: Vec<pricealert::Running>,
    _data: TempDir,
    _cluster: Option<MockCluster<'static, rdkafka::producer::DefaultProducerContext>>,
    _database: Option<testkit::Scratch>,
}

impl Pipeline {
    pub async fn start(mode: &str, smtp: &SmtpSink, run: Run) -> Pipeline {
        let data = TempDir::new("pa-bench-pipeline");
        let mut env: HashMap<String, String> = [
            ("PRICEALERT_DATA_DIR", data.0.display().to_string()),
            (
                "JWT_SECRET",
                "pipeline-bench-secret-long-enough-0123456789".to_owned(),
            ),
            ("GATEWAY_HOST", "127.0.0.1".to_owned()),
            ("GATEWAY_PORT", "0".to_owned()),
            ("EVALUATOR_PORT", "0".to_owned()),
            ("NOTIFIER_PORT", "0".to_owned()),
            ("SMTP_HOST", "127.0.0.1".to_owned()),
            ("SMTP_PORT", smtp.port.to_string()),
            ("SMTP_TLS", "none".to_owned()),
            ("FROM_EMAIL", "alerts@pricealert.test".to_owned()),
            ("NOTIFIER_RATE_LIMIT_PER_PERIOD", "10000000".to_owned()),
            ("MAX_ACTIVE_ALERTS_PER_USER", "10000000".to_owned()),
            ("API_RATE_LIMIT_PER_SECOND", "1000000".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        // Batch tuning under test (e.g. EVALUATOR_BATCH_MAX_MS) from the bench's environment.
        for (name, value) in std::env::vars() {
            if name.starts_with("EVALUATOR_BATCH_") {
                env.insert(name, value);
            }
        }
        if let Some(batch_ticks) = run.batch_ticks {
            env.insert(
                "EVALUATOR_BATCH_MAX_TICKS".to_owned(),
                batch_ticks.to_string(),
            );
        }
        let mut cluster = None;
        // The PostgreSQL database of a Kafka run, dropped when the run ends.
        let mut database = None;
        if mode == "kafka" {
            let mock = MockCluster::new(3).expect("start the mock Kafka cluster");
            let run = uuid::Uuid::new_v4().simple().to_string();
            for (name, topic) in [
                ("KAFKA_PRICE_EVENTS_TOPIC", "price-events"),
                ("KAFKA_NOTIFICATIONS_TOPIC", "notifications"),
                ("KAFKA_ALERT_CHANGES_TOPIC", "alert-changes"),
                ("KAFKA_DELIVERY_EVENTS_TOPIC", "delivery-events"),
                ("KAFKA_CHANNEL_TESTS_TOPIC", "channel-tests"),
                ("KAFKA_CHANNEL_TEST_RESULTS_TOPIC", "channel-test-results"),
            ] {
                let topic = format!("{topic}-{run}");
                mock.create_topic(&topic, 3, 1)
                    .expect("create a topic on the mock cluster");
                env.insert(name.to_owned(), topic);
            }
            env.insert(
                "KAFKA_BOOTSTRAP_SERVERS".to_owned(),
                mock.bootstrap_servers(),
            );
            env.insert(
                "KAFKA_CONSUMER_GROUP_PREFIX".to_owned(),
                format!("bench-{run}"),
            );
            env.insert("KAFKA_SESSION_TIMEOUT_MS".to_owned(), "6000".to_owned());
            // Tuning under test (e.g. KAFKA_FETCH_WAIT_MAX_MS, KAFKA_LINGER_MS) comes from the
            // bench's own environment; unset means the shipped defaults.
            for (name, value) in std::env::vars() {
                if name.starts_with("KAFKA_") && !env.contains_key(&name) {
                    env.insert(name, value);
                }
            }
            let (url, scratch) = fresh_database_url(Engine::Postgres).await;
            env.insert("DATABASE_URL".to_owned(), url);
            database = Some(scratch);
            cluster = Some(mock);
        }
        let mut settings = Settings::load(None, &env).expect("valid bench settings");
        if run.instruments > 0 {
            settings.ingestor.instruments = Some(instruments(run.instruments));
        }
        let context = pricealert::connect(settings)
            .await
            .expect("connect storage and bus");
        let shutdown = CancellationToken::new();
        // Consumers before producers: notifier, evaluator, then the gateway (alert changes).
        let mut running = Vec::new();
        for service in [
            pricealert::Service::Notifier,
            pricealert::Service::Evaluator,
            pricealert::Service::Gateway,
        ] {
            running.push(
                pricealert::start(
                    context.clone(),
                    &pricealert::Services::only(service),
                    shutdown.clone(),
                )
                .await
                .expect("start a service"),
            );
        }
        if run.recording {
            let registry = prometheus::Registry::new();
            let history = ingestor::history::History::build(&context, &registry, Vec::new())
                .await
                .expect("build the recorder")
                .expect("history is on");
            tokio::spawn(history.run(shutdown.clone()));
        }
        let evaluator_port = running[1].evaluator_port.expect("evaluator port");
        let gateway_port = running[2].gateway_port.expect("gateway port");
        Pipeline {
            context,
            gateway: format!("http://127.0.0.1:{gateway_port}"),
            evaluator_metrics: format!("http://127.0.0.1:{evaluator_port}/metrics"),
            shutdown,
            running,
            _data: data,
            _cluster: cluster,
            _database: database,
        }
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        for running in self.running {
            let _ = running.wait(self.shutdown.clone()).await;
        }
    }

    pub async fn publish(&self, symbol: &Symbol, price: &str) {
        let tick = bench_tick(symbol, price);
        publish_json(
            self.context.bus.as_ref(),
            Topic::PriceEvents,
            symbol.as_str(),
            &tick,
        )
        .await
        .expect("publish a tick");
    }

    /// The evaluator's own metric: (ticks evaluated, alerts it holds).
    pub async fn evaluator_counts(&self, client: &reqwest::Client) -> (f64, f64) {
        let text = client
            .get(&self.evaluator_metrics)
            .send()
            .await
            .expect("scrape the evaluator")
            .text()
            .await
            .expect("metrics text");
        let sum = |name: &str| -> f64 {
            text.lines()
                .filter(|line| line.starts_with(name))
                .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
                .sum()
        };
        (
            // Ticks of one symbol published concurrently may reach the evaluator out of
            // order; one older than a recorded tick is skipped, not evaluated.
            sum("evaluator_prices_evaluated_total") + sum("evaluator_ticks_superseded_total"),
            sum("evaluator_active_alerts"),
        )
    }
}

async fn post(client: &reqwest::Client, url: String, token: Option<&str>, body: Value) -> Value {
    let mut request = client.post(url).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("gateway request");
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "gateway answered {status}: {body}");
    body
}

/// Registers a user and creates `count` `above` alerts with thresholds `base`, `base + 1`, …,
/// alert `i` on `symbols[i % symbols.len()]`.
pub async fn create_alerts(
    pipeline: &Pipeline,
    client: &reqwest::Client,
    base: u32,
    count: usize,
    symbols: &[Symbol],
) {
    let email = format!("bench-{base}@example.com");
    post(
        client,
        format!("{}/auth/register", pipeline.gateway),
        None,
        json!({"email": email, "password": PASSWORD}),
    )
    .await;
    let login: Value = client
        .post(format!("{}/auth/login", pipeline.gateway))
        .form(&[("username", email.as_str()), ("password", PASSWORD)])
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("login body");
    let token = login["access_token"]
        .as_str()
        .expect("access token")
        .to_owned();
    for i in 0..count {
        post(
            client,
            format!("{}/alerts", pipeline.gateway),
            Some(&token),
            json!({"symbol": symbols[i % symbols.len()].as_str(), "condition": "above",
                   "target_price": base + i as u32,
                   "notification_types": "email", "cooldown_minutes": 1440}),
        )
        .await;
    }
}

/// A tick of the bench's own source, stamped now.
pub fn bench_tick(symbol: &Symbol, price: &str) -> PriceTick {
    bench_tick_at(symbol, price, Utc::now())
}

/// A tick of the bench's own source quoted and received at `now`.
pub fn bench_tick_at(symbol: &Symbol, price: &str, now: chrono::DateTime<Utc>) -> PriceTick {
    PriceTick {
        schema_version: SCHEMA_VERSION,
        symbol: symbol.clone(),
        price: Price::from_str(price).expect("a valid price"),
        previous_price: None,
        currency: "USD".to_owned(),
        source: "bench".to_owned(),
        timestamp: now,
        received_at: now,
        conversion: None,
    }
}
