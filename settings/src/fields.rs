//! Serde helpers shared by the sections: secrets that never serialise, values read with
//! `FromStr` (so the file and the environment accept the same spellings), and URL checks.

use std::fmt::Display;
use std::str::FromStr;

use secrecy::SecretString;
use serde::{Deserialize, Deserializer, Serializer};

use super::ConfigError;

/// Where the settings tree holds a secret: their values are never shown, not even in errors.
pub(super) const SECRET_PATHS: &[&str] = &[
    "database.url",
    "gateway.jwt_secret",
    "notifier.smtp.password",
    "notifier.twilio.auth_token",
    "notifier.telegram.bot_token",
    "ingestor.coingecko.api_key",
];

/// What a secret serialises to: the settings tree says a secret is set, never what it is.
pub(super) const REDACTED: &str = "[redacted]";

pub(super) fn redacted<S: Serializer>(
    _secret: &Option<SecretString>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(REDACTED)
}

/// A value parsed with its `FromStr`, whose error becomes the deserialisation error.
pub(super) fn from_str<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr,
    T::Err: Display,
{
    String::deserialize(deserializer)?
        .parse()
        .map_err(serde::de::Error::custom)
}

/// [`from_str`] for an optional value.
pub(super) fn option_from_str<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr,
    T::Err: Display,
{
    Option::<String>::deserialize(deserializer)?
        .map(|text| text.parse().map_err(serde::de::Error::custom))
        .transpose()
}

/// A base URL must be an absolute `http` or `https` URL; a typo fails at start, not at the
/// first request.
pub(super) fn check_http_url(path: &str, url: &str) -> Result<(), ConfigError> {
    match url::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => Ok(()),
        Ok(_) => Err(ConfigError::Invalid(format!(
            "{path} must be an http or https URL"
        ))),
        Err(e) => Err(ConfigError::Invalid(format!(
            "{path} is not a valid URL: {e}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;
    use crate::Settings;

    /// The paths where the serialised settings say `[redacted]`, with every secret set.
    fn redacted_paths(value: &toml::Value, path: &str, found: &mut Vec<String>) {
        match value {
            toml::Value::String(text) if text == REDACTED => found.push(path.to_owned()),
            toml::Value::Table(table) => {
                for (key, child) in table {
                    let child_path = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    redacted_paths(child, &child_path, found);
                }
            }
            _ => {}
        }
    }

    #[test]
    fn secret_paths_name_every_secret_of_the_settings() {
        let secret = || Some(SecretString::from("s3cr3t".to_owned()));
        let mut settings = Settings::default();
        settings.database.url = secret();
        settings.gateway.jwt_secret = secret();
        settings.notifier.smtp.password = secret();
        settings.notifier.twilio.auth_token = secret();
        settings.notifier.telegram.bot_token = secret();
        settings.ingestor.coingecko.api_key = secret();
        let tree = toml::Value::try_from(&settings).expect("serialises");
        let mut found = Vec::new();
        redacted_paths(&tree, "", &mut found);
        found.sort();
        let mut expected: Vec<String> = SECRET_PATHS.iter().map(|p| (*p).to_owned()).collect();
        expected.sort();
        assert_eq!(found, expected);
    }
}
