use std::time::Duration;

use shared::catalogue::ProviderKind;
use testkit::Engine;

use super::fake_providers::{Canned, FakeProviders};
use super::fixtures::*;
use super::helpers::*;

#[tokio::test]
async fn the_circuit_breaker_pauses_a_failing_provider_and_closes_once_it_recovers() {
    let fake = FakeProviders::start().await;
    fake.script_coingecko(vec![], Canned::status(500, "internal error"));
    let mut settings = with_instruments(test_settings(&fake), default_coins());
    settings.ingestor.retry.max_attempts = 1;
    settings.ingestor.coingecko.interval = Duration::from_millis(50);
    settings.ingestor.circuit_breaker.failure_threshold = 2;
    settings.ingestor.circuit_breaker.open_for = Duration::from_millis(1_500);
    let mut ingestor = spawn_ingestor(settings, Engine::Sqlite).await;

    ingestor
        .wait_for_metric("ingestor_circuit_open", &[("source", "coingecko")], |v| {
            v == 1.0
        })
        .await;
    fake.script_coingecko(vec![], Canned::json(COINGECKO_30_COINS));
    ingestor
        .wait_for_metric("ingestor_circuit_open", &[("source", "coingecko")], |v| {
            v == 0.0
        })
        .await;
    let tick = ingestor.next_tick().await;

    assert_eq!(tick.source, "coingecko");
    let calls = fake.requests("coingecko");
    // Two failed cycles 50 ms apart opened it; the trial came only after the pause.
    let paused = calls[2].at - calls[1].at;
    assert!(paused >= Duration::from_millis(1_500), "{paused:?}");
    eprintln!("measured: breaker opened after 2 failed cycles, trial call {paused:?} later");
    assert!(calls[1].at - calls[0].at < Duration::from_millis(1_000));
}

#[tokio::test]
async fn a_provider_that_hangs_never_delays_the_other() {
    let fake = FakeProviders::start().await;
    fake.script_coingecko(
        vec![],
        Canned::json(COINGECKO_30_COINS).delayed(Duration::from_secs(120)),
    );
    fake.script_yahoo("AAPL", vec![], Canned::json(yahoo_aapl_chart()));
    let mut settings = with_instruments(
        test_settings(&fake),
        vec![
            instrument("BTC", ProviderKind::Coingecko, "bitcoin", "USD"),
            instrument("APPLE", ProviderKind::Yahoo, "AAPL", "USD"),
        ],
    );
    settings.ingestor.http.timeout = Duration::from_secs(120);
    let mut ingestor = spawn_ingestor(settings, Engine::Sqlite).await;

    // `next_tick` fails after 15 s; CoinGecko will not answer for 120 s.
    let tick = ingestor.next_tick().await;

    assert_eq!(tick.symbol.as_str(), "APPLE");
    assert_eq!(
        fake.requests("coingecko").len(),
        1,
        "CoinGecko is still being waited for"
    );
}

#[tokio::test]
async fn a_rate_limited_provider_never_delays_the_other() {
    let fake = FakeProviders::start().await;
    fake.script_coingecko(
        vec![],
        Canned::status(429, COINGECKO_429_BODY).with_header("retry-after", "3600"),
    );
    fake.script_yahoo("AAPL", vec![], Canned::json(yahoo_aapl_chart()));
    let settings = with_instruments(
        test_settings(&fake),
        vec![
            instrument("BTC", ProviderKind::Coingecko, "bitcoin", "USD"),
            instrument("APPLE", ProviderKind::Yahoo, "AAPL", "USD"),
        ],
    );
    let mut ingestor = spawn_ingestor(settings, Engine::Sqlite).await;

    let tick = ingestor.next_tick().await;

    assert_eq!(tick.symbol.as_str(), "APPLE");
    assert_eq!(
        fake.requests("coingecko").len(),
        1,
        "the hour-long pause is honoured"
    );
}
