//! Typed settings: defaults in code, an optional TOML file, then environment overrides.
//!
//! The loader takes the environment as a map so it can be tested without touching the process.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use secrecy::SecretString;
use serde::Deserialize;

use crate::catalogue::Instrument;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("could not read settings file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid settings file {path}: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("environment variable {name} has an invalid value: {reason}")]
    Env { name: String, reason: String },
    #[error("invalid settings: {0}")]
    Invalid(String),
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Where the embedded default keeps its SQLite file and generated JWT secret.
    pub data_dir: PathBuf,
    pub database: DatabaseSettings,
    pub log: LogSettings,
    pub bus: BusSettings,
    pub gateway: GatewaySettings,
    pub ingestor: IngestorSettings,
    pub evaluator: EvaluatorSettings,
    pub notifier: NotifierSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    /// `postgres://…` or `sqlite://…`; unset means a SQLite file in `data_dir`.
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

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogSettings {
    /// An `EnvFilter` directive such as `info` or `gateway=debug,info`.
    pub level: String,
    /// JSON lines instead of human-readable output.
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

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BusSettings {
    /// Capacity of each in-process channel; a full channel makes publishers wait.
    pub channel_capacity: usize,
    pub kafka: KafkaSettings,
}

impl Default for BusSettings {
    fn default() -> Self {
        BusSettings {
            channel_capacity: 4096,
            kafka: KafkaSettings::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KafkaSettings {
    /// Set to use Kafka instead of the in-process bus.
    pub bootstrap_servers: Option<String>,
    pub price_events_topic: String,
    pub notifications_topic: String,
    pub alert_changes_topic: String,
    pub consumer_group_prefix: String,
    pub partitions: i32,
    pub replication_factor: i32,
    pub session_timeout_ms: u32,
    pub fetch_wait_max_ms: u32,
}

impl Default for KafkaSettings {
    fn default() -> Self {
        KafkaSettings {
            bootstrap_servers: None,
            price_events_topic: "price-events".to_owned(),
            notifications_topic: "notifications".to_owned(),
            alert_changes_topic: "alert-changes".to_owned(),
            consumer_group_prefix: "price-alert".to_owned(),
            partitions: 6,
            replication_factor: 1,
            session_timeout_ms: 10_000,
            fetch_wait_max_ms: 10,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GatewaySettings {
    pub host: IpAddr,
    pub port: u16,
    /// HS256 key, at least 32 bytes. Unset in the embedded default: generated once into `data_dir`.
    pub jwt_secret: Option<SecretString>,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    pub token_ttl_seconds: i64,
    /// Allowed CORS origins; empty allows any origin.
    pub cors_origins: Vec<String>,
    pub login_attempts_per_minute_per_account: u32,
    pub login_attempts_per_minute_per_ip: u32,
    /// Authenticated requests per second per user (burst of the same size).
    pub api_requests_per_second_per_user: u32,
    pub max_active_alerts_per_user: u32,
    /// Password hashes computed at once; more wait their turn on the blocking pool.
    pub max_concurrent_password_hashes: usize,
    /// Requests in flight at once; beyond it the gateway answers 503 at once instead of queueing.
    pub max_in_flight_requests: usize,
    pub request_timeout_seconds: u64,
}

impl Default for GatewaySettings {
    fn default() -> Self {
        GatewaySettings {
            host: IpAddr::from([0, 0, 0, 0]),
            port: 8000,
            jwt_secret: None,
            jwt_issuer: "pricealert".to_owned(),
            jwt_audience: "pricealert-api".to_owned(),
            token_ttl_seconds: 86_400,
            cors_origins: Vec::new(),
            login_attempts_per_minute_per_account: 10,
            login_attempts_per_minute_per_ip: 30,
            api_requests_per_second_per_user: 50,
            max_active_alerts_per_user: 100,
            max_concurrent_password_hashes: 2,
            max_in_flight_requests: 2048,
            request_timeout_seconds: 30,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IngestorSettings {
    pub port: u16,
    /// Replace the default catalogue (API.md's 55) with this list.
    pub instruments: Option<Vec<Instrument>>,
}

impl Default for IngestorSettings {
    fn default() -> Self {
        IngestorSettings {
            port: 8001,
            instruments: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvaluatorSettings {
    pub port: u16,
    /// Price history kept per symbol for `percent_move` averages; longer windows never fire.
    pub history_minutes: i64,
    /// Published outbox rows are deleted after this many hours.
    pub outbox_retention_hours: i64,
}

impl Default for EvaluatorSettings {
    fn default() -> Self {
        EvaluatorSettings {
            port: 8002,
            history_minutes: 24 * 60,
            outbox_retention_hours: 24,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotifierSettings {
    pub port: u16,
    pub smtp: SmtpSettings,
    pub twilio: TwilioSettings,
}

impl Default for NotifierSettings {
    fn default() -> Self {
        NotifierSettings {
            port: 8003,
            smtp: SmtpSettings::default(),
            twilio: TwilioSettings::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpSettings {
    /// Unset: email is not configured.
    pub host: Option<String>,
    pub port: u16,
    pub user: Option<String>,
    pub password: Option<SecretString>,
    pub from_email: String,
}

impl Default for SmtpSettings {
    fn default() -> Self {
        SmtpSettings {
            host: None,
            port: 587,
            user: None,
            password: None,
            from_email: "alerts@pricealert.local".to_owned(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct TwilioSettings {
    pub account_sid: Option<String>,
    pub auth_token: Option<SecretString>,
    pub phone_number: Option<String>,
}

impl Settings {
    /// Defaults, then the TOML file (if any), then the environment.
    ///
    /// The file is `config_file`, else `PRICEALERT_CONFIG` from `env`, else none.
    pub fn load(
        config_file: Option<&Path>,
        env: &HashMap<String, String>,
    ) -> Result<Settings, ConfigError> {
        let file = config_file
            .map(Path::to_path_buf)
            .or_else(|| env.get("PRICEALERT_CONFIG").map(PathBuf::from));
        let mut settings = match file {
            Some(path) => Settings::from_file(&path)?,
            None => Settings::default(),
        };
        apply_env(&mut settings, env)?;
        settings.validate()?;
        Ok(settings)
    }

    /// Settings from the process environment and an optional file.
    pub fn from_process_env(config_file: Option<&Path>) -> Result<Settings, ConfigError> {
        let env: HashMap<String, String> = std::env::vars().collect();
        Settings::load(config_file, &env)
    }

    fn from_file(path: &Path) -> Result<Settings, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_path_buf(),
            source: Box::new(source),
        })
    }

    fn validate(&self) -> Result<(), ConfigError> {
        use secrecy::ExposeSecret;
        if let Some(secret) = &self.gateway.jwt_secret {
            if secret.expose_secret().len() < 32 {
                return Err(ConfigError::Invalid(
                    "JWT_SECRET must be at least 32 bytes".to_owned(),
                ));
            }
        }
        if self.evaluator.history_minutes < 1 {
            return Err(ConfigError::Invalid(
                "evaluator.history_minutes must be at least 1".to_owned(),
            ));
        }
        if self.bus.channel_capacity == 0 {
            return Err(ConfigError::Invalid(
                "bus.channel_capacity must be at least 1".to_owned(),
            ));
        }
        Ok(())
    }

    /// The data directory, `./data` unless configured.
    pub fn data_dir(&self) -> PathBuf {
        if self.data_dir.as_os_str().is_empty() {
            PathBuf::from("data")
        } else {
            self.data_dir.clone()
        }
    }
}

fn parse_env<T: FromStr>(name: &str, value: &str) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    value.trim().parse().map_err(|e: T::Err| ConfigError::Env {
        name: name.to_owned(),
        reason: e.to_string(),
    })
}

fn secret(value: &str) -> SecretString {
    SecretString::from(value.to_owned())
}

fn non_empty(value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

/// The documented environment variables, each mapped onto its setting.
fn apply_env(s: &mut Settings, env: &HashMap<String, String>) -> Result<(), ConfigError> {
    for (name, value) in env {
        let value = value.as_str();
        match name.as_str() {
            "PRICEALERT_DATA_DIR" => s.data_dir = PathBuf::from(value),
            "DATABASE_URL" => s.database.url = non_empty(value).map(|v| secret(&v)),
            "DATABASE_MAX_CONNECTIONS" => s.database.max_connections = parse_env(name, value)?,
            "LOG_LEVEL" => s.log.level = value.to_owned(),
            "LOG_FORMAT" => s.log.json = value.eq_ignore_ascii_case("json"),
            "JWT_SECRET" => s.gateway.jwt_secret = non_empty(value).map(|v| secret(&v)),
            "GATEWAY_PORT" => s.gateway.port = parse_env(name, value)?,
            "GATEWAY_HOST" => s.gateway.host = parse_env(name, value)?,
            "CORS_ORIGINS" => {
                s.gateway.cors_origins = value.split(',').filter_map(non_empty).collect::<Vec<_>>()
            }
            "MAX_ACTIVE_ALERTS_PER_USER" => {
                s.gateway.max_active_alerts_per_user = parse_env(name, value)?
            }
            "INGESTOR_PORT" => s.ingestor.port = parse_env(name, value)?,
            "EVALUATOR_PORT" => s.evaluator.port = parse_env(name, value)?,
            "EVALUATOR_HISTORY_MINUTES" => s.evaluator.history_minutes = parse_env(name, value)?,
            "NOTIFIER_PORT" => s.notifier.port = parse_env(name, value)?,
            "KAFKA_BOOTSTRAP_SERVERS" => s.bus.kafka.bootstrap_servers = non_empty(value),
            "KAFKA_PRICE_EVENTS_TOPIC" => s.bus.kafka.price_events_topic = value.to_owned(),
            "KAFKA_NOTIFICATIONS_TOPIC" => s.bus.kafka.notifications_topic = value.to_owned(),
            "KAFKA_ALERT_CHANGES_TOPIC" => s.bus.kafka.alert_changes_topic = value.to_owned(),
            "KAFKA_CONSUMER_GROUP_PREFIX" => s.bus.kafka.consumer_group_prefix = value.to_owned(),
            "SMTP_HOST" => s.notifier.smtp.host = non_empty(value),
            "SMTP_PORT" => s.notifier.smtp.port = parse_env(name, value)?,
            "SMTP_USER" => s.notifier.smtp.user = non_empty(value),
            "SMTP_PASSWORD" => s.notifier.smtp.password = non_empty(value).map(|v| secret(&v)),
            "FROM_EMAIL" => s.notifier.smtp.from_email = value.to_owned(),
            "TWILIO_ACCOUNT_SID" => s.notifier.twilio.account_sid = non_empty(value),
            "TWILIO_AUTH_TOKEN" => {
                s.notifier.twilio.auth_token = non_empty(value).map(|v| secret(&v))
            }
            "TWILIO_PHONE_NUMBER" => s.notifier.twilio.phone_number = non_empty(value),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn defaults_need_no_configuration() {
        let settings = Settings::load(None, &env(&[])).expect("defaults load");
        assert_eq!(settings.gateway.port, 8000);
        assert_eq!(settings.ingestor.port, 8001);
        assert_eq!(settings.evaluator.port, 8002);
        assert_eq!(settings.notifier.port, 8003);
        assert!(settings.database.url.is_none());
        assert_eq!(settings.gateway.max_active_alerts_per_user, 100);
    }

    #[test]
    fn environment_overrides_file_which_overrides_defaults() {
        let dir = std::env::temp_dir().join(format!("pa-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("settings.toml");
        std::fs::write(
            &path,
            "[gateway]\nport = 9000\nmax_active_alerts_per_user = 5\n",
        )
        .expect("write");
        let settings = Settings::load(
            Some(&path),
            &env(&[
                ("GATEWAY_PORT", "9100"),
                ("DATABASE_URL", "postgres://localhost/test"),
            ]),
        )
        .expect("loads");
        assert_eq!(settings.gateway.port, 9100);
        assert_eq!(settings.gateway.max_active_alerts_per_user, 5);
        assert_eq!(
            settings
                .database
                .url
                .as_ref()
                .map(|u| u.expose_secret().to_owned()),
            Some("postgres://localhost/test".to_owned())
        );
    }

    #[test]
    fn unknown_keys_and_short_secrets_are_rejected() {
        let dir = std::env::temp_dir().join(format!("pa-config-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("settings.toml");
        std::fs::write(&path, "[gateway]\nprot = 9000\n").expect("write");
        assert!(matches!(
            Settings::load(Some(&path), &env(&[])),
            Err(ConfigError::Parse { .. })
        ));
        assert!(matches!(
            Settings::load(None, &env(&[("JWT_SECRET", "short")])),
            Err(ConfigError::Invalid(_))
        ));
        assert!(matches!(
            Settings::load(None, &env(&[("GATEWAY_PORT", "eighty")])),
            Err(ConfigError::Env { .. })
        ));
    }

    #[test]
    fn secrets_are_redacted_in_debug_output() {
        let settings = Settings::load(
            None,
            &env(&[
                ("SMTP_PASSWORD", "hunter2-very-secret"),
                ("JWT_SECRET", &"x".repeat(40)),
            ]),
        )
        .expect("loads");
        let debug = format!("{settings:?}");
        assert!(!debug.contains("hunter2"));
        assert!(!debug.contains(&"x".repeat(40)));
    }
}
