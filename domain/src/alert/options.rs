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
use crate::template::MessageTemplate;
use crate::{MoveDirection, Price, TriggerPolicy};

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
    /// Re-arm hysteresis: after a fire, the alert fires again only once the price has moved
    /// back beyond the level by this percent (for `range`: left the band by it), in addition
    /// to the cooldown. 0 < percent < 100; not for `percent_move`. `null` in a patch removes it.
    #[serde(default)]
    #[schema(inline, required = false, value_type = Option<f64>)]
    pub rearm_percent: Input<Price>,
    /// The whole notification text (email keeps its subject), with placeholders `{{symbol}}`,
    /// `{{price}}`, `{{currency}}`, `{{condition}}`, `{{target}}`, `{{target_high}}`,
    /// `{{time}}`, `{{alert_id}}`; any other placeholder is a 422. `null` in a patch removes it.
    #[serde(default)]
    #[schema(inline, required = false, value_type = Option<String>)]
    pub message: Input<MessageTemplate>,
    /// `true`: notifications of this alert go out at once even during the owner's quiet hours
    /// (`PUT /auth/me/quiet-hours`). Default `false`.
    #[serde(default)]
    #[schema(inline, required = false, value_type = Option<bool>)]
    pub urgent: Input<bool>,
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
    /// Extension: re-arm hysteresis in percent (see the request's `rearm_percent`).
    #[schema(value_type = Option<f64>)]
    pub(super) rearm_percent: Option<Price>,
    /// Extension: the user's notification text (see the request's `message`).
    #[schema(value_type = Option<String>)]
    pub(super) message: Option<MessageTemplate>,
    /// Extension: the alert never fires before this time (`POST /alerts/{id}/snooze`);
    /// `null` when not snoozed (a past time is shown until the next write).
    pub(super) snoozed_until: Option<DateTime<Utc>>,
    /// Extension: bypasses the owner's quiet hours (`false` by default, and for alerts stored
    /// before it existed).
    pub(super) urgent: bool,
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

    pub fn rearm_percent(&self) -> Option<Price> {
        self.rearm_percent
    }

    pub fn message(&self) -> Option<&MessageTemplate> {
        self.message.as_ref()
    }

    pub fn snoozed_until(&self) -> Option<DateTime<Utc>> {
        self.snoozed_until
    }

    /// Whether its notifications bypass the owner's quiet hours.
    pub fn urgent(&self) -> bool {
        self.urgent
    }
}

/// Each option as read from a request: `Some(None)` absent or null, `None` wrong.
pub(super) struct ReadOptions {
    trigger: Option<Option<TriggerPolicy>>,
    expires_at: Option<Option<DateTime<Utc>>>,
    direction: Option<Option<MoveDirection>>,
    window_minutes: Option<Option<i64>>,
    rearm_percent: Option<Option<Price>>,
    message: Option<Option<MessageTemplate>>,
    urgent: Option<Option<bool>>,
}

impl ReadOptions {
    pub(super) fn read(input: &AlertOptionsInput, errors: &mut InputErrors) -> ReadOptions {
        ReadOptions {
            trigger: errors.optional("trigger", &input.trigger),
            expires_at: errors.optional("expires_at", &input.expires_at),
            direction: errors.optional("direction", &input.direction),
            window_minutes: errors.optional("window_minutes", &input.window_minutes),
            rearm_percent: errors.optional("rearm_percent", &input.rearm_percent),
            message: errors.optional("message", &input.message),
            urgent: errors.optional("urgent", &input.urgent),
        }
    }

    /// Whether every option could be read.
    pub(super) fn all_read(&self) -> bool {
        self.trigger.is_some()
            && self.expires_at.is_some()
            && self.direction.is_some()
            && self.window_minutes.is_some()
            && self.rearm_percent.is_some()
            && self.message.is_some()
            && self.urgent.is_some()
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
            rearm_percent: self.rearm_percent.flatten(),
            message: self.message.flatten(),
            snoozed_until: None,
            urgent: self.urgent.flatten().unwrap_or(false),
        }
    }

    /// `current` with what the patch sets: a wrong or null value keeps the current one, except
    /// `expires_at`, `rearm_percent` and `message`, which a `null` removes (`urgent: null`
    /// keeps it, as for `trigger`).
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
            rearm_percent: if input.rearm_percent.was_sent() {
                self.rearm_percent.flatten()
            } else {
                current.rearm_percent
            },
            message: if input.message.was_sent() {
                self.message.flatten()
            } else {
                current.message.clone()
            },
            snoozed_until: current.snoozed_until,
            urgent: self.urgent.flatten().unwrap_or(current.urgent),
        }
    }
}

impl AlertOptions {
    /// These options snoozed until `until` (`None`: no longer snoozed).
    pub(super) fn with_snooze(&self, until: Option<DateTime<Utc>>) -> AlertOptions {
        AlertOptions {
            snoozed_until: until,
            ..self.clone()
        }
    }
}
