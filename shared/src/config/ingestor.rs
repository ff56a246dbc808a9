//! Settings of the ingestor: where prices come from, how politely they are fetched.
//!
//! Durations are in milliseconds (`*_ms`) so tests can run cycles in a fraction of a second.
//! Every default stays inside the providers' free tiers.

use std::str::FromStr;

use rust_decimal::Decimal;
use secrecy::SecretString;
use serde::Deserialize;

use super::{non_empty, parse_env, secret, ConfigError};
use crate::catalogue::Instrument;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IngestorSettings {
    pub port: u16,
    /// `live` (CoinGecko + Yahoo Finance, the default) or `simulated` (an offline random walk).
    pub price_source: PriceSource,
    /// Replace the default catalogue (API.md's 55) with this list.
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
        }
    }
}

/// Where prices come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
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

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpClientSettings {
    /// Whole-request timeout; a timed-out request is retried with backoff.
    pub timeout_ms: u64,
    pub user_agent: String,
}

impl Default for HttpClientSettings {
    fn default() -> Self {
        HttpClientSettings {
            timeout_ms: 10_000,
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
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetrySettings {
    /// Requests per call, the first included.
    pub max_attempts: u32,
    /// The n-th retry waits between half and all of `backoff_base_ms * 2^(n-1)`, capped.
    pub backoff_base_ms: u64,
    pub backoff_max_ms: u64,
    /// Wait after a 429 that carries no `Retry-After`.
    pub default_retry_after_ms: u64,
    /// Longest `Retry-After` believed; longer values are cut to this.
    pub max_retry_after_ms: u64,
}

impl Default for RetrySettings {
    fn default() -> Self {
        RetrySettings {
            max_attempts: 3,
            backoff_base_ms: 1_000,
            backoff_max_ms: 30_000,
            default_retry_after_ms: 60_000,
            max_retry_after_ms: 3_600_000,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CircuitBreakerSettings {
    /// Consecutive failed cycles that pause a provider.
    pub failure_threshold: u32,
    /// How long a paused provider is left alone before one trial cycle.
    pub open_ms: u64,
}

impl Default for CircuitBreakerSettings {
    fn default() -> Self {
        CircuitBreakerSettings {
            failure_threshold: 5,
            open_ms: 300_000,
        }
    }
}

/// Which CoinGecko plan an API key belongs to (it decides the header and the default host).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
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

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CoinGeckoSettings {
    /// Unset: `https://api.coingecko.com`, or `https://pro-api.coingecko.com` for the pro plan.
    pub base_url: Option<String>,
    /// Optional; without one the public (keyless) API is used.
    pub api_key: Option<SecretString>,
    pub api_plan: CoinGeckoPlan,
    /// One `/simple/price` call for every coin per cycle. CoinGecko caches it for ~60 s.
    pub interval_ms: u64,
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
            interval_ms: 60_000,
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

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct YahooSettings {
    pub base_url: String,
    /// One `/v8/finance/chart/{symbol}` call per instrument per cycle.
    pub interval_ms: u64,
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
            interval_ms: 60_000,
            requests_per_minute: 30,
            burst: 5,
            concurrency: 4,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SimulatedSettings {
    /// Every instrument moves once per interval.
    pub interval_ms: u64,
    /// The same seed gives the same walk.
    pub seed: u64,
}

impl Default for SimulatedSettings {
    fn default() -> Self {
        SimulatedSettings {
            interval_ms: 1_000,
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
        if self.http.timeout_ms == 0 {
            return invalid("http.timeout_ms must be at least 1");
        }
        if self.retry.max_attempts == 0 {
            return invalid("retry.max_attempts must be at least 1");
        }
        if self.circuit_breaker.failure_threshold == 0 {
            return invalid("circuit_breaker.failure_threshold must be at least 1");
        }
        let intervals = [
            self.coingecko.interval_ms,
            self.yahoo.interval_ms,
            self.simulated.interval_ms,
        ];
        if intervals.contains(&0) {
            return invalid("*.interval_ms must be at least 1");
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
        Ok(())
    }
}

/// The ingestor's environment overrides (other names are left alone).
pub(super) fn apply_env(
    s: &mut IngestorSettings,
    name: &str,
    value: &str,
) -> Result<(), ConfigError> {
    match name {
        "PRICEALERT_PRICE_SOURCE" => s.price_source = parse_env(name, value)?,
        "PRICE_GLITCH_BAND_PERCENT" => s.glitch_band_percent = parse_env(name, value)?,
        "INGESTOR_HTTP_TIMEOUT_MS" => s.http.timeout_ms = parse_env(name, value)?,
        "COINGECKO_BASE_URL" => s.coingecko.base_url = non_empty(value),
        "COINGECKO_API_KEY" => s.coingecko.api_key = non_empty(value).map(|v| secret(&v)),
        "COINGECKO_API_PLAN" => s.coingecko.api_plan = parse_env(name, value)?,
        "COINGECKO_INTERVAL_MS" => s.coingecko.interval_ms = parse_env(name, value)?,
        "COINGECKO_REQUESTS_PER_MINUTE" => {
            s.coingecko.requests_per_minute = parse_env(name, value)?
        }
        "YAHOO_BASE_URL" => s.yahoo.base_url = value.trim().trim_end_matches('/').to_owned(),
        "YAHOO_INTERVAL_MS" => s.yahoo.interval_ms = parse_env(name, value)?,
        "YAHOO_REQUESTS_PER_MINUTE" => s.yahoo.requests_per_minute = parse_env(name, value)?,
        "YAHOO_CONCURRENCY" => s.yahoo.concurrency = parse_env(name, value)?,
        "SIMULATED_INTERVAL_MS" => s.simulated.interval_ms = parse_env(name, value)?,
        "SIMULATED_SEED" => s.simulated.seed = parse_env(name, value)?,
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use secrecy::ExposeSecret;

    use crate::catalogue::ProviderKind;
    use crate::config::Settings;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn live_providers_are_the_default_and_stay_inside_free_tiers() {
        let settings = Settings::load(None, &env(&[])).expect("defaults load");
        let ingestor = settings.ingestor;
        assert_eq!(ingestor.price_source, PriceSource::Live);
        assert_eq!(ingestor.glitch_band_percent, Decimal::from(25));
        assert_eq!(
            ingestor.coingecko.effective_base_url(),
            "https://api.coingecko.com"
        );
        assert!(ingestor.coingecko.requests_per_minute <= 5);
        assert!(ingestor.yahoo.requests_per_minute <= 30);
    }

    #[test]
    fn one_environment_variable_switches_to_the_simulated_provider() {
        let settings =
            Settings::load(None, &env(&[("PRICEALERT_PRICE_SOURCE", "simulated")])).expect("loads");
        assert_eq!(settings.ingestor.price_source, PriceSource::Simulated);
        assert!(matches!(
            Settings::load(None, &env(&[("PRICEALERT_PRICE_SOURCE", "fake")])),
            Err(ConfigError::Env { .. })
        ));
    }

    #[test]
    fn provider_settings_have_environment_overrides() {
        let settings = Settings::load(
            None,
            &env(&[
                ("COINGECKO_API_KEY", "cg-key-123"),
                ("COINGECKO_API_PLAN", "pro"),
                ("COINGECKO_INTERVAL_MS", "120000"),
                ("YAHOO_BASE_URL", "http://127.0.0.1:9/"),
                ("YAHOO_CONCURRENCY", "2"),
                ("PRICE_GLITCH_BAND_PERCENT", "12.5"),
            ]),
        )
        .expect("loads");
        let ingestor = settings.ingestor;
        assert_eq!(
            ingestor
                .coingecko
                .api_key
                .as_ref()
                .map(|k| k.expose_secret().to_owned()),
            Some("cg-key-123".to_owned())
        );
        assert_eq!(
            ingestor.coingecko.effective_base_url(),
            "https://pro-api.coingecko.com"
        );
        assert_eq!(ingestor.coingecko.interval_ms, 120_000);
        assert_eq!(ingestor.yahoo.base_url, "http://127.0.0.1:9");
        assert_eq!(ingestor.yahoo.concurrency, 2);
        assert_eq!(ingestor.glitch_band_percent, Decimal::new(125, 1));
    }

    #[test]
    fn a_settings_file_can_replace_the_catalogue_and_tune_providers() {
        let text = r#"
            [ingestor]
            price_source = "simulated"
            glitch_band_percent = 10

            [ingestor.yahoo]
            interval_ms = 30000
            concurrency = 2

            [[ingestor.instruments]]
            symbol = "WASHTEC"
            provider = "yahoo"
            provider_id = "WSU.DE"
            asset_class = "stock"
            currency = "EUR"
        "#;
        let settings: Settings = toml::from_str(text).expect("parses");
        let ingestor = settings.ingestor;
        assert_eq!(ingestor.price_source, PriceSource::Simulated);
        assert_eq!(ingestor.yahoo.interval_ms, 30_000);
        // Unset fields of a partly given section keep their defaults.
        assert_eq!(ingestor.yahoo.requests_per_minute, 30);
        let instruments = ingestor.instruments.expect("instruments");
        assert_eq!(instruments.len(), 1);
        assert_eq!(instruments[0].provider, ProviderKind::Yahoo);
        assert_eq!(instruments[0].provider_id, "WSU.DE");
    }

    #[test]
    fn nonsense_budgets_are_rejected() {
        for (name, value) in [
            ("YAHOO_REQUESTS_PER_MINUTE", "0"),
            ("YAHOO_CONCURRENCY", "0"),
            ("COINGECKO_INTERVAL_MS", "0"),
            ("PRICE_GLITCH_BAND_PERCENT", "-1"),
        ] {
            assert!(
                matches!(
                    Settings::load(None, &env(&[(name, value)])),
                    Err(ConfigError::Invalid(_))
                ),
                "{name}={value} should be rejected"
            );
        }
    }

    #[test]
    fn the_api_key_is_redacted_in_debug_output() {
        let settings = Settings::load(None, &env(&[("COINGECKO_API_KEY", "cg-secret-key-987")]))
            .expect("loads");
        assert!(!format!("{settings:?}").contains("cg-secret-key-987"));
    }
}
