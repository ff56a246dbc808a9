//! A real Prometheus running the shipped configuration against test-chosen targets.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use testkit::TempDir;

use super::tools::PROMETHEUS;
use super::{free_port, poll_until, repo_root};

/// Loopback ports of the four services, written as file_sd targets.
#[derive(Debug, Clone, Copy)]
pub struct ServicePorts {
    pub gateway: u16,
    pub ingestor: u16,
    pub evaluator: u16,
    pub notifier: u16,
}

/// Writes into `dir` the shipped prometheus.yml with `interval` as scrape and evaluation interval,
/// a copy of prometheus/rules, and target files naming the services on loopback (none for
/// kafka-exporter). Returns the config path.
pub fn write_config(dir: &Path, ports: &ServicePorts, interval: &str) -> PathBuf {
    let shipped = repo_root().join("prometheus");
    let mut config = std::fs::read_to_string(shipped.join("prometheus.yml"))
        .expect("read prometheus/prometheus.yml");
    for (from, to) in [
        (
            "scrape_interval: 15s",
            format!("scrape_interval: {interval}"),
        ),
        (
            "evaluation_interval: 15s",
            format!("evaluation_interval: {interval}"),
        ),
        ("scrape_timeout: 10s", format!("scrape_timeout: {interval}")),
    ] {
        assert_eq!(
            config.matches(from).count(),
            1,
            "prometheus.yml should set `{from}` once; update the test's adaptation"
        );
        config = config.replace(from, &to);
    }
    let config_path = dir.join("prometheus.yml");
    std::fs::write(&config_path, config).expect("write adapted prometheus.yml");

    let rules = dir.join("rules");
    std::fs::create_dir_all(&rules).expect("create rules dir");
    for entry in std::fs::read_dir(shipped.join("rules")).expect("read prometheus/rules") {
        let path = entry.expect("rules entry").path();
        if let Some(name) = path.file_name() {
            std::fs::copy(&path, rules.join(name)).expect("copy rule file");
        }
    }

    let targets = dir.join("targets");
    std::fs::create_dir_all(&targets).expect("create targets dir");
    let write_targets = |file: &str, json: Value| {
        std::fs::write(targets.join(file), json.to_string()).expect("write targets file");
    };
    for (service, port) in [
        ("gateway", ports.gateway),
        ("ingestor", ports.ingestor),
        ("evaluator", ports.evaluator),
        ("notifier", ports.notifier),
    ] {
        write_targets(
            &format!("{service}.json"),
            serde_json::json!([{
                "targets": [format!("127.0.0.1:{port}")],
                "labels": {"service": service},
            }]),
        );
    }
    write_targets("kafka-exporter.json", serde_json::json!([]));
    config_path
}

/// A running `prometheus`, stopped when dropped.
pub struct PrometheusServer {
    child: tokio::process::Child,
    pub url: String,
    log: PathBuf,
    client: reqwest::Client,
    _dir: TempDir,
}

impl PrometheusServer {
    pub async fn start(ports: &ServicePorts, interval: &str) -> PrometheusServer {
        let dir = TempDir::new("pa-prometheus");
        let config = write_config(&dir.0, ports, interval);
        let port = free_port();
        let log = dir.0.join("prometheus.log");
        let log_file = std::fs::File::create(&log).expect("create prometheus log");
        let child = tokio::process::Command::new(PROMETHEUS.path())
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.0.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--log.level=warn")
            .stdout(Stdio::null())
            .stderr(log_file)
            .kill_on_drop(true)
            .spawn()
            .expect("start prometheus");
        let server = PrometheusServer {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
            client: reqwest::Client::new(),
            _dir: dir,
        };
        let ready = format!("{}/-/ready", server.url);
        poll_until("prometheus to be ready", Duration::from_secs(30), || {
            let request = server.client.get(&ready).send();
            async move {
                match request.await {
                    Ok(response) if response.status().is_success() => Ok(()),
                    Ok(response) => Err(format!("status {}", response.status())),
                    Err(e) => Err(e.to_string()),
                }
            }
        })
        .await;
        server
    }

    /// An instant query; the samples of the result (a scalar is one sample without labels).
    pub async fn query(&self, expr: &str) -> Result<Vec<Sample>, String> {
        let mut url = reqwest::Url::parse(&format!("{}/api/v1/query", self.url))
            .map_err(|e| e.to_string())?;
        url.query_pairs_mut().append_pair("query", expr);
        let response = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| format!("query failed: {e}"))?;
        let body: Value = response
            .json()
            .await
            .map_err(|e| format!("query answer is not JSON: {e}"))?;
        if body["status"] != "success" {
            return Err(format!("query rejected: {body}"));
        }
        let data = &body["data"];
        match data["resultType"].as_str() {
            Some("vector") => Ok(super::dashboards::array(&data["result"])
                .iter()
                .map(|series| Sample {
                    labels: series["metric"].clone(),
                    value: sample_value(&series["value"]),
                })
                .collect()),
            Some("scalar") => Ok(vec![Sample {
                labels: Value::Null,
                value: sample_value(&data["result"]),
            }]),
            other => Err(format!("unexpected result type {other:?}")),
        }
    }

    /// What Grafana's `label_values(metric, label)` variable query lists.
    pub async fn label_values(&self, metric: &str, label: &str) -> Result<Vec<String>, String> {
        let mut url = reqwest::Url::parse(&format!("{}/api/v1/label/{label}/values", self.url))
            .map_err(|e| e.to_string())?;
        url.query_pairs_mut().append_pair("match[]", metric);
        let body: Value = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| format!("label values request failed: {e}"))?
            .json()
            .await
            .map_err(|e| format!("label values answer is not JSON: {e}"))?;
        Ok(super::dashboards::array(&body["data"])
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect())
    }

    pub fn log_tail(&self) -> String {
        tail(&self.log)
    }

    pub fn stop(mut self) {
        let _ = self.child.start_kill();
    }
}

/// One sample of a query answer.
#[derive(Debug, Clone)]
pub struct Sample {
    pub labels: Value,
    pub value: f64,
}

/// `[timestamp, "value"]` → the value (`NaN` when unreadable).
fn sample_value(pair: &Value) -> f64 {
    pair[1]
        .as_str()
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN)
}

/// The last lines of a log file, for failure messages.
pub fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    // Backtrace frames would push the error that ended a process out of the last 40 lines.
    let lines: Vec<&str> = text
        .lines()
        .filter(|line| !is_backtrace_frame(line))
        .collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// `  12: crate::function` or `             at /path/file.rs:1:2`.
fn is_backtrace_frame(line: &str) -> bool {
    let line = line.trim_start();
    line.starts_with("at /")
        || line.split_once(": ").is_some_and(|(number, _)| {
            !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit())
        })
}
