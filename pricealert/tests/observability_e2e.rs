//! End to end: the product runs as a user starts it, a real Prometheus scrapes it with the shipped
//! configuration, and every panel query of every shipped dashboard returns data through
//! Prometheus's HTTP API. No Grafana server can run here, so this is how dashboards are proven.
//!
//! Needs `prometheus` on PATH, and PostgreSQL for the run over the Kafka mock cluster.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use rdkafka::mocking::MockCluster;
use support::dashboards::{load_all, substitute, PanelQuery, TimeVariables};
use support::metrics::{sample_series, scaled_only_names, Scope, DOCUMENTED};
use support::product::Product;
use support::prometheus_server::{PrometheusServer, Sample, ServicePorts};
use support::smtp::SmtpSink;
use support::traffic::Traffic;
use support::{free_port, poll_until, promql};
use testkit::{fresh_database_url, Engine};

/// Scrape and rule evaluation interval of the test's Prometheus.
const SCRAPE_INTERVAL: &str = "1s";

/// Grafana's time variables as a 1 s scrape interval makes them: `$__rate_interval` covers well
/// over four scrapes, `$__range` the whole run.
const TIME: TimeVariables = TimeVariables {
    rate_interval: "30s",
    interval: "2s",
    range: "10m",
};

const SERVICE_JOBS: [&str; 4] = [
    "pricealert-gateway",
    "pricealert-ingestor",
    "pricealert-evaluator",
    "pricealert-notifier",
];

/// The services that consume from the bus, so export `kafka_consumer_lag` over Kafka (the
/// ingestor only produces).
const KAFKA_CONSUMER_JOBS: [&str; 3] = [
    "pricealert-gateway",
    "pricealert-evaluator",
    "pricealert-notifier",
];

/// Which deployment can answer a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Needs {
    /// Any deployment, the embedded default included.
    Services,
    /// The services over Kafka and PostgreSQL (`kafka_consumer_lag`, the account notices).
    Scaled,
    /// kafka-exporter (`kafka_consumergroup_lag`), in the compose deployment only.
    KafkaExporter,
}

fn needs(query: &PanelQuery) -> Needs {
    let names = promql::metric_names(&query.expr);
    let scaled = scaled_only_names();
    if names.contains("kafka_consumergroup_lag") {
        Needs::KafkaExporter
    } else if names.iter().any(|name| scaled.contains(name.as_str())) {
        Needs::Scaled
    } else {
        Needs::Services
    }
}

/// Every dashboard query that `deployment` can answer, as Grafana would send it.
fn queries_for(deployment: Needs) -> Vec<(PanelQuery, String)> {
    let mut queries = Vec::new();
    for dashboard in load_all() {
        for query in dashboard.queries() {
            if needs(&query) == deployment {
                let sent = substitute(&query.expr, &dashboard, TIME);
                queries.push((query, sent));
            }
        }
    }
    queries
}

/// Data means at least one sample with a number (a quantile of an empty histogram is NaN).
fn has_data(samples: &[Sample]) -> bool {
    samples.iter().any(|sample| sample.value.is_finite())
}

/// Every dashboard variable (`label_values(metric, label)`) offers at least one value.
async fn assert_variables_have_values(prometheus: &PrometheusServer) {
    for dashboard in load_all() {
        for variable in dashboard.variables() {
            let definition = variable["definition"].as_str().unwrap_or_default();
            let Some((metric, label)) = definition
                .strip_prefix("label_values(")
                .and_then(|args| args.strip_suffix(')'))
                .and_then(|args| args.split_once(','))
            else {
                panic!(
                    "{}: unexpected variable query {definition}",
                    dashboard.name()
                );
            };
            let (metric, label) = (metric.trim(), label.trim());
            poll_until(
                &format!("{} variable {definition} to list values", dashboard.name()),
                Duration::from_secs(30),
                || async {
                    let values = prometheus.label_values(metric, label).await?;
                    if values.is_empty() {
                        Err("no values".to_owned())
                    } else {
                        Ok(())
                    }
                },
            )
            .await;
        }
    }
}

