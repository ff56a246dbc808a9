//! One throughput run: pre-encoded ticks published flat out or paced, timed until every tick
//! is evaluated and every email has arrived.

use std::time::{Duration, Instant};

use shared::domain::Symbol;

use crate::pipeline::Pipeline;
use crate::smtp::SmtpSink;
use crate::stats::{wait_for, POLL_EMAILS, POLL_METRICS};
use crate::{load, Options};

/// The alert an email announces, from its subject's `(now PRICE …)`, by index from `base`.
fn announced_alert(data: &str, base: u32) -> Option<usize> {
    let after = data.split_once("(now ")?.1;
    let price: f64 = after.split_whitespace().next()?.parse().ok()?;
    let k = price - 0.5 - f64::from(base);
    (k >= 0.0).then_some(k as usize)
}

/// What one throughput run measured.
pub struct Throughput {
    pub fired: usize,
    pub published: Duration,
    pub evaluated: Duration,
    pub emailed: Duration,
    /// Tick → email of the firing ticks, sorted.
    pub latencies: Vec<Duration>,
}

impl Throughput {
    pub fn rate(&self, ticks: usize) -> f64 {
        ticks as f64 / self.evaluated.as_secs_f64()
    }
}

/// Publishes `options.ticks` pre-encoded ticks (flat out, or at `rate` ticks/s) firing the
/// `fires` alerts of `base`, and times them until every tick is evaluated and every email in.
#[allow(clippy::too_many_arguments)]
pub async fn throughput(
    pipeline: &Pipeline,
    client: &reqwest::Client,
    smtp: &SmtpSink,
    options: &Options,
    (symbols, firing): (&[Symbol], &[Symbol]),
    base: u32,
    fires: usize,
    rate: Option<f64>,
) -> Throughput {
    let (evaluated_before, _) = pipeline.evaluator_counts(client).await;
    let emails_before = smtp.count();
    let planned = load::plan(
        options.ticks,
        options.fire_every,
        symbols,
        firing,
        fires,
        base,
    );
    let fired = planned.iter().filter(|p| p.fires.is_some()).count();
    let load = load::Load::encode(planned, rate);
    let started = Instant::now();
    let sent_at = load.publish(pipeline.context.bus.clone(), started).await;
    let published = started.elapsed();
    let target = evaluated_before + options.ticks as f64;
    wait_for(
        "every tick to be evaluated",
        Duration::from_secs(600),
        POLL_METRICS,
        async || pipeline.evaluator_counts(client).await.0 >= target,
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
    let mut latencies: Vec<Duration> = smtp.received()[emails_before..]
        .iter()
        .filter_map(|email| {
            let sent = sent_at.get(&announced_alert(&email.data, base)?)?;
            Some(email.at.duration_since(*sent))
        })
        .collect();
    latencies.sort();
    Throughput {
        fired,
        published,
        evaluated,
        emailed,
        latencies,
    }
}
