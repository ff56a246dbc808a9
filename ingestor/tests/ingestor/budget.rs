use std::time::Duration;

use testkit::Engine;
use tokio::time::Instant;

use super::fake_providers::{Canned, FakeProviders, Recorded};
use super::fixtures::*;
use super::helpers::*;

#[tokio::test]
async fn one_cycle_for_the_55_default_instruments_makes_one_coingecko_call_and_25_yahoo_calls() {
    let fake = FakeProviders::start().await;
    fake.script_coingecko(vec![], Canned::json(COINGECKO_30_COINS));
    for (n, instrument) in default_yahoo().iter().enumerate() {
        let chart = yahoo_chart(
            &instrument.provider_id,
            &yahoo_price(n),
            &instrument.currency,
            1_790_971_201,
        );
        // A little latency, so the concurrency bound is visible.
        fake.script_yahoo(
            &instrument.provider_id,
            vec![],
            Canned::json(chart).delayed(Duration::from_millis(40)),
        );
    }
    let settings = test_settings(&fake);
    let concurrency = settings.ingestor.yahoo.concurrency;
    let mut ingestor = spawn_ingestor(settings, Engine::Sqlite).await;

    let ticks = ingestor.first_ticks(55).await;

    assert_eq!(fake.requests("coingecko").len(), 1);
    let mut tickers: Vec<String> = fake
        .requests("yahoo")
        .into_iter()
        .filter_map(|r| r.ticker)
        .collect();
    tickers.sort();
    let mut expected: Vec<String> = default_yahoo().into_iter().map(|i| i.provider_id).collect();
    expected.sort();
    assert_eq!(tickers, expected, "each Yahoo ticker exactly once");
    assert!(fake.max_yahoo_in_flight() <= concurrency);
    eprintln!(
        "measured: one cycle of 55 = {} CoinGecko call, {} Yahoo calls, at most {} in flight",
        fake.requests("coingecko").len(),
        fake.requests("yahoo").len(),
        fake.max_yahoo_in_flight()
    );
    assert_eq!(ticks["NIFTY50"].currency, "INR");
    assert_eq!(ticks["SP500"].currency, "USD");
    ingestor
        .wait_for_metric(
            "ingestor_kafka_messages_sent_total",
            &[("topic", "price-events")],
            |v| v == 55.0,
        )
        .await;
}

/// GCRA's promise: in any window of `w`, at most `burst + w / period` calls. Calls are timed on
/// arrival at the fake server, so two more are allowed for transit jitter on a busy machine
/// (without the budget these cycles would make hundreds of calls a second).
pub fn assert_within_budget(calls: &[Recorded], per_minute: u32, burst: u32) {
    let period = Duration::from_secs(60) / per_minute;
    for (i, first) in calls.iter().enumerate() {
        for (j, last) in calls.iter().enumerate().skip(i + 1) {
            let window = last.at - first.at;
            let allowed = u128::from(burst) + window.as_nanos() / period.as_nanos() + 2;
            let made = (j - i + 1) as u128;
            assert!(
                made <= allowed,
                "{made} calls in {window:?} (budget {per_minute}/min, burst {burst})"
            );
        }
    }
}

#[tokio::test]
async fn the_call_budget_is_never_exceeded_over_many_cycles() {
    let fake = FakeProviders::start().await;
    fake.script_coingecko(vec![], Canned::json(COINGECKO_30_COINS));
    script_every_yahoo_chart(&fake);
    let mut settings = test_settings(&fake);
    // Cycles every 20 ms would want 1,500 CoinGecko and 75,000 Yahoo calls a minute.
    settings.ingestor.coingecko.interval = Duration::from_millis(20);
    settings.ingestor.coingecko.requests_per_minute = 600;
    settings.ingestor.coingecko.burst = 2;
    settings.ingestor.yahoo.interval = Duration::from_millis(20);
    settings.ingestor.yahoo.requests_per_minute = 1_200;
    settings.ingestor.yahoo.burst = 5;
    let started = Instant::now();
    let ingestor = spawn_ingestor(settings, Engine::Sqlite).await;

    testkit::eventually("many budgeted cycles", || async {
        fake.requests("yahoo").len() >= 75 && fake.requests("coingecko").len() >= 20
    })
    .await;
    ingestor.stop().await;
    let elapsed = started.elapsed();

    let coingecko = fake.requests("coingecko");
    let yahoo = fake.requests("yahoo");
    assert_within_budget(&coingecko, 600, 2);
    assert_within_budget(&yahoo, 1_200, 5);
    let yahoo_allowed = 5 + elapsed.as_millis() / 50 + 2;
    eprintln!(
        "measured: {elapsed:?} of 20 ms cycles: {} CoinGecko calls (budget 600/min, burst 2), {} Yahoo calls (budget 1200/min, burst 5)",
        coingecko.len(),
        yahoo.len()
    );
    assert!(
        (yahoo.len() as u128) <= yahoo_allowed,
        "{} Yahoo calls in {elapsed:?}",
        yahoo.len()
    );
}
