//! The slow-upload attack of issue 14 against the real binary, with its default limits:
//! 2,100 connections (`--attackers`) from 24 loopback source addresses (`--addresses`:
//! 127.0.0.2 and up), each starting `POST /auth/login` with `Content-Length: 5000` and
//! sending one body byte per second; a connection the gateway answers or closes is opened
//! again at once, so the attack keeps its size. Meanwhile honest clients on 127.0.0.1 log in
//! (two at a time, back to back) and probe `/health` every 20 ms. The same measurement without
//! the attack, in the same run, is the baseline.
//!
//! The attackers run in a process of their own at the lowest CPU priority (`nice -n 19`): an
//! attacker's load generator is someone else's machine, and sharing this bench's runtime or
//! priority would measure the probe's own queueing behind 2,100 attacker tasks, not the
//! gateway's.
//!
//! `cargo bench -p pricealert --bench slow_clients -- [--seconds N] [--attackers N]
//! [--addresses N] [--attacker-nice N]` (`--attacker-nice 0`: the attackers at normal priority)

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use testkit::TempDir;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;
use tokio_util::sync::CancellationToken;

const PASSWORD: &str = "correct horse battery staple";

#[derive(Default)]
struct Samples {
    ok: Vec<Duration>,
    failed: usize,
}

impl Samples {
    fn percentile(&self, p: f64) -> String {
        let mut sorted = self.ok.clone();
        sorted.sort();
        match sorted.len() {
            0 => "–".to_owned(),
            n => {
                let index = ((n as f64 * p).ceil() as usize).clamp(1, n) - 1;
                format!("{:.1} ms", sorted[index].as_secs_f64() * 1000.0)
            }
        }
    }
}

/// Logs in back to back on `workers` connections until `stop`.
async fn logins(base: String, workers: usize, stop: CancellationToken) -> Samples {
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let (base, stop) = (base.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut samples = Samples::default();
            while !stop.is_cancelled() {
                let started = Instant::now();
                let response = client
                    .post(format!("{base}/auth/login"))
                    .form(&[("username", "honest@example.com"), ("password", PASSWORD)])
                    .timeout(Duration::from_secs(30))
                    .send()
                    .await;
                match response {
                    Ok(r) if r.status().is_success() => samples.ok.push(started.elapsed()),
                    _ => samples.failed += 1,
                }
            }
            samples
        }));
    }
    let mut all = Samples::default();
    for task in tasks {
        let samples = task.await.expect("login worker");
        all.ok.extend(samples.ok);
        all.failed += samples.failed;
    }
    all
}

/// `GET /health` every 20 ms until `stop`.
async fn health(base: String, stop: CancellationToken) -> Samples {
    let client = reqwest::Client::new();
    let mut samples = Samples::default();
    let mut every = tokio::time::interval(Duration::from_millis(20));
    while !stop.is_cancelled() {
        every.tick().await;
        let started = Instant::now();
        match client
            .get(format!("{base}/health"))
            .timeout(Duration::from_secs(30))
            .send()
            .await
        {
            Ok(r) if r.status().is_success() => samples.ok.push(started.elapsed()),
            _ => samples.failed += 1,
        }
    }
    samples
}

/// One attacker: a slow upload from `127.0.0.<host>`, reopened whenever it ends.
async fn attacker(host: u8, port: u16, stop: CancellationToken, opened: Arc<AtomicU64>) {
    let head = "POST /auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n\
        Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 5000\r\n\r\n";
    while !stop.is_cancelled() {
        let Ok(socket) = TcpSocket::new_v4() else {
            return;
        };
        if socket
            .bind(SocketAddr::from((Ipv4Addr::new(127, 0, 0, host), 0)))
            .is_err()
        {
            return;
        }
        let Ok(mut stream) = socket
            .connect(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
            .await
        else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        opened.fetch_add(1, Ordering::Relaxed);
        if stream.write_all(head.as_bytes()).await.is_err() {
            continue;
        }
        let mut every = tokio::time::interval(Duration::from_secs(1));
        let mut answer = [0u8; 512];
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                // An answer (408, 429, …) or a close: this upload is over.
                _ = stream.read(&mut answer) => break,
                _ = every.tick() => {
                    if stream.write_all(b"u").await.is_err() {
                        break;
                    }
                }
            }
        }
    }
}

async fn phase(base: &str, seconds: u64) -> (Samples, Samples) {
    let stop = CancellationToken::new();
    let logins = tokio::spawn(logins(base.to_owned(), 2, stop.clone()));
    let health = tokio::spawn(health(base.to_owned(), stop.clone()));
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.cancel();
    (logins.await.expect("logins"), health.await.expect("health"))
}

