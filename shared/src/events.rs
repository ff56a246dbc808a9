//! The messages that travel on the bus. JSON with a `schema_version`, the same on every transport.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use crate::domain::TickConversion;
use crate::domain::{
    Alert, AlertCondition, AlertId, AlertOptions, NotificationChannels, Price, Symbol, UserId,
};

/// 2: alert changes carry the whole [`Alert`] (its spec nested, the options inside it).
pub const SCHEMA_VERSION: u32 = 2;

fn schema_version() -> u32 {
    SCHEMA_VERSION
}

/// A new quote for one instrument. Keyed by symbol.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriceTick {
    #[serde(default = "schema_version")]
    pub schema_version: u32,
    pub symbol: Symbol,
    pub price: Price,
    pub previous_price: Option<Price>,
    pub currency: String,
    /// `coingecko`, `yahoo`, `binance` or `simulated`.
    pub source: String,
    /// The provider's own time for the quote.
    pub timestamp: DateTime<Utc>,
    /// When pricealert received the quote; cooldowns and expiry are decided on this time.
    pub received_at: DateTime<Utc>,
    /// Set when the provider quoted another currency and `price` is converted into `currency`
    /// (absent from ticks of older versions and from unconverted ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversion: Option<TickConversion>,
}

/// A change to the set of alerts. Keyed by symbol so it stays ordered with that symbol's ticks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertChange {
    #[serde(default = "schema_version")]
    pub schema_version: u32,
    #[serde(flatten)]
    pub kind: AlertChangeKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum AlertChangeKind {
    /// Created or written: the alert as stored now (`version` orders concurrent changes).
    /// Boxed: an alert with its options is far larger than a deletion.
    Upserted { alert: Box<Alert> },
    Deleted {
        alert_id: AlertId,
        symbol: Symbol,
        /// The alert's owner, so a cache of that user's alerts can be evicted alone (absent from
        /// changes of older versions: a consumer then forgets what it cached for everyone).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user_id: Option<UserId>,
    },
}

impl AlertChange {
    pub fn upserted(alert: Alert) -> Self {
        AlertChange {
            schema_version: SCHEMA_VERSION,
            kind: AlertChangeKind::Upserted {
                alert: Box::new(alert),
            },
        }
    }

    pub fn deleted(alert_id: AlertId, symbol: Symbol, user_id: UserId) -> Self {
        AlertChange {
            schema_version: SCHEMA_VERSION,
            kind: AlertChangeKind::Deleted {
                alert_id,
                symbol,
                user_id: Some(user_id),
            },
        }
    }

    pub fn symbol(&self) -> &Symbol {
        match &self.kind {
            AlertChangeKind::Upserted { alert } => alert.symbol(),
            AlertChangeKind::Deleted { symbol, .. } => symbol,
        }
    }
}

/// One fire of one alert: everything the notifier needs. Keyed by user id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TriggerEvent {
    #[serde(default = "schema_version")]
    pub schema_version: u32,
    /// Stable across redeliveries: the notifier deduplicates on (event_id, channel).
    pub event_id: Uuid,
    pub alert_id: AlertId,
    pub user_id: UserId,
    pub user_email: String,
    pub user_phone: Option<String>,
    pub symbol: Symbol,
    pub condition: AlertCondition,
    pub target_price: Price,
    pub target_price_high: Option<Price>,
    pub current_price: Price,
    pub previous_price: Option<Price>,
    pub currency: String,
    pub notification_types: NotificationChannels,
    /// The alert's options as they were when it fired (absent from events of older versions).
    #[serde(default)]
    pub options: AlertOptions,
    /// When the triggering tick was received.
    pub timestamp: DateTime<Utc>,
}

/// How one delivery of a fire settled for good on one channel. Keyed by user id, so live
/// views of the user (the gateway's WebSocket) can show it; the delivery row stays the record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryEvent {
    #[serde(default = "schema_version")]
    pub schema_version: u32,
    /// The trigger event's id.
    pub event_id: Uuid,
    pub user_id: UserId,
    pub alert_id: AlertId,
    /// `email`, `sms`, `webhook`, `telegram`, `slack`, `discord` or `ntfy`.
    pub channel: String,
    /// The delivery history's status: `sent`, `failed`, `unknown` or `skipped`.
    pub status: String,
    pub settled_at: DateTime<Utc>,
}

/// A gateway asks the notifier to send a test message on one of a user's chat channels
/// (`POST /auth/me/channels/{kind}/test`); channel clients live only in the notifier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelTestRequest {
    #[serde(default = "schema_version")]
    pub schema_version: u32,
    /// Names the answer the asking gateway waits for.
    pub request_id: Uuid,
    pub user_id: UserId,
    /// `telegram`, `slack`, `discord` or `ntfy`.
    pub channel: String,
}

/// How a test send ended. Every gateway replica reads every result and answers the request
/// it is waiting on, if any.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelTestResult {
    #[serde(default = "schema_version")]
    pub schema_version: u32,
    pub request_id: Uuid,
    pub user_id: UserId,
    pub channel: String,
    pub outcome: ChannelTestOutcome,
    /// What the service answered, when it did not accept the message.
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelTestOutcome {
    /// The service accepted the test message.
    Sent,
    /// The service refused it (or could not be reached).
    Refused,
    /// No answer after the request may have reached the service.
    Unknown,
    /// The user has no configuration for the channel (deleted meanwhile).
    NotConfigured,
}
