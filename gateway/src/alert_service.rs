//! What the routes do with alerts beyond reading a request: find the caller's alert, check
//! the account-dependent rules, write, relay the change the write queued.

use crate::store::{AlertWriteOutcome, UserRecord};
use serde::Serialize;
use shared::domain::{Alert, AlertId, AlertPatch, Channel, NotificationChannels};
use shared::events::{AlertChange, AlertChangeKind};
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// What the caller's account can receive: a phone for `sms`, a webhook for `webhook`, a
/// configuration for each chat channel.
pub struct Account {
    has_phone: bool,
    has_webhook: bool,
    chat_channels: Vec<Channel>,
}

impl Account {
    /// The account of `user`; the webhook is looked up only when `channels` ask for it.
    pub async fn of(
        state: &AppState,
        user: &UserRecord,
        channels: &NotificationChannels,
    ) -> ApiResult<Account> {
        let has_webhook = if channels.contains(Channel::Webhook) {
            state.store.db().webhook(user.id).await?.is_some()
        } else {
            true
        };
        let chat_channels = if channels.iter().any(|c| c.is_chat()) {
            state.store.db().chat_channel_kinds(user.id).await?
        } else {
            Vec::new()
        };
        Ok(Account {
            has_phone: user.phone.is_some(),
            has_webhook,
            chat_channels,
        })
    }
}

/// A channel the alert names that the account has no recipient for: the alert is saved all
/// the same, and its deliveries on that channel are recorded as `skipped` until the account
/// has one (a phone, `PUT /auth/me/webhook`, `PUT /auth/me/channels/{kind}`).
#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelWarning {
    /// `sms`, `webhook`, `telegram`, `slack`, `discord` or `ntfy`.
    channel: &'static str,
    /// e.g. "no phone number on the account".
    detail: &'static str,
}

impl Account {
    /// A warning per channel of `channels` that this account cannot receive on.
    pub fn warnings(&self, channels: &NotificationChannels) -> Vec<ChannelWarning> {
        Channel::ALL
            .into_iter()
            .filter(|channel| channels.contains(*channel))
            .filter(|channel| match channel {
                Channel::Email => false,
                Channel::Sms => !self.has_phone,
                Channel::Webhook => !self.has_webhook,
                chat => !self.chat_channels.contains(chat),
            })
            .filter_map(|channel| {
                Some(ChannelWarning {
                    channel: channel.as_str(),
                    detail: channel.missing_recipient()?,
                })
            })
            .collect()
    }
}

/// Announces a committed alert write: evicts the cached list it makes stale and relays the
/// alert change outbox now, so the evaluators apply `change` (queued by the write's own
/// transaction) before the next tick. A bus failure is logged: the rows stay in the outbox
/// and the background relay ([`relay_alert_changes`]) publishes them, in order, later.
pub async fn announce(state: &AppState, change: AlertChange) {
    if let AlertChangeKind::Upserted { alert } = &change.kind {
        state.alert_lists.evict(alert.user_id());
    }
    relay_now(state).await;
}

/// Publishes what the alert change outbox held when called (sharing the flush with
/// concurrent writes).
pub async fn relay_now(state: &AppState) {
    if let Err(error) = state.alert_changes.flush_committed().await {
        tracing::error!(%error, "could not relay the alert change outbox; will retry");
    }
}

/// Relays what a write could not publish at once (a bus failure, or a gateway killed between
/// its commit and its publish): at start, then every `every` until `shutdown`.
pub async fn relay_alert_changes(
    state: AppState,
    every: std::time::Duration,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = tick.tick() => {
                if let Err(error) = state.alert_changes.flush().await {
                    tracing::warn!(%error, "could not relay the alert change outbox; will retry");
                }
            }
        }
    }
}

/// The caller's alert `id`; another user's alert is "not found" exactly like a missing one.
pub async fn owned_alert(state: &AppState, user: &UserRecord, id: AlertId) -> ApiResult<Alert> {
    state
        .store
        .user_alert(user.id, id)
        .await?
        .ok_or_else(ApiError::alert_not_found)
}

pub fn quota_error(state: &AppState) -> ApiError {
    ApiError::Unprocessable(format!(
        "Active alert limit reached ({} per user)",
        state.settings.max_active_alerts_per_user
    ))
}

/// Writes a validated patch of the caller's alert `current` and announces it.
pub async fn write_patch(
    state: &AppState,
    user: &UserRecord,
    current: &Alert,
    patch: &AlertPatch,
) -> ApiResult<Alert> {
    let max_active = i64::from(state.settings.max_active_alerts_per_user);
    match state
        .store
        .update_alert(user.id, current, patch, max_active)
        .await?
    {
        (AlertWriteOutcome::Done, Some(alert)) => {
            announce(state, AlertChange::upserted(alert.clone())).await;
            Ok(alert)
        }
        (AlertWriteOutcome::QuotaExceeded, _) => Err(quota_error(state)),
        _ => Err(ApiError::alert_not_found()),
    }
}
