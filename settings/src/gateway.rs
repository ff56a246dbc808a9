//! The HTTP API: where it listens, how it signs tokens, what it allows.

use std::net::IpAddr;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::{fields, ConfigError};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GatewaySettings {
    pub host: IpAddr,
    pub port: u16,
    /// HS256 key, at least 32 bytes. Unset in the embedded default: generated once into `data_dir`.
    #[serde(
        serialize_with = "fields::redacted",
        skip_serializing_if = "Option::is_none"
    )]
    pub jwt_secret: Option<SecretString>,
    pub jwt_issuer: String,
    pub jwt_audience: String,
    /// How long an issued token stays valid.
    #[serde(with = "humantime_serde")]
    pub token_ttl: Duration,
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
    /// A request still running after this long is answered with 503 (at least 1 s). Counted
    /// from when its body has arrived.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// A connection that has not sent a request's whole header block this long after it
    /// began is closed (at least 1 s).
    #[serde(with = "humantime_serde")]
    pub header_read_timeout: Duration,
    /// A request whose body has not arrived this long after its headers is answered 408
    /// (at least 1 s; each request's deadline is drawn between ¾ of this and this, so uploads
    /// started together are not all cut, and reconnected, in one burst). Bodies are read before the request takes an in-flight slot, so slow
    /// uploads cannot hold the slots honest requests need.
    #[serde(with = "humantime_serde")]
    pub body_read_timeout: Duration,
    /// Open connections at once; a connection beyond it is answered 503 and closed.
    pub max_connections: usize,
    /// Open connections at once from one client address; beyond it, 429 and closed.
    pub max_connections_per_address: usize,
    /// Requests in flight at once from one client address (bodies still arriving included);
    /// beyond it, 429 at once.
    pub max_in_flight_requests_per_address: usize,
    /// Client silence after which the WebSocket sends a heartbeat (at least 1 s).
    #[serde(with = "humantime_serde")]
    pub websocket_heartbeat: Duration,
    /// WebSockets open at once; one beyond it is closed with code 1013 (try again later).
    /// Counted inside `max_connections`, which must leave room for the REST API.
    pub websocket_max_connections: usize,
    /// WebSockets open at once from one client address; beyond it, closed with code 1013.
    pub websocket_max_connections_per_address: usize,
    /// How often the users of authenticated WebSockets are looked up again, so a socket of a
    /// user deleted through another replica stops receiving their alerts (at least 1 s).
    #[serde(with = "humantime_serde")]
    pub websocket_auth_recheck: Duration,
    /// How long a user's alert list may be served from memory (0 disables the cache). Writes
    /// through any gateway, alert fires and the expiry of an alert it shows active end it
    /// sooner; this bounds only what those miss (a bus outage, an operator's SQL).
    #[serde(with = "humantime_serde")]
    pub alert_list_cache: Duration,
    /// How long the account behind a token may be served from memory. Changes through any
    /// gateway evict it sooner (on PostgreSQL through database notices; while those are not
    /// flowing an entry lives at most 2 s).
    #[serde(with = "humantime_serde")]
    pub user_cache: Duration,
}

impl Default for GatewaySettings {
    fn default() -> Self {
        GatewaySettings {
            host: IpAddr::from([0, 0, 0, 0]),
            port: 8000,
            jwt_secret: None,
            jwt_issuer: "pricealert".to_owned(),
            jwt_audience: "pricealert-api".to_owned(),
            token_ttl: Duration::from_secs(86_400),
            cors_origins: Vec::new(),
            login_attempts_per_minute_per_account: 10,
            login_attempts_per_minute_per_ip: 30,
            api_requests_per_second_per_user: 50,
            max_active_alerts_per_user: 100,
            max_concurrent_password_hashes: 0,
            max_in_flight_requests: 2048,
            request_timeout: Duration::from_secs(30),
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(10),
            max_connections: 10_000,
            max_connections_per_address: 256,
            max_in_flight_requests_per_address: 128,
            websocket_heartbeat: Duration::from_secs(30),
            websocket_max_connections: 9_000,
            websocket_max_connections_per_address: 200,
            websocket_auth_recheck: Duration::from_secs(30),
            alert_list_cache: Duration::from_secs(10),
            user_cache: Duration::from_secs(60),
        }
    }
}

impl GatewaySettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if let Some(secret) = &self.jwt_secret {
            if secret.expose_secret().len() < 32 {
                return Err(ConfigError::Invalid(
                    "JWT_SECRET must be at least 32 bytes".to_owned(),
                ));
            }
        }
        Ok(())
    }
}
