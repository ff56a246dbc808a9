//! `POST /auth/me/channels/{kind}/test`, the notifier's half: a gateway asks on
//! `channel-tests`, the notifier sends a test message to the user's configuration and answers
//! on `channel-test-results`. Only the notifier holds channel clients.
//!
//! A test message goes around the delivery table: it is not an alert's delivery, and the
//! asking gateway waits for it. A request is never retried once the send started (a second
//! test message would be the duplicate the chat services cannot recognise).

use std::convert::Infallible;
use std::sync::Arc;

use shared::bus::{publish_json, Delivery, EventBus, Handler, Topic};
use shared::domain::Channel;
use shared::events::{ChannelTestOutcome, ChannelTestRequest, ChannelTestResult, SCHEMA_VERSION};

use crate::channels::chat::ChatMessage;
use crate::channels::{SendOutcome, Senders};
use crate::store::Store;

pub struct SendChannelTests {
    pub db: Store,
    pub senders: Arc<Senders>,
    pub bus: Arc<dyn EventBus>,
}

impl Handler<ChannelTestRequest> for SendChannelTests {
    type Error = Infallible;

    async fn handle(&mut self, delivery: &Delivery<ChannelTestRequest>) -> Result<(), Infallible> {
        let request = &delivery.event;
        let (outcome, detail) = self.send(request).await;
        tracing::info!(
            user_id = request.user_id,
            channel = request.channel,
            ?outcome,
            "channel test message"
        );
        let result = ChannelTestResult {
            schema_version: SCHEMA_VERSION,
            request_id: request.request_id,
            user_id: request.user_id,
            channel: request.channel.clone(),
            outcome,
            detail,
        };
        // Lost, the gateway answers 504 after its wait; resending the test would not help.
        let key = request.user_id.to_string();
        if let Err(error) = publish_json(&*self.bus, Topic::ChannelTestResults, &key, &result).await
        {
            tracing::warn!(%error, "could not publish a channel test result");
        }
        Ok(())
    }
}

impl SendChannelTests {
    async fn send(&self, request: &ChannelTestRequest) -> (ChannelTestOutcome, Option<String>) {
        let Some(channel) = request
            .channel
            .parse::<Channel>()
            .ok()
            .filter(Channel::is_chat)
        else {
            return (ChannelTestOutcome::NotConfigured, None);
        };
        let config = match self.db.db().chat_channel(request.user_id, channel).await {
            Ok(Some(record)) => record.config,
            Ok(None) => return (ChannelTestOutcome::NotConfigured, None),
            Err(e) => {
                let detail = format!("could not read the {} channel: {e}", channel.as_str());
                return (ChannelTestOutcome::Refused, Some(detail));
            }
        };
        let message = ChatMessage {
            title: "pricealert test message".to_owned(),
            text: format!(
                "pricealert: this is a test message; your price alerts on {} will arrive here.",
                channel.as_str()
            ),
        };
        match self.senders.chat.send_to(&config, &message).await {
            SendOutcome::Sent { .. } => (ChannelTestOutcome::Sent, None),
            SendOutcome::Unknown(detail) | SendOutcome::MaybeDelivered(detail) => {
                (ChannelTestOutcome::Unknown, Some(detail))
            }
            SendOutcome::Skipped(_) => (ChannelTestOutcome::NotConfigured, None),
            SendOutcome::Retryable(detail)
            | SendOutcome::Permanent(detail)
            | SendOutcome::OptedOut(detail)
            | SendOutcome::Throttled { error: detail, .. } => {
                (ChannelTestOutcome::Refused, Some(detail))
            }
        }
    }
}
