//! A new alert, from a `POST /alerts` body.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::ToSchema;

use super::options::ReadOptions;
use super::rules::{self, SentFields};
use super::{Alert, AlertInputError, AlertOptionsInput, AlertSpec};
use crate::catalogue::Catalogue;
use crate::input::{Input, InputErrors, Invalid};
use crate::{AlertCondition, AlertId, NotificationChannels, Price, Symbol, UserId};

/// Cooldown of an alert created without one.
pub const DEFAULT_COOLDOWN_MINUTES: i64 = 60;

/// The body of `POST /alerts`: API.md's fields, then the options.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct NewAlertInput {
    /// A known instrument, 1..20 characters, case-insensitive (stored upper-case).
    #[serde(default)]
    #[schema(value_type = Symbol, inline, required = true)]
    pub symbol: Input<Symbol>,
    #[serde(default)]
    #[schema(value_type = AlertCondition, inline, required = true)]
    pub condition: Input<AlertCondition>,
    /// > 0. For `range` the lower bound; for `percent_move` the percent.
    #[serde(default)]
    #[schema(value_type = Price, inline, required = true)]
    pub target_price: Input<Price>,
    /// `range` only, where it is required: the upper bound, > `target_price`.
    #[serde(default)]
    #[schema(value_type = Option<Price>, inline, required = false)]
    pub target_price_high: Input<Price>,
    /// Default `"email"`.
    #[serde(default)]
    #[schema(value_type = Option<NotificationChannels>, inline, required = false)]
    pub notification_types: Input<NotificationChannels>,
    /// 1..525600, default 60.
    #[serde(default)]
    #[schema(inline, required = false, value_type = Option<i64>)]
    pub cooldown_minutes: Input<i64>,
    #[serde(flatten)]
    #[schema(inline)]
    pub options: AlertOptionsInput,
}

/// A valid new alert, to be stored active.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAlert(AlertSpec);

/// A create request whose every field was read; the rules between them and against the
/// owner's account are checked by [`NewAlertDraft::validate`].
#[derive(Debug)]
pub struct NewAlertDraft {
    spec: AlertSpec,
    input: NewAlertInput,
    /// Problems found while reading (an unknown symbol) that still let the rules run.
    errors: InputErrors,
}

impl NewAlert {
    /// Reads every field of `input`. A `range` alert without an upper bound is
    /// [`AlertInputError::RangeNeedsHigh`] whatever else is wrong; otherwise any wrong field
    /// is reported, all of them at once, before any rule is checked.
    pub fn read(
        input: NewAlertInput,
        catalogue: &Catalogue,
    ) -> Result<NewAlertDraft, AlertInputError> {
        let mut errors = InputErrors::new();
        let symbol = errors.required("symbol", &input.symbol);
        if let Some(symbol) = symbol.as_ref().filter(|s| !catalogue.contains(s)) {
            errors.add(
                "symbol",
                &input.symbol,
                Invalid::new("value_error", format!("Unknown symbol: {symbol}")),
            );
        }
        let condition = errors.required("condition", &input.condition);
        let target_price = errors.required("target_price", &input.target_price);
        let target_price_high = errors.optional("target_price_high", &input.target_price_high);
        let notification_types = errors.optional("notification_types", &input.notification_types);
        let cooldown_minutes = errors.optional("cooldown_minutes", &input.cooldown_minutes);
        let options = ReadOptions::read(&input.options, &mut errors);
        if condition == Some(AlertCondition::Range) && target_price_high == Some(None) {
            return Err(AlertInputError::RangeNeedsHigh);
        }
        let (
            Some(symbol),
            Some(condition),
            Some(target_price),
            Some(target_price_high),
            Some(notification_types),
            Some(cooldown_minutes),
            true,
        ) = (
            symbol,
            condition,
            target_price,
            target_price_high,
            notification_types,
            cooldown_minutes,
            options.all_read(),
        )
        else {
            return Err(AlertInputError::Invalid(
                errors.finish().err().unwrap_or_default(),
            ));
        };
        let spec = AlertSpec {
            symbol,
            condition,
            target_price,
            // A second bound means something only for ranges.
            target_price_high: target_price_high.filter(|_| condition == AlertCondition::Range),
            notification_types: notification_types.unwrap_or_default(),
            cooldown_minutes: cooldown_minutes.unwrap_or(DEFAULT_COOLDOWN_MINUTES),
            options: options.for_new(condition),
        };
        Ok(NewAlertDraft {
            spec,
            input,
            errors,
        })
    }

    pub fn spec(&self) -> &AlertSpec {
        &self.0
    }

    /// The alert this creates, as its row will read once inserted with `id`: active, never
    /// fired, version 1. Lets a store write the alert and its change announcement in one
    /// statement, before the database has told it the id.
    pub fn stored(&self, id: AlertId, user_id: UserId, created_at: DateTime<Utc>) -> Alert {
        Alert {
            id,
            user_id,
            spec: self.0.clone(),
            active: true,
            triggered_count: 0,
            last_triggered_at: None,
            rearm_wait: None,
            version: 1,
            created_at,
        }
    }
}

impl NewAlertDraft {
    /// The channels the alert would notify on.
    pub fn notification_types(&self) -> &NotificationChannels {
        &self.spec.notification_types
    }

    /// Checks the rules at `now`; every broken one is reported at once.
    pub fn validate(self, now: DateTime<Utc>) -> Result<NewAlert, AlertInputError> {
        let NewAlertDraft {
            spec,
            input,
            mut errors,
        } = self;
        let sent = SentFields {
            target_price: &input.target_price,
            target_price_high: &input.target_price_high,
            cooldown_minutes: &input.cooldown_minutes,
            options: &input.options,
        };
        rules::check(&spec, &sent, now, &mut errors);
        errors.finish().map_err(AlertInputError::Invalid)?;
        Ok(NewAlert(spec))
    }
}
