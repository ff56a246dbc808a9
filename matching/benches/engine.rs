//! Ticks per second of the indexed engine against a per-symbol linear scan, at 10 k, 100 k and
//! 1 M active alerts over the 55 catalogue symbols, on random-walk ticks; and resident bytes
//! per alert.
//!
//! Run: `cargo bench -p matching --bench engine -- --sample-size 10 --warm-up-time 1
//! --measurement-time 3`. Scenarios: `quiet` (thresholds ≥ 5 % from a walk that stays within
//! ±2 %: ~0 fires per tick) and `firing` (plus always-true alerts with a 1-minute cooldown:
//! ~10 fires per tick). The fires per tick actually seen are printed before each group.

use std::process::Command;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput};
use domain::catalogue::Catalogue;
use domain::{MoveDirection, Price, Symbol, TriggerPolicy};
use matching::reference::ReferenceScan;
use matching::{Engine, EngineConfig, Fire, IndexedAlert, Micros, Rule, SymbolId};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;

const SIZES: [usize; 3] = [10_000, 100_000, 1_000_000];
const TICKS: usize = 200_000;
const T0: Micros = 1_800_000_000_000_000;
const SECOND: Micros = 1_000_000;
/// Always-true alerts per symbol in the `firing` scenario (cooldown 1 minute, one tick per
/// second over 55 symbols: each fires about every second tick of its symbol).
const FIRING_PER_SYMBOL: usize = 20;
const MEMORY_ENV: &str = "EVALUATOR_BENCH_MEMORY_ALERTS";

fn config() -> EngineConfig {
    EngineConfig {
        history_minutes: 60,
    }
}

struct Market {
    symbols: Vec<Symbol>,
    bases: Vec<Decimal>,
}

impl Market {
    fn new(rng: &mut StdRng) -> Market {
        let symbols: Vec<Symbol> = Catalogue::default().symbols().cloned().collect();
        let bases = symbols
            .iter()
            .map(|_| {
                // Log-uniform from 0.0001 to 100 000, with 2 to 8 decimals like real quotes.
                let exponent = rng.gen_range(-4.0f64..5.0);
                let scale = rng.gen_range(2u32..=8);
                let mantissa = (10f64.powf(exponent) * 10f64.powi(scale as i32)).round() as i64;
                Decimal::new(mantissa.max(1), scale)
            })
            .collect();
        Market { symbols, bases }
    }

    /// `base × factor`, with 8 decimals.
    fn at(&self, symbol: usize, factor: f64) -> Price {
        let factor = Decimal::from_f64_retain(factor)
            .unwrap_or(Decimal::ONE)
            .round_dp(6);
        Price::new((self.bases[symbol] * factor).round_dp(8))
    }
}

/// `percent_moves`: whether 10 % of alerts are `percent_move` (else only API.md's four).
fn random_spec(rng: &mut StdRng, market: &Market, id: i64, percent_moves: bool) -> IndexedAlert {
    let symbol = rng.gen_range(0..market.symbols.len());
    let up = rng.gen_bool(0.5);
    let away = |rng: &mut StdRng, up: bool| {
        if up {
            rng.gen_range(1.05..1.5)
        } else {
            rng.gen_range(0.5..0.95)
        }
    };
    let roll = if percent_moves {
        rng.gen_range(0..100)
    } else {
        rng.gen_range(0..90)
    };
    let rule = match roll {
        0..30 => Rule::Above(market.at(symbol, away(rng, true))),
        30..60 => Rule::Below(market.at(symbol, away(rng, false))),
        60..75 => Rule::Crosses(market.at(symbol, away(rng, up))),
        75..90 => {
            // Entirely above or entirely below the ±2 % the walk stays in.
            let (low, high) = if up {
                let low = away(rng, true);
                (low, low * rng.gen_range(1.001..1.1))
            } else {
                let high = away(rng, false);
                (high / rng.gen_range(1.001..1.1), high)
            };
            Rule::Range {
                low: market.at(symbol, low),
                high: market.at(symbol, high),
            }
        }
        _ => Rule::PercentMove {
            percent: Price::new(Decimal::new(rng.gen_range(50..200), 1)),
            direction: [
                MoveDirection::Up,
                MoveDirection::Down,
                MoveDirection::Either,
            ][rng.gen_range(0..3)],
            window_minutes: [5, 15, 60][rng.gen_range(0..3)],
        },
    };
    IndexedAlert {
        id,
        symbol: market.symbols[symbol].clone(),
        rule,
        cooldown_minutes: 60,
        trigger: TriggerPolicy::Repeat,
        expires_at: None,
        last_triggered_at: None,
        rearm_percent: None,
        rearm_wait: None,
        snoozed_until: None,
        version: 1,
    }
}

