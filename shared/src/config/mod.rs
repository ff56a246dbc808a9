//! Typed settings: defaults in code, an optional TOML file, then environment overrides.
//!
//! The loader takes the environment as a map so it can be tested without touching the process.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use secrecy::SecretString;
use serde::Deserialize;

mod ingestor;

pub use ingestor::{
    CircuitBreakerSettings, CoinGeckoPlan, CoinGeckoSettings, HttpClientSettings, IngestorSettings,
    PriceSource, RetrySettings, SimulatedSettings, YahooSettings,
};

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
    /// Set to use Kafka instead of the in-process bus (`KAFKA_BOOTSTRAP_SERVERS`).
    pub bootstrap_servers: Option<String>,
    /// `PriceTick`s keyed by symbol (`KAFKA_PRICE_EVENTS_TOPIC`).
    pub price_events_topic: String,
    /// `TriggerEvent`s keyed by user id (`KAFKA_NOTIFICATIONS_TOPIC`).
    pub notifications_topic: String,
    /// `AlertChange`s keyed by symbol (`KAFKA_ALERT_CHANGES_TOPIC`).
    pub alert_changes_topic: String,
    /// Consumer groups are named `{prefix}-{service}` (`KAFKA_CONSUMER_GROUP_PREFIX`).
    pub consumer_group_prefix: String,
    /// Partitions of each topic created at start (`KAFKA_PARTITIONS`); existing topics are kept.
    pub partitions: i32,
    /// Replicas of each topic created at start (`KAFKA_REPLICATION_FACTOR`).
    pub replication_factor: i32,
    /// How long a silent consumer keeps its partitions (`KAFKA_SESSION_TIMEOUT_MS`): a killed
    /// process's partitions move after this long, so keep it low.
    pub session_timeout_ms: u32,
    /// How long a broker may hold a fetch waiting for data (`KAFKA_FETCH_WAIT_MAX_MS`); librdkafka's
    /// 500 ms default would dominate tick-to-email latency.
    pub fetch_wait_max_ms: u32,
    /// How long the producer waits to batch messages (`KAFKA_LINGER_MS`).
    pub linger_ms: u32,
    /// How often consumers report statistics, which feed `kafka_consumer_lag`
    /// (`KAFKA_STATISTICS_INTERVAL_MS`; 0 turns statistics and the lag gauge off).
    pub statistics_interval_ms: u32,
    /// How long a topic creation at start may take (`KAFKA_ADMIN_TIMEOUT_MS`).
    pub admin_timeout_ms: u32,
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
            linger_ms: 2,
            statistics_interval_ms: 5_000,
            admin_timeout_ms: 10_000,
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
    /// Password hashes computed at once; more wait their turn. 0 means half the cores (at
    /// least one), so logins can never take every core from the rest of the API.
    pub max_concurrent_password_hashes: usize,
    /// Requests in flight at once; beyond it the gateway answers 503 at once instead of queueing.
    pub max_in_flight_requests: usize,
    pub request_timeout_seconds: u64,
    /// Seconds of client silence after which the WebSocket sends a heartbeat.
    pub websocket_heartbeat_seconds: u64,
    /// How long a user's alert list may be served from memory (0 disables the cache). Writes
    /// through any gateway and alert fires evict it sooner.
    pub alert_list_cache_ms: u64,
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
            max_concurrent_password_hashes: 0,
            max_in_flight_requests: 2048,
            request_timeout_seconds: 30,
            websocket_heartbeat_seconds: 30,
            alert_list_cache_ms: 1000,
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
    /// How often alerts written recently are re-read from storage, so a change whose bus
    /// message was lost still reaches the index (milliseconds).
    pub alert_resync_ms: u64,
}

