use std::time::Duration;

use settings::{ConfigError, Settings, SmtpTls};

use crate::env;

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
    assert_eq!(notifier.rate_limit.period, Duration::from_secs(30));
    assert_eq!(notifier.retry.max_attempts, 3);
    let defaults = Settings::load(None, &env(&[])).expect("defaults");
    assert_eq!(defaults.notifier.rate_limit.max_per_period, 10);
    assert_eq!(defaults.notifier.rate_limit.period, Duration::from_secs(60));
    assert_eq!(defaults.notifier.webhook.timeout, Duration::from_secs(5));
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
    assert!(matches!(
        Settings::load(None, &env(&[("TWILIO_TIMEOUT_SECONDS", "120.5")])),
        Err(ConfigError::Invalid(_))
    ));
    Settings::load(
        None,
        &env(&[
            ("TWILIO_TIMEOUT_SECONDS", "119.5"),
            ("SMTP_TIMEOUT_SECONDS", "119"),
        ]),
    )
    .expect("every send timeout below the claim");
    assert!(matches!(
        Settings::load(None, &env(&[("WEBHOOK_TIMEOUT_SECONDS", "0")])),
        Err(ConfigError::Invalid(_))
    ));
}

#[test]
fn the_sender_address_is_checked_at_load() {
    let error =
        Settings::load(None, &env(&[("FROM_EMAIL", "not-an-email")])).expect_err("not an address");
    assert!(matches!(error, ConfigError::Env { .. }), "{error}");
    assert!(
        error
            .to_string()
            .starts_with("environment variable FROM_EMAIL (notifier.smtp.from_email): "),
        "{error}"
    );
    let settings = Settings::load(
        None,
        &env(&[("FROM_EMAIL", "Price Alerts <alerts@pricealert.example>")]),
    )
    .expect("a display name is allowed");
    let from = &settings.notifier.smtp.from_email;
    assert_eq!(from.name(), Some("Price Alerts"));
    assert_eq!(from.email().as_str(), "alerts@pricealert.example");
    let defaults = Settings::load(None, &env(&[])).expect("defaults");
    assert_eq!(
        defaults.notifier.smtp.from_email.to_string(),
        "alerts@pricealert.local"
    );
}

#[test]
fn the_sms_sender_is_a_phone_number_in_e164() {
    let settings =
        Settings::load(None, &env(&[("TWILIO_PHONE_NUMBER", "+1 (415) 555-2671")])).expect("loads");
    assert_eq!(
        settings
            .notifier
            .twilio
            .phone_number
            .as_ref()
            .map(|p| p.as_str()),
        Some("+14155552671")
    );
    assert!(matches!(
        Settings::load(None, &env(&[("TWILIO_PHONE_NUMBER", "4155552671")])),
        Err(ConfigError::Env { .. })
    ));
    let unset = Settings::load(None, &env(&[("TWILIO_PHONE_NUMBER", "")])).expect("unset");
    assert!(unset.notifier.twilio.phone_number.is_none());
}

#[test]
fn a_base_url_that_is_not_http_is_rejected_at_load() {
    for (name, value) in [
        ("TWILIO_BASE_URL", "api.twilio.com"),
        ("YAHOO_BASE_URL", "ftp://example.com"),
        ("COINGECKO_BASE_URL", "not a url"),
    ] {
        assert!(
            matches!(
                Settings::load(None, &env(&[(name, value)])),
                Err(ConfigError::Invalid(_))
            ),
            "{name}={value}"
        );
    }
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
    assert_eq!(kafka.session_timeout, Duration::from_millis(6000));
    assert_eq!(kafka.fetch_wait_max, Duration::from_millis(5));
    assert_eq!(kafka.statistics_interval, Duration::from_millis(1000));
    assert!(matches!(
        Settings::load(None, &env(&[("KAFKA_NOTIFICATIONS_TOPIC", "price-events")])),
        Err(ConfigError::Invalid(_))
    ));
    assert!(matches!(
        Settings::load(None, &env(&[("KAFKA_PARTITIONS", "0")])),
        Err(ConfigError::Invalid(_))
    ));
    // librdkafka takes an int of milliseconds.
    assert!(matches!(
        Settings::load(None, &env(&[("KAFKA_SESSION_TIMEOUT_MS", "5000000000")])),
        Err(ConfigError::Invalid(_))
    ));
}

/// The Telegram time-out bounds the claim only once a bot is configured: a short claim time-out
/// that was valid before Telegram existed stays valid.
#[test]
fn a_telegram_send_must_fit_in_the_claim_only_when_a_bot_is_configured() {
    let short_claim = [
        ("SMTP_TIMEOUT_SECONDS", "3"),
        ("TWILIO_TIMEOUT_SECONDS", "3"),
        ("WEBHOOK_TIMEOUT_SECONDS", "3"),
    ];
    let file = crate::settings_file("[notifier]\nclaim_timeout = \"8s\"\n");
    assert!(Settings::load(Some(&file), &env(&short_claim)).is_ok());
    let mut with_bot = short_claim.to_vec();
    with_bot.push(("TELEGRAM_BOT_TOKEN", "123456:ABC"));
    assert!(matches!(
        Settings::load(Some(&file), &env(&with_bot)),
        Err(ConfigError::Invalid(_))
    ));
    with_bot.push(("TELEGRAM_TIMEOUT_SECONDS", "5"));
    let loaded = Settings::load(Some(&file), &env(&with_bot)).expect("5 s + 1 s fit in 8 s");
    assert_eq!(
        loaded.notifier.telegram.api_base_url,
        "https://api.telegram.org"
    );
}
