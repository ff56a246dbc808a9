//! The alert: what a user asks to be told about, validated as a whole.
//!
//! A valid [`AlertSpec`] comes only from [`NewAlert::read`] (a create request) or
//! [`AlertPatch::read`] (a patch merged into the current alert): each reads every field,
//! checks the rules between them, and reports every problem at once as [`FieldError`]s,
//! which the gateway answers as API.md's 400/422 bodies (whether the owner can be reached on
//! a channel is no rule: the gateway warns about it, the notifier skips such deliveries). Fields are private; past those constructors an alert is valid. (Storage
//! and the bus decode alerts this code wrote, field by field into their domain types.)
//!
//! API.md's fields (symbol … cooldown_minutes, active, triggered_count, created_at,
//! last_triggered_at) are fixed by the contract. **Every new field is an option**, and is added
//! in these places only:
//! 1. [`AlertOptionsInput`] (`options.rs`): the field as a request sends it, with its doc
//!    (the OpenAPI schema of both request bodies is derived from it);
//! 2. [`AlertOptions`] (`options.rs`): its type, its default for alerts stored before it
//!    existed (`Default`), its getter, and how create and patch read it (`ReadOptions`);
//! 3. its rules, if any, in `rules.rs`;
//! 4. if it changes when an alert fires, the matching engine (`matching/`, which both the
//!    evaluator and the gateway's backtest run).
//!
//! Options are stored whole as one JSON document per alert and travel whole in alert changes
//! and trigger events, so a new option needs no migration, no query and no message change;
//! the API's Alert object, the bus and the notifier see it at once.
//!
//! Firing state is not an option: `last_triggered_at` and the re-arm wait ([`RearmWait`]) are
//! columns the evaluator writes in its fire and tick transactions. `snoozed_until` is an option
//! that only its own constructors ([`AlertPatch::snooze`], [`AlertPatch::unsnooze`]) set.

mod create;
mod fields;
mod options;
mod patch;
mod rearm;
mod row;
mod rules;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use self::create::{NewAlert, NewAlertDraft, NewAlertInput};
pub use self::options::{AlertOptions, AlertOptionsInput};
pub use self::patch::{AlertPatch, AlertPatchDraft, AlertPatchInput};
pub use self::rearm::{RearmWait, RearmWaitError};
pub use self::row::{AlertRow, CorruptAlert, ALERT_COLUMNS};
pub use self::rules::{MAX_COOLDOWN_MINUTES, MAX_REARM_PERCENT, MAX_WINDOW_MINUTES};
use super::input::FieldError;
use super::{AlertCondition, AlertId, NotificationChannels, Price, Symbol, UserId};

/// Why a request could not make a valid alert.
#[derive(Debug, Clone, PartialEq)]
pub enum AlertInputError {
    /// A `range` alert sent without `target_price_high` (API.md answers this one 400).
    RangeNeedsHigh,
    /// Every wrong field and broken rule, in the order found.
    Invalid(Vec<FieldError>),
}

/// What a user chose for an alert. Valid as a whole: only the constructors build one (and the
/// decoding of what they stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertSpec {
    pub(crate) symbol: Symbol,
    pub(crate) condition: AlertCondition,
    pub(crate) target_price: Price,
    pub(crate) target_price_high: Option<Price>,
    pub(crate) notification_types: NotificationChannels,
    pub(crate) cooldown_minutes: i64,
    pub(crate) options: AlertOptions,
}

impl AlertSpec {
    pub fn symbol(&self) -> &Symbol {
        &self.symbol
    }

    pub fn condition(&self) -> AlertCondition {
        self.condition
    }

    /// The threshold; for `range` the lower bound, for `percent_move` the percent.
    pub fn target_price(&self) -> Price {
        self.target_price
    }

    pub fn target_price_high(&self) -> Option<Price> {
        self.target_price_high
    }

    pub fn notification_types(&self) -> &NotificationChannels {
        &self.notification_types
    }

    pub fn cooldown_minutes(&self) -> i64 {
        self.cooldown_minutes
    }

    pub fn options(&self) -> &AlertOptions {
        &self.options
    }
}

/// A stored alert: its spec, its owner and what firing has done to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    pub(crate) id: AlertId,
    pub(crate) user_id: UserId,
    pub(crate) spec: AlertSpec,
    pub(crate) active: bool,
    pub(crate) triggered_count: i64,
    pub(crate) last_triggered_at: Option<DateTime<Utc>>,
    /// Re-arm hysteresis: where the price must go before the alert fires again (`None` when
    /// it need not). Firing state like `last_triggered_at`, not a user choice.
    #[serde(default)]
    pub(crate) rearm_wait: Option<RearmWait>,
    /// Bumped on every write; a fire re-checks it so a late change is never overtaken.
    pub(crate) version: i64,
    pub(crate) created_at: DateTime<Utc>,
}

impl Alert {
    pub fn id(&self) -> AlertId {
        self.id
    }

    pub fn user_id(&self) -> UserId {
        self.user_id
    }

    pub fn spec(&self) -> &AlertSpec {
        &self.spec
    }

    pub fn symbol(&self) -> &Symbol {
        &self.spec.symbol
    }

    /// Whether the owner left it on (an expired alert may still be; see [`Alert::is_active_at`]).
    pub fn active(&self) -> bool {
        self.active
    }

    /// Whether it can fire at `at`: on, and not expired. An expired alert reads as inactive.
    pub fn is_active_at(&self, at: DateTime<Utc>) -> bool {
        self.active
            && self
                .spec
                .options
                .expires_at
                .is_none_or(|expiry| at < expiry)
    }

    pub fn triggered_count(&self) -> i64 {
        self.triggered_count
    }

    pub fn last_triggered_at(&self) -> Option<DateTime<Utc>> {
        self.last_triggered_at
    }

    pub fn rearm_wait(&self) -> Option<RearmWait> {
        self.rearm_wait
    }

    /// Whether it is snoozed at `at` (fires again from `snoozed_until` on).
    pub fn is_snoozed_at(&self, at: DateTime<Utc>) -> bool {
        self.spec
            .options
            .snoozed_until
            .is_some_and(|until| at < until)
    }

    pub fn version(&self) -> i64 {
        self.version
    }

    pub fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_policies;
