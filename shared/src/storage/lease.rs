//! PostgreSQL connections passed from one request to the next without sqlx's check on release.
//!
//! sqlx sends every pooled connection a `Sync` and waits for the answer when it is returned
//! (`PoolConnection::return_to_pool` pings unconditionally): a second round trip for each
//! one-statement request, which wakes the server's backend again. A [`Lease`] whose statement
//! succeeded is handed back ([`Lease::release`]) to a stack of ready connections untouched, as
//! a finished statement leaves it; one dropped any other way (an error, or a request cancelled
//! mid-statement, which can leave a half-written message) goes back to sqlx, which checks it
//! and closes it if broken.

use std::sync::{Arc, Mutex};

use sqlx::pool::PoolConnection;
use sqlx::{PgPool, Postgres};

/// The ready connections, at most `max_ready` of them; the rest of the pool stays sqlx's.
#[derive(Debug)]
pub struct Leases {
    pool: PgPool,
    ready: Mutex<Vec<PoolConnection<Postgres>>>,
    max_ready: usize,
}

impl Leases {
    /// Keeps up to half of `pool` ready, so queries that run on the pool itself always have
    /// the other half.
    pub fn new(pool: PgPool, max_connections: u32) -> Arc<Leases> {
        Arc::new(Leases {
            pool,
            ready: Mutex::new(Vec::new()),
            max_ready: usize::try_from(max_connections / 2).unwrap_or(1).max(1),
        })
    }

    /// A ready connection, else one from the pool.
    pub async fn acquire(&self) -> Result<Lease<'_>, sqlx::Error> {
        let ready = self.lock().pop();
        let connection = match ready {
            Some(connection) => connection,
            None => self.pool.acquire().await?,
        };
        Ok(Lease {
            connection: Some(connection),
            leases: self,
        })
    }

    /// Gives every ready connection back to the pool (before it closes).
    pub fn clear(&self) {
        let ready = std::mem::take(&mut *self.lock());
        drop(ready);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<PoolConnection<Postgres>>> {
        self.ready
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A connection for one request. Dropped without [`Lease::release`], it goes back through sqlx.
pub struct Lease<'a> {
    connection: Option<PoolConnection<Postgres>>,
    leases: &'a Leases,
}

impl Lease<'_> {
    /// Hands the connection to the next request: call it only after the last statement
    /// succeeded, so nothing of it is left on the wire.
    pub fn release(mut self) {
        if let Some(connection) = self.connection.take() {
            let mut ready = self.leases.lock();
            if ready.len() < self.leases.max_ready {
                ready.push(connection);
            }
        }
    }
}

impl std::ops::Deref for Lease<'_> {
    type Target = sqlx::PgConnection;

    fn deref(&self) -> &Self::Target {
        // Only `release`, which consumes the lease, takes the connection out.
        self.connection
            .as_deref()
            .expect("a lease holds its connection until released")
    }
}

impl std::ops::DerefMut for Lease<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        self.connection
            .as_deref_mut()
            .expect("a lease holds its connection until released")
    }
}
