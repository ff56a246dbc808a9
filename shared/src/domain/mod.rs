//! Domain newtypes, parsed at the edges: past the edge their values are valid by construction.

pub mod alert;
mod channels;
mod condition;
mod email;
pub mod input;
mod phone;
mod price;
mod symbol;

pub use alert::{
    Alert, AlertInputError, AlertOptions, AlertPatch, AlertSpec, ChannelCheck, NewAlert,
};
pub use channels::{Channel, ChannelsError, NotificationChannels};
pub use condition::{AlertCondition, ConditionError, MoveDirection, TriggerPolicy};
pub use email::{Email, EmailError};
pub use input::{FieldError, Input};
pub use phone::{PhoneError, PhoneNumber};
pub use price::{Price, PriceError};
pub use symbol::{Symbol, SymbolError};

/// Database id of a user.
pub type UserId = i64;
/// Database id of an alert.
pub type AlertId = i64;
