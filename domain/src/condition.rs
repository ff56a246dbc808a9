use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What an alert watches for. The first four are API.md's; `PercentMove` is an extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AlertCondition {
    Above,
    Below,
    Crosses,
    Range,
    PercentMove,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("condition must be one of: above, below, crosses, range, percent_move")]
pub struct ConditionError;

impl AlertCondition {
    pub const ALL: [AlertCondition; 5] = [
        AlertCondition::Above,
        AlertCondition::Below,
        AlertCondition::Crosses,
        AlertCondition::Range,
        AlertCondition::PercentMove,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            AlertCondition::Above => "above",
            AlertCondition::Below => "below",
            AlertCondition::Crosses => "crosses",
            AlertCondition::Range => "range",
            AlertCondition::PercentMove => "percent_move",
        }
    }
}

impl FromStr for AlertCondition {
    type Err = ConditionError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        AlertCondition::ALL
            .into_iter()
            .find(|c| c.as_str() == text)
            .ok_or(ConditionError)
    }
}

impl fmt::Display for AlertCondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for AlertCondition {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for AlertCondition {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// Direction of a `percent_move` alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum MoveDirection {
    Up,
    Down,
    #[default]
    Either,
}

impl MoveDirection {
    pub fn as_str(&self) -> &'static str {
        match self {
            MoveDirection::Up => "up",
            MoveDirection::Down => "down",
            MoveDirection::Either => "either",
        }
    }
}

impl FromStr for MoveDirection {
    type Err = ConditionError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "up" => Ok(MoveDirection::Up),
            "down" => Ok(MoveDirection::Down),
            "either" => Ok(MoveDirection::Either),
            _ => Err(ConditionError),
        }
    }
}

/// What happens after an alert fires: cool down and fire again, or deactivate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum TriggerPolicy {
    #[default]
    Repeat,
    Once,
}

impl TriggerPolicy {
    pub fn as_str(&self) -> &'static str {
        match self {
            TriggerPolicy::Repeat => "repeat",
            TriggerPolicy::Once => "once",
        }
    }
}

impl FromStr for TriggerPolicy {
    type Err = ConditionError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "repeat" => Ok(TriggerPolicy::Repeat),
            "once" => Ok(TriggerPolicy::Once),
            _ => Err(ConditionError),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_round_trip_through_text() {
        for c in AlertCondition::ALL {
            assert_eq!(c.as_str().parse::<AlertCondition>(), Ok(c));
        }
        assert!("Above".parse::<AlertCondition>().is_err());
    }
}
