//! The scaled deployment's files: docker-compose.yml validated by docker-compose itself
//! (Debian's `docker-compose` package; no Docker engine needed), and .env.example documenting
//! every setting.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("shared/ sits in the repository root")
        .to_path_buf()
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(repo_root().join(relative)).expect("repository file readable")
}

/// Runs `docker-compose <args>` on the shipped file with an empty env file, so a developer's
/// `.env` cannot change the outcome. A missing docker-compose fails the test: CI must install it.
fn docker_compose(args: &[&str], jwt_secret: Option<&str>) -> Output {
    let root = repo_root();
    let empty_env =
        std::env::temp_dir().join(format!("pricealert-empty-{}.env", std::process::id()));
    std::fs::write(&empty_env, "").expect("temp env file");
    let mut command = Command::new("docker-compose");
    command
        .current_dir(&root)
        .arg("-f")
        .arg(root.join("docker-compose.yml"))
        .arg("--env-file")
        .arg(&empty_env)
        .args(args)
        .env_remove("JWT_SECRET");
    if let Some(secret) = jwt_secret {
        command.env("JWT_SECRET", secret);
    }
    command.output().unwrap_or_else(|e| {
        panic!("docker-compose must be installed (apt-get install docker-compose): {e}")
    })
}

const SECRET: &str = "a-test-secret-that-is-longer-than-32-bytes";

#[test]
fn docker_compose_accepts_the_compose_file() {
    let output = docker_compose(&["config", "-q"], Some(SECRET));
    assert!(
        output.status.success(),
        "docker-compose config failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_stack_refuses_to_start_without_a_jwt_secret() {
    let output = docker_compose(&["config", "-q"], None);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("JWT_SECRET"));
}

#[test]
fn the_stack_has_kafka_postgres_the_four_services_and_observability() {
    let output = docker_compose(&["config", "--services"], Some(SECRET));
    assert!(output.status.success());
    let services: BTreeSet<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    for expected in [
        "postgres",
        "kafka",
        "gateway",
        "ingestor",
        "evaluator",
        "notifier",
        "prometheus",
        "alertmanager",
        "grafana",
        "kafka-ui",
        "kafka-exporter",
    ] {
        assert!(
            services.contains(expected),
            "{expected} missing: {services:?}"
        );
    }
}

/// The lines of one service in docker-compose's normalised output, where services are the
/// two-space-indented keys and their settings are indented further.
fn service_block(config: &str, service: &str) -> String {
    let header = format!("  {service}:");
    let mut block: String = config
        .lines()
        .skip_while(|line| *line != header)
        .skip(1)
        .take_while(|line| line.starts_with("    "))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(!block.is_empty(), "{service} not in the config");
    block.push('\n');
    block
}

#[test]
fn each_service_runs_the_one_image_on_its_port_with_a_health_check_and_a_restart_policy() {
    let output = docker_compose(&["config"], Some(SECRET));
    assert!(output.status.success());
    let config = String::from_utf8_lossy(&output.stdout);
    for (service, port) in [
        ("gateway", 8000),
        ("ingestor", 8001),
        ("evaluator", 8002),
        ("notifier", 8003),
    ] {
        let block = service_block(&config, service);
        assert!(
            block.contains(&format!("- {service}\n")),
            "{service} command: {block}"
        );
        assert!(block.contains("dockerfile: Dockerfile"), "{service} build");
        assert!(block.contains(&format!("target: {port}")), "{service} port");
        assert!(
            block.contains(&format!("http://localhost:{port}/health")),
            "{service} health check"
        );
        assert!(
            block.contains("restart: unless-stopped"),
            "{service} restart"
        );
        assert!(block.contains("KAFKA_BOOTSTRAP_SERVERS: kafka:9092"));
        assert!(block.contains("DATABASE_URL: postgres://"));
        assert!(block.contains("condition: service_healthy"));
    }
    let kafka = service_block(&config, "kafka");
    assert!(
        kafka.contains("KAFKA_PROCESS_ROLES: broker,controller"),
        "KRaft"
    );
    assert!(kafka.contains("healthcheck:"));
    let prometheus = service_block(&config, "prometheus");
    assert!(prometheus.contains("/etc/prometheus"), "{prometheus}");
    let grafana = service_block(&config, "grafana");
    assert!(grafana.contains("/etc/grafana/provisioning"));
    assert!(grafana.contains("/var/lib/grafana/dashboards"));
}

/// The documented environment names, from the settings' own table.
fn settings_env_names() -> BTreeSet<String> {
    shared::config::DOCUMENTED_ENV
        .iter()
        .map(|entry| entry.name().to_owned())
        .collect()
}

/// Names in .env.example, set or commented out (`NAME=` or `#NAME=`).
fn env_example_names() -> BTreeSet<String> {
    read(".env.example")
        .lines()
        .filter_map(|line| {
            let (name, _) = line.trim_start_matches('#').split_once('=')?;
            (!name.is_empty() && !name.contains(' ')).then(|| name.to_owned())
        })
        .collect()
}

#[test]
fn env_example_documents_every_setting_and_every_compose_variable() {
    let documented = env_example_names();
    let settings = settings_env_names();
    assert!(settings.contains("KAFKA_BOOTSTRAP_SERVERS"), "{settings:?}");
    let undocumented: Vec<_> = settings.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "settings missing from .env.example: {undocumented:?}"
    );
    let compose = read("docker-compose.yml");
    let compose_variables: BTreeSet<String> = compose
        .split("${")
        .skip(1)
        .filter_map(|rest| {
            let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))?;
            Some(rest[..end].to_owned())
        })
        .collect();
    let missing: Vec<_> = compose_variables.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "compose variables missing from .env.example: {missing:?}"
    );
}
