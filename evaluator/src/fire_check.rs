//! The check a candidate fire passes in the fire transaction: the alert as stored (re-read in
//! that transaction), its owner's contact and standing, and whether the stored alert still
//! fires on the version the engine decided on.

use chrono::{DateTime, Duration, Utc};
use shared::domain::{Alert, Price, Symbol};
use shared::events::{PriceTick, TriggerEvent, SCHEMA_VERSION};
use shared::storage::{AlertRow, StorageError};

use crate::store::FireCandidate;

/// An alert as the fire transaction re-reads it, with its owner's contact and standing.
#[derive(sqlx::FromRow)]
pub(crate) struct FireRow {
    #[sqlx(flatten)]
    alert: AlertRow,
    email: String,
    phone: Option<String>,
    user_active: bool,
}

/// The stored alert a candidate fire is checked against, and its owner.
pub(crate) struct FireCheck {
    pub alert: Alert,
    email: String,
    phone: Option<String>,
    user_active: bool,
}

impl TryFrom<FireRow> for FireCheck {
    type Error = StorageError;

    fn try_from(row: FireRow) -> Result<Self, Self::Error> {
        Ok(FireCheck {
            alert: Alert::try_from(row.alert)?,
            email: row.email,
            phone: row.phone,
            user_active: row.user_active,
        })
    }
}

impl FireCheck {
    /// Whether the stored alert still fires at `at` on the version the decision was made on.
    pub fn allows(&self, candidate: &FireCandidate, symbol: &Symbol, at: DateTime<Utc>) -> bool {
        let (alert, spec) = (&self.alert, self.alert.spec());
        let cooled_down = alert.last_triggered_at().is_none_or(|last| {
            let cooldown =
                Duration::try_minutes(spec.cooldown_minutes().max(0)).unwrap_or(Duration::MAX);
            last.checked_add_signed(cooldown)
                .is_none_or(|end| at >= end)
        });
        let rearm_pending =
            spec.options().rearm_percent().is_some() && alert.rearm_wait().is_some();
        alert.active()
            && self.user_active
            && alert.version() == candidate.version
            && spec.symbol() == symbol
            && spec.options().expires_at().is_none_or(|expiry| at < expiry)
            && !alert.is_snoozed_at(at)
            && !rearm_pending
            && cooled_down
    }

    pub fn event(
        &self,
        tick: &PriceTick,
        previous: Option<Price>,
        at: DateTime<Utc>,
    ) -> TriggerEvent {
        let spec = self.alert.spec();
        TriggerEvent {
            schema_version: SCHEMA_VERSION,
            event_id: uuid::Uuid::now_v7(),
            alert_id: self.alert.id(),
            user_id: self.alert.user_id(),
            user_email: self.email.clone(),
            user_phone: self.phone.clone(),
            symbol: tick.symbol.clone(),
            condition: spec.condition(),
            target_price: spec.target_price(),
            target_price_high: spec.target_price_high(),
            current_price: tick.price,
            previous_price: previous,
            currency: tick.currency.clone(),
            notification_types: spec.notification_types().clone(),
            options: spec.options().clone(),
            timestamp: at,
        }
    }
}

/// Every column of the alert (decoded as an [`AlertRow`]) and the owner's contact.
pub(crate) const FIRE_ROW_SQL: &str = "select a.*, u.email, u.phone, u.is_active as user_active \
    from alerts a join users u on u.id = a.user_id where a.id = $1";

/// [`FIRE_ROW_SQL`] for several alerts at once (PostgreSQL: `$1` is a `bigint[]`).
pub(crate) const FIRE_ROWS_SQL: &str = "select a.*, u.email, u.phone, u.is_active as user_active \
    from alerts a join users u on u.id = a.user_id where a.id = any($1)";
