//! PostgreSQL notifications (`LISTEN`/`NOTIFY`): how one process learns at once that another
//! changed a row it keeps in memory. The database sends them on commit, so a notice never
//! names a change that was rolled back, and a trigger sends them whoever wrote.

use sqlx::postgres::{PgListener, PgPoolOptions};

use super::{Database, Pool};

/// What a [`Notices`] wait brought.
#[derive(Debug)]
pub enum Notice {
    /// A notification's payload.
    Payload(String),
    /// The connection was lost and is back, listening again; whatever was notified meanwhile
    /// is lost, so a cache kept fresh by these notices must forget everything.
    Resumed,
}

/// A `LISTEN` on one channel, on a connection of its own outside the query pool (which keeps
/// every connection it has for queries); reconnects by itself after a loss.
pub struct Notices {
    listener: PgListener,
}

impl Notices {
    /// The next notice; `Err` when the connection failed and could not be made again yet
    /// (the next call tries again; a caller should pause first and treat it as `Resumed`).
    pub async fn next(&mut self) -> Result<Notice, sqlx::Error> {
        Ok(match self.listener.try_recv().await? {
            Some(notification) => Notice::Payload(notification.payload().to_owned()),
            None => Notice::Resumed,
        })
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
        Ok(Some(Notices { listener }))
    }
}
