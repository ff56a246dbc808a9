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
    store.upsert_latest_price(&price).await.expect("upsert");
    store
        .upsert_latest_price(&price)
        .await
        .expect("upsert again");
    assert_eq!(test.db.latest_prices().await.expect("read"), vec![price]);
}

testkit::on_both_engines!(latest_prices_round_trip_exactly);
