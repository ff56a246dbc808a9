//! The caller's chat channels: `PUT/GET/DELETE /auth/me/channels/{kind}` for `telegram`,
//! `slack`, `discord` and `ntfy`. Secrets (a Slack or Discord webhook URL's path, an ntfy
//! token) are stored for the notifier and never shown back, not even in the answer to `PUT`.

use axum::extract::State;
use axum::http::StatusCode;
use std::time::Duration;

use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};
use shared::bus::{publish_json, Topic};
use shared::domain::{Channel, ChatConfig};
use shared::events::{ChannelTestOutcome, ChannelTestRequest, SCHEMA_VERSION};
use shared::storage::ChatChannelRecord;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::caller::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonInput, PathParam};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/auth/me/channels/{kind}",
            get(get_channel).put(put_channel).delete(delete_channel),
        )
        .route("/auth/me/channels/{kind}/test", post(test_channel))
}

/// How long `POST /auth/me/channels/{kind}/test` waits for the notifier's answer.
const TEST_ANSWER_WITHIN: Duration = Duration::from_secs(10);

/// One configured chat channel, secrets masked.
#[derive(Serialize, ToSchema)]
pub struct ChannelView {
    /// `telegram`, `slack`, `discord` or `ntfy`.
    kind: &'static str,
    /// Telegram: `{"chat_id"}`; Slack and Discord: `{"webhook_url"}` showing only its scheme
    /// and host (`"https://hooks.slack.com/…"`); ntfy: `{"server","topic","token_set"}`.
    #[schema(value_type = Object)]
    config: Value,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl ChannelView {
    fn of(record: ChatChannelRecord) -> ChannelView {
        ChannelView {
            kind: record.config.channel().as_str(),
            config: record.config.masked(),
            created_at: record.created_at,
            updated_at: record.updated_at,
        }
    }
}

/// Body of `PUT /auth/me/channels/{kind}`: the fields of that kind (any other field is a 422).
/// Documentation only: the body is read by `ChatConfig::parse`, which reports every wrong
/// field at once.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ChannelRequest {
    /// telegram: an integer chat id, or `"@channelusername"`.
    #[schema(value_type = Option<Object>)]
    chat_id: Option<Value>,
    /// slack, discord: the incoming webhook's https URL (a credential: never shown back).
    webhook_url: Option<String>,
    /// ntfy: the server's base URL, e.g. `https://ntfy.sh`.
    server: Option<String>,
    /// ntfy: 1 to 64 letters, digits, `-` or `_`.
    topic: Option<String>,
    /// ntfy, optional: an access token, sent as `Authorization: Bearer` (never shown back).
    token: Option<String>,
}

/// The chat channel a path names; anything else is "not found", like an unknown route.
pub(crate) fn chat_kind(raw: &str) -> ApiResult<Channel> {
    raw.parse::<Channel>()
        .ok()
        .filter(Channel::is_chat)
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "Unknown channel kind '{raw}' (expected telegram, slack, discord or ntfy)"
            ))
        })
}

pub(crate) fn not_configured(channel: Channel) -> ApiError {
    ApiError::NotFound(format!("No {} channel configured", channel.as_str()))
}

#[utoipa::path(put, path = "/auth/me/channels/{kind}", tag = "auth", security(("bearer" = [])),
    params(("kind" = String, Path, description = "telegram, slack, discord or ntfy")),
    request_body(content = ChannelRequest, description = "telegram: {\"chat_id\"}; slack, discord: {\"webhook_url\"}; ntfy: {\"server\", \"topic\", \"token\"?}"),
    responses((status = 200, body = ChannelView, description = "set or replaced; secrets masked"),
              (status = 404, description = "Unknown channel kind"), (status = 422)))]
