//! The documented environment variables (README's configuration table, `.env.example`), each
//! with the setting it sets and, for a duration, the unit it is given in.

use super::{EnvName, Unit};

use Unit::{Days, FractionalSeconds, Milliseconds, Minutes, Seconds};

pub const DOCUMENTED_ENV: &[EnvName] = &[
    EnvName::new("PRICEALERT_DATA_DIR", "data_dir"),
    // database and logs
    EnvName::optional("DATABASE_URL", "database.url"),
    EnvName::new("DATABASE_MAX_CONNECTIONS", "database.max_connections"),
    EnvName::new("LOG_LEVEL", "log.level"),
    EnvName::true_when("LOG_FORMAT", "log.json", "json"),
    // gateway
    EnvName::optional("JWT_SECRET", "gateway.jwt_secret"),
    EnvName::new("GATEWAY_HOST", "gateway.host"),
    EnvName::new("GATEWAY_PORT", "gateway.port"),
    EnvName::list("CORS_ORIGINS", "gateway.cors_origins"),
    EnvName::new(
        "MAX_ACTIVE_ALERTS_PER_USER",
        "gateway.max_active_alerts_per_user",
    ),
    EnvName::duration(
        "ALERT_LIST_CACHE_MS",
        "gateway.alert_list_cache",
        Milliseconds,
    ),
    EnvName::duration("USER_CACHE_MS", "gateway.user_cache", Milliseconds),
    EnvName::new(
        "API_RATE_LIMIT_PER_SECOND",
        "gateway.api_requests_per_second_per_user",
    ),
    EnvName::duration(
        "GATEWAY_HEADER_READ_TIMEOUT_SECONDS",
        "gateway.header_read_timeout",
        FractionalSeconds,
    ),
    EnvName::duration(
        "GATEWAY_BODY_READ_TIMEOUT_SECONDS",
        "gateway.body_read_timeout",
        FractionalSeconds,
    ),
    EnvName::new("GATEWAY_MAX_CONNECTIONS", "gateway.max_connections"),
    EnvName::new(
        "GATEWAY_MAX_CONNECTIONS_PER_ADDRESS",
        "gateway.max_connections_per_address",
    ),
    EnvName::new(
        "GATEWAY_WS_MAX_CONNECTIONS",
        "gateway.websocket_max_connections",
    ),
    EnvName::new(
        "GATEWAY_WS_MAX_CONNECTIONS_PER_ADDRESS",
        "gateway.websocket_max_connections_per_address",
    ),
    EnvName::duration(
        "GATEWAY_WS_AUTH_RECHECK_SECONDS",
        "gateway.websocket_auth_recheck",
        FractionalSeconds,
    ),
    EnvName::new(
        "GATEWAY_MAX_IN_FLIGHT_PER_ADDRESS",
        "gateway.max_in_flight_requests_per_address",
    ),
    EnvName::new(
        "GATEWAY_MAX_IN_FLIGHT_REQUESTS",
        "gateway.max_in_flight_requests",
    ),
    // The per-account limit, and three times it per client IP.
    EnvName::scaled(
        "LOGIN_RATE_LIMIT_PER_MINUTE",
        "gateway.login_attempts_per_minute_per_account",
        "gateway.login_attempts_per_minute_per_ip",
        3,
    ),
    // ports of the other services
    EnvName::new("INGESTOR_PORT", "ingestor.port"),
    EnvName::new("EVALUATOR_PORT", "evaluator.port"),
    EnvName::new("NOTIFIER_PORT", "notifier.port"),
    // evaluator
    EnvName::duration("EVALUATOR_HISTORY_MINUTES", "evaluator.history", Minutes),
    EnvName::duration(
        "EVALUATOR_ALERT_RESYNC_MS",
        "evaluator.alert_resync",
        Milliseconds,
    ),
    EnvName::new("EVALUATOR_BATCH_MAX_TICKS", "evaluator.batch_max_ticks"),
    EnvName::duration(
        "EVALUATOR_BATCH_MAX_MS",
        "evaluator.batch_max_wait",
        Milliseconds,
    ),
    // Kafka
    EnvName::optional("KAFKA_BOOTSTRAP_SERVERS", "bus.kafka.bootstrap_servers"),
    EnvName::new("KAFKA_PRICE_EVENTS_TOPIC", "bus.kafka.price_events_topic"),
    EnvName::new("KAFKA_NOTIFICATIONS_TOPIC", "bus.kafka.notifications_topic"),
    EnvName::new("KAFKA_ALERT_CHANGES_TOPIC", "bus.kafka.alert_changes_topic"),
    EnvName::new(
        "KAFKA_DELIVERY_EVENTS_TOPIC",
        "bus.kafka.delivery_events_topic",
    ),
    EnvName::new("KAFKA_CHANNEL_TESTS_TOPIC", "bus.kafka.channel_tests_topic"),
    EnvName::new(
        "KAFKA_CHANNEL_TEST_RESULTS_TOPIC",
        "bus.kafka.channel_test_results_topic",
    ),
    EnvName::new(
        "KAFKA_CONSUMER_GROUP_PREFIX",
        "bus.kafka.consumer_group_prefix",
    ),
    EnvName::new("KAFKA_PARTITIONS", "bus.kafka.partitions"),
    EnvName::new("KAFKA_REPLICATION_FACTOR", "bus.kafka.replication_factor"),
    EnvName::duration(
        "KAFKA_SESSION_TIMEOUT_MS",
        "bus.kafka.session_timeout",
        Milliseconds,
    ),
    EnvName::duration(
        "KAFKA_FETCH_WAIT_MAX_MS",
        "bus.kafka.fetch_wait_max",
        Milliseconds,
    ),
    EnvName::duration("KAFKA_LINGER_MS", "bus.kafka.linger", Milliseconds),
    EnvName::duration(
        "KAFKA_STATISTICS_INTERVAL_MS",
        "bus.kafka.statistics_interval",
        Milliseconds,
    ),
    EnvName::duration(
        "KAFKA_ADMIN_TIMEOUT_MS",
        "bus.kafka.admin_timeout",
        Milliseconds,
    ),
    // notifier: email
    EnvName::optional("SMTP_HOST", "notifier.smtp.host"),
    EnvName::new("SMTP_PORT", "notifier.smtp.port"),
    EnvName::new("SMTP_TLS", "notifier.smtp.tls"),
    EnvName::optional("SMTP_USER", "notifier.smtp.user"),
    EnvName::optional("SMTP_PASSWORD", "notifier.smtp.password"),
    EnvName::new("FROM_EMAIL", "notifier.smtp.from_email"),
    EnvName::duration("SMTP_TIMEOUT_SECONDS", "notifier.smtp.timeout", Seconds),
    EnvName::optional("SMTP_CA_FILE", "notifier.smtp.ca_file"),
    // notifier: SMS
    EnvName::optional("TWILIO_ACCOUNT_SID", "notifier.twilio.account_sid"),
    EnvName::optional("TWILIO_AUTH_TOKEN", "notifier.twilio.auth_token"),
    EnvName::optional("TWILIO_PHONE_NUMBER", "notifier.twilio.phone_number"),
    EnvName::new("TWILIO_BASE_URL", "notifier.twilio.base_url"),
    EnvName::duration(
        "TWILIO_TIMEOUT_SECONDS",
        "notifier.twilio.timeout",
        FractionalSeconds,
    ),
    // notifier: Telegram
    EnvName::optional("TELEGRAM_BOT_TOKEN", "notifier.telegram.bot_token"),
    EnvName::new("TELEGRAM_API_BASE_URL", "notifier.telegram.api_base_url"),
    EnvName::duration(
        "TELEGRAM_TIMEOUT_SECONDS",
        "notifier.telegram.timeout",
        FractionalSeconds,
    ),
    EnvName::new(
        "TELEGRAM_MAX_MESSAGES_PER_SECOND",
        "notifier.telegram.max_messages_per_second",
    ),
    EnvName::duration(
        "TELEGRAM_PER_CHAT_INTERVAL_SECONDS",
        "notifier.telegram.per_chat_interval",
        FractionalSeconds,
    ),
    // notifier: webhooks and delivery policy
    EnvName::duration(
        "WEBHOOK_TIMEOUT_SECONDS",
        "notifier.webhook.timeout",
        FractionalSeconds,
    ),
    EnvName::new(
        "WEBHOOK_ALLOW_PRIVATE_ADDRESSES",
        "notifier.webhook.allow_private_addresses",
    ),
    EnvName::new(
        "NOTIFIER_RATE_LIMIT_PER_PERIOD",
        "notifier.rate_limit.max_per_period",
    ),
    EnvName::duration(
        "NOTIFIER_RATE_LIMIT_PERIOD_SECONDS",
        "notifier.rate_limit.period",
        FractionalSeconds,
    ),
    EnvName::new("NOTIFIER_MAX_ATTEMPTS", "notifier.retry.max_attempts"),
    // ingestor
    EnvName::new("PRICEALERT_PRICE_SOURCE", "ingestor.price_source"),
    EnvName::new("PRICE_GLITCH_BAND_PERCENT", "ingestor.glitch_band_percent"),
    EnvName::duration(
        "INGESTOR_HTTP_TIMEOUT_MS",
        "ingestor.http.timeout",
        Milliseconds,
    ),
    EnvName::optional("COINGECKO_BASE_URL", "ingestor.coingecko.base_url"),
    EnvName::optional("COINGECKO_API_KEY", "ingestor.coingecko.api_key"),
    EnvName::new("COINGECKO_API_PLAN", "ingestor.coingecko.api_plan"),
    EnvName::duration(
        "COINGECKO_INTERVAL_MS",
        "ingestor.coingecko.interval",
        Milliseconds,
    ),
    EnvName::new(
        "COINGECKO_REQUESTS_PER_MINUTE",
        "ingestor.coingecko.requests_per_minute",
    ),
    EnvName::base_url("YAHOO_BASE_URL", "ingestor.yahoo.base_url"),
    EnvName::duration("YAHOO_INTERVAL_MS", "ingestor.yahoo.interval", Milliseconds),
    EnvName::new(
        "YAHOO_REQUESTS_PER_MINUTE",
        "ingestor.yahoo.requests_per_minute",
    ),
    EnvName::new("YAHOO_CONCURRENCY", "ingestor.yahoo.concurrency"),
    EnvName::duration(
        "SIMULATED_INTERVAL_MS",
        "ingestor.simulated.interval",
        Milliseconds,
    ),
    EnvName::new("SIMULATED_SEED", "ingestor.simulated.seed"),
    EnvName::base_url("BINANCE_WS_URL", "ingestor.binance.ws_url"),
    EnvName::base_url("BINANCE_REST_URL", "ingestor.binance.rest_url"),
    EnvName::new("BINANCE_STREAM", "ingestor.binance.stream"),
    EnvName::optional("BINANCE_CA_FILE", "ingestor.binance.ca_file"),
    EnvName::list("PROVIDER_ORDER_CRYPTO", "ingestor.failover.order.crypto"),
    EnvName::duration(
        "PROVIDER_STALE_AFTER_MS",
        "ingestor.failover.stale_after",
        Milliseconds,
    ),
    EnvName::duration(
        "PROVIDER_SWITCH_BACK_AFTER_MS",
        "ingestor.failover.switch_back_after",
        Milliseconds,
    ),
    // price history
    EnvName::new("HISTORY_ENABLED", "history.enabled"),
    EnvName::duration("HISTORY_RAW_DAYS", "history.raw_retention", Days),
    EnvName::duration("HISTORY_1M_DAYS", "history.minute_retention", Days),
    EnvName::duration("HISTORY_1H_DAYS", "history.hour_retention", Days),
    EnvName::duration("HISTORY_1D_DAYS", "history.day_retention", Days),
    EnvName::new("HISTORY_BACKFILL", "history.backfill"),
    EnvName::new(
        "BACKTEST_MAX_CONCURRENT_PER_USER",
        "history.max_concurrent_backtests_per_user",
    ),
];