impl Default for EvaluatorSettings {
    fn default() -> Self {
        EvaluatorSettings {
            port: 8002,
            history_minutes: 24 * 60,
            outbox_retention_hours: 24,
            alert_resync_ms: 10_000,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotifierSettings {
    pub port: u16,
    pub smtp: SmtpSettings,
    pub twilio: TwilioSettings,
    pub webhook: WebhookSettings,
    pub rate_limit: NotifierRateLimitSettings,
    pub retry: NotifierRetrySettings,
    /// How long one attempt may hold a delivery. Longer than any send timeout: a claim that
    /// outlives it means the notifier stopped mid-send (email/webhook are then resent with the
    /// same Message-ID / event id; an SMS becomes `unknown`).
    pub claim_timeout_seconds: u64,
    /// Longest pause between scans of the delivery table (new events wake it at once).
    pub poll_interval_ms: u64,
    /// At most this many held-back deliveries go into one digest message.
    pub digest_max_items: usize,
    /// Users (per channel) served at once; bounds connections to the providers.
    pub max_concurrent_sends: usize,
}

impl Default for NotifierSettings {
    fn default() -> Self {
        NotifierSettings {
            port: 8003,
            smtp: SmtpSettings::default(),
            twilio: TwilioSettings::default(),
            webhook: WebhookSettings::default(),
            rate_limit: NotifierRateLimitSettings::default(),
            retry: NotifierRetrySettings::default(),
            claim_timeout_seconds: 120,
            poll_interval_ms: 1000,
            digest_max_items: 50,
            max_concurrent_sends: 32,
        }
    }
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
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

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpSettings {
    /// Unset: email is not configured.
    pub host: Option<String>,
    pub port: u16,
    pub tls: SmtpTls,
    /// Optional: a local relay needs no credentials.
    pub user: Option<String>,
    pub password: Option<SecretString>,
    pub from_email: String,
    pub timeout_seconds: u64,
}

impl Default for SmtpSettings {
    fn default() -> Self {
        SmtpSettings {
            host: None,
            port: 587,
            tls: SmtpTls::Starttls,
            user: None,
            password: None,
            from_email: "alerts@pricealert.local".to_owned(),
            timeout_seconds: 30,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TwilioSettings {
    pub account_sid: Option<String>,
    pub auth_token: Option<SecretString>,
    pub phone_number: Option<String>,
    /// `https://api.twilio.com`; tests point it at a local server.
    pub base_url: String,
    /// A request without an answer by then has an unknown outcome and is not resent.
    pub timeout_seconds: f64,
}

impl Default for TwilioSettings {
    fn default() -> Self {
        TwilioSettings {
            account_sid: None,
            auth_token: None,
            phone_number: None,
            base_url: "https://api.twilio.com".to_owned(),
            timeout_seconds: 10.0,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookSettings {
    pub timeout_seconds: f64,
    /// Allow loopback/private/link-local targets (tests, trusted networks). Off by default.
    pub allow_private_addresses: bool,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            timeout_seconds: 5.0,
            allow_private_addresses: false,
        }
    }
}

/// Per user and channel: at most `max_per_period` messages per `period_seconds`; the excess
/// is held back and sent as one digest when the budget allows.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotifierRateLimitSettings {
    pub max_per_period: u32,
    pub period_seconds: f64,
}

impl Default for NotifierRateLimitSettings {
    fn default() -> Self {
        NotifierRateLimitSettings {
            max_per_period: 10,
            period_seconds: 60.0,
        }
    }
}

/// Retries of transient failures: exponential backoff from `initial_backoff_ms`, capped,
/// until `max_attempts`; then the delivery is `failed` and kept as a dead letter.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotifierRetrySettings {
    pub max_attempts: u32,
    pub initial_backoff_ms: u64,
    pub max_backoff_seconds: u64,
}

impl Default for NotifierRetrySettings {
    fn default() -> Self {
        NotifierRetrySettings {
            max_attempts: 8,
            initial_backoff_ms: 2000,
            max_backoff_seconds: 600,
        }
    }
}

impl NotifierSettings {
    fn validate(&self) -> Result<(), ConfigError> {
        let positive = |value: f64| value.is_finite() && value > 0.0;
        if self.rate_limit.max_per_period == 0 || !positive(self.rate_limit.period_seconds) {
            return Err(ConfigError::Invalid(
                "notifier.rate_limit needs max_per_period >= 1 and a positive period_seconds"
                    .to_owned(),
            ));
        }
        if !positive(self.twilio.timeout_seconds) || !positive(self.webhook.timeout_seconds) {
            return Err(ConfigError::Invalid(
                "notifier timeouts must be positive".to_owned(),
            ));
        }
        let longest_send = (self.smtp.timeout_seconds as f64)
            .max(self.twilio.timeout_seconds)
            .max(self.webhook.timeout_seconds);
        if (self.claim_timeout_seconds as f64) <= longest_send {
            return Err(ConfigError::Invalid(
                "notifier.claim_timeout_seconds must be longer than every send timeout".to_owned(),
            ));
        }
        if self.retry.max_attempts == 0
            || self.digest_max_items == 0
            || self.max_concurrent_sends == 0
        {
            return Err(ConfigError::Invalid(
                "notifier.retry.max_attempts, digest_max_items and max_concurrent_sends must be \
                 at least 1"
                    .to_owned(),
            ));
        }
        Ok(())
    }
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
        self.notifier.validate()?;
        let kafka = &self.bus.kafka;
        if kafka.partitions < 1 || kafka.replication_factor < 1 {
            return Err(ConfigError::Invalid(
                "bus.kafka.partitions and bus.kafka.replication_factor must be at least 1"
                    .to_owned(),
            ));
        }
        let topics = [
            &kafka.price_events_topic,
            &kafka.alert_changes_topic,
            &kafka.notifications_topic,
        ];
        if topics.iter().any(|t| t.trim().is_empty())
            || topics[0] == topics[1]
            || topics[1] == topics[2]
            || topics[0] == topics[2]
        {
            return Err(ConfigError::Invalid(
                "the three Kafka topic names must be set and distinct".to_owned(),
            ));
        }
        if self.evaluator.history_minutes < 1 {
            return Err(ConfigError::Invalid(
                "evaluator.history_minutes must be at least 1".to_owned(),
            ));
        }
        if self.evaluator.alert_resync_ms == 0 {
            return Err(ConfigError::Invalid(
                "evaluator.alert_resync_ms must be at least 1".to_owned(),
            ));
        }
        if self.bus.channel_capacity == 0 {
            return Err(ConfigError::Invalid(
                "bus.channel_capacity must be at least 1".to_owned(),
            ));
        }
        self.ingestor.validate()?;
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
            "ALERT_LIST_CACHE_MS" => s.gateway.alert_list_cache_ms = parse_env(name, value)?,
            "API_RATE_LIMIT_PER_SECOND" => {
                s.gateway.api_requests_per_second_per_user = parse_env(name, value)?
            }
            "LOGIN_RATE_LIMIT_PER_MINUTE" => {
                let limit: u32 = parse_env(name, value)?;
                s.gateway.login_attempts_per_minute_per_account = limit;
                s.gateway.login_attempts_per_minute_per_ip = limit.saturating_mul(3);
            }
            "INGESTOR_PORT" => s.ingestor.port = parse_env(name, value)?,
            "EVALUATOR_PORT" => s.evaluator.port = parse_env(name, value)?,
            "EVALUATOR_HISTORY_MINUTES" => s.evaluator.history_minutes = parse_env(name, value)?,
            "EVALUATOR_ALERT_RESYNC_MS" => s.evaluator.alert_resync_ms = parse_env(name, value)?,
            "NOTIFIER_PORT" => s.notifier.port = parse_env(name, value)?,
            "KAFKA_BOOTSTRAP_SERVERS" => s.bus.kafka.bootstrap_servers = non_empty(value),
            "KAFKA_PRICE_EVENTS_TOPIC" => s.bus.kafka.price_events_topic = value.to_owned(),
            "KAFKA_NOTIFICATIONS_TOPIC" => s.bus.kafka.notifications_topic = value.to_owned(),
            "KAFKA_ALERT_CHANGES_TOPIC" => s.bus.kafka.alert_changes_topic = value.to_owned(),
            "KAFKA_CONSUMER_GROUP_PREFIX" => s.bus.kafka.consumer_group_prefix = value.to_owned(),
            "KAFKA_PARTITIONS" => s.bus.kafka.partitions = parse_env(name, value)?,
            "KAFKA_REPLICATION_FACTOR" => s.bus.kafka.replication_factor = parse_env(name, value)?,
            "KAFKA_SESSION_TIMEOUT_MS" => s.bus.kafka.session_timeout_ms = parse_env(name, value)?,
            "KAFKA_FETCH_WAIT_MAX_MS" => s.bus.kafka.fetch_wait_max_ms = parse_env(name, value)?,
            "KAFKA_LINGER_MS" => s.bus.kafka.linger_ms = parse_env(name, value)?,
            "KAFKA_STATISTICS_INTERVAL_MS" => {
                s.bus.kafka.statistics_interval_ms = parse_env(name, value)?
            }
            "KAFKA_ADMIN_TIMEOUT_MS" => s.bus.kafka.admin_timeout_ms = parse_env(name, value)?,
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
            "SMTP_TLS" => {
                s.notifier.smtp.tls = value.parse().map_err(|reason| ConfigError::Env {
                    name: name.to_owned(),
                    reason,
                })?
            }
            "SMTP_TIMEOUT_SECONDS" => s.notifier.smtp.timeout_seconds = parse_env(name, value)?,
            "TWILIO_BASE_URL" => s.notifier.twilio.base_url = value.trim().to_owned(),
            "TWILIO_TIMEOUT_SECONDS" => s.notifier.twilio.timeout_seconds = parse_env(name, value)?,
            "WEBHOOK_TIMEOUT_SECONDS" => {
                s.notifier.webhook.timeout_seconds = parse_env(name, value)?
            }
            "WEBHOOK_ALLOW_PRIVATE_ADDRESSES" => {
                s.notifier.webhook.allow_private_addresses = parse_env(name, value)?
            }
            "NOTIFIER_RATE_LIMIT_PER_PERIOD" => {
                s.notifier.rate_limit.max_per_period = parse_env(name, value)?
            }
            "NOTIFIER_RATE_LIMIT_PERIOD_SECONDS" => {
                s.notifier.rate_limit.period_seconds = parse_env(name, value)?
            }
            "NOTIFIER_MAX_ATTEMPTS" => s.notifier.retry.max_attempts = parse_env(name, value)?,
            other => ingestor::apply_env(&mut s.ingestor, other, value)?,
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
    fn notifier_settings_come_from_the_documented_environment() {
        let settings = Settings::load(
            None,
            &env(&[
                ("SMTP_HOST", "relay.internal"),
                ("SMTP_PORT", "25"),
                ("SMTP_TLS", "none"),
                ("TWILIO_BASE_URL", "http://127.0.0.1:9999"),
                ("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", "true"),
                ("NOTIFIER_RATE_LIMIT_PER_PERIOD", "5"),
                ("NOTIFIER_RATE_LIMIT_PERIOD_SECONDS", "30"),
                ("NOTIFIER_MAX_ATTEMPTS", "3"),
            ]),
        )
        .expect("loads");
        let notifier = &settings.notifier;
        assert_eq!(notifier.smtp.host.as_deref(), Some("relay.internal"));
        assert_eq!(notifier.smtp.port, 25);
        assert_eq!(notifier.smtp.tls, SmtpTls::None);
        assert_eq!(notifier.twilio.base_url, "http://127.0.0.1:9999");
        assert!(notifier.webhook.allow_private_addresses);
        assert_eq!(notifier.rate_limit.max_per_period, 5);
        assert_eq!(notifier.rate_limit.period_seconds, 30.0);
        assert_eq!(notifier.retry.max_attempts, 3);
        let defaults = Settings::load(None, &env(&[])).expect("defaults");
        assert_eq!(defaults.notifier.rate_limit.max_per_period, 10);
        assert_eq!(defaults.notifier.rate_limit.period_seconds, 60.0);
        assert_eq!(defaults.notifier.webhook.timeout_seconds, 5.0);
        assert!(!defaults.notifier.webhook.allow_private_addresses);
    }

    #[test]
    fn notifier_settings_that_could_send_twice_or_never_are_rejected() {
        assert!(matches!(
            Settings::load(None, &env(&[("SMTP_TLS", "ssl3")])),
            Err(ConfigError::Env { .. })
        ));
        assert!(matches!(
            Settings::load(None, &env(&[("NOTIFIER_RATE_LIMIT_PER_PERIOD", "0")])),
            Err(ConfigError::Invalid(_))
        ));
        // A claim shorter than a send would let a second attempt start while the first runs.
        assert!(matches!(
            Settings::load(None, &env(&[("SMTP_TIMEOUT_SECONDS", "600")])),
            Err(ConfigError::Invalid(_))
        ));
    }

    #[test]
    fn kafka_settings_come_from_the_documented_environment() {
        let settings = Settings::load(
            None,
            &env(&[
                ("KAFKA_BOOTSTRAP_SERVERS", "kafka:9092"),
                ("KAFKA_PRICE_EVENTS_TOPIC", "ticks"),
                ("KAFKA_PARTITIONS", "12"),
                ("KAFKA_SESSION_TIMEOUT_MS", "6000"),
                ("KAFKA_FETCH_WAIT_MAX_MS", "5"),
                ("KAFKA_STATISTICS_INTERVAL_MS", "1000"),
            ]),
        )
        .expect("loads");
        let kafka = &settings.bus.kafka;
        assert_eq!(kafka.bootstrap_servers.as_deref(), Some("kafka:9092"));
        assert_eq!(kafka.price_events_topic, "ticks");
        assert_eq!(kafka.notifications_topic, "notifications");
        assert_eq!(kafka.partitions, 12);
        assert_eq!(kafka.session_timeout_ms, 6000);
        assert_eq!(kafka.fetch_wait_max_ms, 5);
        assert_eq!(kafka.statistics_interval_ms, 1000);
        assert!(matches!(
            Settings::load(None, &env(&[("KAFKA_NOTIFICATIONS_TOPIC", "price-events")])),
            Err(ConfigError::Invalid(_))
        ));
        assert!(matches!(
            Settings::load(None, &env(&[("KAFKA_PARTITIONS", "0")])),
            Err(ConfigError::Invalid(_))
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
