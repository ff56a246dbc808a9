//! `POST /auth/me/channels/{kind}/test` across gateway replicas: each replica reads every
//! test result in a consumer group of its own and answers its own requests; no answer within
//! 10 s is a 504. A task on the bus stands in for the notifier.

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::json;
use shared::bus::{publish_json, Consumer, Delivery, EventBus, Handler, InProcessBus, Topic};
use shared::events::{ChannelTestOutcome, ChannelTestRequest, ChannelTestResult};
use testkit::Engine;
use tokio_util::sync::CancellationToken;

use crate::helpers::{json_of, spawn_app, TestApp};

/// A second gateway on `app`'s database and bus.
async fn replica_of(app: &TestApp, shutdown: &CancellationToken) -> String {
    let mut settings = testkit::loopback_settings();
    settings.gateway.jwt_secret = Some(crate::helpers::JWT_SECRET.to_owned().into());
    settings.gateway.api_requests_per_second_per_user = 1000;
    let bus: Arc<dyn EventBus> = Arc::new(app.bus.clone());
    let context = shared::context::ServiceContext::new(settings, app.db.clone(), bus);
    let replica = gateway::Application::build(context)
        .await
        .expect("the replica builds");
    let port = replica.port();
    tokio::spawn(replica.run_until_stopped(shutdown.clone()));
    format!("http://127.0.0.1:{port}")
}

/// The notifier's side, answering Slack tests `sent` and Discord tests `refused`, and
/// leaving ntfy tests unanswered.
struct FakeNotifier(Arc<dyn EventBus>);

impl Handler<ChannelTestRequest> for FakeNotifier {
    type Error = std::convert::Infallible;

    async fn handle(&mut self, delivery: &Delivery<ChannelTestRequest>) -> Result<(), Self::Error> {
        let request = &delivery.event;
        let (outcome, detail) = match request.channel.as_str() {
            "slack" => (ChannelTestOutcome::Sent, None),
            "discord" => (
                ChannelTestOutcome::Refused,
                Some("Discord answered 404: Unknown webhook (code 10015)".to_owned()),
            ),
            _ => return Ok(()),
        };
        let result = ChannelTestResult {
            schema_version: 1,
            request_id: request.request_id,
            user_id: request.user_id,
            channel: request.channel.clone(),
            outcome,
            detail,
        };
        publish_json(&*self.0, Topic::ChannelTestResults, "1", &result)
            .await
            .expect("publish a result");
        Ok(())
    }
}

async fn start_fake_notifier(bus: &InProcessBus, shutdown: &CancellationToken) {
    let bus: Arc<dyn EventBus> = Arc::new(bus.clone());
    let requests = bus
        .subscribe(Topic::ChannelTests, "fake-notifier")
        .await
        .expect("subscribe");
    let malformed = shared::bus::MalformedMessages::register(
        &prometheus::Registry::new(),
        "fake_notifier",
        &[Topic::ChannelTests],
    );
    let consumer = Consumer::<ChannelTestRequest>::new(requests, &malformed, shutdown.clone());
    tokio::spawn(consumer.run(FakeNotifier(bus)));
}

async fn each_replica_answers_its_own_test_requests(engine: Engine) {
    let app = spawn_app(engine).await;
    let shutdown = CancellationToken::new();
    let _stop = shutdown.clone().drop_guard();
    let replica = replica_of(&app, &shutdown).await;
    start_fake_notifier(&app.bus, &shutdown).await;
    let token = app.user_token("tester@example.com").await;
    for (kind, config) in [
        (
            "slack",
            json!({"webhook_url": "https://hooks.slack.com/services/T0/B0/X"}),
        ),
        (
            "discord",
            json!({"webhook_url": "https://discord.com/api/webhooks/1/X"}),
        ),
        ("ntfy", json!({"server": "https://ntfy.sh", "topic": "t"})),
    ] {
        let set = app
            .client
            .put(app.url(&format!("/auth/me/channels/{kind}")))
            .bearer_auth(&token)
            .json(&config)
            .send()
            .await
            .expect("PUT");
        assert_eq!(set.status(), StatusCode::OK);
    }
    let test = |base: &str, kind: &str| {
        app.client
            .post(format!("{base}/auth/me/channels/{kind}/test"))
            .bearer_auth(&token)
            .send()
    };

    for base in [app.address.as_str(), replica.as_str(), app.address.as_str()] {
        let sent = json_of(test(base, "slack").await.expect("POST"), StatusCode::OK).await;
        assert_eq!(sent, json!({"status": "sent"}), "through {base}");
    }
    let refused = json_of(
        test(&replica, "discord").await.expect("POST"),
        StatusCode::BAD_GATEWAY,
    )
    .await;
    assert_eq!(
        refused["detail"],
        "discord refused the test message: Discord answered 404: Unknown webhook (code 10015)"
    );
    let silent = json_of(
        test(&replica, "ntfy").await.expect("POST"),
        StatusCode::GATEWAY_TIMEOUT,
    )
    .await;
    assert_eq!(silent["detail"], "No answer from the notifier within 10 s");
    let unconfigured = json_of(
        test(&app.address, "telegram").await.expect("POST"),
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(unconfigured["detail"], "No telegram channel configured");
}

testkit::on_both_engines!(each_replica_answers_its_own_test_requests);
