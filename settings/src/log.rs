//! What the services log, and how.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogSettings {
    /// An `EnvFilter` directive such as `info` or `gateway=debug,info`.
    pub level: String,
    /// JSON lines instead of human-readable output (`LOG_FORMAT=json`).
    pub json: bool,
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            level: "info".to_owned(),
            json: false,
        }
    }
}
