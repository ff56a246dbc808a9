//! Ingestor throughput from a Binance stand-in: 1,000 pairs at 10 trades a second each
//! (10,000 frames/s) for 20 s through the real Binance provider, failover, quote filter and
//! publisher (in-process bus, latest prices on SQLite), counting ticks published and lost
//! (sent − published, must be 0); beside it, in the same run, a baseline: the same stand-in's
//! frames read by a bare tungstenite client that only parses them.
//!
//! Run: `cargo bench -p ingestor --bench binance_stream` (`BENCH_SECONDS` to change the 20 s).
//! The 1,000 instruments are a settings catalogue (`ingestor.instruments`) of crypto
//! instruments quoted in USDT, each mapped to a pair by `ingestor.binance.pairs` and preferring
//! Binance by `ingestor.failover.order`, as an operator would configure them.

#[path = "../tests/ingestor/binance_standin/mod.rs"]
mod binance_standin;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use binance_standin::BinanceStandIn;
use futures::{SinkExt, StreamExt};
use shared::bus::{EventBus, InProcessBus, Topic};
use shared::catalogue::{AssetClass, BinancePair, Instrument, ProviderKind};
use shared::context::ServiceContext;
use testkit::{fresh_database, Engine};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

const PAIRS: usize = 1_000;
const EVERY: Duration = Duration::from_millis(100);

fn seconds() -> u64 {
    std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20)
}

fn names() -> Vec<(String, String)> {
    (0..PAIRS)
        .map(|i| (format!("C{i:04}"), format!("C{i:04}USDT")))
        .collect()
}

fn streams() -> Vec<String> {
    names()
        .into_iter()
        .map(|(_, pair)| format!("{}@trade", pair.to_ascii_lowercase()))
        .collect()
}

/// Frames per second a bare client reads and parses from the stand-in.
async fn baseline(duration: Duration) -> (u64, u64) {
    let standin = BinanceStandIn::start().await;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("{}/stream", standin.ws_url))
        .await
        .expect("connect to the stand-in");
    for (id, chunk) in streams().chunks(200).enumerate() {
        let request = serde_json::json!({"method": "SUBSCRIBE", "params": chunk, "id": id + 1});
        ws.send(Message::text(request.to_string()))
            .await
            .expect("subscribe");
    }
    standin.stream("100.5", EVERY);
    let started = Instant::now();
    let mut parsed = 0u64;
    while started.elapsed() < duration {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => {
                let frame: serde_json::Value =
                    serde_json::from_str(text.as_str()).expect("a JSON frame");
                if frame["data"]["e"] == "trade" {
                    parsed += 1;
                }
            }
            Some(Ok(_)) => {}
            _ => break,
        }
    }
    standin.stall();
    (standin.sent(), parsed)
}

async fn through_the_ingestor(duration: Duration) -> (u64, u64, Duration) {
    let standin = BinanceStandIn::start().await;
    let mut settings = testkit::loopback_settings();
    settings.history.enabled = false;
    settings.history.backfill = false;
    let ingestor = &mut settings.ingestor;
    ingestor.price_source = shared::config::PriceSource::Live;
    ingestor.instruments = Some(
        names()
            .iter()
            .map(|(symbol, _)| Instrument {
                symbol: symbol.parse().expect("symbol"),
                provider: ProviderKind::Coingecko,
                provider_id: symbol.to_ascii_lowercase(),
                asset_class: AssetClass::Crypto,
                currency: "USDT".to_owned(),
            })
            .collect(),
    );
    ingestor.binance.ws_url = standin.ws_url.clone();
    ingestor.binance.rest_url = standin.rest_url.clone();
    ingestor.binance.stream = "trade".to_owned();
    ingestor.binance.pairs = Some(
        names()
            .into_iter()
            .map(|(symbol, pair)| BinancePair {
                symbol: symbol.parse().expect("symbol"),
                pair,
                quote_currency: "USDT".to_owned(),
            })
            .collect(),
    );
    ingestor.failover.order = BTreeMap::from([("crypto".to_owned(), vec!["binance".to_owned()])]);
    let database = fresh_database(Engine::Sqlite).await;
    let bus = InProcessBus::new(1 << 20);
    let mut ticks = bus
        .subscribe(Topic::PriceEvents, "bench")
        .await
        .expect("subscribe");
    let published = Arc::new(AtomicU64::new(0));
    let counted = published.clone();
    tokio::spawn(async move {
        while ticks.next().await.is_ok() {
            counted.fetch_add(1, Ordering::Relaxed);
        }
    });
    let context = ServiceContext::new(settings, database.db.clone(), Arc::new(bus));
    let app = ingestor::Application::build(context)
        .await
        .expect("the ingestor builds");
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(app.run_until_stopped(shutdown.clone()));
    while standin
        .subscriptions()
        .iter()
        .map(|(_, s)| s.len())
        .sum::<usize>()
        < PAIRS
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    standin.stream("100.5", EVERY);
    let started = Instant::now();
    tokio::time::sleep(duration).await;
    standin.stall();
    let streamed = started.elapsed();
    // Drain: everything sent is published within seconds, or is lost.
    let deadline = Instant::now() + Duration::from_secs(30);
    while published.load(Ordering::Relaxed) < standin.sent() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let drained = started.elapsed();
    shutdown.cancel();
    let _ = running.await;
    let _ = streamed;
    (standin.sent(), published.load(Ordering::Relaxed), drained)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let duration = Duration::from_secs(seconds());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "binance stand-in: {PAIRS} pairs × {} trades/s for {duration:?} (load {})",
        1_000 / EVERY.as_millis(),
        load.split_whitespace().next().unwrap_or("?")
    );
    let (sent, parsed) = runtime.block_on(baseline(duration));
    println!(
        "baseline (bare tungstenite client, parse only): sent {sent}, parsed {parsed}, {:.0} frames/s",
        parsed as f64 / duration.as_secs_f64()
    );
    let (sent, published, drained) = runtime.block_on(through_the_ingestor(duration));
    println!(
        "ingestor (provider → failover → filter → publisher, SQLite latest prices): sent {sent}, published {published}, lost {}, {:.0} ticks/s published ({:.0} sent/s; all published {:.1} s after the stream started)",
        sent.saturating_sub(published),
        published as f64 / drained.as_secs_f64(),
        sent as f64 / duration.as_secs_f64(),
        drained.as_secs_f64()
    );
}
