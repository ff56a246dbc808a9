//! Tick → email handed to SMTP, through the real evaluator, notifier and gateway, in the
//! embedded default (in-process bus, SQLite) and over Kafka (librdkafka's mock cluster, 3
//! brokers, PostgreSQL). A plain binary (`harness = false`): the figures are distributions of
//! one closed-loop pipeline, not criterion's per-call timings.
//!
//! The bench publishes `PriceTick`s itself (no ingestor) with known send times:
//! - latency: one tick at a time on BTC, each crossing the threshold of exactly one fresh
//!   `above` alert (thresholds 1000, 1001, …; tick i at 1000 + i + 0.5), timed from just
//!   before `publish` to the SMTP server's receipt of the message's final `.`;
//! - throughput: as many ticks as the pipeline takes, over every catalogue symbol, one in
//!   `FIRE_EVERY` firing a fresh alert, timed until the evaluator has evaluated all of them
//!   and every email has arrived.
//!
//! `cargo bench -p pricealert --bench pipeline_latency -- [embedded|kafka] [--samples N]
//! [--ticks N] [--quick-ack] [--recording] [--instruments N] [--fire-every N]
//! [--batch-ticks A,B,…]`; `KAFKA_*` settings in the environment (e.g.
//! `KAFKA_FETCH_WAIT_MAX_MS=1`) tune the Kafka run. `--recording` runs each mode twice in the
//! same process: first without, then with the ingestor's price history recorder consuming
//! every tick in its own group (its cost on the pipeline, before/after).
//!
//! Scale (issue 19): `--instruments N` grows the catalogue to N instruments (the 55 plus
//! synthetic ones) and spreads the throughput run's alerts over every tenth of them, so 10 %
//! of the instruments fire now and then (one tick in `--fire-every`); `--batch-ticks 1,1000`
//! runs each mode once per `EVALUATOR_BATCH_MAX_TICKS` in the same process (1 = every tick its
//! own transaction, as before group commit). Each symbol's ticks are published in order (one
//! publishing lane per symbol), as the ingestor does, and the throughput run also reports the
//! tick → email latency of its firing ticks, i.e. under that load.

#[path = "../tests/support/smtp.rs"]
#[allow(dead_code)]
mod smtp;

use std::collections::HashMap;
use std::str::FromStr;
use std::time::{Duration, Instant};

use chrono::Utc;
use rdkafka::mocking::MockCluster;
use serde_json::{json, Value};
use shared::bus::{publish_json, Topic};
use shared::catalogue::{default_instruments, AssetClass, Instrument, ProviderKind};
use shared::config::Settings;
use shared::context::ServiceContext;
use shared::domain::{Price, Symbol};
use shared::events::{PriceTick, SCHEMA_VERSION};
use smtp::SmtpSink;
use testkit::{fresh_database_url, Engine, TempDir};
use tokio_util::sync::CancellationToken;

const PASSWORD: &str = "correct horse battery staple";
/// One tick in this many of the throughput run fires an alert.
const FIRE_EVERY: usize = 20;
/// Ticks in flight at once in the throughput run.
const IN_FLIGHT: usize = 256;
const LATENCY_BASE: u32 = 1_000;
const THROUGHPUT_BASE: u32 = 1_000_000;

struct Options {
    modes: Vec<String>,
    /// The SMTP server acknowledges at once (see `SmtpSink::start_quick_ack`).
    quick_ack: bool,
    samples: usize,
    ticks: usize,
    /// Each mode without, then with, the price history recorder.
    recording: bool,
    /// Catalogue size; 0 keeps the default 55.
    instruments: usize,
    /// One throughput tick in this many fires an alert.
    fire_every: usize,
    /// `EVALUATOR_BATCH_MAX_TICKS` of each run of a mode; empty: the shipped default once.
    batch_ticks: Vec<usize>,
}

fn options() -> Options {
    let mut options = Options {
        modes: Vec::new(),
        quick_ack: false,
        samples: 500,
        ticks: 20_000,
        recording: false,
        instruments: 0,
        fire_every: FIRE_EVERY,
        batch_ticks: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--samples" => options.samples = number(args.next()),
            "--ticks" => options.ticks = number(args.next()),
            "--quick-ack" => options.quick_ack = true,
            "--recording" => options.recording = true,
            "--instruments" => options.instruments = number(args.next()),
            "--fire-every" => options.fire_every = number(args.next()).max(1),
            "--batch-ticks" => {
                options.batch_ticks = args
                    .next()
                    .unwrap_or_default()
                    .split(',')
                    .map(|n| number(Some(n.to_owned())))
                    .collect();
            }
            "embedded" | "kafka" => options.modes.push(arg),
            // cargo bench passes `--bench`; a filter we do not know selects nothing new.
            _ => {}
        }
    }
    if options.modes.is_empty() {
        options.modes = vec!["embedded".to_owned(), "kafka".to_owned()];
    }
    options
}