fn specs(alerts: usize, firing: bool) -> (Market, Vec<IndexedAlert>) {
    specs_of_mix(alerts, firing, true)
}

fn specs_of_mix(alerts: usize, firing: bool, percent_moves: bool) -> (Market, Vec<IndexedAlert>) {
    let mut rng = StdRng::seed_from_u64(7);
    let market = Market::new(&mut rng);
    let mut specs: Vec<IndexedAlert> = (0..alerts as i64)
        .map(|id| random_spec(&mut rng, &market, id, percent_moves))
        .collect();
    if firing {
        let mut id = alerts as i64;
        for (symbol, name) in market.symbols.iter().enumerate() {
            for _ in 0..FIRING_PER_SYMBOL {
                specs.push(IndexedAlert {
                    id,
                    symbol: name.clone(),
                    rule: Rule::Above(market.at(symbol, 0.5)),
                    cooldown_minutes: 1,
                    trigger: TriggerPolicy::Repeat,
                    expires_at: None,
                    last_triggered_at: None,
                    rearm_percent: None,
                    rearm_wait: None,
                    snoozed_until: None,
                    version: 1,
                });
                id += 1;
            }
        }
    }
    (market, specs)
}

/// Random-walk ticks, one per second, on random symbols; each walk stays within ±2 %.
fn ticks(market: &Market) -> Vec<(SymbolId, Price)> {
    let mut rng = StdRng::seed_from_u64(11);
    let mut deviation = vec![0.0f64; market.symbols.len()];
    (0..TICKS)
        .map(|_| {
            let symbol = rng.gen_range(0..market.symbols.len());
            let step = rng.gen_range(-0.001..0.001) - deviation[symbol] * 0.05;
            deviation[symbol] = (deviation[symbol] + step).clamp(-0.02, 0.02);
            (
                symbol as SymbolId,
                market.at(symbol, 1.0 + deviation[symbol]),
            )
        })
        .collect()
}

/// The engine or the scan, behind one interface for the benchmark loop.
trait Matcher {
    fn symbol_id(&mut self, symbol: &Symbol) -> SymbolId;
    fn upsert(&mut self, spec: &IndexedAlert);
    fn evaluate(&mut self, symbol: SymbolId, price: Price, at: Micros, fires: &mut Vec<Fire>);
}

impl Matcher for Engine {
    fn symbol_id(&mut self, symbol: &Symbol) -> SymbolId {
        Engine::symbol_id(self, symbol)
    }
    fn upsert(&mut self, spec: &IndexedAlert) {
        Engine::upsert(self, spec);
    }
    fn evaluate(&mut self, symbol: SymbolId, price: Price, at: Micros, fires: &mut Vec<Fire>) {
        Engine::evaluate(self, symbol, price, at, fires)
    }
}

impl Matcher for ReferenceScan {
    fn symbol_id(&mut self, symbol: &Symbol) -> SymbolId {
        ReferenceScan::symbol_id(self, symbol)
    }
    fn upsert(&mut self, spec: &IndexedAlert) {
        ReferenceScan::upsert_unchecked(self, spec);
    }
    fn evaluate(&mut self, symbol: SymbolId, price: Price, at: Micros, fires: &mut Vec<Fire>) {
        ReferenceScan::evaluate(self, symbol, price, at, fires)
    }
}

/// A matcher loaded with `specs`, its tick stream, and a cursor that keeps time moving.
struct Run<M> {
    matcher: M,
    ticks: Vec<(SymbolId, Price)>,
    next: usize,
    fires: Vec<Fire>,
    fired: u64,
}

