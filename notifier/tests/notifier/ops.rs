//! The ops port: health, metrics with every label combination, and channel stats.

use testkit::{fresh_database, Engine};

use crate::helpers::smtp::SmtpServer;
use crate::helpers::{test_settings, with_smtp, TestNotifier};

#[tokio::test]
async fn the_ops_port_serves_health_metrics_and_which_channels_are_configured() {
    let test = fresh_database(Engine::Sqlite).await;
    let smtp = SmtpServer::start();
    let notifier = TestNotifier::spawn(&test.db, with_smtp(test_settings(), smtp.port)).await;

    let health: serde_json::Value = reqwest::get(notifier.ops_url("/health"))
        .await
        .expect("GET /health")
        .json()
        .await
        .expect("JSON");
    assert_eq!(health["status"], "healthy");

    let metrics = reqwest::get(notifier.ops_url("/metrics"))
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("text");
    for channel in ["email", "sms", "webhook"] {
        for status in ["success", "failed", "error", "skipped"] {
            let sample = format!(
                "notifier_notifications_sent_total{{status=\"{status}\",type=\"{channel}\"}} 0"
            );
            assert!(metrics.contains(&sample), "missing {sample}");
        }
        for name in [
            "notifier_retries_total",
            "notifier_deferred_total",
            "notifier_dead_letters_total",
        ] {
            let sample = format!("{name}{{type=\"{channel}\"}} 0");
            assert!(metrics.contains(&sample), "missing {sample}");
        }
        let histogram = format!("notifier_send_latency_seconds_count{{type=\"{channel}\"}} 0");
        assert!(metrics.contains(&histogram), "missing {histogram}");
    }
    assert!(metrics.contains(r#"notifier_malformed_messages_total{topic="notifications"} 0"#));

    let stats: serde_json::Value = reqwest::get(notifier.ops_url("/stats"))
        .await
        .expect("GET /stats")
        .json()
        .await
        .expect("JSON");
    assert_eq!(stats["channels"]["email"]["configured"], true);
    assert_eq!(stats["channels"]["email"]["tls"], "none");
    assert_eq!(stats["channels"]["sms"]["configured"], false);
    assert_eq!(stats["channels"]["webhook"]["configured"], true);
    assert_eq!(stats["rate_limit"]["max_per_period"], 1000);
    notifier.stop().await;
}