fn number(arg: Option<String>) -> usize {
    arg.and_then(|a| a.parse().ok())
        .expect("a number after --samples / --ticks / --instruments / --fire-every / --batch-ticks")
}

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
struct Run {
    recording: bool,
    batch_ticks: Option<usize>,
    instruments: usize,
}

/// The evaluator, notifier and gateway of one deployment, in this process.
struct Pipeline {
    context: ServiceContext,
    gateway: String,
    evaluator_metrics: String,
    shutdown: CancellationToken,
    running: Vec<pricealert::Running>,
    _data: TempDir,
    _cluster: Option<MockCluster<'static, rdkafka::producer::DefaultProducerContext>>,
    _database: Option<testkit::Scratch>,
}

impl Pipeline {
    async fn start(mode: &str, smtp: &SmtpSink, run: Run) -> Pipeline {
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

    async fn stop(self) {
        self.shutdown.cancel();
        for running in self.running {
            let _ = running.wait(self.shutdown.clone()).await;
        }
    }

    async fn publish(&self, symbol: &Symbol, price: &str) {
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
    async fn evaluator_counts(&self, client: &reqwest::Client) -> (f64, f64) {
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
async fn create_alerts(
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

/// Polls `done` every `every` (an email count: 200 µs; a scrape of the evaluator's metrics, a
/// thousand symbols' counters, costs the pipeline CPU: 20 ms).
async fn wait_for(
    what: &str,
    timeout: Duration,
    every: Duration,
    mut done: impl AsyncFnMut() -> bool,
) {
    let deadline = Instant::now() + timeout;
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(every).await;
    }
}

const POLL_EMAILS: Duration = Duration::from_micros(200);
const POLL_METRICS: Duration = Duration::from_millis(20);

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// p50, p90, p99 and max of sorted durations.
fn distribution(sorted: &[Duration]) -> String {
    format!(
        "p50 {}  p90 {}  p99 {}  max {}",
        ms(percentile(sorted, 0.50)),
        ms(percentile(sorted, 0.90)),
        ms(percentile(sorted, 0.99)),
        ms(percentile(sorted, 1.0)),
    )
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

/// One throughput tick: its symbol, price, and the alert it fires (by throughput index).
struct Planned {
    symbol: Symbol,
    price: String,
    fires: Option<usize>,
}

/// The throughput run's ticks: round-robin over `symbols`, one in `fire_every` firing the next
/// alert (alert `k` sits on `firing[k % firing.len()]`, thresholds rising, so each firing tick
/// fires exactly one alert); firing symbols otherwise stay below every threshold.
fn plan(options: &Options, symbols: &[Symbol], firing: &[Symbol], fires: usize) -> Vec<Planned> {
    let mut fired = 0usize;
    (0..options.ticks)
        .map(|i| {
            if i % options.fire_every == options.fire_every - 1 && fired < fires {
                fired += 1;
                let k = fired - 1;
                return Planned {
                    symbol: firing[k % firing.len()].clone(),
                    price: format!("{}.5", THROUGHPUT_BASE as usize + k),
                    fires: Some(k),
                };
            }
            let symbol = symbols[i % symbols.len()].clone();
            let price = if firing.contains(&symbol) {
                "2".to_owned()
            } else {
                format!("{}.{}", 100 + i % 7, i % 10)
            };
            Planned {
                symbol,
                price,
                fires: None,
            }
        })
        .collect()
}

/// The throughput alert an email announces, from its subject's `(now PRICE …)`.
fn throughput_alert(data: &str) -> Option<usize> {
    let after = data.split_once("(now ")?.1;
    let price: f64 = after.split_whitespace().next()?.parse().ok()?;
    let k = price - 0.5 - f64::from(THROUGHPUT_BASE);
    (k >= 0.0).then_some(k as usize)
}

async fn measure(mode: &str, options: &Options, run: Run) {
    println!(
        "--- {mode}, price history recorder {}, EVALUATOR_BATCH_MAX_TICKS {}, {} instruments",
        if run.recording { "on" } else { "off" },
        run.batch_ticks
            .map_or("default".to_owned(), |n| n.to_string()),
        run.instruments.max(55),
    );
    let smtp = if options.quick_ack {
        SmtpSink::start_quick_ack().await
    } else {
        SmtpSink::start().await
    };
    let pipeline = Pipeline::start(mode, &smtp, run).await;
    let client = reqwest::Client::new();
    let btc = Symbol::from_str("BTC").expect("BTC");
    let symbols: Vec<Symbol> = pipeline.context.catalogue.symbols().cloned().collect();
    // Every tenth instrument of a grown catalogue has alerts; BTC alone in the default one.
    let firing: Vec<Symbol> = if run.instruments > 0 {
        symbols.iter().step_by(10).cloned().collect()
    } else {
        vec![btc.clone()]
    };
    let fires = options.ticks / options.fire_every;
    create_alerts(
        &pipeline,
        &client,
        LATENCY_BASE,
        options.samples,
        std::slice::from_ref(&btc),
    )
    .await;
    create_alerts(&pipeline, &client, THROUGHPUT_BASE, fires, &firing).await;
    let alerts = (options.samples + fires) as f64;
    wait_for(
        "the evaluator to hold every alert",
        Duration::from_secs(120),
        POLL_METRICS,
        async || pipeline.evaluator_counts(&client).await.1 >= alerts,
    )
    .await;

    // Warm-up: a tick below every threshold (nothing fires), through the whole path.
    pipeline.publish(&btc, "1").await;
    wait_for(
        "the warm-up tick",
        Duration::from_secs(60),
        POLL_METRICS,
        async || pipeline.evaluator_counts(&client).await.0 >= 1.0,
    )
    .await;

    let mut latencies = Vec::with_capacity(options.samples);
    let mut tick_times = Vec::with_capacity(options.samples);
    for i in 0..options.samples {
        let price = format!("{}.5", LATENCY_BASE as usize + i);
        tick_times.push(Utc::now());
        let sent = Instant::now();
        pipeline.publish(&btc, &price).await;
        wait_for(
            "an alert email",
            Duration::from_secs(30),
            POLL_EMAILS,
            async || smtp.count() > i,
        )
        .await;
        let received = smtp.received()[i].at;
        latencies.push(received.duration_since(sent));
    }
    latencies.sort();

    let (evaluated_before, _) = pipeline.evaluator_counts(&client).await;
    let emails_before = smtp.count();
    let planned = plan(options, &symbols, &firing, fires);
    let fired = planned.iter().filter(|p| p.fires.is_some()).count();
    // One lane per symbol (symbols share lanes): each symbol's ticks go out in order, as the
    // ingestor publishes them, `IN_FLIGHT` publishes at once.
    let lane_of: HashMap<&Symbol, usize> = symbols
        .iter()
        .enumerate()
        .map(|(i, symbol)| (symbol, i % IN_FLIGHT))
        .collect();
    let mut lanes: Vec<Vec<Planned>> = (0..IN_FLIGHT).map(|_| Vec::new()).collect();
    for tick in planned {
        lanes[lane_of[&tick.symbol]].push(tick);
    }
    let started = Instant::now();
    let mut in_flight = tokio::task::JoinSet::new();
    for lane in lanes {
        let bus = pipeline.context.bus.clone();
        in_flight.spawn(async move {
            let mut sent = Vec::new();
            for planned in lane {
                let tick = bench_tick(&planned.symbol, &planned.price);
                if let Some(k) = planned.fires {
                    sent.push((k, Instant::now()));
                }
                publish_json(
                    bus.as_ref(),
                    Topic::PriceEvents,
                    planned.symbol.as_str(),
                    &tick,
                )
                .await
                .expect("publish a tick");
            }
            sent
        });
    }
    let mut sent_at: HashMap<usize, Instant> = HashMap::new();
    while let Some(sent) = in_flight.join_next().await {
        sent_at.extend(sent.expect("a publishing lane"));
    }
    let published = started.elapsed();
    let target = evaluated_before + options.ticks as f64;
    wait_for(
        "every tick to be evaluated",
        Duration::from_secs(600),
        POLL_METRICS,
        async || pipeline.evaluator_counts(&client).await.0 >= target,
    )
    .await;
    let evaluated = started.elapsed();
    wait_for(
        "every throughput email",
        Duration::from_secs(600),
        POLL_EMAILS,
        async || smtp.count() >= emails_before + fired,
    )
    .await;
    let emailed = started.elapsed();
    let mut under_load: Vec<Duration> = smtp.received()[emails_before..]
        .iter()
        .filter_map(|email| {
            let sent = sent_at.get(&throughput_alert(&email.data)?)?;
            Some(email.at.duration_since(*sent))
        })
        .collect();
    under_load.sort();
    // By now every latency sample's delivery has been settled too.
    let phases = phase_percentiles(&pipeline.context.db, &tick_times).await;

    let label = if mode == "kafka" {
        "over Kafka (librdkafka mock cluster, 3 brokers, correctness harness) + PostgreSQL"
    } else {
        "embedded default (in-process bus, SQLite)"
    };
    let sink = if options.quick_ack {
        "SMTP sink with TCP_QUICKACK"
    } else {
        "SMTP sink with the kernel's delayed ACKs, like a real relay"
    };
    println!("## {label}; {sink}");
    println!(
        "tick -> email at SMTP, {} sequential samples: {}",
        latencies.len(),
        distribution(&latencies)
    );
    println!(
        "sustained: {} ticks over {} instruments ({fired} firing on {}) published in {:.2} s, \
         evaluated in {:.2} s = {:.0} ticks/s; all {fired} emails in {:.2} s",
        options.ticks,
        symbols.len(),
        firing.len(),
        published.as_secs_f64(),
        evaluated.as_secs_f64(),
        options.ticks as f64 / evaluated.as_secs_f64(),
        emailed.as_secs_f64(),
    );
    if !under_load.is_empty() {
        println!(
            "tick -> email under that load, {} firing ticks: {}",
            under_load.len(),
            distribution(&under_load)
        );
    }
    println!(
        "per phase of the latency samples, median (p99), from the database's timestamps: {phases}"
    );
    pipeline.stop().await;
}

/// Where a sample's time goes: tick → outbox row published by the evaluator's relay →
/// delivery row inserted by the notifier's consumer → delivery settled as sent.
async fn phase_percentiles(
    db: &shared::storage::Database,
    ticks: &[chrono::DateTime<Utc>],
) -> String {
    type Row = (
        chrono::DateTime<Utc>,
        chrono::DateTime<Utc>,
        Option<chrono::DateTime<Utc>>,
    );
    const SQL: &str = "select o.published_at, d.created_at, d.sent_at \
        from evaluator_outbox o join deliveries d on d.event_id = o.event_id \
        order by o.id limit $1";
    let limit = ticks.len() as i64;
    let rows: Vec<Row> = shared::storage::on_pool!(db, pool => sqlx::query_as(SQL)
        .bind(limit)
        .fetch_all(pool)
        .await
        .expect("read the phase timestamps"));
    let mut phases: [Vec<i64>; 3] = Default::default();
    for (tick, (published, delivered, sent)) in ticks.iter().zip(rows) {
        let Some(sent) = sent else { continue };
        phases[0].push((published - *tick).num_microseconds().unwrap_or(0));
        phases[1].push((delivered - published).num_microseconds().unwrap_or(0));
        phases[2].push((sent - delivered).num_microseconds().unwrap_or(0));
    }
    let p50_p99 = |values: &mut Vec<i64>| {
        values.sort();
        let at = |q: f64| {
            let index = ((values.len() as f64 * q) as usize).min(values.len().saturating_sub(1));
            values.get(index).copied().unwrap_or(0) as f64 / 1e3
        };
        format!("{:.2} ms (p99 {:.2} ms)", at(0.5), at(0.99))
    };
    format!(
        "tick -> outbox published {}; -> notifier delivery row {}; -> SMTP 250 settled {}",
        p50_p99(&mut phases[0]),
        p50_p99(&mut phases[1]),
        p50_p99(&mut phases[2]),
    )
}

fn main() {
    let options = options();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    runtime.block_on(async {
        let batches: Vec<Option<usize>> = match options.batch_ticks.as_slice() {
            [] => vec![None],
            sizes => sizes.iter().copied().map(Some).collect(),
        };
        for mode in options.modes.clone() {
            for &batch_ticks in &batches {
                let run = Run {
                    recording: false,
                    batch_ticks,
                    instruments: options.instruments,
                };
                measure(&mode, &options, run).await;
                if options.recording {
                    measure(
                        &mode,
                        &options,
                        Run {
                            recording: true,
                            ..run
                        },
                    )
                    .await;
                }
            }
        }
    });
}

/// A tick of the bench's own source, stamped now.
fn bench_tick(symbol: &Symbol, price: &str) -> PriceTick {
    let now = Utc::now();
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
