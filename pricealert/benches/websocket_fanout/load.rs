//! The load client, in a process of its own: N WebSocket clients over many source addresses,
//! counting the prices they receive and each one's delay from its tick's timestamp.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::net::TcpSocket;
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;

use crate::{arg, watched};

/// Delay histogram resolution: 1 ms buckets up to a minute.
const BUCKETS: usize = 60_001;

struct LoadStats {
    measuring: AtomicBool,
    prices: AtomicU64,
    delays: Vec<AtomicU64>,
}

/// Milliseconds from the `"timestamp"` of a bare price object to now.
fn delay_ms(text: &str) -> Option<usize> {
    let start = text.find("\"timestamp\":\"")? + 13;
    let end = start + text[start..].find('"')?;
    let at = chrono::DateTime::parse_from_rfc3339(&text[start..end]).ok()?;
    let ms = (chrono::Utc::now() - at.with_timezone(&chrono::Utc)).num_milliseconds();
    Some(usize::try_from(ms.max(0)).unwrap_or(0).min(BUCKETS - 1))
}

async fn client(
    index: usize,
    port: u16,
    subs: String,
    addresses: usize,
    stats: Arc<LoadStats>,
) -> bool {
    let host = 2 + u8::try_from(index % addresses).unwrap_or(0);
    let Ok(socket) = TcpSocket::new_v4() else {
        return false;
    };
    if socket
        .bind(SocketAddr::from((Ipv4Addr::new(127, 0, 0, host), 0)))
        .is_err()
    {
        return false;
    }
    let Ok(stream) = socket
        .connect(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
        .await
    else {
        return false;
    };
    let query =
        watched(index, &subs).map_or(String::new(), |s| format!("?symbols={}", s.join(",")));
    let url = format!("ws://127.0.0.1:{port}/prices/ws{query}");
    let Ok((mut ws, _)) = tokio_tungstenite::client_async(url, stream).await else {
        return false;
    };
    tokio::spawn(async move {
        while let Some(Ok(message)) = ws.next().await {
            if let Message::Text(text) = message {
                if stats.measuring.load(Ordering::Relaxed) && text.starts_with("{\"symbol\"") {
                    stats.prices.fetch_add(1, Ordering::Relaxed);
                    if let Some(ms) = delay_ms(&text) {
                        stats.delays[ms].fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
    });
    true
}

fn percentile(delays: &[u64], p: f64) -> usize {
    let total: u64 = delays.iter().sum();
    let wanted = ((total as f64) * p).ceil() as u64;
    let mut seen = 0;
    for (ms, count) in delays.iter().enumerate() {
        seen += count;
        if seen >= wanted.max(1) {
            return ms;
        }
    }
    0
}

pub async fn run(args: &[String]) {
    let port: u16 = arg(args, "--port", "0").parse().expect("--port");
    let clients: usize = arg(args, "--clients", "1000").parse().expect("--clients");
    let subs = arg(args, "--subs", "5").to_owned();
    let addresses: usize = arg(args, "--addresses", "60").parse().expect("--addresses");
    let warmup: u64 = arg(args, "--warmup", "3").parse().expect("--warmup");
    let seconds: u64 = arg(args, "--seconds", "10").parse().expect("--seconds");
    let stats = Arc::new(LoadStats {
        measuring: AtomicBool::new(false),
        prices: AtomicU64::new(0),
        delays: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
    });
    // Handshakes a few hundred at a time, so the listen backlog never overflows.
    let handshakes = Arc::new(Semaphore::new(256));
    let mut connecting = Vec::new();
    for index in 0..clients {
        let (stats, subs, handshakes) = (Arc::clone(&stats), subs.clone(), Arc::clone(&handshakes));
        connecting.push(tokio::spawn(async move {
            let _turn = handshakes.acquire().await;
            client(index, port, subs, addresses, stats).await
        }));
    }
    let mut connected = 0;
    for task in connecting {
        connected += usize::from(task.await.unwrap_or(false));
    }
    println!("connected {connected}");
    tokio::time::sleep(Duration::from_secs(warmup)).await;
    stats.measuring.store(true, Ordering::Relaxed);
    println!("measuring");
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stats.measuring.store(false, Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    let delays: Vec<u64> = stats
        .delays
        .iter()
        .map(|d| d.load(Ordering::Relaxed))
        .collect();
    println!(
        "result {} {:.0} {} {}",
        connected,
        stats.prices.load(Ordering::Relaxed) as f64 / elapsed,
        percentile(&delays, 0.50),
        percentile(&delays, 0.99)
    );
    // Exits without closing 10,000 sockets one by one: the server sees them all go at once.
    std::process::exit(0);
}
