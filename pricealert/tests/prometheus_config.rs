//! The shipped Prometheus and Alertmanager configuration, checked with the real tools
//! (`promtool`, `amtool`): syntax, rules, the rules' unit tests, and the alert routing.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use support::metrics::{is_documented_series, INSTRUMENT_INFO};
use support::prometheus_server::{write_config, ServicePorts};
use support::tools::{AMTOOL, PROMTOOL};
use support::{promql, repo_root, yaml};
use testkit::TempDir;

fn prometheus_dir() -> PathBuf {
    repo_root().join("prometheus")
}

fn relative_yml_files(dir: &str) -> Vec<String> {
    yaml::yml_files(&prometheus_dir().join(dir))
        .iter()
        .map(|path| {
            path.strip_prefix(prometheus_dir())
                .expect("inside prometheus/")
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

#[test]
fn the_shipped_prometheus_config_passes_promtool_check_config() {
    let printed = PROMTOOL.run_ok(&prometheus_dir(), &["check", "config", "prometheus.yml"]);
    assert!(printed.contains("6 rule files found"), "{printed}");
}

#[test]
fn the_config_adapted_for_tests_with_written_targets_passes_promtool_check_config() {
    let dir = TempDir::new("pa-prometheus-config");
    let ports = ServicePorts {
        gateway: 18000,
        ingestor: 18001,
        evaluator: 18002,
        notifier: 18003,
    };
    let config = write_config(&dir.0, &ports, "1s");
    let config = config.to_string_lossy().into_owned();
    PROMTOOL.run_ok(&dir.0, &["check", "config", &config]);
    let gateway_targets =
        std::fs::read_to_string(dir.0.join("targets/gateway.json")).expect("targets written");
    assert!(gateway_targets.contains("127.0.0.1:18000"));
}

#[test]
fn every_rule_file_passes_promtool_check_rules() {
    let files = relative_yml_files("rules");
    assert!(files.len() >= 4, "rule files: {files:?}");
    let mut args = vec!["check", "rules"];
    args.extend(files.iter().map(String::as_str));
    PROMTOOL.run_ok(&prometheus_dir(), &args);
}

/// How often each unit-test file runs: an order-dependent rule (one reading a series another
/// group records) failed about 3 runs in 8, so 20 runs miss it with a chance below 1 in 10,000.
const RUNS_PER_TEST_FILE: usize = 20;

#[test]
fn promtool_unit_tests_pass_for_every_alerting_rule_on_every_run() {
    let files = relative_yml_files("tests");
    assert!(
        !files.is_empty(),
        "no promtool unit tests in prometheus/tests"
    );
    // Each file on its own, many times: promtool evaluates rule groups in no fixed order.
    let runs: Vec<(String, usize)> = files
        .iter()
        .flat_map(|file| (0..RUNS_PER_TEST_FILE).map(move |run| (file.clone(), run)))
        .collect();
    let failures: Vec<String> = std::thread::scope(|scope| {
        let workers: Vec<_> = runs
            .chunks(runs.len().div_ceil(4))
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .filter_map(|(file, run)| {
                            let output = PROMTOOL.run(&prometheus_dir(), &["test", "rules", file]);
                            let printed = format!(
                                "{}{}",
                                String::from_utf8_lossy(&output.stdout),
                                String::from_utf8_lossy(&output.stderr)
                            );
                            (!output.status.success() || printed.contains("FAILED"))
                                .then(|| format!("{file}, run {run}:\n{printed}"))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| worker.join().expect("promtool worker"))
            .collect()
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn an_alert_reads_only_series_recorded_earlier_in_its_own_group() {
    let rules = yaml::rules(&prometheus_dir().join("rules"));
    for (position, rule) in rules.iter().enumerate() {
        for name in promql::metric_names(&rule.expr) {
            let Some(recorded_at) = rules
                .iter()
                .position(|r| r.record.as_deref() == Some(&name))
            else {
                continue;
            };
            let recorder = &rules[recorded_at];
            assert!(
                recorder.file == rule.file
                    && recorder.group == rule.group
                    && recorded_at < position,
                "{} (group {}) reads {name}, which group {} of {} records: groups run in no \
                 fixed order, so it may see the previous evaluation's value",
                rule.file.display(),
                rule.group,
                recorder.group,
                recorder.file.display()
            );
        }
    }
}

#[test]
fn every_alert_has_a_unit_test_where_it_fires_and_one_where_it_stays_quiet() {
    let rules = yaml::rules(&prometheus_dir().join("rules"));
    let alerts: BTreeSet<String> = rules.iter().filter_map(|r| r.alert.clone()).collect();
    for required in [
        "ServiceDown",
        "KafkaConsumerLagGrowing",
        "IngestorErrorRatioHigh",
        "NoTicksForAssetClass",
        "NotificationFailureRatioHigh",
        "NotificationsDeadLettered",
        "OutboxBacklogHigh",
        "HistoryRecordingPaused",
    ] {
        assert!(alerts.contains(required), "no alert named {required}");
    }
    let cases = yaml::alert_cases(&prometheus_dir().join("tests"));
    let mut coverage: BTreeMap<&str, (bool, bool)> = BTreeMap::new();
    for case in &cases {
        assert!(
            alerts.contains(&case.alertname),
            "{} tests an alert no rule defines: {}",
            case.file.display(),
            case.alertname
        );
        let entry = coverage.entry(case.alertname.as_str()).or_default();
        if case.expects_firing {
            entry.0 = true;
        } else {
            entry.1 = true;
        }
    }
    for alert in &alerts {
        let (fires, quiet) = coverage.get(alert.as_str()).copied().unwrap_or_default();
        assert!(fires, "no unit test shows {alert} firing");
        assert!(quiet, "no unit test shows {alert} staying quiet");
    }
}

#[test]
fn every_alert_has_a_severity_that_alertmanager_routes() {
    for rule in yaml::rules(&prometheus_dir().join("rules")) {
        if let Some(alert) = &rule.alert {
            assert!(
                matches!(rule.severity.as_deref(), Some("page" | "warning")),
                "{alert} in {} has severity {:?}",
                rule.file.display(),
                rule.severity
            );
        }
    }
}

#[test]
fn rule_expressions_use_only_documented_metrics_recorded_series_and_the_catalogue_series() {
    let rules = yaml::rules(&prometheus_dir().join("rules"));
    let recorded: BTreeSet<String> = rules.iter().filter_map(|r| r.record.clone()).collect();
    for rule in &rules {
        for name in promql::metric_names(&rule.expr) {
            assert!(
                is_documented_series(&name) || recorded.contains(&name) || name == INSTRUMENT_INFO,
                "{} uses undocumented series {name}: {}",
                rule.file.display(),
                rule.expr
            );
        }
    }
}

#[test]
fn the_alertmanager_config_passes_amtool_check_config() {
    let printed = AMTOOL.run_ok(&prometheus_dir(), &["check-config", "alertmanager.yml"]);
    assert!(printed.contains("SUCCESS"), "{printed}");
}

#[test]
fn alertmanager_routes_pages_to_the_pager_and_warnings_to_the_team_channel() {
    for (labels, receiver) in [
        (
            vec!["severity=page", "alertname=ServiceDown"],
            "on-call-pager",
        ),
        (
            vec!["severity=page", "alertname=NotificationsDeadLettered"],
            "on-call-pager",
        ),
        (
            vec!["severity=warning", "alertname=KafkaConsumerLagGrowing"],
            "team-channel",
        ),
        (vec!["alertname=SomethingUnlabelled"], "team-channel"),
    ] {
        let verify = format!("--verify.receivers={receiver}");
        let mut args = vec![
            "config",
            "routes",
            "test",
            "--config.file=alertmanager.yml",
            verify.as_str(),
        ];
        args.extend(labels.iter().copied());
        AMTOOL.run_ok(&prometheus_dir(), &args);
    }
}

#[test]
fn each_service_is_scraped_from_its_own_target_file_and_compose_targets_use_default_ports() {
    let config = yaml::load(&prometheus_dir().join("prometheus.yml"));
    let mut jobs = BTreeMap::new();
    for job in yaml::items(&config["scrape_configs"]) {
        let name = yaml::text(&job["job_name"]).expect("job_name").to_owned();
        let files: Vec<String> = yaml::items(&job["file_sd_configs"])
            .iter()
            .flat_map(|sd| yaml::items(&sd["files"]))
            .filter_map(|file| yaml::text(file).map(str::to_owned))
            .collect();
        jobs.insert(name, files);
    }
    for (job, file, target) in [
        ("pricealert-gateway", "targets/gateway.json", "gateway:8000"),
        (
            "pricealert-ingestor",
            "targets/ingestor.json",
            "ingestor:8001",
        ),
        (
            "pricealert-evaluator",
            "targets/evaluator.json",
            "evaluator:8002",
        ),
        (
            "pricealert-notifier",
            "targets/notifier.json",
            "notifier:8003",
        ),
        (
            "kafka-exporter",
            "targets/kafka-exporter.json",
            "kafka-exporter:9308",
        ),
    ] {
        assert_eq!(jobs.get(job), Some(&vec![file.to_owned()]), "job {job}");
        let text = std::fs::read_to_string(prometheus_dir().join(file)).expect("targets file");
        let groups: serde_json::Value = serde_json::from_str(&text).expect("targets JSON");
        assert_eq!(groups[0]["targets"][0], target, "{file}");
    }
    let rule_files: Vec<&str> = yaml::items(&config["rule_files"])
        .iter()
        .filter_map(yaml::text)
        .collect();
    assert_eq!(rule_files, ["rules/*.yml"]);
}
