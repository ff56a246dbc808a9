//! `spawn_app`: the real gateway on port 0 over a fresh database, with typed request helpers.

use std::sync::Arc;
use std::time::Duration;

use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};
use shared::bus::{EventBus, InProcessBus};
use shared::config::Settings;
use shared::context::ServiceContext;
use shared::events::TriggerEvent;
use shared::storage::Database;
use testkit::{fresh_database, Engine, FaultyBus, TempDir, TestDatabase};
use tokio_util::sync::CancellationToken;

pub const JWT_SECRET: &str = "test-secret-test-secret-test-secret-0123456789";
pub const PASSWORD: &str = "correct horse battery";

pub struct TestApp {
    pub address: String,
    pub port: u16,
    pub client: Client,
    pub db: Database,
    pub bus: InProcessBus,
    shutdown: CancellationToken,
    _database: Arc<TestDatabase>,
    _data_dir: TempDir,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

pub async fn spawn_app(engine: Engine) -> TestApp {
    spawn_app_with(engine, |_| {}).await
}

pub async fn spawn_app_with(engine: Engine, configure: impl FnOnce(&mut Settings)) -> TestApp {
    let bus = InProcessBus::new(1024);
    spawn_app_on(engine, Arc::new(bus.clone()), bus, configure).await
}

/// The gateway over `bus`, which fails on demand; `TestApp::bus` publishes on the real bus
/// underneath it.
pub async fn spawn_app_on_faulty_bus(
    engine: Engine,
    bus: &FaultyBus,
    configure: impl FnOnce(&mut Settings),
) -> TestApp {
    spawn_app_on(engine, Arc::new(bus.clone()), bus.in_process(), configure).await
}

async fn spawn_app_on(
    engine: Engine,
    gateway_bus: Arc<dyn EventBus>,
    bus: InProcessBus,
    configure: impl FnOnce(&mut Settings),
) -> TestApp {
    let database = Arc::new(fresh_database(engine).await);
    start_gateway(database, gateway_bus, bus, configure).await
}

async fn start_gateway(
    database: Arc<TestDatabase>,
    gateway_bus: Arc<dyn EventBus>,
    bus: InProcessBus,
    configure: impl FnOnce(&mut Settings),
) -> TestApp {
    let data_dir = TempDir::new("pa-gateway-test");
    let mut settings = Settings {
        data_dir: data_dir.0.clone(),
        ..testkit::loopback_settings()
    };
    settings.gateway.jwt_secret = Some(JWT_SECRET.to_owned().into());
    settings.gateway.login_attempts_per_minute_per_account = 1000;
    settings.gateway.login_attempts_per_minute_per_ip = 1000;
    settings.gateway.api_requests_per_second_per_user = 1000;
    configure(&mut settings);
    let context = ServiceContext::new(settings, database.db.clone(), gateway_bus);
    let app = gateway::Application::build(context)
        .await
        .expect("gateway builds");
    let port = app.port();
    let shutdown = CancellationToken::new();
    tokio::spawn(app.run_until_stopped(shutdown.clone()));
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        client: Client::builder()
            .timeout(Duration::from_secs(30))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client"),
        db: database.db.clone(),
        bus,
        shutdown,
        _database: database,
        _data_dir: data_dir,
    }
}

/// Reads a response as JSON, checking its status.
pub async fn json_of(response: Response, status: StatusCode) -> Value {
    let actual = response.status();
    let text = response.text().await.expect("body");
    assert_eq!(actual, status, "unexpected status; body: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("body is not JSON ({e}): {text}"))
}

impl TestApp {
    /// The test's own database, for a second connection (another writer's).
    pub fn database_url(&self) -> &str {
        &self._database.url
    }

    /// Another gateway on this one's database and bus, as a second replica runs: its caches
    /// are its own.
    pub async fn replica(&self) -> TestApp {
        let bus = self.bus.clone();
        start_gateway(self._database.clone(), Arc::new(bus.clone()), bus, |_| {}).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// The gateway's `/metrics` page.
    pub async fn metrics_text(&self) -> String {
        self.client
            .get(self.url("/metrics"))
            .send()
            .await
            .expect("request")
            .text()
            .await
            .expect("body")
    }

    pub async fn register(&self, email: &str, phone: Option<&str>) -> Response {
        let mut body = json!({"email": email, "password": PASSWORD});
        if let Some(phone) = phone {
            body["phone"] = json!(phone);
        }
        self.client
            .post(self.url("/auth/register"))
            .json(&body)
            .send()
            .await
            .expect("request")
    }

    pub async fn login_form(&self, username: &str, password: &str) -> Response {
        self.client
            .post(self.url("/auth/login"))
            .form(&[("username", username), ("password", password)])
            .send()
            .await
            .expect("request")
    }

    /// Registers a user (with a phone) and returns a bearer token for them.
    pub async fn user_token(&self, email: &str) -> String {
        let registered = self.register(email, Some("+14155552671")).await;
        assert_eq!(registered.status(), StatusCode::CREATED);
        let token = json_of(self.login_form(email, PASSWORD).await, StatusCode::OK).await;
        token["access_token"].as_str().expect("token").to_owned()
    }

    pub async fn get(&self, token: &str, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    pub async fn post_json(&self, token: &str, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn put_json(&self, token: &str, path: &str, body: &Value) -> Response {
        self.client
            .put(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn patch_json(&self, token: &str, path: &str, body: &Value) -> Response {
        self.client
            .patch(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn delete(&self, token: &str, path: &str) -> Response {
        self.client
            .delete(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("request")
    }

    /// Creates an `above` alert on `symbol` and returns it.
    pub async fn create_alert(&self, token: &str, symbol: &str, target: &str) -> Value {
        let body: Value = serde_json::from_str(&format!(
            r#"{{"symbol":"{symbol}","condition":"above","target_price":{target}}}"#
        ))
        .expect("body");
        json_of(
            self.post_json(token, "/alerts", &body).await,
            StatusCode::CREATED,
        )
        .await
    }
}

/// A fire of `alert_id` (an `above 10` alert on BTC) for `user_id`, as the evaluator
/// publishes it on `notifications`.
pub fn trigger_event(alert_id: i64, user_id: i64, email: &str) -> TriggerEvent {
    TriggerEvent {
        schema_version: 1,
        event_id: uuid::Uuid::new_v4(),
        alert_id,
        user_id,
        user_email: email.into(),
        user_phone: None,
        symbol: "BTC".parse().expect("symbol"),
        condition: "above".parse().expect("condition"),
        target_price: "10".parse().expect("price"),
        target_price_high: None,
        current_price: "11".parse().expect("price"),
        previous_price: None,
        currency: "USD".into(),
        notification_types: Default::default(),
        options: Default::default(),
        timestamp: chrono::Utc::now(),
    }
}
