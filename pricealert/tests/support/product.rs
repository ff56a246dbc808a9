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
    pub async fn start(extra_env: &[(&str, String)]) -> Product {
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
        let mut product = Product {
            child,
            ports,
            log,
            _data_dir: data_dir,
        };
        let client = reqwest::Client::new();
        for port in [
            ports.gateway,
            ports.ingestor,
            ports.evaluator,
            ports.notifier,
        ] {
            let url = format!("http://127.0.0.1:{port}/health");
            let log = &product.log;
            let child = &mut product.child;
            poll_until(&format!("{url} to answer"), Duration::from_secs(60), || {
                // A product that exited will never answer: say why at once.
                if let Ok(Some(status)) = child.try_wait() {
                    panic!("pricealert exited ({status}); its log:\n{}", tail(log));
                }
                let request = client.get(&url).send();
                async move {
                    // The log says why when the process exited or failed to bind.
                    match request.await {
                        Ok(response) if response.status().is_success() => Ok(()),
                        Ok(response) => Err(format!("status {}", response.status())),
                        Err(e) => Err(format!("{e}; pricealert log:\n{}", tail(log))),
                    }
                }
            })
            .await;
        }
        product
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
