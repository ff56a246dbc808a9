//! Topic creation at start: create what is missing, keep what exists, and carry on where the
//! broker cannot create topics (librdkafka's mock cluster).

use std::collections::HashSet;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};

use crate::blocking::{drop_off_async_thread, on_blocking_thread};
use crate::client_config;
use shared::bus::BusError;
use shared::config::KafkaSettings;

/// Creates those of the bus's topics that are missing, with the configured partitions and
/// replicas. Fails if the cluster cannot be reached; only warns if it cannot create topics
/// (no CreateTopics support, no permission, no controller answering): they must then be
/// created by an operator, and consumers wait for them.
#[tracing::instrument(skip_all, fields(bootstrap_servers))]
pub(crate) async fn ensure_topics(
    settings: &KafkaSettings,
    bootstrap_servers: &str,
    topics: &[&str],
) -> Result<(), BusError> {
    let timeout = settings.admin_timeout;
    let config = client_config::admin(bootstrap_servers);
    // Creating the client and fetching metadata both block: one trip to the blocking pool.
    let (admin, existing) = on_blocking_thread(move || {
        let admin: AdminClient<DefaultClientContext> = config.create()?;
        let metadata = admin.inner().fetch_metadata(None, timeout)?;
        let existing: HashSet<String> = metadata
            .topics()
            .iter()
            .map(|topic| topic.name().to_owned())
            .collect();
        Ok::<_, KafkaError>((admin, existing))
    })
    .await?
    .map_err(|e| BusError::Transport(format!("could not reach the kafka cluster: {e}")))?;
    let missing: Vec<NewTopic<'_>> = topics
        .iter()
        .filter(|name| !existing.contains(**name))
        .map(|name| {
            NewTopic::new(
                name,
                settings.partitions,
                TopicReplication::Fixed(settings.replication_factor),
            )
        })
        .collect();
    if missing.is_empty() {
        drop_off_async_thread(admin);
        return Ok(());
    }
    let options = AdminOptions::new()
        .operation_timeout(Some(timeout))
        .request_timeout(Some(timeout));
    let outcome = admin.create_topics(&missing, &options).await;
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
                        tracing::warn!(topic, error = %code, "the broker cannot create topics; it must be created by an operator")
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
            tracing::warn!(error = %code, "the broker cannot create topics; they must be created by an operator");
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
            // The cluster answered metadata, so a timeout here means nobody serves CreateTopics
            // (librdkafka's mock cluster waits for a controller that never answers).
            | RDKafkaErrorCode::OperationTimedOut
            | RDKafkaErrorCode::RequestTimedOut
    )
}
