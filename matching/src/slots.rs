//! The compact per-alert record the engine keeps (about 100 bytes).

use domain::{AlertCondition, AlertId, MoveDirection, RearmWait};

use super::spec::Micros;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Above,
    Below,
    Crosses,
    Range,
    Percent,
}

impl Kind {
    pub fn condition(self) -> AlertCondition {
        match self {
            Kind::Above => AlertCondition::Above,
            Kind::Below => AlertCondition::Below,
            Kind::Crosses => AlertCondition::Crosses,
            Kind::Range => AlertCondition::Range,
            Kind::Percent => AlertCondition::PercentMove,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// In the index: the next tick fires it if its condition holds.
    Armed,
    /// Fired recently (or snoozed); a timer arms it again.
    Cooling,
    /// Cooled down, but its re-arm gate is still closed: the tick that opens it arms it.
    AwaitingRearm,
    /// Past `expires_at`: never fires (until a change revives it).
    Expired,
    /// Its rule can never hold (inverted range, window beyond the history kept).
    Inert,
    /// Unused slot.
    Free,
}

#[derive(Debug, Clone, Copy)]
pub struct Slot {
    /// Threshold key: above/below/crosses target, range low, percent.
    pub low: i128,
    /// Range high key.
    pub high: i128,
    pub id: AlertId,
    pub version: i64,
    pub cooldown: Micros,
    pub window_minutes: i64,
    pub symbol: u32,
    /// Bumped whenever the slot is rewritten, so stale timers are ignored.
    pub generation: u32,
    pub kind: Kind,
    pub direction: MoveDirection,
    pub once: bool,
    /// Thresholds off the key grid: matched exactly in decimals instead.
    pub exotic: bool,
    /// Has a re-arm percent (its rule and percent are in the engine's `rearm_rules`).
    pub rearm: bool,
    /// While set, the alert waits in its book's `rearm_waiting` for the price to re-arm it.
    pub rearm_wait: Option<RearmWait>,
    pub state: State,
}

impl Slot {
    pub const FREE: Slot = Slot {
        low: 0,
        high: 0,
        id: 0,
        version: 0,
        cooldown: 0,
        window_minutes: 0,
        symbol: 0,
        generation: 0,
        kind: Kind::Above,
        direction: MoveDirection::Either,
        once: false,
        exotic: false,
        rearm: false,
        rearm_wait: None,
        state: State::Free,
    };
}
