//! The rules between an alert's fields, checked on create and after a patch is merged.

use chrono::{DateTime, Utc};

use super::{AlertOptionsInput, AlertSpec};
use crate::input::{Input, InputErrors, Invalid};
use crate::{AlertCondition, Price};

/// Longest cooldown: a year.
pub const MAX_COOLDOWN_MINUTES: i64 = 525_600;
/// Longest `percent_move` window: a day (the evaluator keeps a day of history).
pub const MAX_WINDOW_MINUTES: i64 = 1_440;
/// Re-arm percents are below this: at 100 % a `below` alert's level would be 0 or less.
pub const MAX_REARM_PERCENT: i64 = 100;

/// The request's fields the rules quote back (and whose presence some rules depend on: a
/// patch is not refused for a stored value it did not send).
pub(super) struct SentFields<'a> {
    pub target_price: &'a Input<Price>,
    pub target_price_high: &'a Input<Price>,
    pub cooldown_minutes: &'a Input<i64>,
    pub options: &'a AlertOptionsInput,
}

/// Records every rule `spec` breaks, in the order clients have always seen them.
pub(super) fn check(
    spec: &AlertSpec,
    sent: &SentFields<'_>,
    now: DateTime<Utc>,
    errors: &mut InputErrors,
) {
    if !spec.target_price.is_positive() && sent.target_price.was_sent() {
        errors.add(
            "target_price",
            sent.target_price,
            Invalid::new("greater_than", "Input should be greater than 0"),
        );
    }
    if let Some(high) = spec.target_price_high {
        if spec.condition == AlertCondition::Range && high <= spec.target_price {
            errors.add(
                "target_price_high",
                sent.target_price_high,
                Invalid::value("target_price_high must be greater than target_price"),
            );
        }
    }
    if spec.cooldown_minutes < 1 && sent.cooldown_minutes.was_sent() {
        errors.add(
            "cooldown_minutes",
            sent.cooldown_minutes,
            Invalid::new(
                "greater_than_equal",
                "Input should be greater than or equal to 1",
            ),
        );
    } else if spec.cooldown_minutes > MAX_COOLDOWN_MINUTES {
        errors.add(
            "cooldown_minutes",
            sent.cooldown_minutes,
            Invalid::new(
                "less_than_equal",
                "Input should be less than or equal to 525600",
            ),
        );
    }
    check_options(spec, sent.options, now, errors);
}

fn check_options(
    spec: &AlertSpec,
    sent: &AlertOptionsInput,
    now: DateTime<Utc>,
    errors: &mut InputErrors,
) {
    let options = &spec.options;
    if options
        .expires_at
        .is_some_and(|expiry| expiry <= now && sent.expires_at.was_sent())
    {
        errors.add(
            "expires_at",
            &sent.expires_at,
            Invalid::value("expires_at must be in the future"),
        );
    }
    if let Some(percent) = options.rearm_percent {
        let limit = Price::new(rust_decimal::Decimal::from(MAX_REARM_PERCENT));
        if spec.condition == AlertCondition::PercentMove {
            errors.add(
                "rearm_percent",
                &sent.rearm_percent,
                Invalid::value("rearm_percent does not apply to percent_move alerts"),
            );
        } else if !percent.is_positive() || percent >= limit {
            errors.add(
                "rearm_percent",
                &sent.rearm_percent,
                Invalid::value("rearm_percent must be greater than 0 and less than 100"),
            );
        }
    }
    if spec.condition == AlertCondition::PercentMove {
        match options.window_minutes {
            None => errors.add(
                "window_minutes",
                &sent.window_minutes,
                Invalid::new("missing", "Field required for percent_move alerts"),
            ),
            Some(window) if !(1..=MAX_WINDOW_MINUTES).contains(&window) => errors.add(
                "window_minutes",
                &sent.window_minutes,
                Invalid::value("window_minutes must be 1..1440"),
            ),
            Some(_) => {}
        }
        return;
    }
    if options.direction.is_some() {
        errors.add(
            "direction",
            &sent.direction,
            Invalid::value("direction applies to percent_move alerts only"),
        );
    }
    if options.window_minutes.is_some() {
        errors.add(
            "window_minutes",
            &sent.window_minutes,
            Invalid::value("window_minutes applies to percent_move alerts only"),
        );
    }
}
