//! The gateway's queries: users, their alerts, their webhook and quiet hours and the delivery history it
//! serves. Reads two services share (latest prices, a user's webhook) are the kernel's, on
//! [`Store::db`].
//!
//! Every alert write records its [`AlertChange`](shared::events::AlertChange) in the alert
//! change outbox in the same transaction ([`enqueue_change!`]); the relay publishes it.

/// Inserts `$change` (an `&AlertChange`) into the alert change outbox inside the transaction
/// `$tx`, keyed by its symbol like every alert change. Evaluates to a `StorageResult<()>`.
macro_rules! enqueue_change {
    ($tx:expr, $change:expr) => {{
        let change: &shared::events::AlertChange = $change;
        match $crate::store::encode_change(change) {
            Ok(payload) => sqlx::query(shared::storage::ALERT_CHANGE_OUTBOX_INSERT_SQL)
                .bind(change.symbol().as_str())
                .bind(payload)
                .bind(shared::storage::now())
                .execute(&mut *$tx)
                .await
                .map(|_| ())
                .map_err(shared::storage::StorageError::from),
            Err(error) => Err(error),
        }
    }};
}

/// An alert change as the outbox stores it (and the bus carries it).
fn encode_change(change: &shared::events::AlertChange) -> shared::storage::StorageResult<String> {
    serde_json::to_string(change).map_err(|error| {
        shared::storage::StorageError::Corrupt(format!("unencodable alert change: {error}"))
    })
}

mod alert_create;
mod alert_page;
mod alerts;
mod caller_alerts;
mod channels;
mod deliveries;
mod explain;
mod history;
mod list_batch;
mod one_statement;
mod quiet_hours;
mod users;
mod webhooks;

use prometheus::{Histogram, HistogramOpts};
use shared::storage::Database;

use list_batch::ListBatches;

pub use alert_create::CreateRefused;
pub use alert_page::AlertFilter;
pub use alerts::AlertWriteOutcome;
pub use explain::EvaluatedPrice;
pub use history::ServedSeries;
pub use users::UserRecord;

/// The gateway's view of the database. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    db: Database,
    /// Plain alert pages read together (PostgreSQL only; see `list_batch`).
    list_batches: Option<ListBatches>,
}

impl Store {
    /// The store of `db`, its batched reads unobserved (see [`Store::observed`]).
    pub fn new(db: Database) -> Store {
        let unobserved = HistogramOpts::new("unobserved", "batches nobody reports");
        Store::observed(
            db,
            Histogram::with_opts(unobserved).expect("a valid histogram"),
        )
    }

    /// The store of `db`; on PostgreSQL `list_batch_pages` observes how many alert pages each
    /// list statement reads (see `list_batch`).
    pub fn observed(db: Database, list_batch_pages: Histogram) -> Store {
        let list_batches =
            (!db.is_embedded()).then(|| ListBatches::new(db.clone(), list_batch_pages));
        Store { db, list_batches }
    }

    /// The database itself, for the queries the kernel owns.
    pub fn db(&self) -> &Database {
        &self.db
    }
}
