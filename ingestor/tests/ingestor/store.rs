//! The ingestor's write (the latest price per symbol) keeps prices exact on both engines, and
//! the kernel's read gives them back.

use ingestor::store::Store;
use shared::storage::LatestPrice;
use testkit::{fresh_database, Engine};

async fn latest_prices_round_trip_exactly(engine: Engine) {
    let test = fresh_database(engine).await;
    let store = Store::new(test.db.clone());
    let price = LatestPrice {
        symbol: "ETH".into(),
        price: "67187.3358936566".parse().expect("price"),
        currency: "USD".into(),
        source: "coingecko".into(),
        quoted_at: shared::storage::now(),
    };
    let mut moved = price.clone();
    moved.price = "67190.5".parse().expect("price");
    let btc = LatestPrice {
        symbol: "BTC".into(),
        ..price.clone()
    };
    store
        .upsert_latest_prices(&[price, btc.clone()])
        .await
        .expect("upsert");
    store
        .upsert_latest_prices(&[moved.clone()])
        .await
        .expect("upsert again");
    assert_eq!(
        test.db.latest_prices().await.expect("read"),
        vec![btc, moved],
        "one row per symbol, the newest price"
    );
}

testkit::on_both_engines!(latest_prices_round_trip_exactly);
