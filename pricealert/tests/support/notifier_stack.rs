//! A gateway and notifier processes over the mock broker and PostgreSQL with a real SMTP
//! server on loopback: the test publishes trigger events itself (as the evaluator would)
//! and watches the delivery table, the SMTP server and the notifier's metrics.

use std::time::Duration;

use kafka_bus::KafkaBus;
use serde_json::{json, Value};
use shared::bus::{publish_json, Topic};
use shared::events::{TriggerEvent, SCHEMA_VERSION};
use uuid::Uuid;

use super::poll_until;
use super::scaled::{register, send, smtp_env, Scaled};
use super::service_process::ServiceProcess;
use super::smtp::SmtpSink;

pub struct NotifierStack {
    pub scaled: Scaled,
    pub smtp: SmtpSink,
    pub gateway: ServiceProcess,
    pub bus: KafkaBus,
    pub client: reqwest::Client,
}

/// A user of the stack with one alert.
pub struct Subscriber {
    pub token: String,
    pub user_id: i64,
    pub email: String,
    pub alert_id: i64,
}

impl NotifierStack {
    /// The surroundings and a gateway; notifiers are started by the test (`notifier`).
    pub async fn start(prefix: &str, partitions: i32, settings_toml: &str) -> NotifierStack {
        let smtp = SmtpSink::start().await;
        let mut env = smtp_env(smtp.port);
        env.push(("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", "true".to_owned()));
        let scaled = Scaled::new(prefix, partitions, settings_toml, &env).await;
        let gateway = scaled.start("gateway", "gateway", &[]).await;
        let bus = KafkaBus::connect(&scaled.kafka_settings())
            .await
            .expect("connect to the mock cluster");
        NotifierStack {
            scaled,
            smtp,
            gateway,
            bus,
            client: reqwest::Client::new(),
        }
    }

    pub fn gateway_url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.gateway.health_port)
    }

    /// Starts a notifier process named `name`.
    pub async fn notifier(&self, name: &str) -> ServiceProcess {
        self.scaled.start("notifier", name, &[]).await
    }

    /// Registers `email` (with `webhook` as its webhook, if any) with an alert notified on
    /// `channels`.
    pub async fn subscriber(
        &self,
        email: &str,
        channels: &str,
        webhook: Option<&str>,
    ) -> Subscriber {
        let token = register(&self.client, &self.gateway_url(""), email, None).await;
        if let Some(url) = webhook {
            send(
                self.client
                    .put(self.gateway_url("/auth/me/webhook"))
                    .bearer_auth(&token)
                    .json(&json!({"url": url})),
                200,
                "set the webhook",
            )
            .await;
        }
        let me = send(
            self.client
                .get(self.gateway_url("/auth/me"))
                .bearer_auth(&token),
            200,
            "read the account",
        )
        .await;
        let alert = send(
            self.client
                .post(self.gateway_url("/alerts"))
                .bearer_auth(&token)
                .json(
                    &json!({"symbol": "BTC", "condition": "above", "target_price": 1,
                              "notification_types": channels}),
                ),
            201,
            "create an alert",
        )
        .await;
        Subscriber {
            token,
            user_id: me["id"].as_i64().expect("user id"),
            email: email.to_owned(),
            alert_id: alert["id"].as_i64().expect("alert id"),
        }
    }

    /// Publishes one fire of the subscriber's alert on `notifications`, as the evaluator's
    /// relay does; returns its event id.
    pub async fn fire(&self, subscriber: &Subscriber, channels: &str) -> Uuid {
        let event = TriggerEvent {
            schema_version: SCHEMA_VERSION,
            event_id: Uuid::now_v7(),
            alert_id: subscriber.alert_id,
            user_id: subscriber.user_id,
            user_email: subscriber.email.clone(),
            user_phone: None,
            symbol: "BTC".parse().expect("symbol"),
            condition: "above".parse().expect("condition"),
            target_price: "1".parse().expect("price"),
            target_price_high: None,
            current_price: "2".parse().expect("price"),
            previous_price: None,
            currency: "USD".to_owned(),
            notification_types: channels.parse().expect("channels"),
            options: Default::default(),
            timestamp: chrono::Utc::now(),
        };
        publish_json(
            &self.bus,
            Topic::Notifications,
            &subscriber.user_id.to_string(),
            &event,
        )
        .await
        .expect("publish a trigger event");
        event.event_id
    }

    /// (status, possible duplicates) of a delivery, once it exists.
    pub async fn delivery(&self, event_id: Uuid, channel: &str) -> Option<(String, i64)> {
        sqlx::query_as(
            "select status, possible_duplicates from deliveries \
             where event_id = $1 and channel = $2",
        )
        .bind(event_id.to_string())
        .bind(channel)
        .fetch_optional(&self.scaled.pool)
        .await
        .expect("read a delivery")
    }

    /// Waits until the delivery is settled as `sent`; returns its possible duplicates.
    pub async fn sent(&self, event_id: Uuid, channel: &str) -> i64 {
        poll_until(
            &format!("the {channel} delivery of {event_id} to be sent"),
            Duration::from_secs(40),
            || async {
                match self.delivery(event_id, channel).await {
                    Some((status, duplicates)) if status == "sent" => Ok(duplicates),
                    other => Err(format!("{other:?}")),
                }
            },
        )
        .await
    }

    /// How many times the SMTP server accepted the email of `event_id`.
    pub fn emails_of(&self, event_id: Uuid) -> usize {
        let message_id = format!("<{event_id}.email@pricealert>");
        self.smtp
            .received()
            .iter()
            .filter(|m| m.message_id() == Some(message_id.as_str()))
            .count()
    }

    /// The alert's delivery history as the API serves it.
    pub async fn history(&self, subscriber: &Subscriber) -> Vec<Value> {
        let path = format!("/alerts/{}/notifications", subscriber.alert_id);
        let history = send(
            self.client
                .get(self.gateway_url(&path))
                .bearer_auth(&subscriber.token),
            200,
            "read the delivery history",
        )
        .await;
        history.as_array().cloned().unwrap_or_default()
    }
}

/// The value of `series` (name with labels, as exposed) on a process's `/metrics`.
pub async fn metric_value(process: &ServiceProcess, series: &str) -> f64 {
    let url = format!("http://127.0.0.1:{}/metrics", process.health_port);
    let text = reqwest::get(&url)
        .await
        .and_then(reqwest::Response::error_for_status)
        .expect("scrape /metrics")
        .text()
        .await
        .expect("read /metrics");
    text.lines()
        .find_map(|line| {
            let (name, value) = line.rsplit_once(' ')?;
            (name == series).then(|| value.parse().ok()).flatten()
        })
        .unwrap_or_else(|| panic!("no series {series} on {url}"))
}
