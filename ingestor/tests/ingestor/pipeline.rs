use std::sync::Arc;

use shared::catalogue::ProviderKind;
use testkit::{fresh_database, Engine};

use super::fake_providers::{Canned, FakeProviders};
use super::fixtures::*;
use super::helpers::*;

fn bitcoin_only(fake: &FakeProviders) -> shared::config::Settings {
    let mut settings = with_instruments(
        test_settings(fake),
        vec![instrument("BTC", ProviderKind::Coingecko, "bitcoin", "USD")],
    );
    settings.ingestor.coingecko.interval = std::time::Duration::from_millis(30);
    settings
}

#[tokio::test]
async fn a_one_off_bad_print_is_held_back_and_a_confirmed_jump_goes_through() {
    let fake = FakeProviders::start().await;
    fake.script_coingecko(
        vec![
            Canned::json(coingecko_one("bitcoin", "100", 1)),
            Canned::json(coingecko_one("bitcoin", "1000", 2)),
            Canned::json(coingecko_one("bitcoin", "101", 3)),
            Canned::json(coingecko_one("bitcoin", "140", 4)),
        ],
        Canned::json(coingecko_one("bitcoin", "141", 5)),
    );
    let mut ingestor = spawn_ingestor(bitcoin_only(&fake), Engine::Sqlite).await;

    let mut seen = Vec::new();
    for _ in 0..3 {
        let tick = ingestor.next_tick().await;
        seen.push((
            tick.price.to_string(),
            tick.previous_price.map(|p| p.to_string()),
        ));
    }

    let expected = [("100", None), ("101", Some("100")), ("141", Some("101"))]
        .map(|(p, prev)| (p.to_owned(), prev.map(str::to_owned)));
    assert_eq!(seen, expected);
    let held = ingestor
        .metric(
            "ingestor_skipped_quotes_total",
            &[("source", "coingecko"), ("reason", "glitch")],
        )
        .await;
    assert_eq!(held, Some(2.0));
}

#[tokio::test]
async fn an_unchanged_quote_is_not_published_again() {
    let fake = FakeProviders::start().await;
    fake.script_coingecko(vec![], Canned::json(coingecko_one("bitcoin", "100", 1)));
    let mut ingestor = spawn_ingestor(bitcoin_only(&fake), Engine::Sqlite).await;

    ingestor.next_tick().await;
    ingestor
        .wait_for_metric(
            "ingestor_skipped_quotes_total",
            &[("source", "coingecko"), ("reason", "unchanged")],
            |v| v >= 5.0,
        )
        .await;

    assert!(ingestor.published_so_far().is_empty());
    let fetched = ingestor
        .metric(
            "ingestor_prices_fetched_total",
            &[("source", "coingecko"), ("symbol", "BTC")],
        )
        .await
        .expect("series exists");
    assert!(fetched >= 6.0);
}

async fn the_last_published_price_survives_a_restart(engine: Engine) {
    let database = Arc::new(fresh_database(engine).await);
    let fake = FakeProviders::start().await;
    fake.script_coingecko(vec![], Canned::json(coingecko_one("bitcoin", "100.25", 1)));
    let mut first = spawn_ingestor_on(bitcoin_only(&fake), database.clone()).await;
    assert_eq!(first.next_tick().await.price.to_string(), "100.25");
    first
        .wait_for_metric(
            "ingestor_skipped_quotes_total",
            &[("source", "coingecko"), ("reason", "unchanged")],
            |v| v >= 1.0,
        )
        .await;
    first.stop().await;

    // After the restart the same quote is still unchanged; the next one carries 100.25 as
    // its previous price.
    fake.script_coingecko(
        vec![Canned::json(coingecko_one("bitcoin", "100.25", 1))],
        Canned::json(coingecko_one("bitcoin", "99.75", 2)),
    );
    let mut second = spawn_ingestor_on(bitcoin_only(&fake), database.clone()).await;
    let tick = second.next_tick().await;

    assert_eq!(tick.price.to_string(), "99.75");
    assert_eq!(
        tick.previous_price.map(|p| p.to_string()).as_deref(),
        Some("100.25")
    );
    second.stop().await;
    let stored = database.db.latest_prices().await.expect("latest prices");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].price.to_string(), "99.75");
    assert_eq!(stored[0].quoted_at.timestamp(), 2);
}

#[tokio::test]
async fn the_last_published_price_survives_a_restart_on_postgres() {
    the_last_published_price_survives_a_restart(Engine::Postgres).await;
}

#[tokio::test]
async fn the_last_published_price_survives_a_restart_on_sqlite() {
    the_last_published_price_survives_a_restart(Engine::Sqlite).await;
}
