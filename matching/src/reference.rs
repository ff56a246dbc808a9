//! The straightforward way: scan every alert of the symbol on every tick, in decimals.
//!
//! It states the semantics as plainly as possible. The property tests check the indexed
//! [`Engine`](super::Engine) against it, and the benchmark runs it side by side.

use std::collections::HashMap;

use domain::{MoveDirection, Price, Symbol, TriggerPolicy};
use rust_decimal::Decimal;

use super::rearm::{wait_after_fire, RearmGate};
use super::spec::{Fire, IndexedAlert, Micros, Rule};
use super::{EngineConfig, SymbolId};

#[derive(Debug)]
struct Alert {
    spec: IndexedAlert,
}

#[derive(Debug, Default)]
struct SymbolState {
    alerts: Vec<Alert>,
    last: Option<Price>,
    /// `(time, price)`, each price holding until the next point.
    history: Vec<(Micros, Price)>,
}

#[derive(Debug, Default)]
pub struct ReferenceScan {
    config: EngineConfig,
    symbol_ids: HashMap<Symbol, SymbolId>,
    symbols: Vec<SymbolState>,
}

impl ReferenceScan {
    pub fn new(config: EngineConfig) -> ReferenceScan {
        ReferenceScan {
            config,
            ..ReferenceScan::default()
        }
    }

    pub fn symbol_id(&mut self, symbol: &Symbol) -> SymbolId {
        if let Some(&id) = self.symbol_ids.get(symbol) {
            return id;
        }
        let id = self.symbols.len() as SymbolId;
        self.symbols.push(SymbolState::default());
        self.symbol_ids.insert(symbol.clone(), id);
        id
    }

    pub fn restore_last_price(&mut self, symbol: &Symbol, price: Price) {
        let id = self.symbol_id(symbol);
        self.symbols[id as usize].last = Some(price);
    }

    /// Adds or replaces an alert unless a newer version is held.
    pub fn upsert(&mut self, spec: &IndexedAlert) {
        if self.version(spec.id).is_some_and(|v| v > spec.version) {
            return;
        }
        self.remove(spec.id);
        let id = self.symbol_id(&spec.symbol);
        self.symbols[id as usize]
            .alerts
            .push(Alert { spec: spec.clone() });
    }

    /// Adds an alert known to be new (bulk loading, where the version check's scan of every
    /// alert would make loading quadratic).
    pub fn upsert_unchecked(&mut self, spec: &IndexedAlert) {
        let id = self.symbol_id(&spec.symbol);
        self.symbols[id as usize]
            .alerts
            .push(Alert { spec: spec.clone() });
    }

    pub fn remove(&mut self, id: domain::AlertId) {
        for symbol in &mut self.symbols {
            symbol.alerts.retain(|a| a.spec.id != id);
        }
    }

    pub fn version(&self, id: domain::AlertId) -> Option<i64> {
        self.symbols
            .iter()
            .flat_map(|s| &s.alerts)
            .find(|a| a.spec.id == id)
            .map(|a| a.spec.version)
    }

