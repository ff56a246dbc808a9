//! A change to an existing alert, from a `PATCH /alerts/{id}` body (or a toggle).

use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::ToSchema;

use super::options::ReadOptions;
use super::rules::{self, SentFields};
use super::{Alert, AlertInputError, AlertOptionsInput, AlertSpec};
use crate::input::{Input, InputErrors, Invalid};
use crate::{AlertCondition, NotificationChannels, Price};

/// The body of `PATCH /alerts/{id}`: any of these; the symbol and condition never change.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct AlertPatchInput {
    /// > 0 (checked only when sent).
    #[serde(default)]
    #[schema(value_type = Option<Price>, inline, required = false)]
    pub target_price: Input<Price>,
    /// `null` removes it, which a `range` alert refuses; a range must stay valid.
    #[serde(default)]
    #[schema(value_type = Option<Price>, inline, required = false)]
    pub target_price_high: Input<Price>,
    #[serde(default)]
    #[schema(value_type = Option<NotificationChannels>, inline, required = false)]
    pub notification_types: Input<NotificationChannels>,
    /// 1..525600.
    #[serde(default)]
    #[schema(inline, required = false, value_type = Option<i64>)]
    pub cooldown_minutes: Input<i64>,
    #[serde(default)]
    #[schema(inline, required = false, value_type = Option<bool>)]
    pub active: Input<bool>,
    #[serde(flatten)]
    #[schema(inline)]
    pub options: AlertOptionsInput,
}

/// What an alert becomes: its new spec and whether it is on.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertPatch {
    spec: AlertSpec,
    active: bool,
}

/// A patch merged into the current alert, with the problems found while reading it; the rules
/// are checked by [`AlertPatchDraft::validate`].
#[derive(Debug)]
pub struct AlertPatchDraft {
    patch: AlertPatch,
    input: AlertPatchInput,
    errors: InputErrors,
}

impl AlertPatch {
    /// Reads every field of `input` and merges it into `current`: a field not sent, or sent
    /// `null` (or wrong), keeps its current value, except `target_price_high` and
    /// `expires_at`, which `null` removes. Problems are kept for [`AlertPatchDraft::validate`],
    /// which reports them together with the broken rules.
    pub fn read(input: AlertPatchInput, current: &Alert) -> AlertPatchDraft {
        let mut errors = InputErrors::new();
        let target_price = errors.optional("target_price", &input.target_price);
        let target_price_high = errors.optional("target_price_high", &input.target_price_high);
        let notification_types = errors.optional("notification_types", &input.notification_types);
        let cooldown_minutes = errors.optional("cooldown_minutes", &input.cooldown_minutes);
        let active = errors.optional("active", &input.active);
        let options = ReadOptions::read(&input.options, &mut errors);
        let now = &current.spec;
        let spec = AlertSpec {
            symbol: now.symbol.clone(),
            condition: now.condition,
            target_price: target_price.flatten().unwrap_or(now.target_price),
            target_price_high: if input.target_price_high.was_sent() {
                target_price_high.flatten()
            } else {
                now.target_price_high
            },
            notification_types: notification_types
                .flatten()
                .unwrap_or_else(|| now.notification_types.clone()),
            cooldown_minutes: cooldown_minutes.flatten().unwrap_or(now.cooldown_minutes),
            options: options.patched(&input.options, &now.options),
        };
        if spec.condition == AlertCondition::Range && spec.target_price_high.is_none() {
            errors.add(
                "target_price_high",
                &input.target_price_high,
                Invalid::value("range alerts need target_price_high"),
            );
        }
        AlertPatchDraft {
            patch: AlertPatch {
                spec,
                active: active.flatten().unwrap_or(current.active),
            },
            input,
            errors,
        }
    }

    /// Turns `current` on or off, changing nothing else.
    pub fn toggle(current: &Alert) -> AlertPatch {
        AlertPatch {
            spec: current.spec.clone(),
            active: !current.active,
        }
    }

    /// Snoozes `current` until `until`, which must be after `now`; changes nothing else.
    pub fn snooze(
        current: &Alert,
        until: &Input<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<AlertPatch, AlertInputError> {
        let mut errors = InputErrors::new();
        let read = errors.required("until", until);
        if read.is_some_and(|at| at <= now) {
            errors.add(
                "until",
                until,
                Invalid::value("until must be in the future"),
            );
        }
        errors.finish().map_err(AlertInputError::Invalid)?;
        let Some(until) = read else {
            return Err(AlertInputError::Invalid(Vec::new()));
        };
        Ok(AlertPatch {
            spec: AlertSpec {
                options: current.spec.options.with_snooze(Some(until)),
                ..current.spec.clone()
            },
            active: current.active,
        })
    }

    /// Ends the snooze of `current` (nothing else changes; not snoozed is fine too).
    pub fn unsnooze(current: &Alert) -> AlertPatch {
        AlertPatch {
            spec: AlertSpec {
                options: current.spec.options.with_snooze(None),
                ..current.spec.clone()
            },
            active: current.active,
        }
    }

    pub fn spec(&self) -> &AlertSpec {
        &self.spec
    }

    pub fn active(&self) -> bool {
        self.active
    }

    /// `current` as this patch leaves it when nothing else writes it meanwhile: spec and switch
    /// replaced, version bumped. Lets a store write the patch and its change announcement in
    /// one statement; a fire may commit in between, so the store takes the firing state and
    /// the version from the row it updates, not from here.
    pub fn applied_to(&self, current: &Alert) -> Alert {
        Alert {
            spec: self.spec.clone(),
            active: self.active,
            version: current.version + 1,
            ..current.clone()
        }
    }
}

impl AlertPatchDraft {
    /// The channels the alert would notify on after the patch.
    pub fn notification_types(&self) -> &NotificationChannels {
        &self.patch.spec.notification_types
    }

    /// Every problem with the patch at `now`: wrong values, then broken rules (only the rules
    /// on what was sent, so a stored value never blocks an unrelated change).
    pub fn validate(self, now: DateTime<Utc>) -> Result<AlertPatch, AlertInputError> {
        let AlertPatchDraft {
            patch,
            input,
            mut errors,
        } = self;
        let sent = SentFields {
            target_price: &input.target_price,
            target_price_high: &input.target_price_high,
            cooldown_minutes: &input.cooldown_minutes,
            options: &input.options,
        };
        rules::check(&patch.spec, &sent, now, &mut errors);
        errors.finish().map_err(AlertInputError::Invalid)?;
        Ok(patch)
    }
}
