//! An alert's options: every field beyond API.md's, with the defaults an alert stored before
//! the field existed reads as.
//!
//! Options travel and are stored whole (the `options` JSON column, the bus's alert snapshot,
//! the trigger event), so a new option needs no migration and no change to any message.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AlertCondition;
use crate::input::{Input, InputErrors};
use crate::{MoveDirection, TriggerPolicy};

/// The options as a request sends them (`POST /alerts` and `PATCH /alerts/{id}` alike).
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct AlertOptionsInput {
    /// `repeat` (default): fire again after each cooldown; `once`: deactivate after the first fire.
    #[serde(default)]
    #[schema(value_type = Option<TriggerPolicy>, inline, required = false)]
    pub trigger: Input<TriggerPolicy>,
    /// ISO-8601 time with a zone after which the alert never fires and reads as inactive; must be
    /// in the future when set. `null` in a patch removes it.
    #[serde(default)]
    #[schema(inline, required = false, value_type = Option<DateTime<Utc>>)]
    pub expires_at: Input<DateTime<Utc>>,
    /// `percent_move` only: `up`, `down` or `either` (default).
    #[serde(default)]
    #[schema(value_type = Option<MoveDirection>, inline, required = false)]
    pub direction: Input<MoveDirection>,
    /// `percent_move` only (required there): the averaging window, 1..1440 minutes.
    #[serde(default)]
    #[schema(inline, required = false, value_type = Option<i64>)]
    pub window_minutes: Input<i64>,
}

/// The options of a valid alert. Built only by the alert's constructors.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(default)]
pub struct AlertOptions {
    /// Extension: `repeat` (default) or `once`.
    #[schema(inline)]
    pub(super) trigger: TriggerPolicy,
    /// Extension: after this time the alert never fires and reads as inactive.
    pub(super) expires_at: Option<DateTime<Utc>>,
    /// Extension (`percent_move`): `up`, `down` or `either`.
    #[schema(inline)]
    pub(super) direction: Option<MoveDirection>,
    /// Extension (`percent_move`): the averaging window in minutes.
    pub(super) window_minutes: Option<i64>,
}

impl AlertOptions {
    pub fn trigger(&self) -> TriggerPolicy {
        self.trigger
    }

    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.expires_at
    }

    pub fn direction(&self) -> Option<MoveDirection> {
        self.direction
    }

    pub fn window_minutes(&self) -> Option<i64> {
        self.window_minutes
    }
}

/// Each option as read from a request: `Some(None)` absent or null, `None` wrong.
pub(super) struct ReadOptions {
    trigger: Option<Option<TriggerPolicy>>,
    expires_at: Option<Option<DateTime<Utc>>>,
    direction: Option<Option<MoveDirection>>,
    window_minutes: Option<Option<i64>>,
}

impl ReadOptions {
    pub(super) fn read(input: &AlertOptionsInput, errors: &mut InputErrors) -> ReadOptions {
        ReadOptions {
            trigger: errors.optional("trigger", &input.trigger),
            expires_at: errors.optional("expires_at", &input.expires_at),
            direction: errors.optional("direction", &input.direction),
            window_minutes: errors.optional("window_minutes", &input.window_minutes),
        }
    }

    /// Whether every option could be read.
    pub(super) fn all_read(&self) -> bool {
        self.trigger.is_some()
            && self.expires_at.is_some()
            && self.direction.is_some()
            && self.window_minutes.is_some()
    }

    /// The options of a new alert of `condition`.
    pub(super) fn for_new(self, condition: AlertCondition) -> AlertOptions {
        let direction = self.direction.flatten();
        AlertOptions {
            trigger: self.trigger.flatten().unwrap_or_default(),
            expires_at: self.expires_at.flatten(),
            direction: match condition {
                AlertCondition::PercentMove => Some(direction.unwrap_or_default()),
                _ => direction,
            },
            window_minutes: self.window_minutes.flatten(),
        }
    }

    /// `current` with what the patch sets: a wrong or null value keeps the current one, except
    /// `expires_at`, which a `null` removes.
    pub(super) fn patched(self, input: &AlertOptionsInput, current: &AlertOptions) -> AlertOptions {
        AlertOptions {
            trigger: self.trigger.flatten().unwrap_or(current.trigger),
            expires_at: if input.expires_at.was_sent() {
                self.expires_at.flatten()
            } else {
                current.expires_at
            },
            direction: self.direction.flatten().or(current.direction),
            window_minutes: self.window_minutes.flatten().or(current.window_minutes),
        }
    }
}