    pub fn evaluate(&mut self, symbol: SymbolId, price: Price, at: Micros, fires: &mut Vec<Fire>) {
        let horizon = self.config.history_minutes;
        let Some(state) = self.symbols.get_mut(symbol as usize) else {
            return;
        };
        let now = state.history.last().map_or(at, |&(t, _)| at.max(t));
        let previous = state.last;
        let mut averages: HashMap<i64, Option<Decimal>> = HashMap::new();
        let first_fire = fires.len();
        for alert in &mut state.alerts {
            let spec = &mut alert.spec;
            if spec.expires_at.is_some_and(|expiry| at >= expiry) {
                continue;
            }
            let cooling = spec
                .last_triggered_at
                .is_some_and(|last| at < last.saturating_add(spec.cooldown_micros()));
            if cooling {
                continue;
            }
            if spec.snoozed_until.is_some_and(|until| at < until) {
                continue;
            }
            if spec.rearm_percent.is_some() && spec.rearm_wait.is_some() {
                continue;
            }
            let holds = match spec.rule {
                Rule::Above(target) => price >= target,
                Rule::Below(target) => price <= target,
                Rule::Crosses(target) => previous.is_some_and(|prev| {
                    (prev < target && target <= price) || (prev > target && target >= price)
                }),
                Rule::Range { low, high } => low <= price && price <= high,
                Rule::PercentMove {
                    percent,
                    direction,
                    window_minutes,
                } => {
                    window_minutes <= horizon
                        && averages
                            .entry(window_minutes)
                            .or_insert_with(|| integral(&state.history, now, window_minutes))
                            .is_some_and(|sum| {
                                moved(price, sum, window_minutes, percent, direction)
                            })
                }
            };
            if holds {
                let rearm_wait = spec
                    .rearm_percent
                    .map(|_| wait_after_fire(&spec.rule, price, previous));
                fires.push(Fire {
                    alert_id: spec.id,
                    version: spec.version,
                    condition: spec.rule.condition(),
                    rearm_wait,
                });
                spec.rearm_wait = rearm_wait;
                spec.version += 1;
                spec.last_triggered_at = Some(at);
            }
        }
        let fired: Vec<_> = fires[first_fire..].iter().map(|f| f.alert_id).collect();
        state
            .alerts
            .retain(|a| !(a.spec.trigger == TriggerPolicy::Once && fired.contains(&a.spec.id)));
        // After the fires: the tick that re-arms an alert never fires it.
        for alert in &mut state.alerts {
            let spec = &mut alert.spec;
            if let (Some(percent), Some(wait)) = (spec.rearm_percent, spec.rearm_wait) {
                if RearmGate::new(&spec.rule, percent, wait).opens_at(price) {
                    spec.rearm_wait = None;
                    spec.version += 1;
                }
            }
        }
        state.last = Some(price);
        state.history.push((now, price));
        let cutoff = now.saturating_sub(horizon.saturating_mul(60_000_000));
        while state.history.len() >= 2 && state.history[1].0 <= cutoff {
            state.history.remove(0);
        }
    }
}

/// ∫ price dt (µs) over `[now − window, now]`, or `None` while the history does not reach back
/// that far.
fn integral(history: &[(Micros, Price)], now: Micros, window_minutes: i64) -> Option<Decimal> {
    let start = now - window_minutes * 60_000_000;
    if history.first().is_none_or(|&(t, _)| t > start) {
        return None;
    }
    let mut sum = Decimal::ZERO;
    for (i, &(t, price)) in history.iter().enumerate() {
        let end = history.get(i + 1).map_or(now, |&(next, _)| next);
        let overlap = end.min(now) - t.max(start);
        if overlap > 0 {
            sum = sum.checked_add(price.as_decimal().checked_mul(Decimal::from(overlap))?)?;
        }
    }
    Some(sum)
}

/// `100·p·W ≥ I·(100 + X)` (up) / `100·p·W ≤ I·(100 − X)` (down), as in the engine.
fn moved(
    price: Price,
    integral: Decimal,
    window_minutes: i64,
    percent: Price,
    direction: MoveDirection,
) -> bool {
    let p = price.as_decimal();
    if p <= Decimal::ZERO || integral <= Decimal::ZERO {
        return false;
    }
    let hundred = Decimal::from(100);
    let window = Decimal::from(window_minutes * 60_000_000);
    let Some(lhs) = hundred.checked_mul(p).and_then(|v| v.checked_mul(window)) else {
        return false;
    };
    let x = percent.as_decimal();
    let up = || {
        integral
            .checked_mul(hundred + x)
            .is_some_and(|rhs| lhs >= rhs)
    };
    let down = || {
        hundred - x > Decimal::ZERO
            && integral
                .checked_mul(hundred - x)
                .is_some_and(|rhs| lhs <= rhs)
    };
    match direction {
        MoveDirection::Up => up(),
        MoveDirection::Down => down(),
        MoveDirection::Either => up() || down(),
    }
}
