//! Topic creation at start: create what is missing, keep what exists, and carry on where the
//! broker cannot create topics (librdkafka's mock cluster).

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};

use super::{client_config, drop_off_async_thread, on_blocking_thread};
use crate::bus::BusError;
use crate::config::KafkaSettings;

/// Creates the bus's three topics with the configured partitions and replicas if missing.
#[tracing::instrument(skip_all, fields(bootstrap_servers))]
pub(crate) async fn ensure_topics(
    settings: &KafkaSettings,
    bootstrap_servers: &str,
    topics: &[&str],
) -> Result<(), BusError> {
    let config = client_config::admin(bootstrap_servers);
    let admin: AdminClient<DefaultClientContext> =
        on_blocking_thread(move || config.create())
            .await?
            .map_err(|e| BusError::Transport(format!("could not create the admin client: {e}")))?;
    let new_topics: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|name| {
            NewTopic::new(
                name,
                settings.partitions,
                TopicReplication::Fixed(settings.replication_factor),
            )
        })
        .collect();
    let timeout = Duration::from_millis(u64::from(settings.admin_timeout_ms));
    let options = AdminOptions::new()
        .operation_timeout(Some(timeout))
        .request_timeout(Some(timeout));
    let outcome = admin.create_topics(&new_topics, &options).await;
    drop_off_async_thread(admin);
    match outcome {
        Ok(results) => {
            for result in results {
                match result {
                    Ok(topic) => tracing::info!(topic, "kafka topic created"),
                    Err((topic, RDKafkaErrorCode::TopicAlreadyExists)) => {
                        tracing::debug!(topic, "kafka topic already exists")
                    }
                    Err((topic, code)) if cannot_create_topics(code) => {
                        tracing::warn!(topic, error = %code, "the broker cannot create topics; it must exist already")
                    }
                    Err((topic, code)) => {
                        return Err(BusError::Transport(format!(
                            "could not create topic {topic}: {code}"
                        )))
                    }
                }
            }
            Ok(())
        }
        Err(KafkaError::AdminOp(code)) if cannot_create_topics(code) => {
            tracing::warn!(error = %code, "the broker cannot create topics; they must exist already");
            Ok(())
        }
        Err(error) => Err(BusError::Transport(format!(
            "could not create the bus topics: {error}"
        ))),
    }
}

/// Errors meaning "this broker does not do CreateTopics", as opposed to "it failed".
fn cannot_create_topics(code: RDKafkaErrorCode) -> bool {
    matches!(
        code,
        RDKafkaErrorCode::UnsupportedVersion
            | RDKafkaErrorCode::UnsupportedFeature
            | RDKafkaErrorCode::InvalidRequest
            | RDKafkaErrorCode::ClusterAuthorizationFailed
            | RDKafkaErrorCode::TopicAuthorizationFailed
    )
}
