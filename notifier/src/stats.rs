//! `GET /stats`: which channels are configured, the rate limit, and deliveries by status.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use shared::config::NotifierSettings;
use shared::domain::Channel;

use crate::channels::Senders;
use crate::store::Store;

#[derive(Clone)]
pub struct StatsState {
    pub db: Store,
    pub senders: Arc<Senders>,
    pub settings: Arc<NotifierSettings>,
}

pub fn router(state: StatsState) -> Router {
    Router::new().route("/stats", get(stats)).with_state(state)
}

async fn stats(State(state): State<StatsState>) -> Response {
    let counts = match state.db.delivery_status_counts().await {
        Ok(counts) => counts,
        Err(e) => {
            tracing::error!(error = %e, "could not count deliveries");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"detail": "storage unavailable"})),
            )
                .into_response();
        }
    };
    let deliveries: serde_json::Map<String, serde_json::Value> = counts
        .into_iter()
        .map(|(status, count)| (status.as_str().to_owned(), json!(count)))
        .collect();
    let settings = &state.settings;
    Json(json!({
        "channels": {
            "email": {
                "configured": state.senders.configured(Channel::Email),
                "host": settings.smtp.host,
                "port": settings.smtp.port,
                "tls": format!("{:?}", settings.smtp.tls).to_ascii_lowercase(),
                "authenticated": settings.smtp.user.is_some(),
            },
            "sms": {
                "configured": state.senders.configured(Channel::Sms),
                "provider": "twilio",
            },
            "webhook": {
                "configured": state.senders.configured(Channel::Webhook),
                "allow_private_addresses": settings.webhook.allow_private_addresses,
            },
            "telegram": {
                "configured": state.senders.configured(Channel::Telegram),
                "max_messages_per_second": settings.telegram.max_messages_per_second,
                "per_chat_interval_seconds": settings.telegram.per_chat_interval.as_secs_f64(),
            },
            "slack": { "configured": state.senders.configured(Channel::Slack) },
            "discord": { "configured": state.senders.configured(Channel::Discord) },
            "ntfy": { "configured": state.senders.configured(Channel::Ntfy) },
        },
        "rate_limit": {
            "max_per_period": settings.rate_limit.max_per_period,
            "period_seconds": settings.rate_limit.period.as_secs_f64(),
        },
        "deliveries": deliveries,
    }))
    .into_response()
}
