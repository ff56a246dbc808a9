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

mod ceiling;
mod load;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ingestor::providers::simulated_prices::START_PRICES;
use testkit::TempDir;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub fn arg<'a>(args: &'a [String], flag: &str, default: &'a str) -> &'a str {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .map_or(default, String::as_str)
}

fn list(text: &str) -> Vec<String> {
    text.split(',').map(|s| s.trim().to_owned()).collect()
}

/// The symbols client `index` watches: 5 consecutive ones of the catalogue, or all (`None`).
pub fn watched(index: usize, subs: &str) -> Option<Vec<&'static str>> {
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
        runtime.block_on(load::run(&args));
    } else if args.iter().any(|a| a == "--ceiling") {
        runtime.block_on(ceiling::run(
            arg(&args, "--interval-ms", "1000").parse().unwrap_or(1000),
        ));
    } else {
        runtime.block_on(orchestrate(&args));
    }
}

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
