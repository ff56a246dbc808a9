//! Where the data lives.

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::fields;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `postgres://…` or `sqlite://…`; unset means a SQLite file in `data_dir`.
    #[serde(
        serialize_with = "fields::redacted",
        skip_serializing_if = "Option::is_none"
    )]
    pub url: Option<SecretString>,
    pub max_connections: u32,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        DatabaseSettings {
            url: None,
            max_connections: 16,
        }
    }
}
