//! Scaled mode end to end: ingestor, two evaluators, notifier and gateway as separate OS
//! processes over a Kafka-protocol broker (librdkafka's mock cluster, 3 brokers, inside this
//! test process) and PostgreSQL, with a real SMTP server on loopback.
//!
//! `crosses` alerts (at each instrument's simulated start price and 0.2 % either side, which
//! the walk crosses now and then) are created first; then the simulated tick stream runs while
//! an evaluator and the notifier are SIGKILLed at random moments, and is stopped. The expected
//! fires are computed from the tick stream as published (read back from the topic) with the
//! evaluator's reference semantics: the trigger events recorded must be exactly those (a lost
//! or replayed tick changes what `crosses` does), each emailed: 0 missing, and a duplicate
//! email only for a delivery that was resent in doubt after a notifier kill that fell between
//! its two copies.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;
use std::time::{Duration, Instant};

use matching::reference::ReferenceScan;
use matching::{micros, EngineConfig, Fire, IndexedAlert};
use rand::Rng;
use rust_decimal::Decimal;
use shared::domain::AlertId;
use shared::events::{PriceTick, TriggerEvent};
use support::poll_until;
use support::scaled::{read_whole_topic, register, send, smtp_env, Scaled};
use support::service_process::ServiceProcess;
use support::smtp::SmtpSink;

const USERS: usize = 8;
/// Each instrument's alerts: `crosses` at its start price moved by these per mille.
const TARGETS_PER_MILLE: [i64; 3] = [-2, 0, 2];
/// The stream runs this long after the last kill's restart.
const AFTER_CHAOS: Duration = Duration::from_secs(8);
/// Chaos waits a random part of this before each kill.
const CHAOS_STEP: Duration = Duration::from_millis(2000);
const PARTITIONS: i32 = 3;

/// Settings from a file (PRICEALERT_CONFIG): a short claim timeout, so an email interrupted by
/// the kill is resent within the test rather than after the 120 s default.
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

/// What the chaos task did: a line per kill, and when each notifier kill happened.
#[derive(Default)]
struct Kills {
    log: Vec<String>,
    notifier_kills: Vec<Instant>,
}

/// Kills evaluator 0 and the notifier, each twice, at random moments of the stream,
/// restarting each after a random pause.
async fn chaos(stack: &mut Stack, started: Instant) -> Kills {
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
            if target == "notifier" {
                kills.notifier_kills.push(Instant::now());
            }
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
    kills
}

/// Creates the `crosses` alerts of every instrument, spread over the users; returns how many.
async fn create_alerts(client: &reqwest::Client, gateway: &str, tokens: &[String]) -> usize {
    let mut created = 0;
    for (symbol, start) in ingestor::providers::simulated_prices::START_PRICES {
        let start = Decimal::from_str(start).expect("a start price");
        for per_mille in TARGETS_PER_MILLE {
            let target = (start * (Decimal::ONE + Decimal::new(per_mille, 3))).normalize();
            let body = format!(
                r#"{{"symbol":"{symbol}","condition":"crosses","target_price":{target},
                    "notification_types":"email","cooldown_minutes":1}}"#
            );
            send(
                client
                    .post(format!("{gateway}/alerts"))
                    .bearer_auth(&tokens[created % tokens.len()])
                    .header("content-type", "application/json")
                    .body(body),
                201,
                "create an alert",
            )
            .await;
            created += 1;
        }
    }
    created
}

/// Every tick the ingestor published, each symbol's in order.
async fn published_ticks(scaled: &Scaled) -> Vec<PriceTick> {
    let topic = scaled.kafka_settings().price_events_topic.clone();
    read_whole_topic(scaled.cluster.bootstrap_servers(), topic)
        .await
        .into_iter()
        .map(|(_, _, payload)| serde_json::from_slice(&payload).expect("a price tick"))
        .collect()
}

/// (alert, tick time) of every fire the reference semantics make of `ticks`.
async fn expected_fires(scaled: &Scaled, ticks: &[PriceTick]) -> Vec<(AlertId, i64)> {
    let db = shared::storage::Database::connect(&scaled.database_url, 1)
        .await
        .expect("connect");
    let alerts = evaluator::store::Store::new(db)
        .active_alerts()
        .await
        .expect("read the alerts");
    let mut reference = ReferenceScan::new(EngineConfig::default());
    for alert in &alerts {
        // As it was created: the run has fired it since.
        let mut created = IndexedAlert::from_alert(alert).expect("an active alert");
        created.last_triggered_at = None;
        created.version = 1;
        reference.upsert(&created);
    }
    let mut fires: Vec<Fire> = Vec::new();
    let mut expected = Vec::new();
    for tick in ticks {
        let symbol = reference.symbol_id(&tick.symbol);
        let before = fires.len();
        let at = micros(tick.received_at);
        reference.evaluate(symbol, tick.price, at, &mut fires);
        expected.extend(fires[before..].iter().map(|f| (f.alert_id, at)));
    }
    expected
}

