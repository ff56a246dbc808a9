//! Email over SMTP.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use secrecy::SecretString;
use serde::{Deserialize, Serialize, Serializer};

use crate::fields;
use domain::Email;

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS (required), usually port 587.
    Starttls,
    /// Implicit TLS from the first byte, usually port 465.
    Tls,
    /// No encryption: a local relay such as a sidecar MTA, usually port 25.
    None,
}

impl FromStr for SmtpTls {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "starttls" => Ok(SmtpTls::Starttls),
            "tls" | "implicit" => Ok(SmtpTls::Tls),
            "none" | "plain" => Ok(SmtpTls::None),
            other => Err(format!("'{other}' is not one of starttls, tls, none")),
        }
    }
}

/// The sender of every email: an address, optionally with a display name
/// (`alerts@example.com` or `Price Alerts <alerts@example.com>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FromAddress {
    name: Option<String>,
    email: Email,
}

impl FromAddress {
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    pub fn email(&self) -> &Email {
        &self.email
    }
}

impl FromStr for FromAddress {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let (name, address) = match text.strip_suffix('>').and_then(|t| t.rsplit_once('<')) {
            Some((name, address)) => (name.trim().trim_matches('"').trim(), address),
            None => ("", text),
        };
        let email = address.parse::<Email>().map_err(|e| {
            format!("{e} (write alerts@example.com or Price Alerts <alerts@example.com>)")
        })?;
        let name = (!name.is_empty()).then(|| name.to_owned());
        Ok(FromAddress { name, email })
    }
}

impl fmt::Display for FromAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "{name} <{}>", self.email),
            None => write!(f, "{}", self.email),
        }
    }
}

impl Serialize for FromAddress {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpSettings {
    /// Unset: email is not configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    pub port: u16,
    #[serde(deserialize_with = "fields::from_str")]
    pub tls: SmtpTls,
    /// Optional: a local relay needs no credentials.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(
        serialize_with = "fields::redacted",
        skip_serializing_if = "Option::is_none"
    )]
    pub password: Option<SecretString>,
    #[serde(deserialize_with = "fields::from_str")]
    pub from_email: FromAddress,
    /// The whole SMTP exchange of one message (at least 1 s).
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    /// PEM certificates trusted besides the public roots, for a relay whose certificate a
    /// private authority signed. The relay's certificate is always verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
}

impl Default for SmtpSettings {
    fn default() -> Self {
        SmtpSettings {
            host: None,
            port: 587,
            tls: SmtpTls::Starttls,
            user: None,
            password: None,
            from_email: FromAddress {
                name: None,
                email: Email::from_str("alerts@pricealert.local")
                    .expect("the default sender is a valid address"),
            },
            timeout: Duration::from_secs(30),
            ca_file: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sender_may_carry_a_display_name() {
        let plain: FromAddress = "alerts@example.com".parse().expect("plain address");
        assert_eq!(plain.name(), None);
        assert_eq!(plain.email().as_str(), "alerts@example.com");
        let named: FromAddress = "\"Price Alerts\" <Alerts@Example.com>"
            .parse()
            .expect("named address");
        assert_eq!(named.name(), Some("Price Alerts"));
        assert_eq!(named.email().as_str(), "alerts@example.com");
        assert_eq!(named.to_string(), "Price Alerts <alerts@example.com>");
        for bad in ["not an address", "Name <not-an-email>", "<>", ""] {
            assert!(bad.parse::<FromAddress>().is_err(), "{bad}");
        }
    }
}
