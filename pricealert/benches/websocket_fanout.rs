//! WebSocket fan-out (issue 16): N clients on `/prices/ws` of the real binary (`pricealert all`,
//! simulated prices), each watching 5 of the 55 symbols (`?symbols=`, a window sliding over the
//! catalogue so every symbol has the same audience) or all of them, at 1 or 5 ticks per symbol
//! per second. Side by side, in the same run, a minimal axum broadcast server that serialises
//! each tick once and hands it to every socket (tokio's broadcast, as in axum's chat example):
//! the ceiling.
//!
//! The clients run in a process of their own (this bench re-executed with `--load`), bound to
//! `--addresses` loopback source addresses (127.0.0.2 and up) so no address reaches the
//! gateway's per-address WebSocket limit. Each server is started fresh for each scenario; its
//! RSS growth from before the clients connect to the end of the warm-up, divided by N, is the
//! memory per connection. Measured over `--seconds` after `--warmup`: prices delivered per
//! second, the delay from the tick's timestamp (set when the source produced it) to its
//! receipt, p50/p99; `GET /health` p99 (every 20 ms) while the clients are connected; for the
//! product, `evaluator_prices_evaluated_total` per second (the pipeline keeping pace) and prices
//! conflated (skipped for a newer one); for the ceiling, prices its sockets lagged past.
//!
//! `cargo bench -p pricealert --bench websocket_fanout -- [--clients 1000,5000,10000]
//! [--rates 1,5] [--subs 5,all] [--seconds 10] [--warmup 3] [--addresses 60]`

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{Message as ServerMessage, Utf8Bytes, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::routing::get;
use futures::StreamExt;
use ingestor::providers::simulated_prices::START_PRICES;
use testkit::TempDir;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpSocket;
use tokio::process::{Child, Command};
use tokio::sync::{broadcast, Semaphore};
use tokio_tungstenite::tungstenite::Message;

/// Delay histogram resolution: 1 ms buckets up to a minute.
const BUCKETS: usize = 60_001;

fn arg<'a>(args: &'a [String], flag: &str, default: &'a str) -> &'a str {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .map_or(default, String::as_str)
}

fn list(text: &str) -> Vec<String> {
    text.split(',').map(|s| s.trim().to_owned()).collect()
}

/// The symbols client `index` watches: 5 consecutive ones of the catalogue, or all (`None`).
fn watched(index: usize, subs: &str) -> Option<Vec<&'static str>> {
    (subs != "all").then(|| {
        (0..5)
            .map(|k| START_PRICES[(index * 5 + k) % START_PRICES.len()].0)
            .collect()
    })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    if args.iter().any(|a| a == "--load") {
        runtime.block_on(load(&args));
    } else if args.iter().any(|a| a == "--ceiling") {
        runtime.block_on(ceiling(
            arg(&args, "--interval-ms", "1000").parse().unwrap_or(1000),
        ));
    } else {
        runtime.block_on(orchestrate(&args));
    }
}

// ---- the load client (its own process) ----

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

async fn load(args: &[String]) {
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

// ---- the ceiling: a minimal axum broadcast server (its own process) ----

#[derive(Clone)]
struct Ceiling {
    ticks: broadcast::Sender<(usize, Utf8Bytes)>,
    lagged: Arc<AtomicU64>,
}

async fn ceiling(interval_ms: u64) {
    let (ticks, _) = broadcast::channel(4096);
    let state = Ceiling {
        ticks: ticks.clone(),
        lagged: Arc::new(AtomicU64::new(0)),
    };
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_millis(interval_ms));
        loop {
            every.tick().await;
            for (index, (symbol, price)) in START_PRICES.iter().enumerate() {
                let text = serde_json::json!({"symbol": symbol, "price": price, "currency": "USD",
                    "source": "simulated", "timestamp": chrono::Utc::now()})
                .to_string();
                let _ = ticks.send((index, Utf8Bytes::from(text)));
            }
        }
    });
    let app =
        axum::Router::new()
            .route("/health", get(|| async { "{\"status\":\"healthy\"}" }))
            .route(
                "/lagged",
                get(|State(s): State<Ceiling>| async move {
                    s.lagged.load(Ordering::Relaxed).to_string()
                }),
            )
            .route("/prices/ws", get(ceiling_socket))
            .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    println!("{}", listener.local_addr().expect("address").port());
    axum::serve(listener, app).await.expect("serve");
}

