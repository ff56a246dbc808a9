//! What the engine knows about an alert: only what deciding a fire needs.

use chrono::{DateTime, Utc};
use domain::{
    Alert, AlertCondition, AlertId, AlertSpec, MoveDirection, Price, RearmWait, Symbol,
    TriggerPolicy,
};

/// Times inside the engine: microseconds since the Unix epoch (the precision storage keeps).
pub type Micros = i64;

pub fn micros(at: DateTime<Utc>) -> Micros {
    at.timestamp_micros()
}

/// The condition of an alert with its bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    Above(Price),
    Below(Price),
    Crosses(Price),
    /// Inclusive; an inverted range (`low > high`) never fires.
    Range {
        low: Price,
        high: Price,
    },
    /// Fires when the price is at least `percent` % away from its time-weighted average over
    /// the last `window_minutes`, in `direction`.
    PercentMove {
        percent: Price,
        direction: MoveDirection,
        window_minutes: i64,
    },
}

impl Rule {
    pub fn condition(&self) -> AlertCondition {
        match self {
            Rule::Above(_) => AlertCondition::Above,
            Rule::Below(_) => AlertCondition::Below,
            Rule::Crosses(_) => AlertCondition::Crosses,
            Rule::Range { .. } => AlertCondition::Range,
            Rule::PercentMove { .. } => AlertCondition::PercentMove,
        }
    }

    /// The rule of a stored alert; `None` when its fields do not make one (e.g. a range
    /// without an upper bound), which the engine then never fires.
    pub fn from_fields(
        condition: AlertCondition,
        target_price: Price,
        target_price_high: Option<Price>,
        direction: Option<MoveDirection>,
        window_minutes: Option<i64>,
    ) -> Option<Rule> {
        Some(match condition {
            AlertCondition::Above => Rule::Above(target_price),
            AlertCondition::Below => Rule::Below(target_price),
            AlertCondition::Crosses => Rule::Crosses(target_price),
            AlertCondition::Range => Rule::Range {
                low: target_price,
                high: target_price_high?,
            },
            AlertCondition::PercentMove => Rule::PercentMove {
                percent: target_price,
                direction: direction.unwrap_or_default(),
                window_minutes: window_minutes.filter(|w| *w > 0)?,
            },
        })
    }
}

/// An active alert as the engine indexes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedAlert {
    pub id: AlertId,
    pub symbol: Symbol,
    pub rule: Rule,
    pub cooldown_minutes: i64,
    pub trigger: TriggerPolicy,
    pub expires_at: Option<Micros>,
    pub last_triggered_at: Option<Micros>,
    /// Re-arm hysteresis in percent (`None`: re-arms after the cooldown alone).
    pub rearm_percent: Option<Price>,
    /// Stored hysteresis state: the alert waits for the price to move this way (ignored
    /// without `rearm_percent`).
    pub rearm_wait: Option<RearmWait>,
    /// The alert never fires before this time.
    pub snoozed_until: Option<Micros>,
    pub version: i64,
}

impl IndexedAlert {
    /// What the engine indexes of `alert`; `None` for an inactive alert or one without a valid
    /// rule (which then never fires).
    pub fn from_alert(alert: &Alert) -> Option<IndexedAlert> {
        if !alert.active() {
            return None;
        }
        let mut indexed = IndexedAlert::from_spec(
            alert.id(),
            alert.spec(),
            alert.last_triggered_at().map(micros),
            alert.version(),
        )?;
        indexed.rearm_wait = indexed.rearm_percent.and(alert.rearm_wait());
        Some(indexed)
    }

    /// What the engine indexes of an alert's spec (a stored alert, or one replayed by a
    /// backtest before it is saved); `None` without a valid rule.
    pub fn from_spec(
        id: AlertId,
        spec: &AlertSpec,
        last_triggered_at: Option<Micros>,
        version: i64,
    ) -> Option<IndexedAlert> {
        let options = spec.options();
        Some(IndexedAlert {
            id,
            symbol: spec.symbol().clone(),
            rule: Rule::from_fields(
                spec.condition(),
                spec.target_price(),
                spec.target_price_high(),
                options.direction(),
                options.window_minutes(),
            )?,
            cooldown_minutes: spec.cooldown_minutes(),
            trigger: options.trigger(),
            expires_at: options.expires_at().map(micros),
            last_triggered_at,
            rearm_percent: options.rearm_percent(),
            rearm_wait: None,
            snoozed_until: options.snoozed_until().map(micros),
            version,
        })
    }

    /// Microseconds an alert waits after a fire; never negative.
    pub fn cooldown_micros(&self) -> Micros {
        self.cooldown_minutes.max(0).saturating_mul(60_000_000)
    }
}

/// One alert the engine decided to fire on a tick.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Fire {
    pub alert_id: AlertId,
    /// The version the decision was made on; the fire transaction re-checks it.
    pub version: i64,
    pub condition: AlertCondition,
    /// With re-arm hysteresis: the way the price must move before the alert fires again
    /// (the fire transaction stores it).
    pub rearm_wait: Option<RearmWait>,
}

/// One alert whose re-arm wait a tick ended.
///
/// Ending the wait is written like a fire: only on the version the engine decided on, and
/// bumping it (the engine bumps its own copy too). An edit committed in between makes storage
/// refuse the tick, so it is decided again on the edited alert; and a change event carrying a
/// snapshot from before the wait ended can never overwrite the engine's newer state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rearmed {
    pub alert_id: AlertId,
    /// The version the engine held when the gate opened (storage's compare-and-set).
    pub version: i64,
}
