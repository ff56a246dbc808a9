use std::time::Duration;

use secrecy::ExposeSecret;
use settings::{ConfigError, Settings};

use crate::{env, settings_file};

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
    let path = settings_file("[gateway]\nport = 9000\nmax_active_alerts_per_user = 5\n");
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
fn a_generic_override_wins_over_the_documented_name_which_wins_over_the_file() {
    let path = settings_file("[gateway]\nport = 9000\n");
    let documented = Settings::load(Some(&path), &env(&[("GATEWAY_PORT", "9100")]))
        .expect("file and documented name");
    assert_eq!(documented.gateway.port, 9100);
    let generic = Settings::load(
        Some(&path),
        &env(&[
            ("GATEWAY_PORT", "9100"),
            ("PRICEALERT__GATEWAY__PORT", "9200"),
        ]),
    )
    .expect("all three layers");
    assert_eq!(generic.gateway.port, 9200);
}

#[test]
fn a_generic_override_sets_a_nested_key_in_any_case() {
    let settings = Settings::load(
        None,
        &env(&[
            ("PRICEALERT__GATEWAY__REQUEST_TIMEOUT", "45s"),
            ("pricealert__notifier__smtp__port", "2525"),
            ("PRICEALERT__BUS__KAFKA__LINGER", "0ms"),
            (
                "PRICEALERT__GATEWAY__CORS_ORIGINS",
                "https://a.example, https://b.example",
            ),
        ]),
    )
    .expect("loads");
    assert_eq!(settings.gateway.request_timeout, Duration::from_secs(45));
    assert_eq!(settings.notifier.smtp.port, 2525);
    assert_eq!(settings.bus.kafka.linger, Duration::ZERO);
    assert_eq!(
        settings.gateway.cors_origins,
        ["https://a.example", "https://b.example"]
    );
}

#[test]
fn a_generic_override_sets_a_top_level_key() {
    let settings =
        Settings::load(None, &env(&[("PRICEALERT__DATA_DIR", "/tmp/x")])).expect("loads");
    assert_eq!(settings.data_dir(), std::path::PathBuf::from("/tmp/x"));
}

#[test]
fn an_empty_generic_override_puts_the_default_back() {
    let path = settings_file("[log]\nlevel = \"debug\"\n");
    let settings =
        Settings::load(Some(&path), &env(&[("PRICEALERT__LOG__LEVEL", "")])).expect("loads");
    assert_eq!(settings.log.level, "info");
}

#[test]
fn an_unknown_generic_path_is_rejected_with_its_variable() {
    for name in [
        "PRICEALERT__GATEWAY__REQUEST_TIMOUT",
        "PRICEALERT__NO_SUCH_SECTION__PORT",
        "PRICEALERT__GATEWAY__PORT__INNER",
        "PRICEALERT__GATEWAY____PORT",
    ] {
        let error = Settings::load(None, &env(&[(name, "1")])).expect_err(name);
        assert!(matches!(error, ConfigError::Env { .. }), "{name}: {error}");
        assert!(error.to_string().contains(name), "{name}: {error}");
    }
    // Variables that merely start alike are not ours.
    Settings::load(None, &env(&[("PRICEALERT_UNRELATED", "1")])).expect("ignored");
}

#[test]
fn durations_in_the_file_are_humantime_strings() {
    let path = settings_file(
        "[gateway]\nrequest_timeout = \"500ms\"\nalert_list_cache = \"2m 30s\"\n\
         [evaluator]\nhistory = \"24h\"\n\
         [notifier.twilio]\ntimeout = \"2.5s\"\n",
    );
    let settings = Settings::load(Some(&path), &env(&[])).expect("loads");
    assert_eq!(settings.gateway.request_timeout, Duration::from_millis(500));
    assert_eq!(settings.gateway.alert_list_cache, Duration::from_secs(150));
    assert_eq!(settings.evaluator.history, Duration::from_secs(24 * 3600));
    assert_eq!(settings.evaluator.history_minutes(), 24 * 60);
    assert_eq!(
        settings.notifier.twilio.timeout,
        Duration::from_millis(2500)
    );
}

