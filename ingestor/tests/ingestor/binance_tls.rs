//! The Binance stream over TLS: a `wss://` stand-in whose certificate a test authority signed.
//! Trusted through `BINANCE_CA_FILE` its ticks are published; with the public roots alone the
//! handshake is refused and the stream is lost and retried; the REST fallback trusts it too;
//! a bad CA file stops startup.

use std::sync::Arc;

use shared::bus::InProcessBus;
use shared::context::ServiceContext;
use testkit::tls::TestAuthority;
use testkit::{Engine, TempDir};

use super::binance::{binance_settings, coingecko_now, next_from, subscribed};
use super::binance_standin::BinanceStandIn;
use super::fake_providers::FakeProviders;
use super::helpers::*;

/// `https://localhost:PORT` in front of the stand-in's plain REST API at `backend`, as a
/// TLS-terminating proxy would be.
async fn https_front(authority: &TestAuthority, backend: &str) -> String {
    let port = authority
        .tls_front(backend.trim_start_matches("http://"))
        .await;
    format!("https://localhost:{port}")
}

#[tokio::test]
async fn a_wss_stream_signed_by_the_configured_authority_is_trusted_and_its_trades_published() {
    let authority = TestAuthority::new(&["localhost"]);
    let fake = FakeProviders::start().await;
    fake.script_coingecko(vec![], coingecko_now("50000", "1"));
    let standin = BinanceStandIn::start_tls(authority.acceptor()).await;
    assert!(
        standin.ws_url.starts_with("wss://localhost:"),
        "{}",
        standin.ws_url
    );
    let mut settings = binance_settings(&fake, &standin);
    settings.ingestor.binance.ca_file = Some(authority.ca_file.clone());
    let mut ingestor = spawn_ingestor(settings, Engine::Sqlite).await;
    next_from(&mut ingestor, "USDT", "coingecko").await;
    subscribed(&standin, "btcusdt@trade").await;

    let traded_at = chrono::Utc::now().timestamp_millis();
    standin.send_trade("BTCUSDT", "61000.5", traded_at);
    let tick = next_from(&mut ingestor, "BTC", "binance").await;

    assert_eq!(tick.price.to_string(), "61000.5");
    assert_eq!(tick.timestamp.timestamp_millis(), traded_at);
    assert_eq!(standin.connections(), 1, "one TLS connection, kept");
    assert_eq!(
        ingestor
            .metric("ingestor_fetch_errors_total", &[("source", "binance")])
            .await,
        Some(0.0)
    );
}

#[tokio::test]
async fn without_the_authority_the_handshake_is_refused_and_the_stream_retried() {
    let authority = TestAuthority::new(&["localhost"]);
    let fake = FakeProviders::start().await;
    fake.script_coingecko(vec![], coingecko_now("50000", "1"));
    let standin = BinanceStandIn::start_tls(authority.acceptor()).await;
    // REST behind the same authority, with a price it would serve if it were trusted.
    standin.set_rest_price("BTCUSDT", "40000");
    let mut settings = binance_settings(&fake, &standin);
    settings.ingestor.binance.rest_url = https_front(&authority, &standin.rest_url).await;
    // The public roots alone (the default): the test authority is unknown.
    assert_eq!(settings.ingestor.binance.ca_file, None);
    let mut ingestor = spawn_ingestor(settings, Engine::Sqlite).await;

    // Each refused handshake is a lost stream, counted, then retried after the backoff.
    testkit::eventually_within(DEADLINE, "the stream is retried", || async {
        standin.connections() >= 2
    })
    .await;
    ingestor
        .wait_for_metric(
            "ingestor_fetch_errors_total",
            &[("source", "binance")],
            |errors| errors >= 2.0,
        )
        .await;
    // Until BTC comes from the next provider, nothing comes from Binance.
    loop {
        let tick = ingestor.next_tick().await;
        assert_ne!(tick.source, "binance", "{tick:?}");
        if tick.symbol.as_str() == "BTC" && tick.source == "coingecko" {
            break;
        }
    }
    assert!(
        standin.subscriptions().is_empty(),
        "no WebSocket was opened"
    );
    assert!(standin.rest_calls().is_empty(), "no REST call got through");
}

#[tokio::test]
async fn the_rest_fallback_trusts_the_configured_authority_too() {
    let authority = TestAuthority::new(&["localhost"]);
    let fake = FakeProviders::start().await;
    fake.script_coingecko(vec![], coingecko_now("50000", "1"));
    let standin = BinanceStandIn::start().await;
    standin.refuse_streams();
    standin.set_rest_price("BTCUSDT", "40000");
    let mut settings = binance_settings(&fake, &standin);
    settings.ingestor.binance.rest_url = https_front(&authority, &standin.rest_url).await;
    settings.ingestor.binance.ca_file = Some(authority.ca_file.clone());
    let mut ingestor = spawn_ingestor(settings, Engine::Sqlite).await;

    let tick = next_from(&mut ingestor, "BTC", "binance").await;

    assert_eq!(tick.price.to_string(), "40000");
    assert!(
        standin.rest_calls().iter().any(|call| call.2 == 200),
        "answered through the TLS front"
    );
}

#[tokio::test]
async fn an_unusable_ca_file_stops_startup_with_a_configuration_error_naming_it() {
    let fake = FakeProviders::start().await;
    let standin = BinanceStandIn::start().await;
    let dir = TempDir::new("pa-binance-bad-ca");
    let not_pem = dir.0.join("not-pem.txt");
    std::fs::write(&not_pem, "not a certificate").expect("write");
    for (path, why) in [
        (dir.0.join("absent.pem"), "No such file"),
        (not_pem, "no PEM certificate"),
    ] {
        let mut settings = binance_settings(&fake, &standin);
        settings.ingestor.binance.ca_file = Some(path.clone());
        let database = testkit::fresh_database(Engine::Sqlite).await;
        let context = ServiceContext::new(
            settings,
            database.db.clone(),
            Arc::new(InProcessBus::new(16)),
        );
        let Err(error) = ingestor::Application::build(context).await else {
            panic!("{} was accepted", path.display());
        };
        let error = error.to_string();
        assert!(
            error.contains("BINANCE_CA_FILE")
                && error.contains(&path.display().to_string())
                && error.contains(why),
            "{error}"
        );
    }
}
