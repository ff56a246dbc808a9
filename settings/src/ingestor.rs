//! Settings of the ingestor: where prices come from, how politely they are fetched.
//!
//! Durations are `Duration`s (`"60s"`, `"500ms"` in the file) so tests can run cycles in a
//! fraction of a second.
//! Every default stays inside the providers' free tiers.

use std::str::FromStr;
use std::time::Duration;

use rust_decimal::Decimal;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::feeds::{self, BinanceSettings, FailoverSettings};
use super::{fields, ConfigError};
use domain::catalogue::Instrument;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IngestorSettings {
    pub port: u16,
    /// `live` (CoinGecko + Yahoo Finance, the default) or `simulated` (an offline random walk).
    #[serde(deserialize_with = "fields::from_str")]
    pub price_source: PriceSource,
    /// Replace the default catalogue (API.md's 55) with this list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instruments: Option<Vec<Instrument>>,
    /// A quote further than this percent from the last published price is held back until the
    /// next quote confirms it.
    pub glitch_band_percent: Decimal,
    pub http: HttpClientSettings,
    pub retry: RetrySettings,
    pub circuit_breaker: CircuitBreakerSettings,
    pub coingecko: CoinGeckoSettings,
    pub yahoo: YahooSettings,
    pub simulated: SimulatedSettings,
    pub binance: BinanceSettings,
    pub failover: FailoverSettings,
}

impl Default for IngestorSettings {
    fn default() -> Self {
        IngestorSettings {
            port: 8001,
            price_source: PriceSource::Live,
            instruments: None,
            glitch_band_percent: Decimal::from(25),
            http: HttpClientSettings::default(),
            retry: RetrySettings::default(),
            circuit_breaker: CircuitBreakerSettings::default(),
            coingecko: CoinGeckoSettings::default(),
            yahoo: YahooSettings::default(),
            simulated: SimulatedSettings::default(),
            binance: BinanceSettings::default(),
            failover: FailoverSettings::default(),
        }
    }
}

/// Where prices come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PriceSource {
    /// CoinGecko for the coins, Yahoo Finance for the rest.
    Live,
    /// A seeded random walk, for machines without internet; every tick says `simulated`.
    Simulated,
}

impl FromStr for PriceSource {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "live" => Ok(PriceSource::Live),
            "simulated" => Ok(PriceSource::Simulated),
            other => Err(format!("'{other}' is not one of live, simulated")),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpClientSettings {
    /// Whole-request timeout; a timed-out request is retried with backoff.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    pub user_agent: String,
}

impl Default for HttpClientSettings {
    fn default() -> Self {
        HttpClientSettings {
            timeout: Duration::from_secs(10),
            user_agent: concat!(
                "Mozilla/5.0 (compatible; pricealert/",
                env!("CARGO_PKG_VERSION"),
                ")"
            )
            .to_owned(),
        }
    }
}

/// Retries inside one polling cycle, shared by both live providers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetrySettings {
    /// Requests per call, the first included.
    pub max_attempts: u32,
    /// The n-th retry waits between half and all of `backoff_base * 2^(n-1)`, capped.
    #[serde(with = "humantime_serde")]
    pub backoff_base: Duration,
    #[serde(with = "humantime_serde")]
    pub backoff_max: Duration,
    /// Wait after a 429 that carries no `Retry-After`.
    #[serde(with = "humantime_serde")]
    pub default_retry_after: Duration,
    /// Longest `Retry-After` believed; longer values are cut to this.
    #[serde(with = "humantime_serde")]
    pub max_retry_after: Duration,
}

