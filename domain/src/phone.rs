use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// A phone number normalised to E.164 (`+14155552671`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct PhoneNumber(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("value is not a valid phone number (use international format, e.g. +14155552671)")]
pub struct PhoneError;

impl PhoneNumber {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Wraps a number already stored in E.164 form (read back from our own database).
    pub fn from_stored(e164: String) -> Self {
        PhoneNumber(e164)
    }
}

impl FromStr for PhoneNumber {
    type Err = PhoneError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let parsed = phonenumber::parse(None, text.trim()).map_err(|_| PhoneError)?;
        if !phonenumber::is_valid(&parsed) {
            return Err(PhoneError);
        }
        Ok(PhoneNumber(
            parsed.format().mode(phonenumber::Mode::E164).to_string(),
        ))
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_normalised_to_e164() {
        let phone: PhoneNumber = "+1 (415) 555-2671".parse().expect("valid");
        assert_eq!(phone.as_str(), "+14155552671");
        let phone: PhoneNumber = "+91 98765 43210".parse().expect("valid");
        assert_eq!(phone.as_str(), "+919876543210");
    }

    #[test]
    fn invalid_numbers_are_rejected() {
        for bad in ["12", "hello", "+1 000", "4155552671"] {
            assert_eq!(bad.parse::<PhoneNumber>(), Err(PhoneError), "{bad}");
        }
    }
}