fn row(name: &str, logins: &Samples, health: &Samples) {
    println!(
        "| {name} | {} ok, {} failed | {} | {} | {} ok, {} failed | {} |",
        logins.ok.len(),
        logins.failed,
        logins.percentile(0.50),
        logins.percentile(0.99),
        health.ok.len(),
        health.failed,
        health.percentile(0.99),
    );
}

/// The attacker process: `attackers` slow uploads against `port` until its stdin closes, then
/// prints how many attack connections it opened.
async fn attack(port: u16, attackers: u64, addresses: u64) {
    let stop = CancellationToken::new();
    let opened = Arc::new(AtomicU64::new(0));
    let mut attack = Vec::new();
    for index in 0..attackers {
        let host = 2 + u8::try_from(index % addresses).unwrap_or(0);
        attack.push(tokio::spawn(attacker(
            host,
            port,
            stop.clone(),
            Arc::clone(&opened),
        )));
    }
    println!("started");
    let mut stdin = tokio::io::BufReader::new(tokio::io::stdin());
    let mut line = String::new();
    while stdin.read_line(&mut line).await.is_ok_and(|read| read > 0) {}
    stop.cancel();
    for task in attack {
        let _ = task.await;
    }
    println!("{}", opened.load(Ordering::Relaxed));
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str, default: u64| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let seconds = value("--seconds", 30);
    let attackers = value("--attackers", 2_100);
    // 127.0.0.2 and up; at 24 each holds fewer than the default per-address limits.
    let addresses = value("--addresses", 24).clamp(1, 250);
    if let Ok(port) = u16::try_from(value("--attack-port", 0)) {
        if port != 0 {
            attack(port, attackers, addresses).await;
            return;
        }
    }

    let data_dir = TempDir::new("pa-bench-slow");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let ops_port = |offset: u16| (port + offset).to_string();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_pricealert"))
        .arg("all")
        .env_remove("DATABASE_URL")
        .env_remove("KAFKA_BOOTSTRAP_SERVERS")
        .env_remove("PRICEALERT_CONFIG")
        .env("PRICEALERT_DATA_DIR", &data_dir.0)
        .env("GATEWAY_HOST", "127.0.0.1")
        .env("GATEWAY_PORT", port.to_string())
        .env("INGESTOR_PORT", ops_port(1))
        .env("EVALUATOR_PORT", ops_port(2))
        .env("NOTIFIER_PORT", ops_port(3))
        .env("PRICEALERT_PRICE_SOURCE", "simulated")
        // The honest client logs in far more than a person would.
        .env("LOGIN_RATE_LIMIT_PER_MINUTE", "1000000")
        .env("LOG_LEVEL", "error")
        .kill_on_drop(true)
        .spawn()
        .expect("start pricealert");
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let up = client.get(format!("{base}/health")).send().await;
        if up.is_ok_and(|r| r.status().is_success()) {
            break;
        }
        assert!(Instant::now() < deadline, "pricealert did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let registered = client
        .post(format!("{base}/auth/register"))
        .json(&json!({"email": "honest@example.com", "password": PASSWORD}))
        .send()
        .await
        .expect("register");
    assert!(registered.status().is_success());

    println!(
        "slow-upload attack: {attackers} connections from {addresses} addresses, {seconds} s per phase"
    );
    println!("| phase | logins | login p50 | login p99 | /health | /health p99 |");
    println!("|---|---|---|---|---|---|");
    let (logins, health) = phase(&base, seconds).await;
    row("baseline (no attack)", &logins, &health);

    let mut attack = tokio::process::Command::new("nice")
        .args(["-n", &value("--attacker-nice", 19).to_string()])
        .arg(std::env::current_exe().expect("this bench's path"))
        .args(["--attack-port", &port.to_string()])
        .args(["--attackers", &attackers.to_string()])
        .args(["--addresses", &addresses.to_string()])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the attacker process");
    let mut said =
        tokio::io::BufReader::new(attack.stdout.take().expect("attacker stdout")).lines();
    assert_eq!(
        said.next_line().await.expect("attacker output").as_deref(),
        Some("started")
    );
    // Let every attacker connect and start its upload before measuring.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (logins, health) = phase(&base, seconds).await;
    row(
        &format!("under attack ({attackers} slow uploads)"),
        &logins,
        &health,
    );
    drop(attack.stdin.take());
    let opened = said
        .next_line()
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| "?".to_owned());
    let _ = attack.wait().await;
    println!(
        "attack connections opened: {opened} (each answered 408 after the body deadline, or refused, and reopened)"
    );
    let _ = child.start_kill();
}
