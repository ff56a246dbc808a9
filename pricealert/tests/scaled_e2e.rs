//! Scaled mode end to end: ingestor, two evaluators, notifier and gateway as separate OS
//! processes over a Kafka-protocol broker (librdkafka's mock cluster, 3 brokers, inside this
//! test process) and PostgreSQL, with a real SMTP server on loopback. Alerts are created through
//! the REST API while an evaluator and the notifier are SIGKILLed at random moments under the
//! simulated tick stream; afterwards every trigger event in the evaluator outbox must have
//! reached the SMTP server exactly once (distinct Message-IDs; duplicates counted).

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use rand::Rng;
use rdkafka::mocking::MockCluster;
use serde_json::{json, Value};
use shared::catalogue::Catalogue;
use sqlx::PgPool;
use support::service_process::ServiceProcess;
use support::smtp::SmtpSink;
use support::{free_port, poll_until};
use testkit::{fresh_database_url, Engine, TempDir};

const USERS: usize = 8;
/// Alerts are created in batches, one per `BATCH_PAUSE`, while the kills happen and for
/// `AFTER_CHAOS` afterwards: longer than the session timeout, so some are created after the
/// last rebalance has settled.
const ALERTS_PER_BATCH: usize = 10;
const BATCH_PAUSE: Duration = Duration::from_millis(500);
const AFTER_CHAOS: Duration = Duration::from_secs(10);
/// Chaos waits a random part of this before each kill.
const CHAOS_STEP: Duration = Duration::from_millis(2000);
const PARTITIONS: i32 = 3;
const PASSWORD: &str = "correct horse battery staple";

/// Settings from a file (PRICEALERT_CONFIG): a short claim timeout, so an email interrupted by the kill
/// is resent within the test rather than after the 120 s default.
const NOTIFIER_TOML: &str = "[notifier]\nclaim_timeout = \"8s\"\n\
    [notifier.smtp]\ntimeout = \"3s\"\n\
    [notifier.twilio]\ntimeout = \"3s\"\n\
    [notifier.webhook]\ntimeout = \"3s\"\n";

struct Stack {
    gateway: ServiceProcess,
    ingestor: ServiceProcess,
    evaluators: [ServiceProcess; 2],
    notifier: ServiceProcess,
}

/// Distinguishes this run's topics and consumer groups from any other's.
fn run_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{}-{nanos}", std::process::id())
}

async fn start_stack(base_env: &[(String, String)], log_dir: &std::path::Path) -> Stack {
    let with = |extra: &[(&str, String)]| {
        let mut env = base_env.to_vec();
        env.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
        env
    };
    // Consumers first, the tick producer last, as an operator would bring them up.
    let notifier_port = free_port();
    let notifier = ServiceProcess::start(
        "notifier",
        "notifier",
        notifier_port,
        with(&[("NOTIFIER_PORT", notifier_port.to_string())]),
        log_dir,
    )
    .await;
    let mut evaluators = Vec::new();
    for replica in 0..2 {
        let port = free_port();
        evaluators.push(
            ServiceProcess::start(
                "evaluator",
                &format!("evaluator-{replica}"),
                port,
                with(&[("EVALUATOR_PORT", port.to_string())]),
                log_dir,
            )
            .await,
        );
    }
    let gateway_port = free_port();
    let gateway = ServiceProcess::start(
        "gateway",
        "gateway",
        gateway_port,
        with(&[
            ("GATEWAY_HOST", "127.0.0.1".to_owned()),
            ("GATEWAY_PORT", gateway_port.to_string()),
        ]),
        log_dir,
    )
    .await;
    let ingestor_port = free_port();
    let ingestor = ServiceProcess::start(
        "ingestor",
        "ingestor",
        ingestor_port,
        with(&[
            ("INGESTOR_PORT", ingestor_port.to_string()),
            ("PRICEALERT_PRICE_SOURCE", "simulated".to_owned()),
            ("SIMULATED_INTERVAL_MS", "200".to_owned()),
        ]),
        log_dir,
    )
    .await;
    let [first, second]: [ServiceProcess; 2] = evaluators
        .try_into()
        .unwrap_or_else(|_| panic!("two evaluators"));
    Stack {
        gateway,
        ingestor,
        evaluators: [first, second],
        notifier,
    }
}

async fn send(request: reqwest::RequestBuilder, expected: u16, what: &str) -> Value {
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let status = response.status().as_u16();
    let body = response.text().await.unwrap_or_default();
    assert_eq!(status, expected, "{what} answered {status}: {body}");
    serde_json::from_str(&body).unwrap_or(Value::Null)
}

