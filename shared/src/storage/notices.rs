//! PostgreSQL notifications (`LISTEN`/`NOTIFY`): how a process learns at once that another
//! changed a row it keeps in memory. They are sent on commit, so none names a rolled-back change.

use sqlx::postgres::{PgListener, PgPoolOptions};

use super::{Database, Pool};

/// A `LISTEN` on one channel, on a connection outside the query pool; reconnects by itself.
pub struct Notices(PgListener);

impl Notices {
    /// The next payload. `None`: the connection was lost and listens again, and what was
    /// notified meanwhile is lost (a cache kept fresh by notices must forget everything).
    /// `Err`: the connection failed and is not back yet (the next call tries again).
    pub async fn next(&mut self) -> Result<Option<String>, sqlx::Error> {
        let notification = self.0.try_recv().await?;
        Ok(notification.map(|n| n.payload().to_owned()))
    }
}

impl Database {
    /// Listens on `channel`; `None` on SQLite, which has no notifications.
    pub async fn listen(&self, channel: &str) -> Result<Option<Notices>, sqlx::Error> {
        let Pool::Postgres { pool, .. } = &self.0 else {
            return Ok(None);
        };
        let own = PgPoolOptions::new()
            .max_connections(1)
            .connect_lazy_with((*pool.connect_options()).clone());
        let mut listener = PgListener::connect_with(&own).await?;
        listener.listen(channel).await?;
        Ok(Some(Notices(listener)))
    }
}
