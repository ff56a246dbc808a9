//! The throughput runs' load: ticks planned over the catalogue, JSON-encoded before the clock
//! starts (the figure is the pipeline's, not the bench's encoder's: on two cores encoding 50,000
//! ticks during the run took as long as evaluating them), then published as bytes, each
//! symbol's ticks in order, either as fast as the bus takes them or at a fixed rate.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use shared::bus::{EventBus, Topic};
use shared::domain::Symbol;

/// Ticks in flight at once: one publishing lane per symbol, symbols sharing lanes.
const LANES: usize = 256;

/// One throughput tick: its symbol, price, and the alert it fires (by index from its base).
pub struct Planned {
    pub symbol: Symbol,
    pub price: String,
    pub fires: Option<usize>,
}

/// The ticks of one throughput run: round-robin over `symbols`, one in `fire_every` firing
/// the next of `fires` alerts (alert `k` has threshold `base + k` and sits on
/// `firing[k % firing.len()]`, thresholds rising, so each firing tick fires exactly one
/// alert); firing symbols otherwise stay below every threshold.
pub fn plan(
    ticks: usize,
    fire_every: usize,
    symbols: &[Symbol],
    firing: &[Symbol],
    fires: usize,
    base: u32,
) -> Vec<Planned> {
    let mut fired = 0usize;
    (0..ticks)
        .map(|i| {
            if i % fire_every == fire_every - 1 && fired < fires {
                fired += 1;
                let k = fired - 1;
                return Planned {
                    symbol: firing[k % firing.len()].clone(),
                    price: format!("{}.5", base as usize + k),
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

/// A tick ready to go: key, JSON bytes, the alert it fires, and (paced) when to send it,
/// from the start of the run.
struct Encoded {
    key: String,
    payload: Vec<u8>,
    fires: Option<usize>,
    due: Duration,
}

/// The planned ticks encoded and dealt to lanes by symbol, so each symbol's ticks stay in
/// order. Tick `i` is received at `stamp + i µs`: every symbol's ticks strictly later one
/// after the other at storage precision, as the evaluator requires of a symbol's ticks.
pub struct Load {
    lanes: Vec<Vec<Encoded>>,
}

impl Load {
    /// `rate`: ticks per second for a paced run (tick `i` due at `i / rate`), `None` for as
    /// fast as the bus takes them.
    pub fn encode(planned: Vec<Planned>, rate: Option<f64>) -> Load {
        let stamp = Utc::now();
        let mut lane_of: HashMap<Symbol, usize> = HashMap::new();
        let mut lanes: Vec<Vec<Encoded>> = (0..LANES).map(|_| Vec::new()).collect();
        for (i, planned) in planned.into_iter().enumerate() {
            let next = lane_of.len() % LANES;
            let lane = *lane_of.entry(planned.symbol.clone()).or_insert(next);
            let at = stamp + chrono::TimeDelta::microseconds(i as i64);
            let tick = crate::pipeline::bench_tick_at(&planned.symbol, &planned.price, at);
            lanes[lane].push(Encoded {
                key: planned.symbol.as_str().to_owned(),
                payload: serde_json::to_vec(&tick).expect("encode a tick"),
                fires: planned.fires,
                due: rate.map_or(Duration::ZERO, |rate| {
                    Duration::from_secs_f64(i as f64 / rate)
                }),
            });
        }
        Load { lanes }
    }

    /// Publishes every lane at once from `started`, each tick not before it is due; returns
    /// when each firing tick was handed to the bus, by alert index.
    pub async fn publish(
        self,
        bus: Arc<dyn EventBus>,
        started: Instant,
    ) -> HashMap<usize, Instant> {
        let mut in_flight = tokio::task::JoinSet::new();
        let start = tokio::time::Instant::from_std(started);
        for lane in self.lanes {
            let bus = bus.clone();
            in_flight.spawn(async move {
                let mut sent = Vec::new();
                for tick in lane {
                    if !tick.due.is_zero() {
                        tokio::time::sleep_until(start + tick.due).await;
                    }
                    if let Some(k) = tick.fires {
                        sent.push((k, Instant::now()));
                    }
                    bus.publish(Topic::PriceEvents, &tick.key, tick.payload)
                        .await
                        .expect("publish a tick");
                }
                sent
            });
        }
        let mut sent_at = HashMap::new();
        while let Some(sent) = in_flight.join_next().await {
            sent_at.extend(sent.expect("a publishing lane"));
        }
        sent_at
    }
}