/// Registers a user and returns its bearer token.
async fn register(client: &reqwest::Client, gateway: &str, email: &str) -> String {
    send(
        client
            .post(format!("{gateway}/auth/register"))
            .json(&json!({"email": email, "password": PASSWORD})),
        201,
        "register",
    )
    .await;
    let login = send(
        client
            .post(format!("{gateway}/auth/login"))
            .form(&[("username", email), ("password", PASSWORD)]),
        200,
        "login",
    )
    .await;
    login["access_token"]
        .as_str()
        .expect("login returns an access token")
        .to_owned()
}

/// An alert whose condition holds for any realistic price: it fires on its symbol's next tick.
fn always_true_alert(symbol: &str, index: usize) -> Value {
    if index.is_multiple_of(2) {
        json!({"symbol": symbol, "condition": "above", "target_price": 0.00000001,
               "notification_types": "email", "cooldown_minutes": 1})
    } else {
        json!({"symbol": symbol, "condition": "below", "target_price": 1_000_000_000,
               "notification_types": "email", "cooldown_minutes": 1})
    }
}

/// What the chaos task did, for the report.
#[derive(Default)]
struct Kills {
    log: Vec<String>,
}

impl Kills {
    fn count(&self) -> usize {
        self.log.len()
    }
}

/// Kills evaluator 0 and the notifier, each twice, at random moments of the creation phase,
/// restarting each after a random pause.
async fn chaos(
    stack: &mut Stack,
    started: Instant,
    done: tokio::sync::watch::Sender<bool>,
) -> Kills {
    let mut kills = Kills::default();
    for round in 0..2 {
        for target in ["evaluator", "notifier"] {
            let (wait, down) = {
                let mut rng = rand::thread_rng();
                (
                    Duration::from_millis(rng.gen_range(200..CHAOS_STEP.as_millis() as u64)),
                    Duration::from_millis(rng.gen_range(100..1500)),
                )
            };
            tokio::time::sleep(wait).await;
            let process = if target == "evaluator" {
                &mut stack.evaluators[0]
            } else {
                &mut stack.notifier
            };
            let at = started.elapsed();
            process.kill_9().await;
            tokio::time::sleep(down).await;
            process.restart().await;
            kills.log.push(format!(
                "round {round}: {} SIGKILLed at {:.1} s, down {} ms (restarted healthy at {:.1} s)",
                process.name,
                at.as_secs_f64(),
                down.as_millis(),
                started.elapsed().as_secs_f64()
            ));
        }
    }
    let _ = done.send(true);
    kills
}

/// Creates batches of alerts across every symbol and the users, one batch per `BATCH_PAUSE`,
/// until `AFTER_CHAOS` after `chaos_done` turns true; returns (alert id, symbol) of each.
async fn create_alerts(
    client: &reqwest::Client,
    gateway: &str,
    tokens: &[String],
    symbols: &[String],
    mut chaos_done: tokio::sync::watch::Receiver<bool>,
) -> Vec<(i64, String)> {
    let mut created = Vec::new();
    let mut index = 0;
    let mut calm_since: Option<Instant> = None;
    loop {
        if calm_since.is_none() && *chaos_done.borrow_and_update() {
            calm_since = Some(Instant::now());
        }
        if calm_since.is_some_and(|since| since.elapsed() >= AFTER_CHAOS) {
            break;
        }
        let batch_started = Instant::now();
        for _ in 0..ALERTS_PER_BATCH {
            let symbol = &symbols[index % symbols.len()];
            let token = &tokens[index % tokens.len()];
            let alert = send(
                client
                    .post(format!("{gateway}/alerts"))
                    .bearer_auth(token)
                    .json(&always_true_alert(symbol, index)),
                201,
                "create an alert",
            )
            .await;
            created.push((alert["id"].as_i64().expect("alert id"), symbol.clone()));
            index += 1;
        }
        tokio::time::sleep(BATCH_PAUSE.saturating_sub(batch_started.elapsed())).await;
    }
    created
}

async fn unfired_alerts(pool: &PgPool) -> Result<Vec<(i64, String)>, String> {
    sqlx::query_as::<_, (i64, String)>(
        "select id, symbol from alerts where last_triggered_at is null order by id",
    )
    .fetch_all(pool)
    .await
    .map_err(|e| e.to_string())
}

