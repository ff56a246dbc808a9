//! The Binance provider against the loopback stand-in: stream ticks with their symbol,
//! currency and conversion; pings answered; reconnect and resubscribe; the REST fallback
//! with -1121, 429 and 418 `Retry-After` respected.

use std::collections::BTreeMap;
use std::time::Duration;

use shared::catalogue::ProviderKind;
use shared::config::{BinancePair, Settings};
use shared::events::PriceTick;
use testkit::Engine;

use super::binance_standin::{BinanceStandIn, RestAnswer, ERROR_418, ERROR_429};
use super::fake_providers::{Canned, FakeProviders};
use super::fixtures::*;
use super::helpers::*;

pub fn pair(symbol: &str, pair: &str, quote_currency: &str) -> BinancePair {
    BinancePair {
        symbol: symbol.parse().expect("symbol"),
        pair: pair.to_owned(),
        quote_currency: quote_currency.to_owned(),
    }
}

/// BTC and USDT on CoinGecko (USD), BTC also on Binance (BTCUSDT, converted at USDT's
/// price) and preferred there; reconnects after 50–500 ms (the test settings' retry backoff),
/// REST every 100 ms, CoinGecko every 100 ms.
pub fn binance_settings(fake: &FakeProviders, standin: &BinanceStandIn) -> Settings {
    let mut settings = with_instruments(
        test_settings(fake),
        vec![
            instrument("BTC", ProviderKind::Coingecko, "bitcoin", "USD"),
            instrument("USDT", ProviderKind::Coingecko, "tether", "USD"),
        ],
    );
    let binance = &mut settings.ingestor.binance;
    binance.ws_url = standin.ws_url.clone();
    binance.rest_url = standin.rest_url.clone();
    binance.stream = "trade".to_owned();
    binance.rest_interval = Duration::from_millis(100);
    binance.pairs = Some(vec![pair("BTC", "BTCUSDT", "USDT")]);
    let failover = &mut settings.ingestor.failover;
    failover.order = BTreeMap::from([(
        "crypto".to_owned(),
        vec!["binance".to_owned(), "coingecko".to_owned()],
    )]);
    failover.stale_after = Duration::from_millis(1_500);
    failover.switch_back_after = Duration::from_millis(1_000);
    settings.ingestor.coingecko.interval = Duration::from_millis(100);
    settings
}

/// CoinGecko's answer for bitcoin and tether, dated now (rounded up to its whole seconds, so
/// it is never older than a trade the stand-in sent before).
pub fn coingecko_now(bitcoin: &str, tether: &str) -> Canned {
    let now = (chrono::Utc::now().timestamp_millis() + 999) / 1000;
    Canned::json(format!(
        r#"{{"bitcoin":{{"usd":{bitcoin},"last_updated_at":{now}}},"tether":{{"usd":{tether},"last_updated_at":{now}}}}}"#
    ))
}

/// Waits until a connection has subscribed `stream`; returns how many connections did.
pub async fn subscribed(standin: &BinanceStandIn, stream: &str) -> usize {
    testkit::eventually_within(DEADLINE, &format!("{stream} is subscribed"), || async {
        let count = standin
            .subscriptions()
            .iter()
            .filter(|(_, streams)| streams.iter().any(|s| s == stream))
            .count();
        (count > 0).then_some(count)
    })
    .await
}

/// The next tick of `symbol` from `source` (others are skipped).
pub async fn next_from(ingestor: &mut TestIngestor, symbol: &str, source: &str) -> PriceTick {
    loop {
        let tick = ingestor.next_tick().await;
        if tick.symbol.as_str() == symbol && tick.source == source {
            return tick;
        }
    }
}

fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[tokio::test]
async fn stream_trades_are_published_under_our_symbol_converted_into_its_currency() {
    let fake = FakeProviders::start().await;
    fake.script_coingecko(vec![], coingecko_now("50000", "1.0005"));
    let standin = BinanceStandIn::start().await;
    let mut settings = binance_settings(&fake, &standin);
    // ETH's pair is quoted in EUR, which nothing converts: Binance is not used for ETH.
    settings
        .ingestor
        .instruments
        .as_mut()
        .expect("instruments")
        .push(instrument(
            "ETH",
            ProviderKind::Coingecko,
            "ethereum",
            "USD",
        ));
    settings.ingestor.binance.pairs = Some(vec![
        pair("BTC", "BTCUSDT", "USDT"),
        pair("ETH", "ETHEUR", "EUR"),
    ]);
    let mut ingestor = spawn_ingestor(settings, Engine::Sqlite).await;
    let rate = next_from(&mut ingestor, "USDT", "coingecko").await;
    assert_eq!(rate.price.to_string(), "1.0005");
    subscribed(&standin, "btcusdt@trade").await;

    let traded_at = now_millis();
    standin.send_trade("BTCUSDT", "60000.10", traded_at);
    let tick = next_from(&mut ingestor, "BTC", "binance").await;

    assert_eq!(tick.currency, "USD");
    // 60000.10 USDT × 1.0005 USD/USDT.
    assert_eq!(tick.price.to_string(), "60030.10005");
    assert_eq!(tick.timestamp.timestamp_millis(), traded_at);
    let conversion = tick.conversion.expect("the tick says it was converted");
    assert_eq!(conversion.from_currency, "USDT");
    assert_eq!(conversion.provider_price.to_string(), "60000.1");
    assert_eq!(conversion.rate_symbol.as_str(), "USDT");
    assert_eq!(conversion.rate.to_string(), "1.0005");
    let streams: Vec<String> = standin
        .subscriptions()
        .into_iter()
        .flat_map(|(_, s)| s)
        .collect();
    assert_eq!(streams, ["btcusdt@trade"], "ETH is not streamed");
    // The SUBSCRIBE was answered and the frame was Binance's: nothing was skipped as malformed.
    assert_eq!(
        ingestor
            .metric(
                "ingestor_skipped_quotes_total",
                &[("source", "binance"), ("reason", "malformed")]
            )
            .await,
        Some(0.0)
    );
}

#[tokio::test]
async fn pings_are_answered_with_a_pong_carrying_their_payload() {
    let fake = FakeProviders::start().await;
    fake.script_coingecko(vec![], coingecko_now("50000", "1"));
    let standin = BinanceStandIn::start().await;
    let _ingestor = spawn_ingestor(binance_settings(&fake, &standin), Engine::Sqlite).await;
    subscribed(&standin, "btcusdt@trade").await;

    standin.ping(b"1672515782136");
    testkit::eventually_within(DEADLINE, "the ping is answered", || async {
        standin.pongs().iter().any(|p| p == b"1672515782136")
    })
    .await;
    standin.ping(b"second");
    testkit::eventually_within(DEADLINE, "the second ping is answered", || async {
        standin.pongs().iter().any(|p| p == b"second")
    })
    .await;
    assert_eq!(standin.connections(), 1, "answered on the same connection");
}

#[tokio::test]
async fn a_dropped_connection_is_reopened_and_subscribed_again() {
    let fake = FakeProviders::start().await;
    fake.script_coingecko(vec![], coingecko_now("50000", "1"));
    let standin = BinanceStandIn::start().await;
    standin.set_rest_price("BTCUSDT", "50001");
    let mut ingestor = spawn_ingestor(binance_settings(&fake, &standin), Engine::Sqlite).await;
    next_from(&mut ingestor, "USDT", "coingecko").await;
    subscribed(&standin, "btcusdt@trade").await;

    standin.drop_connections();
    testkit::eventually_within(DEADLINE, "a second connection subscribes", || async {
        standin.subscriptions().len() == 2 && standin.subscriptions()[1].1 == ["btcusdt@trade"]
    })
    .await;
    // The stand-in sends trades only for streams subscribed on the connection.
    standin.send_trade("BTCUSDT", "50100", now_millis());
    // (REST, 50001, may have filled the gap before.)
    while next_from(&mut ingestor, "BTC", "binance")
        .await
        .price
        .to_string()
        != "50100"
    {}

    // `serverShutdown`: a new connection at once, without the REST fallback.
    let rest_calls = standin.rest_calls().len();
    standin.send_server_shutdown();
    testkit::eventually_within(DEADLINE, "a third connection subscribes", || async {
        standin.subscriptions().len() == 3 && standin.subscriptions()[2].1 == ["btcusdt@trade"]
    })
    .await;
    assert_eq!(
        standin.rest_calls().len(),
        rest_calls,
        "no REST call on a planned reconnect"
    );
}

