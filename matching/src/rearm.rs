//! Re-arm hysteresis: after a fire, an alert with `rearm_percent` fires again only once the
//! price has moved back beyond its level by that percent (inclusive: a price exactly at the
//! re-arm level re-arms it), in addition to any cooldown.
//!
//! - `above` waits for price ≤ target·(1 − r/100); `below` for price ≥ target·(1 + r/100);
//! - `crosses` waits on the side it came from: after crossing upwards for
//!   price ≤ target·(1 − r/100), after crossing downwards for price ≥ target·(1 + r/100);
//! - `range` waits for the price to leave the band widened by r % on both sides.
//!
//! The tick that re-arms an alert never fires it: its condition is re-checked from the next
//! tick on. Engine, reference scan and explain all use these functions.

use domain::{Price, RearmWait};
use rust_decimal::Decimal;

use super::spec::Rule;

/// Which way the price must move after `rule` fired at `price` (the symbol's last price
/// before that tick was `previous`).
pub fn wait_after_fire(rule: &Rule, price: Price, previous: Option<Price>) -> RearmWait {
    match *rule {
        Rule::Above(_) => RearmWait::Below,
        Rule::Below(_) => RearmWait::Above,
        // A cross needs a previous price; it lay on the side the price came from.
        Rule::Crosses(target) => match previous {
            Some(previous) if previous < target => RearmWait::Below,
            Some(_) => RearmWait::Above,
            None if price >= target => RearmWait::Below,
            None => RearmWait::Above,
        },
        Rule::Range { .. } | Rule::PercentMove { .. } => RearmWait::Outside,
    }
}

/// The price levels that re-arm an alert: at or below `below`, or at or above `above`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RearmGate {
    pub below: Option<Price>,
    pub above: Option<Price>,
}

impl RearmGate {
    /// The gate of `rule` with `percent` while it waits as `wait`. A level that cannot be
    /// computed (decimal overflow) never opens.
    pub fn new(rule: &Rule, percent: Price, wait: RearmWait) -> RearmGate {
        let (low, high) = match *rule {
            Rule::Above(t) | Rule::Below(t) | Rule::Crosses(t) => (t, t),
            Rule::Range { low, high } => (low, high),
            Rule::PercentMove { .. } => {
                return RearmGate {
                    below: None,
                    above: None,
                }
            }
        };
        let (below, above) = match wait {
            RearmWait::Below => (scaled(low, -percent.as_decimal()), None),
            RearmWait::Above => (None, scaled(high, percent.as_decimal())),
            RearmWait::Outside => (
                scaled(low, -percent.as_decimal()),
                scaled(high, percent.as_decimal()),
            ),
        };
        RearmGate { below, above }
    }

    /// Whether a price re-arms the alert.
    pub fn opens_at(&self, price: Price) -> bool {
        self.below.is_some_and(|level| price <= level)
            || self.above.is_some_and(|level| price >= level)
    }

    /// The level nearest to `price` (the one to pass; for a range, the closer side).
    pub fn level_towards(&self, price: Option<Price>) -> Option<Price> {
        match (self.below, self.above, price) {
            (Some(below), Some(above), Some(price)) => {
                let to_below = price.as_decimal() - below.as_decimal();
                let to_above = above.as_decimal() - price.as_decimal();
                Some(if to_below <= to_above { below } else { above })
            }
            (Some(below), _, _) => Some(below),
            (None, above, _) => above,
        }
    }
}

/// `level · (100 + percent) / 100`.
fn scaled(level: Price, percent: Decimal) -> Option<Price> {
    let hundred = Decimal::ONE_HUNDRED;
    level
        .as_decimal()
        .checked_mul(hundred.checked_add(percent)?)?
        .checked_div(hundred)
        .map(|value| Price::new(value.normalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Price {
        text.parse().expect("price")
    }

    #[test]
    fn levels_sit_the_percent_beyond_the_thresholds() {
        let gate = RearmGate::new(&Rule::Above(p("100")), p("2"), RearmWait::Below);
        assert_eq!(gate.below, Some(p("98")));
        assert!(gate.opens_at(p("98")));
        assert!(!gate.opens_at(p("98.0001")));
        let range = Rule::Range {
            low: p("50"),
            high: p("60"),
        };
        let gate = RearmGate::new(&range, p("10"), RearmWait::Outside);
        assert_eq!((gate.below, gate.above), (Some(p("45")), Some(p("66"))));
        assert_eq!(gate.level_towards(Some(p("62"))), Some(p("66")));
    }

    #[test]
    fn a_cross_waits_on_the_side_it_came_from() {
        let rule = Rule::Crosses(p("100"));
        assert_eq!(
            wait_after_fire(&rule, p("100"), Some(p("99"))),
            RearmWait::Below
        );
        assert_eq!(
            wait_after_fire(&rule, p("100"), Some(p("101"))),
            RearmWait::Above
        );
    }
}
