//! pricealert's domain, the pure logic every service needs: newtypes parsed at the edges (past
//! the edge their values are valid by construction), the instrument catalogue, the alert with
//! every rule it obeys, reading what a user sent, and which webhook targets are acceptable.
//! The services reach it as `shared::domain` (and `shared::catalogue`, `shared::webhook`).

pub mod alert;
pub mod catalogue;
mod channels;
mod chat_config;
mod condition;
mod email;
pub mod history;
pub mod input;
pub mod instrument_labels;
mod phone;
mod price;
pub mod quiet_hours;
mod symbol;
pub mod template;
pub mod webhook;

pub use alert::{Alert, AlertInputError, AlertOptions, AlertPatch, AlertSpec, NewAlert, RearmWait};
pub use channels::{Channel, ChannelsError, NotificationChannels};
pub use chat_config::{ChatConfig, TelegramChatId};
pub use condition::{AlertCondition, ConditionError, MoveDirection, TriggerPolicy};
pub use email::{Email, EmailError};
pub use input::{FieldError, Input};
pub use phone::{PhoneError, PhoneNumber};
pub use price::{Price, PriceError, TickConversion};
pub use quiet_hours::{QuietHours, QuietHoursError, QuietHoursInput};
pub use symbol::{Symbol, SymbolError};
pub use template::{MessageTemplate, Placeholder, TemplateError};

/// Database id of a user.
pub type UserId = i64;
/// Database id of an alert.
pub type AlertId = i64;