/// Every recorded trigger event: (alert, tick time) → event ids, and how many are unpublished.
async fn recorded_fires(scaled: &Scaled) -> (BTreeMap<(AlertId, i64), Vec<String>>, i64) {
    let rows: Vec<(String, bool)> =
        sqlx::query_as("select payload, published_at is not null from evaluator_outbox")
            .fetch_all(&scaled.pool)
            .await
            .expect("read the outbox");
    let mut fires: BTreeMap<(AlertId, i64), Vec<String>> = BTreeMap::new();
    let mut unpublished = 0;
    for (payload, published) in rows {
        let event: TriggerEvent = serde_json::from_str(&payload).expect("a trigger event");
        fires
            .entry((event.alert_id, micros(event.timestamp)))
            .or_default()
            .push(event.event_id.to_string());
        unpublished += i64::from(!published);
    }
    (fires, unpublished)
}

fn email_message_id(event_id: &str) -> String {
    format!("<{event_id}.email@pricealert>")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_an_evaluator_and_the_notifier_killed_mid_stream_every_expected_fire_is_emailed_once()
{
    let started = Instant::now();
    let smtp = SmtpSink::start().await;
    let mut env = smtp_env(smtp.port);
    env.push(("LOG_LEVEL", "info,notifier::settle=warn".to_owned()));
    let scaled = Scaled::new("scaled-e2e", PARTITIONS, NOTIFIER_TOML, &env).await;
    // Consumers first, the tick producer last, as an operator would bring them up.
    let notifier = scaled.start("notifier", "notifier", &[]).await;
    let evaluators = [
        scaled.start("evaluator", "evaluator-0", &[]).await,
        scaled.start("evaluator", "evaluator-1", &[]).await,
    ];
    let gateway = scaled.start("gateway", "gateway", &[]).await;
    let base = format!("http://127.0.0.1:{}", gateway.health_port);
    let client = reqwest::Client::new();
    let mut tokens = Vec::new();
    for user in 0..USERS {
        tokens.push(register(&client, &base, &format!("scaled-{user}@example.com"), None).await);
    }
    let alerts = create_alerts(&client, &base, &tokens).await;
    let ingestor = scaled
        .start(
            "ingestor",
            "ingestor",
            &[
                ("PRICEALERT_PRICE_SOURCE", "simulated".to_owned()),
                ("SIMULATED_INTERVAL_MS", "200".to_owned()),
            ],
        )
        .await;
    let mut stack = Stack {
        gateway,
        ingestor,
        evaluators,
        notifier,
    };
    eprintln!(
        "stack up and {alerts} alerts after {:.1} s; ticking under kills",
        started.elapsed().as_secs_f64()
    );
    let kills = chaos(&mut stack, Instant::now()).await;
    tokio::time::sleep(AFTER_CHAOS).await;
    stack.ingestor.kill_9().await;

    let ticks = published_ticks(&scaled).await;
    let expected = expected_fires(&scaled, &ticks).await;
    let mut last_tick: BTreeMap<String, i64> = BTreeMap::new();
    for tick in &ticks {
        last_tick.insert(tick.symbol.as_str().to_owned(), micros(tick.received_at));
    }
    poll_until(
        "the evaluators to evaluate every published tick",
        Duration::from_secs(60),
        || async {
            let evaluated: Vec<(String, chrono::DateTime<chrono::Utc>)> =
                sqlx::query_as("select symbol, received_at from evaluator_last_prices")
                    .fetch_all(&scaled.pool)
                    .await
                    .map_err(|e| e.to_string())?;
            let evaluated: BTreeMap<String, i64> = evaluated
                .into_iter()
                .map(|(symbol, at)| (symbol, micros(at)))
                .collect();
            let behind = last_tick
                .iter()
                .filter(|(symbol, at)| evaluated.get(*symbol) != Some(at))
                .count();
            if behind == 0 {
                Ok(())
            } else {
                Err(format!("{behind} symbols behind"))
            }
        },
    )
    .await;

    let (recorded, _) = recorded_fires(&scaled).await;
    let expected_set: BTreeSet<(AlertId, i64)> = expected.iter().copied().collect();
    let recorded_set: BTreeSet<(AlertId, i64)> = recorded.keys().copied().collect();
    let missing: Vec<_> = expected_set.difference(&recorded_set).collect();
    let unexpected: Vec<_> = recorded_set.difference(&expected_set).collect();
    let twice: Vec<_> = recorded.iter().filter(|(_, ids)| ids.len() > 1).collect();
    assert!(
        missing.is_empty() && unexpected.is_empty() && twice.is_empty(),
        "fires differ from the reference over {} ticks: missing {missing:?}, unexpected \
         {unexpected:?}, recorded twice {twice:?}\nkills:\n{}",
        ticks.len(),
        kills.log.join("\n")
    );
    let events: Vec<String> = recorded.values().flatten().cloned().collect();

    // Every recorded trigger event reaches the SMTP server, and the notifier has settled each
    // delivery (so no resend of an interrupted send is still to come).
    poll_until(
        "every trigger event to be published, emailed and settled",
        Duration::from_secs(40),
        || async {
            let (_, unpublished) = recorded_fires(&scaled).await;
            let received: BTreeSet<String> = smtp
                .received()
                .iter()
                .filter_map(|m| m.message_id().map(str::to_owned))
                .collect();
            let missing = events
                .iter()
                .filter(|id| !received.contains(&email_message_id(id)))
                .count();
            let unsettled: i64 = sqlx::query_scalar(
                "select count(*) from deliveries where channel = 'email' and status <> 'sent'",
            )
            .fetch_one(&scaled.pool)
            .await
            .map_err(|e| e.to_string())?;
            if unpublished == 0 && missing == 0 && unsettled == 0 {
                Ok(())
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

    // A second copy is accepted only for a delivery resent in doubt, with a notifier kill
    // between its first and its last copy: the kill fell inside that send's window.
    let mut copies: BTreeMap<String, Vec<Instant>> = BTreeMap::new();
    for message in smtp.received() {
        let id = message.message_id().expect("a Message-ID").to_owned();
        copies.entry(id).or_default().push(message.at);
    }
    let in_doubt: BTreeMap<String, i64> = sqlx::query_as::<_, (String, i64)>(
        "select event_id, possible_duplicates from deliveries where channel = 'email'",
    )
    .fetch_all(&scaled.pool)
    .await
    .expect("read the deliveries")
    .into_iter()
    .collect();
    let mut duplicates = 0;
    let mut unexplained = Vec::new();
    for event in &events {
        let times = copies
            .get(&email_message_id(event))
            .cloned()
            .unwrap_or_default();
        let extra = times.len().saturating_sub(1);
        if extra == 0 {
            continue;
        }
        duplicates += extra;
        let (first, last) = (times[0], times[times.len() - 1]);
        let counted = in_doubt.get(event).copied().unwrap_or(0) as usize >= extra;
        let killed_between = kills
            .notifier_kills
            .iter()
            .any(|kill| first <= *kill && *kill <= last);
        if !(counted && killed_between) {
            unexplained.push(format!(
                "{event}: {} copies, counted {counted}, a kill between them {killed_between}",
                times.len()
            ));
        }
    }
    let from_nowhere: Vec<&String> = copies
        .keys()
        .filter(|id| !events.iter().any(|e| email_message_id(e) == **id))
        .collect();
    eprintln!(
        "scaled e2e: {alerts} alerts, {} ticks, {} expected fires = {} trigger events, \
         {} distinct emails, 0 missing, {duplicates} duplicates (each inside a kill's send \
         window), {} kills, {:.1} s\n{}",
        ticks.len(),
        expected.len(),
        events.len(),
        copies.len(),
        kills.log.len(),
        started.elapsed().as_secs_f64(),
        kills.log.join("\n")
    );
    assert!(
        unexplained.is_empty(),
        "duplicates outside a send window: {unexplained:?}"
    );
    assert!(
        from_nowhere.is_empty(),
        "emails for no recorded event: {from_nowhere:?}"
    );
    assert!(
        expected.len() >= alerts / 2,
        "{} fires for {alerts} alerts: the stream should cross most targets",
        expected.len()
    );
    let [first_evaluator, second_evaluator] = &mut stack.evaluators;
    for process in [
        &mut stack.gateway,
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
}
