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
//! [--batch-ticks A,B,…] [--rate R]`; `KAFKA_*` settings in the environment (e.g.
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
//! tick → email latency of its firing ticks (queueing behind the backlog of a run that
//! publishes faster than the pipeline takes ticks).
//!
//! The throughput ticks are JSON-encoded before the clock starts and published as bytes
//! ([`load`]). `--rate R` adds a paced run after it, with fresh alerts: the same number of
//! ticks published at R ticks/s, below the sustained rate, so its firing ticks' tick → email
//! p50/p99 is the latency under that load rather than the backlog's queueing time.

/// The product's allocator (`pricealert`'s main.rs), so the pipeline is measured as it ships:
/// under glibc's malloc, allocation was ~14 % of the embedded run's CPU.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod load;
mod pipeline;
#[path = "../../tests/support/smtp.rs"]
#[allow(dead_code)]
mod smtp;
mod stats;
mod throughput;

use std::str::FromStr;
use std::time::{Duration, Instant};

use chrono::Utc;
use shared::domain::Symbol;
use smtp::SmtpSink;

use pipeline::{create_alerts, Pipeline, Run};
use stats::{distribution, phase_percentiles, wait_for, POLL_EMAILS, POLL_METRICS};
use throughput::throughput;

/// One tick in this many of the throughput run fires an alert.
const FIRE_EVERY: usize = 20;
const LATENCY_BASE: u32 = 1_000;
const THROUGHPUT_BASE: u32 = 1_000_000;
/// Thresholds of the paced run's alerts: above every throughput tick's price, so the
/// throughput run fires none of them.
const PACED_BASE: u32 = 2_000_000;

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
    /// Ticks per second of the paced run after the throughput run; `None`: no paced run.
    rate: Option<f64>,
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
        rate: None,
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
            "--rate" => options.rate = Some(number(args.next()) as f64),
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
        .expect("a number after --samples / --ticks / --instruments / --fire-every / --batch-ticks / --rate")
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
    let paced_fires = if options.rate.is_some() { fires } else { 0 };
    create_alerts(&pipeline, &client, PACED_BASE, paced_fires, &firing).await;
    let alerts = (options.samples + fires + paced_fires) as f64;
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

    let symbols_and_firing = (symbols.as_slice(), firing.as_slice());
    let flat_out = throughput(
        &pipeline,
        &client,
        &smtp,
        options,
        symbols_and_firing,
        THROUGHPUT_BASE,
        fires,
        None,
    )
    .await;
    let paced = match options.rate {
        Some(rate) => Some(
            throughput(
                &pipeline,
                &client,
                &smtp,
                options,
                symbols_and_firing,
                PACED_BASE,
                fires,
                Some(rate),
            )
            .await,
        ),
        None => None,
    };
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
    let fired = flat_out.fired;
    println!(
        "sustained: {} ticks over {} instruments ({fired} firing on {}), pre-encoded, published \
         in {:.2} s, evaluated in {:.2} s = {:.0} ticks/s; all {fired} emails in {:.2} s",
        options.ticks,
        symbols.len(),
        firing.len(),
        flat_out.published.as_secs_f64(),
        flat_out.evaluated.as_secs_f64(),
        flat_out.rate(options.ticks),
        flat_out.emailed.as_secs_f64(),
    );
    if !flat_out.latencies.is_empty() {
        println!(
            "tick -> email behind that backlog, {} firing ticks: {}",
            flat_out.latencies.len(),
            distribution(&flat_out.latencies)
        );
    }
    if let (Some(paced), Some(rate)) = (&paced, options.rate) {
        println!(
            "paced at {rate:.0} ticks/s: {} ticks published in {:.2} s, evaluated in {:.2} s \
             = {:.0} ticks/s; tick -> email under that load, {} firing ticks: {}",
            options.ticks,
            paced.published.as_secs_f64(),
            paced.evaluated.as_secs_f64(),
            paced.rate(options.ticks),
            paced.latencies.len(),
            distribution(&paced.latencies)
        );
    }
    println!(
        "per phase of the latency samples, median (p99), from the database's timestamps: {phases}"
    );
    pipeline.stop().await;
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
