//! The scaled deployment's surroundings for process-level tests: a Kafka-protocol broker
//! (librdkafka's mock cluster, inside the test process) with this run's topics, a fresh
//! PostgreSQL database, a settings file and the environment every `pricealert <service>`
//! process gets, plus the REST calls the tests make.

use std::path::PathBuf;

use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;
use serde_json::{json, Value};
use sqlx::PgPool;
use testkit::{fresh_database_url, Engine, Scratch, TempDir};

use super::free_port;
use super::service_process::ServiceProcess;

pub const PASSWORD: &str = "correct horse battery staple";
pub const JWT_SECRET: &str = "scaled-e2e-secret-that-is-long-enough-0123456789";

/// Distinguishes this run's topics and consumer groups from any other's.
pub fn run_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{}-{nanos}", std::process::id())
}

/// The broker, the database and the processes' common environment.
pub struct Scaled {
    pub cluster: MockCluster<'static, DefaultProducerContext>,
    pub database_url: String,
    /// A connection pool of the test's own, to look at (or lock) what the processes write.
    pub pool: PgPool,
    pub env: Vec<(String, String)>,
    pub log_dir: PathBuf,
    pub dir: TempDir,
    _database: Scratch,
}

impl Scaled {
    /// Topics of `partitions` partitions; `settings_toml` is the processes' settings file;
    /// `extra` adds to (or overrides) the environment.
    pub async fn new(
        prefix: &str,
        partitions: i32,
        settings_toml: &str,
        extra: &[(&str, String)],
    ) -> Scaled {
        let run = run_suffix();
        let cluster = MockCluster::new(3).expect("start the mock Kafka cluster");
        let topics = [
            ("KAFKA_PRICE_EVENTS_TOPIC", format!("price-events-{run}")),
            ("KAFKA_NOTIFICATIONS_TOPIC", format!("notifications-{run}")),
            ("KAFKA_ALERT_CHANGES_TOPIC", format!("alert-changes-{run}")),
            (
                "KAFKA_DELIVERY_EVENTS_TOPIC",
                format!("delivery-events-{run}"),
            ),
            ("KAFKA_CHANNEL_TESTS_TOPIC", format!("channel-tests-{run}")),
            (
                "KAFKA_CHANNEL_TEST_RESULTS_TOPIC",
                format!("channel-test-results-{run}"),
            ),
        ];
        for (_, topic) in &topics {
            cluster
                .create_topic(topic, partitions, 1)
                .expect("create a topic on the mock cluster");
        }
        let (database_url, database) = fresh_database_url(Engine::Postgres).await;
        // Migrated here, once, before any process starts.
        shared::storage::Database::connect(&database_url, 1)
            .await
            .expect("migrate the test database")
            .close()
            .await;
        let pool = PgPool::connect(&database_url)
            .await
            .expect("connect to the test database");
        let dir = TempDir::new(prefix);
        let config = dir.0.join("pricealert.toml");
        std::fs::write(&config, settings_toml).expect("write the settings file");
        let mut env: Vec<(String, String)> = vec![
            ("DATABASE_URL", database_url.clone()),
            ("PRICEALERT_CONFIG", config.display().to_string()),
            ("PRICEALERT_DATA_DIR", dir.0.display().to_string()),
            ("JWT_SECRET", JWT_SECRET.to_owned()),
            ("KAFKA_BOOTSTRAP_SERVERS", cluster.bootstrap_servers()),
            ("KAFKA_CONSUMER_GROUP_PREFIX", format!("pa-{prefix}-{run}")),
            ("KAFKA_PARTITIONS", partitions.to_string()),
            ("KAFKA_SESSION_TIMEOUT_MS", "6000".to_owned()),
            ("KAFKA_FETCH_WAIT_MAX_MS", "10".to_owned()),
            ("KAFKA_LINGER_MS", "1".to_owned()),
            ("LOG_FORMAT", "json".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        env.extend(topics.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
        for (name, value) in extra {
            env.retain(|(k, _)| k != name);
            env.push(((*name).to_owned(), value.clone()));
        }
        // Logs are deleted with the test's directory unless PRICEALERT_E2E_LOG_DIR keeps them.
        let log_dir = std::env::var_os("PRICEALERT_E2E_LOG_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| dir.0.clone());
        std::fs::create_dir_all(&log_dir).expect("create the log directory");
        Scaled {
            cluster,
            database_url,
            pool,
            env,
            log_dir,
            dir,
            _database: database,
        }
    }

    /// The processes' Kafka settings, for a test's own producer or consumer.
    pub fn kafka_settings(&self) -> shared::config::KafkaSettings {
        let value = |name: &str| {
            self.env
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        shared::config::KafkaSettings {
            bootstrap_servers: Some(self.cluster.bootstrap_servers()),
            price_events_topic: value("KAFKA_PRICE_EVENTS_TOPIC"),
            notifications_topic: value("KAFKA_NOTIFICATIONS_TOPIC"),
            alert_changes_topic: value("KAFKA_ALERT_CHANGES_TOPIC"),
            delivery_events_topic: value("KAFKA_DELIVERY_EVENTS_TOPIC"),
            channel_tests_topic: value("KAFKA_CHANNEL_TESTS_TOPIC"),
            channel_test_results_topic: value("KAFKA_CHANNEL_TEST_RESULTS_TOPIC"),
            consumer_group_prefix: value("KAFKA_CONSUMER_GROUP_PREFIX"),
            fetch_wait_max: std::time::Duration::from_millis(10),
            linger: std::time::Duration::from_millis(1),
            ..Default::default()
        }
    }

    /// Starts `pricealert <service>` on a free port (its API port for the gateway, its ops
    /// port otherwise), named `name` in logs, with `extra` environment.
    pub async fn start(
        &self,
        service: &'static str,
        name: &str,
        extra: &[(&str, String)],
    ) -> ServiceProcess {
        let port = free_port();
        let mut env = self.env.clone();
        let port_variable = match service {
            "gateway" => {
                env.push(("GATEWAY_HOST".to_owned(), "127.0.0.1".to_owned()));
                "GATEWAY_PORT"
            }
            "ingestor" => "INGESTOR_PORT",
            "evaluator" => "EVALUATOR_PORT",
            _ => "NOTIFIER_PORT",
        };
        env.push((port_variable.to_owned(), port.to_string()));
        for (name, value) in extra {
            env.retain(|(k, _)| k != name);
            env.push(((*name).to_owned(), value.clone()));
        }
        ServiceProcess::start(service, name, port, env, &self.log_dir).await
    }
}

/// The settings that send email to an SMTP server on loopback `port` (plain, no login) with
/// no rate limit in the way.
pub fn smtp_env(port: u16) -> Vec<(&'static str, String)> {
    vec![
        ("SMTP_HOST", "127.0.0.1".to_owned()),
        ("SMTP_PORT", port.to_string()),
        ("SMTP_TLS", "none".to_owned()),
        ("FROM_EMAIL", "alerts@pricealert.test".to_owned()),
        ("NOTIFIER_RATE_LIMIT_PER_PERIOD", "100000".to_owned()),
    ]
}

/// Sends `request`, checks its status and returns its JSON body (`Null` if none).
pub async fn send(request: reqwest::RequestBuilder, expected: u16, what: &str) -> Value {
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let status = response.status().as_u16();
    let body = response.text().await.unwrap_or_default();
    assert_eq!(status, expected, "{what} answered {status}: {body}");
    serde_json::from_str(&body).unwrap_or(Value::Null)
}

/// Registers a user (with `phone`, if any) and returns its bearer token.
pub async fn register(
    client: &reqwest::Client,
    gateway: &str,
    email: &str,
    phone: Option<&str>,
) -> String {
    let mut body = json!({"email": email, "password": PASSWORD});
    if let Some(phone) = phone {
        body["phone"] = json!(phone);
    }
    send(
        client.post(format!("{gateway}/auth/register")).json(&body),
        201,
        "register",
    )
    .await;
    let login = send(
        client
            .post(format!("{gateway}/auth/login"))
            .form(&[("username", email), ("password", PASSWORD)]),
        200,
        "login",
    )
    .await;
    login["access_token"]
        .as_str()
        .expect("login returns an access token")
        .to_owned()
}

/// Every message on `topic` up to its current end, per partition in offset order, as
/// (partition, key, payload): what the processes published, read back by the test.
pub async fn read_whole_topic(
    bootstrap_servers: String,
    topic: String,
) -> Vec<(i32, String, Vec<u8>)> {
    tokio::task::spawn_blocking(move || {
        use rdkafka::consumer::{BaseConsumer, Consumer};
        use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
        let timeout = std::time::Duration::from_secs(10);
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &bootstrap_servers)
            .set("group.id", format!("test-reader-{}", run_suffix()))
            .set("enable.auto.commit", "false")
            .create()
            .expect("create a consumer");
        let metadata = consumer
            .fetch_metadata(Some(&topic), timeout)
            .expect("topic metadata");
        let mut ends = std::collections::BTreeMap::new();
        let mut assignment = TopicPartitionList::new();
        for partition in metadata.topics().iter().flat_map(|t| t.partitions()) {
            let (low, high) = consumer
                .fetch_watermarks(&topic, partition.id(), timeout)
                .expect("watermarks");
            if high > low {
                ends.insert(partition.id(), high);
                assignment
                    .add_partition_offset(&topic, partition.id(), Offset::Beginning)
                    .expect("assign a partition");
            }
        }
        consumer.assign(&assignment).expect("assign");
        let mut messages = Vec::new();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !ends.is_empty() {
            assert!(
                std::time::Instant::now() < deadline,
                "could not read {topic} to its end: {ends:?} left"
            );
            let Some(message) = consumer.poll(std::time::Duration::from_millis(200)) else {
                continue;
            };
            let message = message.expect("read a message");
            let partition = message.partition();
            messages.push((
                partition,
                String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned(),
                message.payload().unwrap_or_default().to_vec(),
            ));
            if ends
                .get(&partition)
                .is_some_and(|end| message.offset() + 1 >= *end)
            {
                ends.remove(&partition);
            }
        }
        messages
    })
    .await
    .expect("the topic reader")
}
