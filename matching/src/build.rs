//! How the engine files an alert: its compact slot, and the exact decimal check of
//! thresholds off the key grid.

use domain::{Price, TriggerPolicy};

use super::key::{exact_key, floor_ceil_keys};
use super::slots::{Kind, Slot, State};
use super::spec::{IndexedAlert, Rule};
use super::{Engine, SymbolId};

impl Engine {
    pub(super) fn build_slot(&self, spec: &IndexedAlert, symbol: SymbolId) -> Slot {
        let mut slot = Slot {
            id: spec.id,
            version: spec.version,
            cooldown: spec.cooldown_micros(),
            symbol,
            once: spec.trigger == TriggerPolicy::Once,
            kind: Kind::Above,
            state: State::Cooling,
            ..Slot::FREE
        };
        match spec.rule {
            Rule::Above(target) | Rule::Below(target) | Rule::Crosses(target) => {
                slot.kind = match spec.rule {
                    Rule::Above(_) => Kind::Above,
                    Rule::Below(_) => Kind::Below,
                    _ => Kind::Crosses,
                };
                match exact_key(target) {
                    Some(key) => slot.low = key,
                    None => slot.exotic = true,
                }
            }
            Rule::Range { low, high } => {
                slot.kind = Kind::Range;
                match (exact_key(low), exact_key(high)) {
                    (Some(l), Some(h)) => (slot.low, slot.high) = (l, h),
                    _ => slot.exotic = true,
                }
                if low > high {
                    slot.state = State::Inert;
                }
            }
            Rule::PercentMove {
                percent,
                direction,
                window_minutes,
            } => {
                slot.kind = Kind::Percent;
                slot.direction = direction;
                slot.window_minutes = window_minutes;
                // A percent off the grid is rounded up: it can only fire later, never earlier.
                slot.low = floor_ceil_keys(percent).1;
                if window_minutes > self.config.history_minutes {
                    slot.state = State::Inert;
                }
            }
        }
        slot
    }
}

/// The API.md semantics in decimals, for thresholds off the key grid.
pub(super) fn exotic_holds(rule: &Rule, price: Price, last: Option<Price>) -> bool {
    match *rule {
        Rule::Above(target) => price >= target,
        Rule::Below(target) => price <= target,
        Rule::Crosses(target) => {
            last.is_some_and(|l| (l < target && target <= price) || (l > target && target >= price))
        }
        Rule::Range { low, high } => low <= price && price <= high,
        Rule::PercentMove { .. } => false,
    }
}