#[tokio::test]
async fn while_the_stream_is_down_rest_supplies_prices_and_its_rate_limits_are_respected() {
    let fake = FakeProviders::start().await;
    fake.script_coingecko(vec![], coingecko_now("50000", "1.5"));
    let standin = BinanceStandIn::start().await;
    standin.refuse_streams();
    standin.set_rest_price("BTCUSDT", "40000");
    let mut settings = binance_settings(&fake, &standin);
    settings
        .ingestor
        .instruments
        .as_mut()
        .expect("instruments")
        .push(instrument(
            "ETH",
            ProviderKind::Coingecko,
            "ethereum",
            "USD",
        ));
    // Binance does not know BOGUSUSDT: a call naming it is refused with -1121.
    settings.ingestor.binance.pairs = Some(vec![
        pair("BTC", "BTCUSDT", "USDT"),
        pair("ETH", "BOGUSUSDT", "USDT"),
    ]);
    // No secondary: this test is about REST.
    settings.ingestor.failover.order =
        BTreeMap::from([("crypto".to_owned(), vec!["binance".to_owned()])]);
    let mut ingestor = spawn_ingestor(settings, Engine::Sqlite).await;

    let tick = next_from(&mut ingestor, "BTC", "binance").await;
    assert_eq!(tick.price.to_string(), "60000", "40000 USDT at 1.5 USD");
    let calls = standin.rest_calls();
    let asked: Vec<(&str, u16)> = calls.iter().take(3).map(|c| (c.1.as_str(), c.2)).collect();
    // The whole call, then its halves: BOGUSUSDT alone is -1121 and is left out.
    assert_eq!(
        asked,
        [
            (r#"["BTCUSDT","BOGUSUSDT"]"#, 400),
            (r#"["BOGUSUSDT"]"#, 400),
            (r#"["BTCUSDT"]"#, 200)
        ]
    );

    standin.script_rest(vec![
        RestAnswer::error(429, ERROR_429).retry_after(1),
        RestAnswer::error(418, ERROR_418).retry_after(2),
    ]);
    standin.set_rest_price("BTCUSDT", "40100");
    loop {
        if next_from(&mut ingestor, "BTC", "binance")
            .await
            .price
            .to_string()
            == "60150"
        {
            break;
        }
    }
    let calls = standin.rest_calls();
    assert!(
        calls[2..].iter().all(|c| c.1 == r#"["BTCUSDT"]"#),
        "{calls:?}"
    );
    let limited = calls
        .iter()
        .position(|c| c.2 == 429)
        .expect("the 429 was answered");
    assert_eq!(calls[limited + 1].2, 418, "{calls:?}");
    assert_eq!(calls[limited + 2].2, 200, "{calls:?}");
    let after_429 = calls[limited + 1].0 - calls[limited].0;
    let after_418 = calls[limited + 2].0 - calls[limited + 1].0;
    assert!(after_429 >= Duration::from_secs(1), "{after_429:?}");
    assert!(after_418 >= Duration::from_secs(2), "{after_418:?}");
    eprintln!(
        "measured: next REST call {after_429:?} after a 429 (Retry-After 1), {after_418:?} after a 418 (Retry-After 2)"
    );
}

#[tokio::test]
async fn a_connection_is_renewed_before_its_age_limit_without_a_gap_filled_by_rest() {
    let fake = FakeProviders::start().await;
    fake.script_coingecko(vec![], coingecko_now("50000", "1"));
    let standin = BinanceStandIn::start().await;
    let mut settings = binance_settings(&fake, &standin);
    // Binance cuts at 24 h; the client renews at its `max_connection_age` (23 h by default).
    settings.ingestor.binance.max_connection_age = Duration::from_millis(500);
    let _ingestor = spawn_ingestor(settings, Engine::Sqlite).await;

    testkit::eventually_within(DEADLINE, "three connections subscribed in turn", || async {
        let subscriptions = standin.subscriptions();
        subscriptions.len() >= 3 && subscriptions.iter().all(|(_, s)| s == &["btcusdt@trade"])
    })
    .await;
    assert!(
        standin.open_connections() <= 1,
        "the old connection is closed"
    );
    assert!(standin.rest_calls().is_empty(), "a renewal is no outage");
}
