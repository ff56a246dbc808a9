//! An ntfy server on loopback, answering with its documented payloads (the published
//! message, `{"code","http","error","link"}` errors).

use serde_json::json;
use shared::domain::Channel;
use shared::events::TriggerEvent;
use testkit::Engine;

use crate::helpers::chat_scenarios::{self as scenario, ChatCase};
use crate::helpers::chat_service::{Reply, ServiceRequest};

const TOKEN: &str = "tk_AgQdq7mVBoFD37zQVN29RhuMzNIz2";
const JSON: &str = "application/json";

fn ntfy() -> ChatCase {
    ChatCase {
        channel: Channel::Ntfy,
        config: |base| json!({ "server": base, "topic": "mytopic", "token": TOKEN }),
        configure: |_, _| {},
        accepted: || Reply::fixture(200, "ntfy/publish_response_200.json", JSON),
        // ntfy's 429 names no wait: the backoff applies.
        throttled: || Reply::fixture(429, "ntfy/error_429_too_many_requests.json", JSON),
        throttle_wait: None,
        refused: || Reply::fixture(403, "ntfy/error_403_forbidden.json", JSON),
        refused_error: "forbidden (code 40301)",
        check_request,
    }
}

fn check_request(request: &ServiceRequest, event: &TriggerEvent) {
    assert_eq!(request.method, "POST");
    // A JSON publish goes to the server's root, naming the topic in the body.
    assert_eq!(request.path, "/");
    assert_eq!(
        request.header("authorization"),
        Some(format!("Bearer {TOKEN}"))
    );
    let documented = crate::helpers::twilio::fixture("services/ntfy/publish_request_json.json");
    let documented: serde_json::Value = serde_json::from_str(&documented).expect("JSON");
    for key in request.keys() {
        assert!(
            documented.get(&key).is_some(),
            "{key} is not a documented field"
        );
    }
    let body = request.json();
    assert_eq!(body["topic"], "mytopic");
    let message = body["message"].as_str().expect("message");
    assert!(message.contains("BTC") && message.contains(&format!("alert {}", event.alert_id)));
    assert!(body["title"]
        .as_str()
        .is_some_and(|t| t.starts_with("BTC price alert")));
}

#[tokio::test]
async fn an_ntfy_message_is_delivered_once_in_the_documented_shape_on_sqlite() {
    scenario::delivered_once_in_the_documented_shape(ntfy(), Engine::Sqlite).await;
}

#[tokio::test]
async fn an_ntfy_message_is_delivered_once_in_the_documented_shape_on_postgres() {
    scenario::delivered_once_in_the_documented_shape(ntfy(), Engine::Postgres).await;
}

#[tokio::test]
async fn an_ntfy_429_is_retried_once_then_sent() {
    scenario::retried_once_after_a_429_then_sent(ntfy(), Engine::Postgres).await;
}

#[tokio::test]
async fn an_ntfy_topic_the_token_may_not_publish_to_is_dead_lettered() {
    scenario::a_permanent_refusal_is_dead_lettered(ntfy(), Engine::Sqlite).await;
}

#[tokio::test]
async fn an_ntfy_send_cut_off_by_a_kill_is_unknown_and_not_resent() {
    scenario::a_send_cut_off_by_a_kill_is_unknown_and_not_resent(ntfy(), Engine::Postgres).await;
}
