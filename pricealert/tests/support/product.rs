//! The `pricealert` binary started as a user would: the embedded default, configured by
//! environment, on free loopback ports.

use std::path::PathBuf;
use std::time::Duration;

use testkit::TempDir;

use super::prometheus_server::{tail, ServicePorts};
use super::{free_port, poll_until};

/// The setting that switches the ingestor to its simulated provider (no internet here), as
/// `(environment variable, value)`.
pub const SIMULATED_PROVIDER_SWITCH: (&str, &str) = ("PRICEALERT_PRICE_SOURCE", "simulated");

/// A running `pricealert all`, killed when dropped.
pub struct Product {
    child: tokio::process::Child,
    pub ports: ServicePorts,
    log: PathBuf,
    _data_dir: TempDir,
}

impl Product {
    /// Starts the embedded default with the simulated provider, `extra_env` on top, and waits
    /// until all four services answer `/health`.
    ///
    /// The ports are found free by binding port 0 and letting go, so another process can take
    /// one before the product binds it; such a start is retried on other ports.
    pub async fn start(extra_env: &[(&str, String)]) -> Product {
        const ATTEMPTS: usize = 5;
        for attempt in 1..=ATTEMPTS {
            let mut product = Product::spawn(extra_env);
            match product.wait_until_healthy().await {
                Ok(()) => return product,
                Err(log) if attempt < ATTEMPTS && log.contains("Address already in use") => {
                    continue
                }
                Err(log) => panic!("pricealert exited; its log:\n{log}"),
            }
        }
        unreachable!("the last attempt returns or panics")
    }

    fn spawn(extra_env: &[(&str, String)]) -> Product {
        let data_dir = TempDir::new("pa-e2e-data");
        let ports = ServicePorts {
            gateway: free_port(),
            ingestor: free_port(),
            evaluator: free_port(),
            notifier: free_port(),
        };
        let log = data_dir.0.join("pricealert.log");
        let log_file = std::fs::File::create(&log).expect("create product log");
        // Logs go to stdout, errors to stderr: both in one file, in order.
        let log_out = log_file.try_clone().expect("share the product log");
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_pricealert"));
        command
            .arg("all")
            .env_remove("DATABASE_URL")
            .env_remove("KAFKA_BOOTSTRAP_SERVERS")
            .env_remove("PRICEALERT_CONFIG")
            .env("PRICEALERT_DATA_DIR", &data_dir.0)
            .env("GATEWAY_HOST", "127.0.0.1")
            .env("GATEWAY_PORT", ports.gateway.to_string())
            .env("INGESTOR_PORT", ports.ingestor.to_string())
            .env("EVALUATOR_PORT", ports.evaluator.to_string())
            .env("NOTIFIER_PORT", ports.notifier.to_string())
            .env("LOG_LEVEL", "info")
            // An error's cause chain without a backtrace keeps the log tail readable.
            .env("RUST_LIB_BACKTRACE", "0")
            .env(SIMULATED_PROVIDER_SWITCH.0, SIMULATED_PROVIDER_SWITCH.1);
        for (name, value) in extra_env {
            command.env(name, value);
        }
        let child = command
            .stdout(log_out)
            .stderr(log_file)
            .kill_on_drop(true)
            .spawn()
            .expect("start the pricealert binary");
        Product {
            child,
            ports,
            log,
            _data_dir: data_dir,
        }
    }

    /// Waits until every service answers `/health`; the log's tail if the product exits first.
    async fn wait_until_healthy(&mut self) -> Result<(), String> {
        let client = reqwest::Client::new();
        let ports = self.ports;
        for port in [
            ports.gateway,
            ports.ingestor,
            ports.evaluator,
            ports.notifier,
        ] {
            let url = format!("http://127.0.0.1:{port}/health");
            let log = &self.log;
            let child = &mut self.child;
            let exited = poll_until(&format!("{url} to answer"), Duration::from_secs(60), || {
                // A product that exited will never answer: say why at once.
                let exited = matches!(child.try_wait(), Ok(Some(_)));
                let request = client.get(&url).send();
                async move {
                    if exited {
                        return Ok(true);
                    }
                    match request.await {
                        Ok(response) if response.status().is_success() => Ok(false),
                        Ok(response) => Err(format!("status {}", response.status())),
                        Err(e) => Err(format!("{e}; pricealert log:\n{}", tail(log))),
                    }
                }
            })
            .await;
            if exited {
                return Err(tail(&self.log));
            }
        }
        Ok(())
    }

    pub fn gateway_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.ports.gateway)
    }

    pub fn log_tail(&self) -> String {
        tail(&self.log)
    }

    pub fn stop(mut self) {
        let _ = self.child.start_kill();
    }
}
