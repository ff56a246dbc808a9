use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};

/// An instrument symbol as users write it: 1..=20 chars of `A-Z 0-9 _ . -`, upper-cased.
///
/// A `Symbol` is well-formed; whether it names a known instrument is the catalogue's call.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Symbol(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SymbolError {
    #[error("symbol must be 1 to 20 characters")]
    Length,
    #[error("symbol may contain only letters, digits, '_', '.', '-' and '^'")]
    Characters,
}

impl Symbol {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Symbol {
    type Err = SymbolError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if text.is_empty() || text.chars().count() > 20 {
            return Err(SymbolError::Length);
        }
        if !text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '^' | '='))
        {
            return Err(SymbolError::Characters);
        }
        Ok(Symbol(text.to_ascii_uppercase()))
    }
}

impl<'de> Deserialize<'de> for Symbol {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for Symbol {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_are_upper_cased() {
        assert_eq!("btc".parse::<Symbol>().map(|s| s.0), Ok("BTC".to_owned()));
        assert_eq!(
            "crude_oil".parse::<Symbol>().map(|s| s.0),
            Ok("CRUDE_OIL".to_owned())
        );
    }

    #[test]
    fn bad_symbols_are_rejected() {
        assert_eq!("".parse::<Symbol>(), Err(SymbolError::Length));
        assert_eq!("A".repeat(21).parse::<Symbol>(), Err(SymbolError::Length));
        assert_eq!("BT C".parse::<Symbol>(), Err(SymbolError::Characters));
    }
}