impl Default for RetrySettings {
    fn default() -> Self {
        RetrySettings {
            max_attempts: 3,
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(30),
            default_retry_after: Duration::from_secs(60),
            max_retry_after: Duration::from_secs(3600),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CircuitBreakerSettings {
    /// Consecutive failed cycles that pause a provider.
    pub failure_threshold: u32,
    /// How long a paused provider is left alone before one trial cycle.
    #[serde(with = "humantime_serde")]
    pub open_for: Duration,
}

impl Default for CircuitBreakerSettings {
    fn default() -> Self {
        CircuitBreakerSettings {
            failure_threshold: 5,
            open_for: Duration::from_secs(300),
        }
    }
}

/// Which CoinGecko plan an API key belongs to (it decides the header and the default host).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CoinGeckoPlan {
    /// `x-cg-demo-api-key` on api.coingecko.com.
    Demo,
    /// `x-cg-pro-api-key` on pro-api.coingecko.com.
    Pro,
}

impl FromStr for CoinGeckoPlan {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "demo" => Ok(CoinGeckoPlan::Demo),
            "pro" => Ok(CoinGeckoPlan::Pro),
            other => Err(format!("'{other}' is not one of demo, pro")),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CoinGeckoSettings {
    /// Unset: `https://api.coingecko.com`, or `https://pro-api.coingecko.com` for the pro plan.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// Optional; without one the public (keyless) API is used.
    #[serde(
        serialize_with = "fields::redacted",
        skip_serializing_if = "Option::is_none"
    )]
    pub api_key: Option<SecretString>,
    #[serde(deserialize_with = "fields::from_str")]
    pub api_plan: CoinGeckoPlan,
    /// One `/simple/price` call for every coin per cycle. CoinGecko caches it for ~60 s.
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    /// The call budget (sustained rate).
    pub requests_per_minute: u32,
    /// Calls allowed back to back before the sustained rate applies.
    pub burst: u32,
}

impl Default for CoinGeckoSettings {
    fn default() -> Self {
        CoinGeckoSettings {
            base_url: None,
            api_key: None,
            api_plan: CoinGeckoPlan::Demo,
            interval: Duration::from_secs(60),
            requests_per_minute: 5,
            burst: 1,
        }
    }
}

impl CoinGeckoSettings {
    pub fn effective_base_url(&self) -> String {
        match (&self.base_url, self.api_plan) {
            (Some(url), _) => url.trim_end_matches('/').to_owned(),
            (None, CoinGeckoPlan::Pro) => "https://pro-api.coingecko.com".to_owned(),
            (None, CoinGeckoPlan::Demo) => "https://api.coingecko.com".to_owned(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct YahooSettings {
    pub base_url: String,
    /// One `/v8/finance/chart/{symbol}` call per instrument per cycle.
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    /// The call budget (sustained rate); 25 instruments a minute stay well under it.
    pub requests_per_minute: u32,
    pub burst: u32,
    /// Chart requests in flight at once.
    pub concurrency: usize,
}

impl Default for YahooSettings {
    fn default() -> Self {
        YahooSettings {
            base_url: "https://query1.finance.yahoo.com".to_owned(),
            interval: Duration::from_secs(60),
            requests_per_minute: 30,
            burst: 5,
            concurrency: 4,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimulatedSettings {
    /// Every instrument moves once per interval.
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    /// The same seed gives the same walk.
    pub seed: u64,
}

impl Default for SimulatedSettings {
    fn default() -> Self {
        SimulatedSettings {
            interval: Duration::from_secs(1),
            seed: 42,
        }
    }
}

impl IngestorSettings {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |what: &str| Err(ConfigError::Invalid(format!("ingestor.{what}")));
        if self.glitch_band_percent <= Decimal::ZERO {
            return invalid("glitch_band_percent must be above 0");
        }
        if self.http.timeout.is_zero() {
            return invalid("http.timeout must be longer than 0");
        }
        if self.retry.max_attempts == 0 {
            return invalid("retry.max_attempts must be at least 1");
        }
        if self.circuit_breaker.failure_threshold == 0 {
            return invalid("circuit_breaker.failure_threshold must be at least 1");
        }
        let intervals = [
            self.coingecko.interval,
            self.yahoo.interval,
            self.simulated.interval,
        ];
        if intervals.iter().any(Duration::is_zero) {
            return invalid("coingecko, yahoo and simulated intervals must be longer than 0");
        }
        let budgets = [
            self.coingecko.requests_per_minute,
            self.coingecko.burst,
            self.yahoo.requests_per_minute,
            self.yahoo.burst,
        ];
        if budgets.contains(&0) {
            return invalid("requests_per_minute and burst must be at least 1");
        }
        if self.yahoo.concurrency == 0 {
            return invalid("yahoo.concurrency must be at least 1");
        }
        if let Some(url) = &self.coingecko.base_url {
            fields::check_http_url("ingestor.coingecko.base_url", url)?;
        }
        fields::check_http_url("ingestor.yahoo.base_url", &self.yahoo.base_url)?;
        feeds::validate(&self.binance, &self.failover)
    }
}