async fn ceiling_socket(
    State(state): State<Ceiling>,
    Query(query): Query<HashMap<String, String>>,
    ws: WebSocketUpgrade,
) -> axum::response::Response {
    let watched: Option<Vec<usize>> = query.get("symbols").map(|symbols| {
        symbols
            .split(',')
            .filter_map(|s| START_PRICES.iter().position(|(symbol, _)| *symbol == s))
            .collect()
    });
    ws.on_upgrade(move |mut socket| async move {
        let mut ticks = state.ticks.subscribe();
        loop {
            match ticks.recv().await {
                Ok((index, frame)) => {
                    if watched.as_ref().is_none_or(|w| w.contains(&index))
                        && socket.send(ServerMessage::Text(frame)).await.is_err()
                    {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(skipped)) => {
                    state.lagged.fetch_add(skipped, Ordering::Relaxed);
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    })
}

// ---- the orchestrator ----

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or(0)
}

/// The sum of every sample of `name` (all label sets) in a Prometheus text page.
async fn metric(client: &reqwest::Client, url: &str, name: &str) -> f64 {
    let Ok(response) = client.get(url).send().await else {
        return 0.0;
    };
    let text = response.text().await.unwrap_or_default();
    text.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with([' ', '{']))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn wait_healthy(client: &reqwest::Client, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !client
        .get(format!("{base}/health"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(Instant::now() < deadline, "{base} did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

struct Server {
    child: Child,
    port: u16,
    /// Where the product's counters are (`None` for the ceiling).
    ops: Option<(String, String)>,
    _data_dir: Option<TempDir>,
}

async fn start_product(interval_ms: u64) -> Server {
    let data_dir = TempDir::new("pa-bench-ws");
    let free = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port")
    };
    let (port, evaluator) = (free(), free());
    let child = Command::new(env!("CARGO_BIN_EXE_pricealert"))
        .arg("all")
        .env_remove("DATABASE_URL")
        .env_remove("KAFKA_BOOTSTRAP_SERVERS")
        .env_remove("PRICEALERT_CONFIG")
        .env("PRICEALERT_DATA_DIR", &data_dir.0)
        .env("GATEWAY_HOST", "127.0.0.1")
        .env("GATEWAY_PORT", port.to_string())
        .env("INGESTOR_PORT", free().to_string())
        .env("EVALUATOR_PORT", evaluator.to_string())
        .env("NOTIFIER_PORT", free().to_string())
        .env("PRICEALERT_PRICE_SOURCE", "simulated")
        .env("SIMULATED_INTERVAL_MS", interval_ms.to_string())
        .env("GATEWAY_WS_MAX_CONNECTIONS", "20000")
        .env("LOG_LEVEL", "error")
        .kill_on_drop(true)
        .spawn()
        .expect("start pricealert");
    Server {
        child,
        port,
        ops: Some((
            format!("http://127.0.0.1:{evaluator}/metrics"),
            format!("http://127.0.0.1:{port}/metrics"),
        )),
        _data_dir: Some(data_dir),
    }
}

async fn start_ceiling(interval_ms: u64) -> Server {
    let mut child = Command::new(std::env::current_exe().expect("this bench"))
        .args(["--ceiling", "--interval-ms", &interval_ms.to_string()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the ceiling server");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let port = lines
        .next_line()
        .await
        .ok()
        .flatten()
        .and_then(|l| l.parse().ok())
        .expect("port");
    Server {
        child,
        port,
        ops: None,
        _data_dir: None,
    }
}

/// `GET /health` every 20 ms until `stop`; the p99 in ms and failures.
async fn health(base: String, stop: Arc<AtomicBool>) -> (f64, usize) {
    let client = reqwest::Client::new();
    let (mut samples, mut failed) = (Vec::new(), 0);
    let mut every = tokio::time::interval(Duration::from_millis(20));
    while !stop.load(Ordering::Relaxed) {
        every.tick().await;
        let started = Instant::now();
        match client
            .get(format!("{base}/health"))
            .timeout(Duration::from_secs(30))
            .send()
            .await
        {
            Ok(r) if r.status().is_success() => samples.push(started.elapsed().as_secs_f64() * 1e3),
            _ => failed += 1,
        }
    }
    samples.sort_by(f64::total_cmp);
    let p99 = samples
        .get(((samples.len() as f64 * 0.99).ceil() as usize).saturating_sub(1))
        .copied();
    (p99.unwrap_or(f64::NAN), failed)
}

/// The product's evaluated ticks and conflated prices, or the ceiling's lagged prices.
async fn counters(http: &reqwest::Client, server: &Server, base: &str) -> (Option<f64>, f64) {
    match &server.ops {
        Some((evaluator, gateway)) => (
            Some(metric(http, evaluator, "evaluator_prices_evaluated_total").await),
            metric(http, gateway, "gateway_websocket_prices_conflated_total").await,
        ),
        None => {
            let lagged = match http.get(format!("{base}/lagged")).send().await {
                Ok(response) => response.text().await.unwrap_or_default(),
                Err(_) => String::new(),
            };
            (None, lagged.trim().parse().unwrap_or(0.0))
        }
    }
}

struct Scenario<'a> {
    clients: usize,
    subs: &'a str,
    rate: u64,
    seconds: u64,
    warmup: u64,
    addresses: usize,
}

async fn run(scenario: &Scenario<'_>, product: bool) {
    let interval_ms = 1000 / scenario.rate;
    let mut server = if product {
        start_product(interval_ms).await
    } else {
        start_ceiling(interval_ms).await
    };
    let base = format!("http://127.0.0.1:{}", server.port);
    let http = reqwest::Client::new();
    wait_healthy(&http, &base).await;
    // Let the product's first ticks flow (and its snapshot exist) before the clients come.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let pid = server.child.id().expect("server pid");
    let rss_before = rss_kib(pid);
    let mut load = Command::new(std::env::current_exe().expect("this bench"))
        .arg("--load")
        .args(["--port", &server.port.to_string()])
        .args(["--clients", &scenario.clients.to_string()])
        .args(["--subs", scenario.subs])
        .args(["--addresses", &scenario.addresses.to_string()])
        .args(["--warmup", &scenario.warmup.to_string()])
        .args(["--seconds", &scenario.seconds.to_string()])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the load client");
    let mut said = BufReader::new(load.stdout.take().expect("stdout")).lines();
    let connected = said.next_line().await.ok().flatten().unwrap_or_default();
    let stop = Arc::new(AtomicBool::new(false));
    let probe = tokio::spawn(health(base.clone(), Arc::clone(&stop)));
    let _ = said.next_line().await; // "measuring"
    let rss_after = rss_kib(pid);
    let before = counters(&http, &server, &base).await;
    let started = Instant::now();
    let result = said.next_line().await.ok().flatten().unwrap_or_default();
    let after = counters(&http, &server, &base).await;
    let elapsed = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let (health_p99, health_failed) = probe.await.unwrap_or((f64::NAN, 0));
    let _ = load.wait().await;
    let _ = server.child.start_kill();
    let _ = server.child.wait().await;
    let fields: Vec<&str> = result.split_whitespace().collect();
    let connected: usize = connected
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let delivered: f64 = fields.get(2).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    let symbols_each = if scenario.subs == "all" {
        START_PRICES.len()
    } else {
        5
    };
    let expected = (connected * symbols_each) as f64 * scenario.rate as f64;
    let skipped = (after.1 - before.1) / elapsed;
    let evaluated = match after.0 {
        Some(after) => format!("{:.0}", (after - before.0.unwrap_or(0.0)) / elapsed),
        None => "–".to_owned(),
    };
    println!(
        "| {} | {} | {} | {}/s | {}/{} | {:.0} | {:.0} % | {:.0} | {} ms | {} ms | {:.1} | {:.1} ms{} | {} |",
        if product { "pricealert" } else { "ceiling" },
        scenario.clients,
        scenario.subs,
        scenario.rate,
        connected,
        scenario.clients,
        delivered,
        100.0 * delivered / expected.max(1.0),
        skipped,
        fields.get(3).unwrap_or(&"?"),
        fields.get(4).unwrap_or(&"?"),
        rss_after.saturating_sub(rss_before) as f64 / connected.max(1) as f64,
        health_p99,
        if health_failed > 0 { format!(" ({health_failed} failed)") } else { String::new() },
        evaluated,
    );
}

async fn orchestrate(args: &[String]) {
    let seconds = arg(args, "--seconds", "10").parse().expect("--seconds");
    let warmup = arg(args, "--warmup", "3").parse().expect("--warmup");
    let addresses = arg(args, "--addresses", "60").parse().expect("--addresses");
    println!(
        "websocket fan-out: {seconds} s measured after {warmup} s warm-up, clients from {addresses} addresses"
    );
    println!("| server | clients | symbols each | ticks/symbol | connected | prices delivered/s | of ticks × watchers | skipped/s (conflated or lagged) | delay p50 | delay p99 | KiB/conn (RSS) | /health p99 | evaluator ticks/s |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for rate in list(arg(args, "--rates", "1,5")) {
        for clients in list(arg(args, "--clients", "1000,5000,10000")) {
            for subs in list(arg(args, "--subs", "5,all")) {
                let scenario = Scenario {
                    clients: clients.parse().expect("--clients"),
                    subs: &subs,
                    rate: rate.parse().expect("--rates"),
                    seconds,
                    warmup,
                    addresses,
                };
                for product in [false, true] {
                    run(&scenario, product).await;
                }
            }
        }
    }
}
