//! The resolutions candles are stored at, and the intervals the API serves from them.

use std::fmt;
use std::str::FromStr;

/// A stored candle resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Resolution {
    Minute,
    Hour,
    Day,
}

impl Resolution {
    /// Finest first.
    pub const ALL: [Resolution; 3] = [Resolution::Minute, Resolution::Hour, Resolution::Day];

    pub fn seconds(self) -> i64 {
        match self {
            Resolution::Minute => 60,
            Resolution::Hour => 3_600,
            Resolution::Day => 86_400,
        }
    }

    /// The stored label (`1m`, `1h`, `1d`).
    pub fn as_str(self) -> &'static str {
        match self {
            Resolution::Minute => "1m",
            Resolution::Hour => "1h",
            Resolution::Day => "1d",
        }
    }

    /// The resolution its candles are rolled up from.
    pub fn finer(self) -> Option<Resolution> {
        match self {
            Resolution::Minute => None,
            Resolution::Hour => Some(Resolution::Minute),
            Resolution::Day => Some(Resolution::Hour),
        }
    }
}

impl fmt::Display for Resolution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A candle interval the API serves: 5m, 15m and 4h are rolled up from stored candles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Interval {
    M1,
    M5,
    M15,
    H1,
    H4,
    D1,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("interval must be one of 1m, 5m, 15m, 1h, 4h, 1d")]
pub struct IntervalError;

impl Interval {
    pub fn seconds(self) -> i64 {
        match self {
            Interval::M1 => 60,
            Interval::M5 => 300,
            Interval::M15 => 900,
            Interval::H1 => 3_600,
            Interval::H4 => 14_400,
            Interval::D1 => 86_400,
        }
    }

    /// The stored resolution its candles come from.
    pub fn source(self) -> Resolution {
        match self {
            Interval::M1 | Interval::M5 | Interval::M15 => Resolution::Minute,
            Interval::H1 | Interval::H4 => Resolution::Hour,
            Interval::D1 => Resolution::Day,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Interval::M1 => "1m",
            Interval::M5 => "5m",
            Interval::M15 => "15m",
            Interval::H1 => "1h",
            Interval::H4 => "4h",
            Interval::D1 => "1d",
        }
    }
}

impl FromStr for Interval {
    type Err = IntervalError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(match text {
            "1m" => Interval::M1,
            "5m" => Interval::M5,
            "15m" => Interval::M15,
            "1h" => Interval::H1,
            "4h" => Interval::H4,
            "1d" => Interval::D1,
            _ => return Err(IntervalError),
        })
    }
}

impl crate::input::FromInput for Interval {
    fn from_input(value: &serde_json::Value) -> Result<Self, crate::input::Invalid> {
        value
            .as_str()
            .and_then(|text| text.trim().parse().ok())
            .ok_or_else(|| {
                crate::input::Invalid::new(
                    "literal_error",
                    "Input should be '1m', '5m', '15m', '1h', '4h' or '1d'",
                )
            })
    }
}