impl<M: Matcher> Run<M> {
    /// `ticks` name symbols by their index in `market`.
    fn new(
        mut matcher: M,
        market: &Market,
        specs: &[IndexedAlert],
        ticks: Vec<(SymbolId, Price)>,
    ) -> Run<M> {
        for (index, symbol) in market.symbols.iter().enumerate() {
            assert_eq!(
                matcher.symbol_id(symbol) as usize,
                index,
                "ids follow the market"
            );
        }
        for spec in specs {
            matcher.upsert(spec);
        }
        let mut run = Run {
            matcher,
            ticks,
            next: 0,
            fires: Vec::new(),
            fired: 0,
        };
        // Warm the histories so percent windows are full, and settle first fires.
        for _ in 0..(4 * 3600) {
            run.step();
        }
        run.fired = 0;
        run
    }

    fn step(&mut self) {
        let (symbol, price) = self.ticks[self.next % self.ticks.len()];
        let at = T0 + self.next as i64 * SECOND;
        self.next += 1;
        self.fires.clear();
        self.matcher.evaluate(symbol, price, at, &mut self.fires);
        self.fired += self.fires.len() as u64;
    }

    fn fires_per_tick(&mut self, ticks: usize) -> f64 {
        let before = self.fired;
        for _ in 0..ticks {
            self.step();
        }
        (self.fired - before) as f64 / ticks as f64
    }
}

fn bench_scenario(c: &mut Criterion, firing: bool) {
    let name = if firing { "firing" } else { "quiet" };
    let mut group = c.benchmark_group(format!("ticks_{name}"));
    group.throughput(Throughput::Elements(1));
    for alerts in SIZES {
        let (market, specs) = specs(alerts, firing);
        let mut indexed = Run::new(Engine::new(config()), &market, &specs, ticks(&market));
        let mut linear = Run::new(
            ReferenceScan::new(config()),
            &market,
            &specs,
            ticks(&market),
        );
        println!(
            "{name} {alerts}: fires per tick indexed {:.2}, linear {:.2}",
            indexed.fires_per_tick(20_000),
            linear.fires_per_tick(2_000),
        );
        group.bench_with_input(BenchmarkId::new("indexed", alerts), &alerts, |b, _| {
            b.iter(|| indexed.step())
        });
        group.bench_with_input(BenchmarkId::new("linear_scan", alerts), &alerts, |b, _| {
            b.iter(|| linear.step())
        });
    }
    group.finish();
}

/// The quiet scenario at 1 M alerts with only API.md's four conditions: what the threshold
/// and range index costs without the per-tick sliding-window work of `percent_move`.
fn bench_without_percent_moves(c: &mut Criterion) {
    let mut group = c.benchmark_group("ticks_quiet_without_percent_move");
    group.throughput(Throughput::Elements(1));
    let alerts = 1_000_000;
    let (market, specs) = specs_of_mix(alerts, false, false);
    let mut indexed = Run::new(Engine::new(config()), &market, &specs, ticks(&market));
    println!(
        "quiet without percent_move {alerts}: fires per tick {:.2}",
        indexed.fires_per_tick(20_000)
    );
    group.bench_with_input(BenchmarkId::new("indexed", alerts), &alerts, |b, _| {
        b.iter(|| indexed.step())
    });
    group.finish();
}

fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// In a fresh child process (so freed memory of other runs cannot hide any): resident bytes
/// the engine adds per alert once loaded and warmed with ticks.
fn measure_memory_in_child(alerts: usize) {
    let (market, specs) = specs(alerts, false);
    let tick_list = ticks(&market);
    let before = resident_bytes();
    let mut run = Run::new(Engine::new(config()), &market, &specs, tick_list);
    run.fires_per_tick(10_000);
    let after = resident_bytes();
    println!("{}", (after.saturating_sub(before)) as f64 / alerts as f64);
}

fn report_memory() {
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    for alerts in SIZES {
        let output = Command::new(&exe)
            .env(MEMORY_ENV, alerts.to_string())
            .output();
        match output {
            Ok(out) => println!(
                "resident bytes per alert at {alerts}: {}",
                String::from_utf8_lossy(&out.stdout).trim()
            ),
            Err(error) => println!("memory measurement failed: {error}"),
        }
    }
}

fn main() {
    if let Some(alerts) = std::env::var(MEMORY_ENV).ok().and_then(|v| v.parse().ok()) {
        measure_memory_in_child(alerts);
        return;
    }
    report_memory();
    let mut criterion = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    bench_scenario(&mut criterion, false);
    bench_scenario(&mut criterion, true);
    bench_without_percent_moves(&mut criterion);
    criterion.final_summary();
}