/// Polls until every query returns data; the failure lists each query still empty.
async fn assert_every_query_returns_data(
    prometheus: &PrometheusServer,
    queries: &[(PanelQuery, String)],
    timeout: Duration,
) {
    assert!(!queries.is_empty(), "no dashboard query to prove");
    let started = std::time::Instant::now();
    poll_until("every dashboard query to return data", timeout, || async {
        let mut empty = Vec::new();
        for (query, sent) in queries {
            match prometheus.query(sent).await {
                Ok(samples) if has_data(&samples) => {}
                Ok(_) => empty.push(format!("no data: {query}\n    sent: {sent}")),
                Err(e) => empty.push(format!("{e}: {query}\n    sent: {sent}")),
            }
        }
        if empty.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "{} of {} queries:\n  {}",
                empty.len(),
                queries.len(),
                empty.join("\n  ")
            ))
        }
    })
    .await;
    eprintln!(
        "all {} dashboard queries returned data within {:.1} s",
        queries.len(),
        started.elapsed().as_secs_f64()
    );
}

async fn wait_for_targets_up(prometheus: &PrometheusServer, jobs: &[&str]) {
    poll_until(
        "every service target to be up",
        Duration::from_secs(30),
        || async {
            let samples = prometheus.query(r#"up{job=~"pricealert-.*"} == 1"#).await?;
            let up: BTreeSet<&str> = samples
                .iter()
                .filter_map(|s| s.labels["job"].as_str())
                .collect();
            let missing: Vec<&&str> = jobs.iter().filter(|job| !up.contains(**job)).collect();
            if missing.is_empty() {
                Ok(())
            } else {
                Err(format!("not up: {missing:?}"))
            }
        },
    )
    .await;
}

/// Each documented metric is exported by its own service only (one registry per service), and
/// the ones the run's traffic moves are above zero. Over Kafka, the consumers' lag is checked
/// too.
async fn assert_documented_metrics_present(prometheus: &PrometheusServer, deployment: Needs) {
    poll_until(
        "every documented metric",
        Duration::from_secs(60),
        || async {
            let mut problems = Vec::new();
            for metric in DOCUMENTED {
                let expected_jobs: BTreeSet<&str> = match metric.scope {
                    Scope::Job(job) => [job].into_iter().collect(),
                    Scope::EveryService => SERVICE_JOBS.into_iter().collect(),
                    Scope::KafkaConsumers if deployment == Needs::Scaled => {
                        KAFKA_CONSUMER_JOBS.into_iter().collect()
                    }
                    Scope::Postgres(job) if deployment == Needs::Scaled => {
                        [job].into_iter().collect()
                    }
                    Scope::KafkaConsumers | Scope::KafkaExporter | Scope::Postgres(_) => continue,
                };
                let series = sample_series(metric);
                let samples = prometheus
                    .query(&format!("count by (job) ({series})"))
                    .await?;
                let jobs: BTreeSet<&str> = samples
                    .iter()
                    .filter_map(|s| s.labels["job"].as_str())
                    .collect();
                if jobs != expected_jobs {
                    problems.push(format!(
                        "{series} exported by {jobs:?}, expected {expected_jobs:?}"
                    ));
                    continue;
                }
                if metric.moved_by_traffic {
                    let total = prometheus.query(&format!("sum({series})")).await?;
                    if !total.iter().any(|s| s.value > 0.0) {
                        problems.push(format!("{series} is still 0"));
                    }
                }
            }
            problems.extend(service_info_problems(prometheus).await?);
            if problems.is_empty() {
                Ok(())
            } else {
                Err(problems.join("\n  "))
            }
        },
    )
    .await;
}

/// Each service job reports exactly one `service_info`, naming that service.
async fn service_info_problems(prometheus: &PrometheusServer) -> Result<Vec<String>, String> {
    let mut problems = Vec::new();
    let infos = prometheus.query("service_info").await?;
    for job in SERVICE_JOBS {
        let names: Vec<&str> = infos
            .iter()
            .filter(|info| info.labels["job"] == job)
            .filter_map(|info| info.labels["name"].as_str())
            .collect();
        let expected = job.trim_start_matches("pricealert-");
        if names != [expected] {
            problems.push(format!("{job} exports service_info names {names:?}"));
        }
    }
    Ok(problems)
}

/// Every shipped rule evaluates without error on the real series (e.g. no many-to-many joins).
async fn assert_rules_evaluate(prometheus: &PrometheusServer) {
    let client = reqwest::Client::new();
    let url = format!("{}/api/v1/rules", prometheus.url);
    poll_until(
        "every rule to evaluate cleanly",
        Duration::from_secs(30),
        || async {
            let body: serde_json::Value = client
                .get(&url)
                .send()
                .await
                .map_err(|e| e.to_string())?
                .json()
                .await
                .map_err(|e| e.to_string())?;
            let mut unhealthy = Vec::new();
            let mut evaluated = 0;
            for group in support::dashboards::array(&body["data"]["groups"]) {
                for rule in support::dashboards::array(&group["rules"]) {
                    evaluated += 1;
                    if rule["health"] != "ok" {
                        unhealthy.push(format!(
                            "{} {}: {}",
                            rule["name"], rule["health"], rule["lastError"]
                        ));
                    }
                }
            }
            if evaluated > 0 && unhealthy.is_empty() {
                Ok(())
            } else {
                Err(format!("{evaluated} rules, unhealthy: {unhealthy:?}"))
            }
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dashboard_query_is_accepted_by_a_real_prometheus() {
    // Targets on ports nobody listens on: this proves the queries parse and evaluate, not data.
    let nowhere = ServicePorts {
        gateway: free_port(),
        ingestor: free_port(),
        evaluator: free_port(),
        notifier: free_port(),
    };
    let prometheus = PrometheusServer::start(&nowhere, SCRAPE_INTERVAL).await;
    let mut rejected = Vec::new();
    let mut checked = 0;
    for deployment in [Needs::Services, Needs::Scaled, Needs::KafkaExporter] {
        for (query, sent) in queries_for(deployment) {
            checked += 1;
            if let Err(e) = prometheus.query(&sent).await {
                rejected.push(format!("{e}: {query}"));
            }
        }
    }
    assert!(checked >= 40, "only {checked} queries found");
    assert!(
        rejected.is_empty(),
        "rejected queries:\n{}",
        rejected.join("\n")
    );
    prometheus.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_prometheus_with_the_shipped_config_scrapes_each_service_of_the_embedded_default() {
    let product = Product::start(&[]).await;
    let prometheus = PrometheusServer::start(&product.ports, SCRAPE_INTERVAL).await;
    wait_for_targets_up(&prometheus, &SERVICE_JOBS).await;
    poll_until(
        "one service_info per service",
        Duration::from_secs(30),
        || async {
            let problems = service_info_problems(&prometheus).await?;
            if problems.is_empty() {
                Ok(())
            } else {
                Err(problems.join("; "))
            }
        },
    )
    .await;
    assert_rules_evaluate(&prometheus).await;
    prometheus.stop();
    product.stop();
}

/// The product with a local SMTP server, a Prometheus scraping it, and user traffic whose alerts
/// have fired as far as an email.
struct Run {
    smtp: SmtpSink,
    product: Product,
    prometheus: PrometheusServer,
    traffic: Traffic,
}

impl Run {
    async fn start(extra_env: &[(&str, String)]) -> Run {
        let smtp = SmtpSink::start().await;
        let mut env = vec![
            ("SMTP_HOST", "127.0.0.1".to_owned()),
            ("SMTP_PORT", smtp.port.to_string()),
            // The sink is a plain local relay: no STARTTLS.
            ("SMTP_TLS", "none".to_owned()),
            ("FROM_EMAIL", "alerts@pricealert.test".to_owned()),
        ];
        env.extend(extra_env.iter().cloned());
        let product = Product::start(&env).await;
        let prometheus = PrometheusServer::start(&product.ports, SCRAPE_INTERVAL).await;
        wait_for_targets_up(&prometheus, &SERVICE_JOBS).await;

        let traffic = Traffic::drive(&product.gateway_url()).await;
        poll_until(
            "an alert email at the SMTP server",
            Duration::from_secs(60),
            || async {
                if smtp.messages().is_empty() {
                    Err(format!(
                        "no email yet; pricealert log:\n{}",
                        product.log_tail()
                    ))
                } else {
                    Ok(())
                }
            },
        )
        .await;
        Run {
            smtp,
            product,
            prometheus,
            traffic,
        }
    }

    fn stop(self) {
        drop(self.traffic);
        self.prometheus.stop();
        self.product.stop();
        drop(self.smtp);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dashboard_panel_returns_data_from_prometheus_scraping_the_embedded_default() {
    let run = Run::start(&[]).await;

    assert_documented_metrics_present(&run.prometheus, Needs::Services).await;
    assert_variables_have_values(&run.prometheus).await;
    assert_every_query_returns_data(
        &run.prometheus,
        &queries_for(Needs::Services),
        Duration::from_secs(60),
    )
    .await;
    assert_rules_evaluate(&run.prometheus).await;

    run.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_consumer_lag_panels_return_data_when_the_product_runs_over_a_mock_cluster() {
    let suffix = uuid_suffix();
    let topics = [
        ("KAFKA_PRICE_EVENTS_TOPIC", format!("price-events-{suffix}")),
        (
            "KAFKA_NOTIFICATIONS_TOPIC",
            format!("notifications-{suffix}"),
        ),
        (
            "KAFKA_ALERT_CHANGES_TOPIC",
            format!("alert-changes-{suffix}"),
        ),
        (
            "KAFKA_DELIVERY_EVENTS_TOPIC",
            format!("delivery-events-{suffix}"),
        ),
        (
            "KAFKA_CHANNEL_TESTS_TOPIC",
            format!("channel-tests-{suffix}"),
        ),
        (
            "KAFKA_CHANNEL_TEST_RESULTS_TOPIC",
            format!("channel-test-results-{suffix}"),
        ),
    ];
    let cluster = MockCluster::new(3).expect("start the mock Kafka cluster");
    for (_, topic) in &topics {
        cluster
            .create_topic(topic, 3, 1)
            .expect("create a topic on the mock cluster");
    }
    let (database_url, _sqlite_dir) = fresh_database_url(Engine::Postgres).await;
    let mut env = vec![
        ("KAFKA_BOOTSTRAP_SERVERS", cluster.bootstrap_servers()),
        ("KAFKA_CONSUMER_GROUP_PREFIX", format!("pa-e2e-{suffix}")),
        ("DATABASE_URL", database_url),
        // A shared database needs a real signing key (the embedded default makes its own).
        (
            "JWT_SECRET",
            "observability-e2e-signing-key-of-32-bytes+".to_owned(),
        ),
        // Lag comes from the consumers' statistics: report them at the scrape's pace.
        ("KAFKA_STATISTICS_INTERVAL_MS", "1000".to_owned()),
    ];
    env.extend(topics.iter().map(|(name, topic)| (*name, topic.clone())));
    // Alerts fire over Kafka as far as an email: every topic has carried messages.
    let run = Run::start(&env).await;
    let prometheus = &run.prometheus;

    let mut queries = queries_for(Needs::Scaled);
    queries.extend(queries_for(Needs::Services));
    assert_every_query_returns_data(prometheus, &queries, Duration::from_secs(90)).await;
    assert_documented_metrics_present(prometheus, Needs::Scaled).await;

    // Each consumer's lag, on each of this run's topics, from its own statistics (a partition
    // reports once its consumer has an offset there).
    let (prices, notifications, changes) = (&topics[0].1, &topics[1].1, &topics[2].1);
    let expected = [
        ("pricealert-gateway", prices),
        ("pricealert-gateway", notifications),
        ("pricealert-gateway", changes),
        ("pricealert-evaluator", prices),
        ("pricealert-evaluator", changes),
        ("pricealert-notifier", notifications),
    ];
    poll_until(
        "kafka_consumer_lag from each consumer on each of its topics",
        Duration::from_secs(30),
        || async {
            let lag = prometheus
                .query("count by (job, topic) (kafka_consumer_lag)")
                .await?;
            let reported: BTreeSet<(&str, &str)> = lag
                .iter()
                .filter_map(|s| Some((s.labels["job"].as_str()?, s.labels["topic"].as_str()?)))
                .collect();
            let missing: Vec<_> = expected
                .iter()
                .filter(|(job, topic)| !reported.contains(&(*job, topic.as_str())))
                .collect();
            if missing.is_empty() {
                Ok(())
            } else {
                Err(format!("missing {missing:?}; reported {reported:?}"))
            }
        },
    )
    .await;
    let sent = prometheus
        .query(&format!(
            r#"ingestor_kafka_messages_sent_total{{topic="{prices}"}} > 0"#
        ))
        .await
        .expect("query ingestor_kafka_messages_sent_total");
    assert!(!sent.is_empty(), "no tick counted as sent to {prices}");

    run.stop();
}

/// Distinguishes this run's topics and consumer groups from any other's.
fn uuid_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{}-{nanos}", std::process::id())
}
