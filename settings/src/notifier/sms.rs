//! SMS through Twilio.

use std::time::Duration;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::fields;
use domain::PhoneNumber;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TwilioSettings {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_sid: Option<String>,
    #[serde(
        serialize_with = "fields::redacted",
        skip_serializing_if = "Option::is_none"
    )]
    pub auth_token: Option<SecretString>,
    /// The sender (`From`) of every SMS, normalised to E.164.
    #[serde(
        deserialize_with = "fields::option_from_str",
        skip_serializing_if = "Option::is_none"
    )]
    pub phone_number: Option<PhoneNumber>,
    /// `https://api.twilio.com`; tests point it at a local server.
    pub base_url: String,
    /// A request without an answer by then has an unknown outcome and is not resent.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
}

impl Default for TwilioSettings {
    fn default() -> Self {
        TwilioSettings {
            account_sid: None,
            auth_token: None,
            phone_number: None,
            base_url: "https://api.twilio.com".to_owned(),
            timeout: Duration::from_secs(10),
        }
    }
}
