//! The gateway's queries: users, their alerts, their webhook and the delivery history it
//! serves. Reads two services share (latest prices, a user's webhook) are the kernel's, on
//! [`Store::db`].

mod alerts;
mod deliveries;
mod history;
mod users;
mod webhooks;

use shared::storage::Database;

pub use alerts::{AlertFilter, AlertWriteOutcome};
pub use history::ServedSeries;
pub use users::UserRecord;

/// The gateway's view of the database. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    db: Database,
}

impl Store {
    pub fn new(db: Database) -> Store {
        Store { db }
    }

    /// The database itself, for the queries the kernel owns.
    pub fn db(&self) -> &Database {
        &self.db
    }
}
