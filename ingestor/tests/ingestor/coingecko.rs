use std::time::Duration;

use rust_decimal::Decimal;
use shared::config::CoinGeckoPlan;
use testkit::Engine;

use super::fake_providers::{Canned, FakeProviders};
use super::fixtures::*;
use super::helpers::*;

async fn one_call_prices_every_coin_exactly(engine: Engine) {
    let fake = FakeProviders::start().await;
    fake.script_coingecko(vec![], Canned::json(COINGECKO_30_COINS));
    let settings = with_instruments(test_settings(&fake), default_coins());
    let mut ingestor = spawn_ingestor(settings, engine).await;

    let ticks = ingestor.first_ticks(30).await;

    let btc = &ticks["BTC"];
    assert_eq!(btc.price.to_string(), "67187.3358936566");
    assert_eq!(btc.currency, "USD");
    assert_eq!(btc.source, "coingecko");
    assert_eq!(btc.timestamp.timestamp(), 1_711_356_300);
    assert_eq!(btc.previous_price, None);
    assert!(btc.received_at >= btc.timestamp);
    assert_eq!(ticks["SHIB"].price.to_string(), "0.00002451");
    assert_eq!(ticks["USDT"].price.to_string(), "1.0004");
    assert_eq!(ticks["VET"].timestamp.timestamp(), 1_711_356_328);

    let calls = fake.requests("coingecko");
    assert_eq!(calls.len(), 1, "all coins in one call");
    let query = &calls[0].query;
    let ids: Vec<&str> = query["ids"].split(',').collect();
    assert_eq!(ids.len(), 30);
    assert!(ids.contains(&"bitcoin") && ids.contains(&"avalanche-2"));
    assert_eq!(query["vs_currencies"], "usd");
    assert_eq!(query["include_24hr_change"], "true");
    assert_eq!(query["include_last_updated_at"], "true");

    // GET /prices answers from storage after a restart: every coin is stored exactly.
    let database = ingestor.database.clone();
    ingestor
        .wait_for_metric(
            "ingestor_kafka_messages_sent_total",
            &[("topic", "price-events")],
            |v| v >= 30.0,
        )
        .await;
    eventually_stored(&database, 30).await;
    let stored = database.db.latest_prices().await.expect("latest prices");
    let btc = stored
        .iter()
        .find(|p| p.symbol == "BTC")
        .expect("BTC stored");
    assert_eq!(
        btc.price.as_decimal(),
        "67187.3358936566".parse::<Decimal>().expect("decimal")
    );
    assert_eq!(btc.source, "coingecko");
    assert_eq!(btc.quoted_at.timestamp(), 1_711_356_300);
}

async fn eventually_stored(database: &testkit::TestDatabase, count: usize) {
    testkit::eventually_within(DEADLINE, &format!("{count} prices are stored"), || async {
        let stored = database.db.latest_prices().await.expect("latest prices");
        if stored.len() >= count {
            Ok(())
        } else {
            Err(format!("only {} stored", stored.len()))
        }
    })
    .await;
}

#[tokio::test]
async fn one_call_prices_every_coin_exactly_in_usd_at_the_provider_time_on_postgres() {
    one_call_prices_every_coin_exactly(Engine::Postgres).await;
}

#[tokio::test]
async fn one_call_prices_every_coin_exactly_in_usd_at_the_provider_time_on_sqlite() {
    one_call_prices_every_coin_exactly(Engine::Sqlite).await;
}

