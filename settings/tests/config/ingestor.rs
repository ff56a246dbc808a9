use std::time::Duration;

use domain::catalogue::ProviderKind;
use rust_decimal::Decimal;
use secrecy::ExposeSecret;
use settings::{ConfigError, PriceSource, Settings};

use crate::env;

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
    assert_eq!(ingestor.coingecko.interval, Duration::from_millis(120_000));
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
        interval = "30s"
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
    assert_eq!(ingestor.yahoo.interval, Duration::from_millis(30_000));
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
        ("EVALUATOR_HISTORY_MINUTES", "0"),
        ("EVALUATOR_ALERT_RESYNC_MS", "0"),
        ("PRICEALERT__EVALUATOR__HISTORY", "90s"),
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
fn binance_and_the_failover_order_are_set_from_the_environment_and_checked() {
    let settings = Settings::load(
        None,
        &env(&[
            ("PROVIDER_ORDER_CRYPTO", "binance, coingecko"),
            ("PROVIDER_STALE_AFTER_MS", "2500"),
            ("PROVIDER_SWITCH_BACK_AFTER_MS", "60000"),
            ("BINANCE_WS_URL", "ws://127.0.0.1:9/"),
            ("BINANCE_REST_URL", "http://127.0.0.1:9"),
            ("BINANCE_STREAM", "trade"),
            ("BINANCE_CA_FILE", "/etc/pricealert/binance-ca.pem"),
        ]),
    )
    .expect("loads");
    let ingestor = settings.ingestor;
    assert_eq!(ingestor.failover.order["crypto"], ["binance", "coingecko"]);
    assert_eq!(ingestor.failover.stale_after, Duration::from_millis(2_500));
    assert_eq!(ingestor.failover.switch_back_after, Duration::from_secs(60));
    assert_eq!(ingestor.binance.ws_url, "ws://127.0.0.1:9");
    assert_eq!(ingestor.binance.stream, "trade");
    assert_eq!(
        ingestor.binance.ca_file.as_deref(),
        Some(std::path::Path::new("/etc/pricealert/binance-ca.pem"))
    );
    // Off by default: every instrument from its catalogue provider alone.
    let defaults = Settings::load(None, &env(&[])).expect("defaults load");
    assert!(defaults.ingestor.failover.order.is_empty());
    assert_eq!(
        defaults.ingestor.binance.ca_file, None,
        "only the public roots"
    );
    for bad in [
        ("PROVIDER_ORDER_CRYPTO", "binance,kraken"),
        ("BINANCE_WS_URL", "https://stream.binance.com"),
        ("BINANCE_STREAM", "aggTrade"),
        ("PROVIDER_STALE_AFTER_MS", "0"),
    ] {
        assert!(
            matches!(
                Settings::load(None, &env(&[bad])),
                Err(ConfigError::Invalid(_))
            ),
            "{bad:?} accepted"
        );
    }
}
