//! One `pricealert <service>` OS process of the scaled deployment, which a test can SIGKILL and
//! start again with the same environment (same ports, same consumer groups).

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::poll_until;
use super::prometheus_server::tail;

pub struct ServiceProcess {
    /// The subcommand: `gateway`, `ingestor`, `evaluator` or `notifier`.
    pub service: &'static str,
    /// Tells replicas of one service apart in logs and reports.
    pub name: String,
    /// The port that answers `/health` (the API port for the gateway, else the ops port).
    pub health_port: u16,
    env: Vec<(String, String)>,
    log_dir: PathBuf,
    runs: usize,
    child: Option<tokio::process::Child>,
}

impl ServiceProcess {
    /// Starts the process and waits until it answers `/health`.
    pub async fn start(
        service: &'static str,
        name: &str,
        health_port: u16,
        env: Vec<(String, String)>,
        log_dir: &Path,
    ) -> ServiceProcess {
        let mut process = ServiceProcess {
            service,
            name: name.to_owned(),
            health_port,
            env,
            log_dir: log_dir.to_path_buf(),
            runs: 0,
            child: None,
        };
        process.spawn();
        process.wait_healthy().await;
        process
    }

    fn log_path(&self, run: usize) -> PathBuf {
        self.log_dir.join(format!("{}.{run}.log", self.name))
    }

    fn spawn(&mut self) {
        self.runs += 1;
        let log = std::fs::File::create(self.log_path(self.runs)).expect("create a service log");
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_pricealert"));
        command
            .arg(self.service)
            .env_remove("DATABASE_URL")
            .env_remove("KAFKA_BOOTSTRAP_SERVERS")
            .env_remove("PRICEALERT_CONFIG");
        for (name, value) in &self.env {
            command.env(name, value);
        }
        let stdout = log.try_clone().expect("share the log file");
        let child = command
            .stdout(stdout)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("start the pricealert binary");
        self.child = Some(child);
    }

    pub async fn wait_healthy(&self) {
        let client = reqwest::Client::new();
        let url = format!("http://127.0.0.1:{}/health", self.health_port);
        let log = self.log_path(self.runs);
        poll_until(
            &format!("{} to answer {url}", self.name),
            Duration::from_secs(60),
            || {
                let request = client.get(&url).send();
                let log = &log;
                async move {
                    match request.await {
                        Ok(response) if response.status().is_success() => Ok(()),
                        Ok(response) => Err(format!("status {}", response.status())),
                        Err(e) => Err(format!("{e}; log:\n{}", tail(log))),
                    }
                }
            },
        )
        .await;
    }

    /// SIGKILL, as `kill -9`: no shutdown code runs, nothing is flushed or committed.
    pub async fn kill_9(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.start_kill().expect("send SIGKILL");
            child.wait().await.expect("reap the killed process");
        }
    }

    /// Starts the process again with the same environment and waits for `/health`.
    pub async fn restart(&mut self) {
        self.spawn();
        self.wait_healthy().await;
    }

    /// Whether the current run is still alive (a crash would show here).
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Every log line of every run that contains `needle`, prefixed with the run.
    pub fn log_lines_with(&self, needle: &str) -> String {
        let mut lines = Vec::new();
        for run in 1..=self.runs {
            let text = std::fs::read_to_string(self.log_path(run)).unwrap_or_default();
            lines.extend(
                text.lines()
                    .filter(|line| line.contains(needle))
                    .map(|line| format!("{} run {run}: {line}", self.name)),
            );
        }
        lines.join("\n")
    }

    /// The end of every run's log, newest last, for failure messages.
    pub fn logs(&self) -> String {
        (1..=self.runs)
            .map(|run| {
                format!(
                    "--- {} run {run}:\n{}",
                    self.name,
                    tail(&self.log_path(run))
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}