#[tokio::test]
async fn the_api_key_travels_in_the_header_of_its_plan_never_in_the_url() {
    for (plan, header) in [
        (CoinGeckoPlan::Demo, "x-cg-demo-api-key"),
        (CoinGeckoPlan::Pro, "x-cg-pro-api-key"),
    ] {
        let fake = FakeProviders::start().await;
        fake.script_coingecko(vec![], Canned::json(COINGECKO_30_COINS));
        let mut settings = with_instruments(test_settings(&fake), default_coins());
        settings.ingestor.coingecko.api_key = Some("CG-test-key".to_owned().into());
        settings.ingestor.coingecko.api_plan = plan;
        let mut ingestor = spawn_ingestor(settings, Engine::Sqlite).await;
        ingestor.next_tick().await;

        let call = &fake.requests("coingecko")[0];
        assert_eq!(
            call.headers.get(header).and_then(|v| v.to_str().ok()),
            Some("CG-test-key")
        );
        assert!(call.query.values().all(|v| !v.contains("CG-test-key")));
    }
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_out_before_the_next_call() {
    let fake = FakeProviders::start().await;
    fake.script_coingecko(
        vec![Canned::status(429, COINGECKO_429_BODY).with_header("retry-after", "2")],
        Canned::json(COINGECKO_30_COINS),
    );
    let settings = with_instruments(test_settings(&fake), default_coins());
    let mut ingestor = spawn_ingestor(settings, Engine::Sqlite).await;

    let tick = ingestor.next_tick().await;

    assert_eq!(tick.source, "coingecko");
    let calls = fake.requests("coingecko");
    assert_eq!(calls.len(), 2);
    let waited = calls[1].at - calls[0].at;
    assert!(
        waited >= Duration::from_secs(2),
        "retried after only {waited:?}"
    );
    eprintln!("measured: CoinGecko retried {waited:?} after a 429 with Retry-After: 2");
    let errors = ingestor
        .metric("ingestor_fetch_errors_total", &[("source", "coingecko")])
        .await;
    assert_eq!(errors, Some(1.0));
}

#[tokio::test]
async fn null_zero_and_missing_coins_are_counted_and_skipped_while_the_rest_publish() {
    let fake = FakeProviders::start().await;
    fake.script_coingecko(
        vec![],
        Canned::json(coingecko_with(|coins| {
            coins["tether"]["usd"] = serde_json::Value::Null;
            coins["usd-coin"]["usd"] = serde_json::Value::from(0);
            coins.remove("vechain");
        })),
    );
    let settings = with_instruments(test_settings(&fake), default_coins());
    let mut ingestor = spawn_ingestor(settings, Engine::Sqlite).await;

    let ticks = ingestor.first_ticks(27).await;

    for (reason, symbol) in [
        ("null_price", "USDT"),
        ("non_positive", "USDC"),
        ("missing", "VET"),
    ] {
        ingestor
            .wait_for_metric(
                "ingestor_skipped_quotes_total",
                &[("source", "coingecko"), ("reason", reason)],
                |v| v == 1.0,
            )
            .await;
        assert!(!ticks.contains_key(symbol), "{symbol} was published");
    }
    let late = ingestor.published_so_far();
    assert!(late.is_empty(), "unexpected ticks {late:?}");
    assert_eq!(ticks["BTC"].price.to_string(), "67187.3358936566");
}

#[tokio::test]
async fn a_truncated_answer_is_counted_and_skipped_while_yahoo_instruments_still_publish() {
    let fake = FakeProviders::start().await;
    fake.script_coingecko(vec![], Canned::json(truncated(COINGECKO_30_COINS)));
    script_every_yahoo_chart(&fake);
    let mut ingestor = spawn_ingestor(test_settings(&fake), Engine::Sqlite).await;

    let ticks = ingestor.first_ticks(25).await;

    assert!(ticks.values().all(|t| t.source == "yahoo"));
    ingestor
        .wait_for_metric(
            "ingestor_skipped_quotes_total",
            &[("source", "coingecko"), ("reason", "malformed")],
            |v| v == 30.0,
        )
        .await;
    let errors = ingestor
        .metric("ingestor_fetch_errors_total", &[("source", "coingecko")])
        .await;
    assert_eq!(
        errors,
        Some(1.0),
        "an unreadable answer is not retried within the cycle"
    );
    assert!(ingestor.published_so_far().is_empty());
}
