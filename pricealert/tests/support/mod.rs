//! Helpers for the observability tests (prometheus/, grafana/ and the end-to-end run).
//!
//! Each test crate uses a different subset of these helpers, so unused ones are not warnings.
#![allow(dead_code)]

pub mod dashboards;
pub mod kubernetes;
pub mod metrics;
pub mod notifier_stack;
pub mod product;
pub mod prometheus_server;
pub mod promql;
pub mod scaled;
pub mod service_process;
pub mod smtp;
pub mod tools;
pub mod traffic;
pub mod venv;
pub mod webhook;
pub mod yaml;

use std::path::PathBuf;
use std::time::Duration;

/// The repository root (the workspace), where prometheus/ and grafana/ live.
pub fn repo_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .expect("the pricealert crate sits inside the workspace")
        .to_path_buf()
}

/// A port that was free a moment ago, for processes that must be told their port up front.
///
/// Drawn at random below the kernel's ephemeral range and checked free: a port from the
/// ephemeral range (what binding port 0 gives) could be handed to some process's outgoing
/// connection in the seconds before the child binds it (an evaluator binds its ops port only
/// after connecting to Kafka and loading its index), which failed a kill test with "address in
/// use" under load; ports below the range are never given out that way.
pub fn free_port() -> u16 {
    use rand::Rng;
    let lowest_ephemeral = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32_768);
    let below = lowest_ephemeral.saturating_sub(1).max(10_001);
    let mut rng = rand::thread_rng();
    for _ in 0..1_000 {
        let port = rng.gen_range(10_000..below);
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("bind an ephemeral loopback port")
}

/// [`testkit::eventually_within`], with the deadline after what is awaited as the e2e tests
/// read it.
pub async fn poll_until<T, F, Fut>(what: &str, timeout: Duration, check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    testkit::eventually_within(timeout, what, check).await
}
