//! Failover per instrument, Binance (the loopback stand-in) preferred and CoinGecko (the fake)
//! second: the secondary takes over when the primary is killed, rate-limited or stalls, within
//! the configured age; the primary takes back once after its hold time, never while it
//! flaps; and no tick ever goes back in time.

use std::time::Duration;

use shared::events::PriceTick;
use testkit::Engine;
use tokio::time::Instant;

use super::binance::{binance_settings, coingecko_now, next_from, subscribed};
use super::binance_standin::{BinanceStandIn, RestAnswer, ERROR_429};
use super::fake_providers::{Canned, FakeProviders};
use super::helpers::*;

/// CoinGecko's answer for bitcoin alone, dated `offset` seconds from now.
fn coingecko_at(bitcoin: &str, offset: i64) -> Canned {
    let at = chrono::Utc::now().timestamp() + offset;
    Canned::json(format!(
        r#"{{"bitcoin":{{"usd":{bitcoin},"last_updated_at":{at}}}}}"#
    ))
}

const STREAM_EVERY: Duration = Duration::from_millis(50);

/// Ticks of BTC until one comes from `source`; all of them, that one last.
async fn until_source(ingestor: &mut TestIngestor, source: &str) -> Vec<PriceTick> {
    let mut seen = Vec::new();
    loop {
        let tick = ingestor.next_tick().await;
        if tick.symbol.as_str() != "BTC" {
            continue;
        }
        let done = tick.source == source;
        seen.push(tick);
        if done {
            return seen;
        }
    }
}

fn never_back_in_time(ticks: &[PriceTick]) {
    for pair in ticks.windows(2) {
        assert!(
            pair[1].timestamp >= pair[0].timestamp,
            "{} at {} after {} at {}",
            pair[1].source,
            pair[1].timestamp,
            pair[0].source,
            pair[0].timestamp
        );
    }
}

async fn switches(ingestor: &TestIngestor, to: &str) -> Option<f64> {
    ingestor
        .metric(
            "ingestor_feed_switches_total",
            &[("symbol", "BTC"), ("source", to)],
        )
        .await
}

async fn feed(ingestor: &TestIngestor, source: &str) -> Option<f64> {
    ingestor
        .metric(
            "ingestor_instrument_feed",
            &[("symbol", "BTC"), ("source", source)],
        )
        .await
}

/// An ingestor whose BTC comes from the streaming stand-in, CoinGecko on standby.
async fn streaming() -> (FakeProviders, BinanceStandIn, TestIngestor, Vec<PriceTick>) {
    let fake = FakeProviders::start().await;
    fake.script_coingecko(vec![], coingecko_now("50000", "1"));
    let standin = BinanceStandIn::start().await;
    standin.stream("50010", STREAM_EVERY);
    standin.set_rest_price("BTCUSDT", "50010");
    let settings = binance_settings(&fake, &standin);
    let mut ingestor = spawn_ingestor(settings, Engine::Sqlite).await;
    subscribed(&standin, "btcusdt@trade").await;
    let ticks = until_source(&mut ingestor, "binance").await;
    assert!(
        ticks.iter().all(|t| t.source == "binance"),
        "CoinGecko stood by"
    );
    (fake, standin, ingestor, ticks)
}

#[tokio::test]
async fn a_killed_primary_hands_over_at_once_and_takes_back_once_after_its_hold() {
    let (fake, standin, mut ingestor, mut ticks) = streaming().await;

    // CoinGecko's quote a minute old: older than Binance's last trade, never published.
    fake.script_coingecko(vec![], coingecko_at("50015", -60));
    standin.kill();
    let killed = Instant::now();
    ingestor
        .wait_for_metric(
            "ingestor_skipped_quotes_total",
            &[("source", "coingecko"), ("reason", "outdated")],
            |v| v > 0.0,
        )
        .await;
    fake.script_coingecko(vec![], coingecko_now("50020", "1"));
    ticks.extend(until_source(&mut ingestor, "coingecko").await);
    let took = killed.elapsed();
    // The lost stream marks Binance down: no need to wait for it to go stale (1.5 s).
    assert!(took < Duration::from_millis(1_500), "{took:?}");
    eprintln!("measured: CoinGecko fed BTC {took:?} after the primary was killed");
    assert_eq!(switches(&ingestor, "coingecko").await, Some(1.0));
    assert_eq!(feed(&ingestor, "coingecko").await, Some(1.0));
    assert_eq!(feed(&ingestor, "binance").await, Some(0.0));

    standin.revive();
    let revived = Instant::now();
    ticks.extend(until_source(&mut ingestor, "binance").await);
    let back = revived.elapsed();
    assert!(
        back >= Duration::from_millis(1_000),
        "switched back before the hold: {back:?}"
    );
    eprintln!("measured: Binance took BTC back {back:?} after it was revived (hold 1 s)");
    // Streaming on for a while: it stays with Binance.
    for _ in 0..20 {
        ticks.push(next_from(&mut ingestor, "BTC", "binance").await);
    }
    assert_eq!(switches(&ingestor, "binance").await, Some(1.0));
    assert_eq!(switches(&ingestor, "coingecko").await, Some(1.0));
    never_back_in_time(&ticks);
}

