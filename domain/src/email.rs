use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};

/// A syntactically valid email address, stored lower-cased so uniqueness is case-insensitive.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Email(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("value is not a valid email address")]
pub struct EmailError;

impl Email {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Email {
    type Err = EmailError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if text.len() > 254 {
            return Err(EmailError);
        }
        let parsed = email_address::EmailAddress::from_str(text).map_err(|_| EmailError)?;
        // Require a dotted domain: `user@localhost` is valid RFC 5322 but never a real inbox.
        if !parsed.domain().contains('.') || text.contains(['<', '>', ' ']) {
            return Err(EmailError);
        }
        Ok(Email(text.to_lowercase()))
    }
}

impl<'de> Deserialize<'de> for Email {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_lower_cased() {
        let email: Email = "Alice@Example.COM".parse().expect("valid");
        assert_eq!(email.as_str(), "alice@example.com");
    }

    #[test]
    fn invalid_emails_are_rejected() {
        for bad in [
            "",
            "alice",
            "alice@",
            "@example.com",
            "a b@example.com",
            "a@localhost",
        ] {
            assert_eq!(bad.parse::<Email>(), Err(EmailError), "{bad}");
        }
    }
}