pub async fn put_channel(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    PathParam(kind): PathParam,
    JsonInput(body): JsonInput<Map<String, Value>>,
) -> ApiResult<Json<ChannelView>> {
    let channel = chat_kind(&kind)?;
    let config = ChatConfig::parse(channel, &Value::Object(body), state.webhook_allow_private)
        .map_err(ApiError::invalid_body)?;
    state.store.set_chat_channel(user.id, &config).await?;
    let stored = state
        .store
        .db()
        .chat_channel(user.id, channel)
        .await?
        .ok_or_else(|| not_configured(channel))?;
    tracing::info!(
        user_id = user.id,
        channel = channel.as_str(),
        "chat channel set"
    );
    Ok(Json(ChannelView::of(stored)))
}

#[utoipa::path(get, path = "/auth/me/channels/{kind}", tag = "auth", security(("bearer" = [])),
    params(("kind" = String, Path, description = "telegram, slack, discord or ntfy")),
    responses((status = 200, body = ChannelView, description = "secrets masked"),
              (status = 404, description = "Unknown channel kind, or not configured")))]
pub async fn get_channel(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    PathParam(kind): PathParam,
) -> ApiResult<Json<ChannelView>> {
    let channel = chat_kind(&kind)?;
    let stored = state
        .store
        .db()
        .chat_channel(user.id, channel)
        .await?
        .ok_or_else(|| not_configured(channel))?;
    Ok(Json(ChannelView::of(stored)))
}

#[utoipa::path(delete, path = "/auth/me/channels/{kind}", tag = "auth", security(("bearer" = [])),
    params(("kind" = String, Path, description = "telegram, slack, discord or ntfy")),
    responses((status = 204), (status = 404, description = "Unknown channel kind, or not configured")))]
pub async fn delete_channel(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    PathParam(kind): PathParam,
) -> ApiResult<StatusCode> {
    let channel = chat_kind(&kind)?;
    if state.store.delete_chat_channel(user.id, channel).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_configured(channel))
    }
}

/// The answer to `POST /auth/me/channels/{kind}/test` once the service accepted the message.
#[derive(Serialize, ToSchema)]
pub struct ChannelTestView {
    /// `sent`.
    status: &'static str,
}

#[utoipa::path(post, path = "/auth/me/channels/{kind}/test", tag = "auth", security(("bearer" = [])),
    params(("kind" = String, Path, description = "telegram, slack, discord or ntfy")),
    responses((status = 200, body = ChannelTestView, description = "the service accepted the test message"),
              (status = 404, description = "Unknown channel kind, or not configured"),
              (status = 502, description = "The service refused the test message (detail says what it answered)"),
              (status = 504, description = "No answer within 10 s (or the service's answer is unknown)")))]
pub async fn test_channel(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    PathParam(kind): PathParam,
) -> ApiResult<Json<ChannelTestView>> {
    let channel = chat_kind(&kind)?;
    if state
        .store
        .db()
        .chat_channel(user.id, channel)
        .await?
        .is_none()
    {
        return Err(not_configured(channel));
    }
    let request = ChannelTestRequest {
        schema_version: SCHEMA_VERSION,
        request_id: Uuid::new_v4(),
        user_id: user.id,
        channel: channel.as_str().to_owned(),
    };
    // Registered before the request goes out, so an answer cannot arrive unseen.
    let waiter = state.channel_tests.register(request.request_id);
    let key = user.id.to_string();
    publish_json(&*state.bus, Topic::ChannelTests, &key, &request)
        .await
        .map_err(|e| ApiError::Internal(anyhow::Error::new(e)))?;
    let Some(result) = waiter.result(TEST_ANSWER_WITHIN).await else {
        return Err(ApiError::GatewayTimeout(format!(
            "No answer from the notifier within {} s",
            TEST_ANSWER_WITHIN.as_secs()
        )));
    };
    let name = channel.as_str();
    let detail = result.detail.unwrap_or_default();
    match result.outcome {
        ChannelTestOutcome::Sent => Ok(Json(ChannelTestView { status: "sent" })),
        ChannelTestOutcome::NotConfigured => Err(not_configured(channel)),
        ChannelTestOutcome::Refused => Err(ApiError::BadGateway(format!(
            "{name} refused the test message: {detail}"
        ))),
        ChannelTestOutcome::Unknown => Err(ApiError::GatewayTimeout(format!(
            "No answer from {name}; the test message may have been delivered: {detail}"
        ))),
    }
}