#[tokio::test]
async fn a_rate_limited_primary_hands_over_and_is_not_called_before_retry_after() {
    let fake = FakeProviders::start().await;
    fake.script_coingecko(vec![], coingecko_now("50000", "1"));
    let standin = BinanceStandIn::start().await;
    // The stream is down, so Binance feeds BTC from REST until REST is rate-limited.
    standin.refuse_streams();
    standin.set_rest_price("BTCUSDT", "50010");
    let mut ingestor = spawn_ingestor(binance_settings(&fake, &standin), Engine::Sqlite).await;
    let mut ticks = until_source(&mut ingestor, "binance").await;

    // Binance may have started behind CoinGecko (its stream was refused at once): count from here.
    let before = switches(&ingestor, "coingecko").await.unwrap_or(0.0);
    standin.script_rest(vec![RestAnswer::error(429, ERROR_429).retry_after(30)]);
    fake.script_coingecko(vec![], coingecko_now("50020", "1"));
    ticks.extend(until_source(&mut ingestor, "coingecko").await);
    let limited_at = standin
        .rest_calls()
        .iter()
        .find(|c| c.2 == 429)
        .map(|c| c.0)
        .expect("the 429 was answered");
    let took = limited_at.elapsed();
    assert!(took < Duration::from_millis(1_500), "{took:?}");
    eprintln!("measured: CoinGecko fed BTC {took:?} after Binance's 429");
    // CoinGecko keeps feeding for 2.5 s (Binance's REST budget would allow 2 calls in it);
    // Binance's REST is not asked again within Retry-After.
    let mut cents = 0;
    while limited_at.elapsed() < Duration::from_millis(2_500) {
        cents += 1;
        // A new price each time: the same price at the same whole second is not news.
        fake.script_coingecko(vec![], coingecko_now(&format!("50030.{cents}"), "1"));
        let tick = loop {
            let tick = ingestor.next_tick().await;
            if tick.symbol.as_str() == "BTC" {
                break tick;
            }
        };
        assert_eq!(tick.source, "coingecko", "Binance back within Retry-After");
        ticks.push(tick);
    }
    let after = standin
        .rest_calls()
        .iter()
        .filter(|c| c.0 > limited_at)
        .count();
    assert_eq!(after, 0, "called during Retry-After");
    assert_eq!(switches(&ingestor, "coingecko").await, Some(before + 1.0));
    never_back_in_time(&ticks);
}

#[tokio::test]
async fn a_stalled_primary_hands_over_once_it_is_stale_and_not_before() {
    let (fake, standin, mut ingestor, mut ticks) = streaming().await;

    standin.stall();
    let stalled = Instant::now();
    fake.script_coingecko(vec![], coingecko_now("50020", "1"));
    ticks.extend(until_source(&mut ingestor, "coingecko").await);
    let took = stalled.elapsed();
    // Stale after 1.5 s without a tick; CoinGecko's next cycle (100 ms) then feeds it.
    assert!(
        took >= Duration::from_millis(1_400),
        "before the primary was stale: {took:?}"
    );
    assert!(took < Duration::from_millis(3_000), "{took:?}");
    eprintln!("measured: CoinGecko fed BTC {took:?} after the primary stalled (stale after 1.5 s)");
    assert_eq!(
        standin.open_connections(),
        1,
        "a stall is not a lost connection"
    );
    assert_eq!(switches(&ingestor, "coingecko").await, Some(1.0));
    never_back_in_time(&ticks);
}

#[tokio::test]
async fn a_primary_going_on_off_and_on_switches_back_once_and_never_flaps() {
    let (fake, standin, mut ingestor, mut ticks) = streaming().await;
    standin.kill();
    fake.script_coingecko(vec![], coingecko_now("50020", "1"));
    ticks.extend(until_source(&mut ingestor, "coingecko").await);

    // On for less than the hold time (1 s): its ticks are held back, then it is off again.
    standin.revive();
    ingestor
        .wait_for_metric(
            "ingestor_skipped_quotes_total",
            &[("source", "binance"), ("reason", "standby")],
            |v| v > 0.0,
        )
        .await;
    standin.kill();
    fake.script_coingecko(vec![], coingecko_now("50030", "1"));
    let off_again = Instant::now();
    // CoinGecko keeps feeding while Binance is off (a new price each time: the same price at
    // the same whole second is not news).
    let mut cents = 0;
    while off_again.elapsed() < Duration::from_millis(1_200) {
        let tick = next_from(&mut ingestor, "BTC", "coingecko").await;
        ticks.push(tick);
        cents += 1;
        fake.script_coingecko(vec![], coingecko_now(&format!("50030.{cents}"), "1"));
    }
    // On again for good.
    standin.revive();
    ticks.extend(until_source(&mut ingestor, "binance").await);
    for _ in 0..20 {
        ticks.push(next_from(&mut ingestor, "BTC", "binance").await);
    }

    let sources: Vec<&str> = ticks.iter().map(|t| t.source.as_str()).collect();
    let changes = sources.windows(2).filter(|w| w[0] != w[1]).count();
    assert_eq!(
        changes, 2,
        "binance → coingecko → binance only: {sources:?}"
    );
    assert_eq!(switches(&ingestor, "binance").await, Some(1.0));
    assert_eq!(switches(&ingestor, "coingecko").await, Some(1.0));
    never_back_in_time(&ticks);
}
