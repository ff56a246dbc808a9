use std::collections::HashMap;
use std::time::Duration;

use shared::config::{PriceSource, Settings};
use testkit::Engine;
use tokio::time::Instant;

use super::fake_providers::FakeProviders;
use super::helpers::*;

#[tokio::test]
async fn one_environment_variable_makes_all_55_move_within_two_seconds_without_any_provider() {
    let fake = FakeProviders::start().await;
    let env = HashMap::from([("PRICEALERT_PRICE_SOURCE".to_owned(), "simulated".to_owned())]);
    let switched = Settings::load(None, &env).expect("settings load");
    assert_eq!(switched.ingestor.price_source, PriceSource::Simulated);
    let mut settings = test_settings(&fake);
    settings.ingestor.price_source = switched.ingestor.price_source;
    settings.ingestor.simulated = switched.ingestor.simulated;
    let started = Instant::now();
    let mut ingestor = spawn_ingestor(settings, Engine::Sqlite).await;

    let first = ingestor.first_ticks(55).await;
    let first_cycle = started.elapsed();

    assert!(first_cycle < Duration::from_secs(2), "took {first_cycle:?}");
    eprintln!("measured: ticks for all 55 simulated symbols {first_cycle:?} after start");
    assert!(first.values().all(|t| t.source == "simulated"));
    assert_eq!(first["NIFTY50"].currency, "INR");
    // Every symbol moves again on the next cycle, with the first price as its previous one.
    let mut moved = HashMap::new();
    while moved.len() < 55 {
        let tick = ingestor.next_tick().await;
        moved.entry(tick.symbol.to_string()).or_insert(tick);
    }
    for (symbol, tick) in &moved {
        assert_ne!(tick.price, first[symbol].price, "{symbol} did not move");
        assert_eq!(tick.previous_price, Some(first[symbol].price));
    }
    assert!(started.elapsed() < Duration::from_secs(4));
    assert!(fake.requests("coingecko").is_empty() && fake.requests("yahoo").is_empty());
    // Latest prices are written behind the stream.
    let database = ingestor.database.clone();
    testkit::eventually_within(DEADLINE, "all 55 latest prices are stored", || async {
        let stored = database.db.latest_prices().await.expect("latest prices");
        match stored.len() {
            55 => Ok(()),
            n => Err(format!("{n} stored")),
        }
    })
    .await;
    let stored = database.db.latest_prices().await.expect("latest prices");
    assert!(stored.iter().all(|p| p.source == "simulated"));
}
