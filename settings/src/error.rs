//! What loading settings can fail with.

use std::path::PathBuf;

/// What went wrong, and where: the file (with line, column and key) or the variable (with the
/// setting it sets). A secret's value is never part of the message.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("could not read settings file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "invalid settings file {}, line {line}, column {column}{}: {message}",
        path.display(),
        key.as_ref().map(|key| format!(", key {key}")).unwrap_or_default()
    )]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        /// The dotted path of the offending key, when the file parsed far enough to tell.
        key: Option<String>,
        message: String,
    },
    #[error("environment variable {name} ({path}): {reason}")]
    Env {
        name: String,
        path: String,
        reason: String,
    },
    #[error("invalid settings: {0}")]
    Invalid(String),
}
