//! Waiting with a deadline, distributions, and where the latency samples' time went.

use std::time::{Duration, Instant};

use chrono::Utc;

/// Polls `done` every `every` (an email count: 200 µs; a scrape of the evaluator's metrics, a
/// thousand symbols' counters, costs the pipeline CPU: 20 ms).
pub async fn wait_for(
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

pub const POLL_EMAILS: Duration = Duration::from_micros(200);
pub const POLL_METRICS: Duration = Duration::from_millis(20);

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// p50, p90, p99 and max of sorted durations.
pub fn distribution(sorted: &[Duration]) -> String {
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

/// Where a sample's time goes: tick → outbox row published by the evaluator's relay →
/// delivery row inserted by the notifier's consumer → delivery settled as sent.
pub async fn phase_percentiles(
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