#[test]
fn documented_names_keep_their_units() {
    let settings = Settings::load(
        None,
        &env(&[
            ("SMTP_TIMEOUT_SECONDS", "30"),
            ("EVALUATOR_ALERT_RESYNC_MS", "250"),
            ("EVALUATOR_HISTORY_MINUTES", "90"),
            ("TWILIO_TIMEOUT_SECONDS", "2.5"),
            ("NOTIFIER_RATE_LIMIT_PERIOD_SECONDS", "0.5"),
            ("KAFKA_LINGER_MS", "0"),
            ("ALERT_LIST_CACHE_MS", "1500"),
        ]),
    )
    .expect("loads");
    assert_eq!(settings.notifier.smtp.timeout, Duration::from_secs(30));
    assert_eq!(settings.evaluator.alert_resync, Duration::from_millis(250));
    assert_eq!(settings.evaluator.history, Duration::from_secs(90 * 60));
    assert_eq!(
        settings.notifier.twilio.timeout,
        Duration::from_millis(2500)
    );
    assert_eq!(
        settings.notifier.rate_limit.period,
        Duration::from_millis(500)
    );
    assert_eq!(settings.bus.kafka.linger, Duration::ZERO);
    assert_eq!(
        settings.gateway.alert_list_cache,
        Duration::from_millis(1500)
    );
    // Whole units stay whole, as before.
    assert!(matches!(
        Settings::load(None, &env(&[("SMTP_TIMEOUT_SECONDS", "2.5")])),
        Err(ConfigError::Env { .. })
    ));
}

#[test]
fn the_special_documented_names_keep_their_meaning() {
    let settings = Settings::load(
        None,
        &env(&[
            ("LOGIN_RATE_LIMIT_PER_MINUTE", "7"),
            ("LOG_FORMAT", "JSON"),
            ("JWT_SECRET", ""),
            ("SMTP_HOST", " "),
            ("KAFKA_BOOTSTRAP_SERVERS", ""),
            ("COINGECKO_API_KEY", ""),
            ("YAHOO_BASE_URL", "http://127.0.0.1:9/"),
            ("PRICEALERT_DATA_DIR", "/srv/pricealert"),
            ("CORS_ORIGINS", "https://a.example,,https://b.example"),
        ]),
    )
    .expect("loads");
    assert_eq!(settings.gateway.login_attempts_per_minute_per_account, 7);
    assert_eq!(settings.gateway.login_attempts_per_minute_per_ip, 21);
    assert!(settings.log.json);
    assert!(settings.gateway.jwt_secret.is_none());
    assert!(settings.notifier.smtp.host.is_none());
    assert!(settings.bus.kafka.bootstrap_servers.is_none());
    assert!(settings.ingestor.coingecko.api_key.is_none());
    assert_eq!(settings.ingestor.yahoo.base_url, "http://127.0.0.1:9");
    assert_eq!(
        settings.data_dir(),
        std::path::PathBuf::from("/srv/pricealert")
    );
    assert_eq!(
        settings.gateway.cors_origins,
        ["https://a.example", "https://b.example"]
    );
    let text = Settings::load(None, &env(&[("LOG_FORMAT", "text")])).expect("loads");
    assert!(!text.log.json);
}

#[test]
fn the_file_comes_from_pricealert_config_unless_given() {
    let path = settings_file("[gateway]\nport = 9000\n");
    let path_text = path.display().to_string();
    let settings = Settings::load(None, &env(&[("PRICEALERT_CONFIG", &path_text)])).expect("loads");
    assert_eq!(settings.gateway.port, 9000);
    let settings = Settings::load(None, &env(&[("PRICEALERT_CONFIG", "")])).expect("no file");
    assert_eq!(settings.gateway.port, 8000);
}

#[test]
fn kafka_topic_names_default_to_the_bus_topics_names() {
    let kafka = settings::KafkaSettings::default();
    use settings::Topic;
    assert_eq!(kafka.price_events_topic, Topic::PriceEvents.default_name());
    assert_eq!(
        kafka.alert_changes_topic,
        Topic::AlertChanges.default_name()
    );
    assert_eq!(
        kafka.notifications_topic,
        Topic::Notifications.default_name()
    );
    assert_eq!(
        kafka.delivery_events_topic,
        Topic::DeliveryEvents.default_name()
    );
}