/// Every event id the evaluators have recorded, and how many are still unpublished.
async fn outbox(pool: &PgPool) -> Result<(Vec<String>, i64), String> {
    let rows = sqlx::query_as::<_, (String, bool)>(
        "select event_id, published_at is not null from evaluator_outbox",
    )
    .fetch_all(pool)
    .await
    .map_err(|e| e.to_string())?;
    let unpublished = rows.iter().filter(|(_, published)| !published).count();
    Ok((
        rows.into_iter().map(|(id, _)| id).collect(),
        unpublished as i64,
    ))
}

/// Email deliveries the notifier has recorded but not yet settled as sent.
async fn unsettled_email_deliveries(pool: &PgPool) -> Result<i64, String> {
    sqlx::query_scalar::<_, i64>(
        "select count(*) from deliveries where channel = 'email' and status <> 'sent'",
    )
    .fetch_one(pool)
    .await
    .map_err(|e| e.to_string())
}

/// Message-ID → how many times the SMTP server accepted it.
fn received_ids(smtp: &SmtpSink) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for message in smtp.received() {
        let id = message
            .message_id()
            .expect("every email carries a Message-ID")
            .to_owned();
        *counts.entry(id).or_insert(0) += 1;
    }
    counts
}

fn email_message_id(event_id: &str) -> String {
    format!("<{event_id}.email@pricealert>")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_an_evaluator_and_the_notifier_killed_mid_stream_every_trigger_event_is_emailed_exactly_once(
) {
    let started = Instant::now();
    let run = run_suffix();
    let cluster = MockCluster::new(3).expect("start the mock Kafka cluster");
    let topics = [
        ("KAFKA_PRICE_EVENTS_TOPIC", format!("price-events-{run}")),
        ("KAFKA_NOTIFICATIONS_TOPIC", format!("notifications-{run}")),
        ("KAFKA_ALERT_CHANGES_TOPIC", format!("alert-changes-{run}")),
    ];
    for (_, topic) in &topics {
        cluster
            .create_topic(topic, PARTITIONS, 1)
            .expect("create a topic on the mock cluster");
    }
    let (database_url, _no_dir) = fresh_database_url(Engine::Postgres).await;
    let pool = PgPool::connect(&database_url)
        .await
        .expect("connect to the test database");
    let smtp = SmtpSink::start().await;
    let dir = TempDir::new("pa-scaled-e2e");
    let config = dir.0.join("pricealert.toml");
    std::fs::write(&config, NOTIFIER_TOML).expect("write the settings file");

    let mut env: Vec<(String, String)> = vec![
        ("DATABASE_URL", database_url.clone()),
        ("PRICEALERT_CONFIG", config.display().to_string()),
        ("PRICEALERT_DATA_DIR", dir.0.display().to_string()),
        (
            "JWT_SECRET",
            "scaled-e2e-secret-that-is-long-enough-0123456789".to_owned(),
        ),
        ("KAFKA_BOOTSTRAP_SERVERS", cluster.bootstrap_servers()),
        ("KAFKA_CONSUMER_GROUP_PREFIX", format!("pa-scaled-{run}")),
        ("KAFKA_PARTITIONS", PARTITIONS.to_string()),
        ("KAFKA_SESSION_TIMEOUT_MS", "6000".to_owned()),
        ("KAFKA_FETCH_WAIT_MAX_MS", "10".to_owned()),
        ("KAFKA_LINGER_MS", "1".to_owned()),
        ("SMTP_HOST", "127.0.0.1".to_owned()),
        ("SMTP_PORT", smtp.port.to_string()),
        ("SMTP_TLS", "none".to_owned()),
        ("FROM_EMAIL", "alerts@pricealert.test".to_owned()),
        ("NOTIFIER_RATE_LIMIT_PER_PERIOD", "100000".to_owned()),
        ("LOG_LEVEL", "info,notifier::settle=warn".to_owned()),
        ("LOG_FORMAT", "json".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    env.extend(topics.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));

    // Logs are deleted with the test's directory unless PRICEALERT_E2E_LOG_DIR keeps them.
    let log_dir = std::env::var_os("PRICEALERT_E2E_LOG_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| dir.0.clone());
    std::fs::create_dir_all(&log_dir).expect("create the log directory");
    let mut stack = start_stack(&env, &log_dir).await;
    let gateway = format!("http://127.0.0.1:{}", stack.gateway.health_port);
    let client = reqwest::Client::new();
    let mut tokens = Vec::new();
    for user in 0..USERS {
        tokens.push(register(&client, &gateway, &format!("scaled-{user}@example.com")).await);
    }
    let symbols: Vec<String> = Catalogue::default()
        .symbols()
        .map(|s| s.as_str().to_owned())
        .collect();
    eprintln!(
        "stack up after {:.1} s; creating alerts under kills",
        started.elapsed().as_secs_f64()
    );

    let chaos_started = Instant::now();
    let (chaos_done, chaos_watch) = tokio::sync::watch::channel(false);
    let creating = create_alerts(&client, &gateway, &tokens, &symbols, chaos_watch);
    let killing = chaos(&mut stack, chaos_started, chaos_done);
    let (alerts, kills) = tokio::join!(creating, killing);
    for line in &kills.log {
        eprintln!("{line}");
    }
    // Every alert fires: each one's symbol keeps ticking, and its condition always holds.
    let fired_deadline = Duration::from_secs(40);
    let unfired = {
        let deadline = Instant::now() + fired_deadline;
        loop {
            let unfired = unfired_alerts(&pool).await.expect("query alerts");
            if unfired.is_empty() || Instant::now() >= deadline {
                break unfired;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    };
    let unfired_symbols: BTreeSet<&str> = unfired.iter().map(|(_, s)| s.as_str()).collect();
    assert!(
        unfired.is_empty(),
        "{} of {} alerts never fired within {fired_deadline:?} after the last was created \
         (symbols {unfired_symbols:?}; alerts {:?}).\nkills:\n{}\n\
         evaluator partition assignments:\n{}",
        unfired.len(),
        alerts.len(),
        unfired.iter().map(|(id, _)| id).collect::<Vec<_>>(),
        kills.log.join("\n"),
        stack
            .evaluators
            .iter()
            .map(|e| e.log_lines_with("partitions"))
            .collect::<Vec<_>>()
            .join("\n")
    );

    // Every recorded trigger event reaches the SMTP server, and the notifier has settled each
    // delivery (so no resend of an interrupted send is still to come).
    let events = poll_until(
        "every outbox event to be published, emailed and settled",
        Duration::from_secs(40),
        || async {
            let (events, unpublished) = outbox(&pool).await?;
            let received = received_ids(&smtp);
            let missing = events
                .iter()
                .filter(|id| !received.contains_key(&email_message_id(id)))
                .count();
            let unsettled = unsettled_email_deliveries(&pool).await?;
            if unpublished == 0 && missing == 0 && unsettled == 0 {
                Ok(events)
            } else {
                Err(format!(
                    "{unpublished} unpublished, {missing} of {} events without an email, \
                     {unsettled} email deliveries not yet sent",
                    events.len()
                ))
            }
        },
    )
    .await;

    let received = received_ids(&smtp);
    let expected: BTreeSet<String> = events.iter().map(|id| email_message_id(id)).collect();
    let duplicates: usize = expected
        .iter()
        .map(|id| received.get(id).copied().unwrap_or(0).saturating_sub(1))
        .sum();
    eprintln!(
        "scaled e2e: {} alerts, {} trigger events, {} distinct emails, 0 missing, \
         {duplicates} duplicates, {} kills, {:.1} s",
        alerts.len(),
        events.len(),
        received.len(),
        kills.count(),
        started.elapsed().as_secs_f64()
    );
    // Emails beyond the snapshot belong to events recorded since (alerts re-fire after their
    // cooldown); a Message-ID of no recorded event would be a message from nowhere.
    let (latest_events, _) = outbox(&pool).await.expect("query the outbox");
    let recorded: BTreeSet<String> = latest_events
        .iter()
        .map(|id| email_message_id(id))
        .collect();
    let from_nowhere: Vec<&String> = received
        .keys()
        .filter(|id| !recorded.contains(*id))
        .collect();
    assert!(
        from_nowhere.is_empty(),
        "emails for no recorded event: {from_nowhere:?}"
    );
    assert!(
        events.len() >= alerts.len(),
        "{} events for {} alerts",
        events.len(),
        alerts.len()
    );
    // Duplicates are possible only when a kill lands between the server's 250 and the
    // notifier recording it: at most one per kill.
    assert!(
        duplicates <= kills.count(),
        "{duplicates} duplicate emails for {} kills",
        kills.count()
    );
    let [first_evaluator, second_evaluator] = &mut stack.evaluators;
    for process in [
        &mut stack.gateway,
        &mut stack.ingestor,
        first_evaluator,
        second_evaluator,
        &mut stack.notifier,
    ] {
        assert!(
            process.is_running(),
            "{} died:\n{}",
            process.name,
            process.logs()
        );
    }
    drop(stack);
}
