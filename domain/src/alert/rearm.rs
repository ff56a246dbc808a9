//! Re-arm hysteresis state: after a fire of an alert with `rearm_percent`, which way the price
//! must move back before the alert may fire again. The fire transaction stores it (column
//! `alerts.rearm_wait`) and the tick that opens the gate clears it, so an evaluator that
//! restarts, another replica, and `GET /alerts/{id}/explain` all read the same state.
//! The levels themselves are the matching engine's business (`matching::rearm`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Where the price must go to re-arm the alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RearmWait {
    /// At or below the lower re-arm level (after `above`, or `crosses` upwards).
    Below,
    /// At or above the upper re-arm level (after `below`, or `crosses` downwards).
    Above,
    /// Out of the band widened by the percent on both sides (after `range`).
    Outside,
}

impl RearmWait {
    pub fn as_str(self) -> &'static str {
        match self {
            RearmWait::Below => "below",
            RearmWait::Above => "above",
            RearmWait::Outside => "outside",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rearm_wait must be below, above or outside")]
pub struct RearmWaitError;

impl FromStr for RearmWait {
    type Err = RearmWaitError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        [RearmWait::Below, RearmWait::Above, RearmWait::Outside]
            .into_iter()
            .find(|w| w.as_str() == text)
            .ok_or(RearmWaitError)
    }
}

impl fmt::Display for RearmWait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
