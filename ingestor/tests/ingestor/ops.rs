use std::time::Duration;

use testkit::Engine;

use super::fake_providers::{Canned, FakeProviders};
use super::fixtures::*;
use super::helpers::*;

#[tokio::test]
async fn the_ops_port_lists_the_catalogue_and_reports_health() {
    let fake = FakeProviders::start().await;
    let ingestor = spawn_ingestor(test_settings(&fake), Engine::Sqlite).await;

    let health = ingestor.get("/health").await;
    assert_eq!(health.status(), 200);
    let body: serde_json::Value = health.json().await.expect("json");
    assert_eq!(body["status"], "healthy");

    let instruments: Vec<serde_json::Value> = ingestor
        .get("/instruments")
        .await
        .json()
        .await
        .expect("json list");
    assert_eq!(instruments.len(), 55);
    let nifty = instruments
        .iter()
        .find(|i| i["symbol"] == "NIFTY50")
        .expect("NIFTY50 listed");
    assert_eq!(
        nifty,
        &serde_json::json!({
            "symbol": "NIFTY50",
            "provider": "yahoo",
            "provider_id": "^NSEI",
            "asset_class": "index",
            "currency": "INR"
        })
    );
}

#[tokio::test]
async fn a_settings_file_replaces_the_catalogue() {
    let fake = FakeProviders::start().await;
    let file = r#"
        [[ingestor.instruments]]
        symbol = "BTC"
        provider = "coingecko"
        provider_id = "bitcoin"
        asset_class = "crypto"
        currency = "USD"

        [[ingestor.instruments]]
        symbol = "WASHTEC"
        provider = "yahoo"
        provider_id = "WSU.DE"
        asset_class = "stock"
        currency = "EUR"
    "#;
    let from_file: shared::config::Settings = toml::from_str(file).expect("settings parse");
    fake.script_coingecko(vec![], Canned::json(COINGECKO_30_COINS));
    fake.script_yahoo("WSU.DE", vec![], Canned::json(yahoo_wsu_de_chart()));
    let settings = with_instruments(
        test_settings(&fake),
        from_file.ingestor.instruments.expect("instruments"),
    );
    let mut ingestor = spawn_ingestor(settings, Engine::Sqlite).await;

    let ticks = ingestor.first_ticks(2).await;

    assert_eq!(ticks.keys().collect::<Vec<_>>(), ["BTC", "WASHTEC"]);
    let listed: Vec<serde_json::Value> = ingestor
        .get("/instruments")
        .await
        .json()
        .await
        .expect("json list");
    assert_eq!(listed.len(), 2);
    assert_eq!(fake.requests("coingecko")[0].query["ids"], "bitcoin");
}

#[tokio::test]
async fn every_metric_series_exists_at_zero_before_the_first_answer() {
    let fake = FakeProviders::start().await;
    fake.script_coingecko(
        vec![],
        Canned::json(COINGECKO_30_COINS).delayed(Duration::from_secs(120)),
    );
    for instrument in default_yahoo() {
        fake.script_yahoo(
            &instrument.provider_id,
            vec![],
            Canned::json(yahoo_aapl_chart()).delayed(Duration::from_secs(120)),
        );
    }
    let mut settings = test_settings(&fake);
    settings.ingestor.http.timeout = std::time::Duration::from_secs(120);
    let ingestor = spawn_ingestor(settings, Engine::Sqlite).await;
    testkit::eventually("the first calls", || async {
        fake.requests("coingecko").len() == 1
    })
    .await;

    let text = ingestor.metrics_text().await;

    let zero = |name: &str, labels: &[(&str, &str)]| {
        assert_eq!(
            metric_value(&text, name, labels),
            Some(0.0),
            "{name}{labels:?} in\n{text}"
        );
    };
    zero(
        "ingestor_prices_fetched_total",
        &[("source", "yahoo"), ("symbol", "NIFTY50")],
    );
    zero(
        "ingestor_prices_fetched_total",
        &[("source", "coingecko"), ("symbol", "BTC")],
    );
    zero(
        "ingestor_kafka_messages_sent_total",
        &[("topic", "price-events")],
    );
    for source in ["coingecko", "yahoo"] {
        zero("ingestor_circuit_open", &[("source", source)]);
        zero(
            "ingestor_skipped_quotes_total",
            &[("source", source), ("reason", "glitch")],
        );
        zero(
            "ingestor_fetch_latency_seconds_count",
            &[("source", source)],
        );
        zero("ingestor_fetch_errors_total", &[("source", source)]);
    }
}

#[test]
fn the_example_catalogue_file_loads_as_exactly_the_built_in_catalogue() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("catalogue.example.toml");
    let settings = shared::config::Settings::load(Some(&path), &Default::default())
        .expect("the example settings file loads");
    let mut from_file = settings.ingestor.instruments.expect("instruments set");
    let mut built_in = shared::catalogue::default_instruments();
    from_file.sort_by(|a, b| a.symbol.cmp(&b.symbol));
    built_in.sort_by(|a, b| a.symbol.cmp(&b.symbol));
    assert_eq!(from_file, built_in);
}
