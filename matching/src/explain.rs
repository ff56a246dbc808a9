//! Why an alert would or would not fire now, from what storage holds: the alert with its firing
//! state (last trigger, re-arm wait, snooze), its owner's standing, the evaluator's last price
//! and how far back the price history reaches. It uses the rule code the engine runs (the
//! alert's [`Rule`], its cooldown, its [`RearmGate`]), so any replica, or the gateway, explains
//! the alert the way the evaluator decides it.

use chrono::{DateTime, TimeDelta, Utc};
use domain::{Alert, Price};
use rust_decimal::Decimal;

use super::rearm::RearmGate;
use super::spec::{IndexedAlert, Rule};

/// The first of these that applies is the alert's state (the order is the API's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExplainState {
    Paused,
    Expired,
    OwnerInactive,
    Snoozed,
    WaitingForWindow,
    CoolingDown,
    WaitingRearm,
    WaitingForCross,
    Armed,
}

impl ExplainState {
    pub fn as_str(self) -> &'static str {
        match self {
            ExplainState::Paused => "paused",
            ExplainState::Expired => "expired",
            ExplainState::OwnerInactive => "owner_inactive",
            ExplainState::Snoozed => "snoozed",
            ExplainState::WaitingForWindow => "waiting_for_window",
            ExplainState::CoolingDown => "cooling_down",
            ExplainState::WaitingRearm => "waiting_rearm",
            ExplainState::WaitingForCross => "waiting_for_cross",
            ExplainState::Armed => "armed",
        }
    }
}

/// What storage knows beyond the alert itself.
#[derive(Debug, Clone, Copy)]
pub struct Observed {
    pub owner_active: bool,
    /// The evaluator's last price of the symbol (the previous price of its next tick).
    pub last_price: Option<Price>,
    /// The oldest price kept for the symbol's `percent_move` window (`None`: none kept).
    pub history_since: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    pub state: ExplainState,
    /// When `snoozed` or `cooling_down` ends.
    pub until: Option<DateTime<Utc>>,
    /// `waiting_rearm`: the re-arm level to pass; `waiting_for_cross`: the level to cross.
    pub level: Option<Price>,
    /// `waiting_for_window`: how much price history the window still lacks.
    pub missing_window_seconds: Option<i64>,
    /// How far the last price is from making the condition hold (0 when it holds);
    /// `None` without a last price or for `percent_move`.
    pub distance: Option<Price>,
    /// `distance` as a percent of the last price, to 4 decimals (a [`Price`] for its exact
    /// JSON number).
    pub distance_percent: Option<Price>,
}

/// Explains `alert` at `now`.
pub fn explain(alert: &Alert, observed: &Observed, now: DateTime<Utc>) -> Explanation {
    let spec = IndexedAlert::from_spec(alert.id(), alert.spec(), None, alert.version());
    let rule = spec.as_ref().map(|s| s.rule);
    let distance = rule
        .zip(observed.last_price)
        .and_then(|(r, p)| distance(&r, p));
    let distance_percent = distance.zip(observed.last_price).and_then(|(d, p)| {
        let price = p.as_decimal();
        (price > Decimal::ZERO)
            .then(|| {
                d.as_decimal()
                    .checked_mul(Decimal::ONE_HUNDRED)?
                    .checked_div(price)
            })
            .flatten()
            .map(|percent| Price::new(percent.round_dp(4).normalize()))
    });
    let mut explanation = Explanation {
        state: ExplainState::Armed,
        until: None,
        level: None,
        missing_window_seconds: None,
        distance,
        distance_percent,
    };
    let options = alert.spec().options();
    explanation.state = if !alert.active() {
        ExplainState::Paused
    } else if !alert.is_active_at(now) {
        ExplainState::Expired
    } else if !observed.owner_active {
        ExplainState::OwnerInactive
    } else if alert.is_snoozed_at(now) {
        explanation.until = options.snoozed_until();
        ExplainState::Snoozed
    } else if let Some(missing) = missing_window(&rule, observed.history_since, now) {
        explanation.missing_window_seconds = Some(missing);
        ExplainState::WaitingForWindow
    } else if let Some(until) = cooldown_end(alert, spec.as_ref()).filter(|end| now < *end) {
        explanation.until = Some(until);
        ExplainState::CoolingDown
    } else if let Some(level) = rearm_level(alert, rule, observed.last_price) {
        explanation.level = Some(level);
        ExplainState::WaitingRearm
    } else if let Some(Rule::Crosses(target)) = rule {
        explanation.level = Some(target);
        ExplainState::WaitingForCross
    } else {
        ExplainState::Armed
    };
    explanation
}

/// When the cooldown after the last fire ends, as the engine schedules it.
fn cooldown_end(alert: &Alert, spec: Option<&IndexedAlert>) -> Option<DateTime<Utc>> {
    let last = alert.last_triggered_at()?;
    let micros = spec?.cooldown_micros();
    Some(
        last.checked_add_signed(TimeDelta::microseconds(micros))
            .unwrap_or(DateTime::<Utc>::MAX_UTC),
    )
}

fn rearm_level(alert: &Alert, rule: Option<Rule>, last: Option<Price>) -> Option<Price> {
    let percent = alert.spec().options().rearm_percent()?;
    let wait = alert.rearm_wait()?;
    RearmGate::new(&rule?, percent, wait).level_towards(last)
}

/// Seconds of history a `percent_move` window still lacks (`None` when it is full or the rule
/// has no window).
fn missing_window(
    rule: &Option<Rule>,
    since: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<i64> {
    let Some(Rule::PercentMove { window_minutes, .. }) = rule else {
        return None;
    };
    let window = window_minutes.saturating_mul(60);
    let covered = since.map_or(0, |since| (now - since).num_seconds().max(0));
    let missing = window - covered.min(window);
    (missing > 0).then_some(missing)
}

/// How far `price` is from making `rule` hold.
fn distance(rule: &Rule, price: Price) -> Option<Price> {
    let p = price.as_decimal();
    let below = |level: Price| level.as_decimal().checked_sub(p);
    let above = |level: Price| p.checked_sub(level.as_decimal());
    let gap = match *rule {
        Rule::Above(t) => below(t)?,
        Rule::Below(t) => above(t)?,
        Rule::Crosses(t) => below(t)?.abs(),
        Rule::Range { low, high } => below(low)?.max(above(high)?),
        Rule::PercentMove { .. } => return None,
    };
    Some(Price::new(gap.max(Decimal::ZERO).normalize()))
}
