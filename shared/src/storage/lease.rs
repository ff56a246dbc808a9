//! PostgreSQL connections passed from one request to the next without sqlx's check on release.
//!
//! sqlx sends every pooled connection a `Sync` and waits for the answer when it is returned
//! (`PoolConnection::return_to_pool` pings unconditionally): a second round trip for each
//! one-statement request, which wakes the server's backend again. A [`Lease`] whose statement
//! succeeded is handed back ([`Lease::release`]) to a stack of ready connections untouched, as
//! a finished statement leaves it; one dropped any other way (an error, or a request cancelled
//! mid-statement, which can leave a half-written message) goes back to sqlx, which checks it
//! and closes it if broken. Requests wait for a lease in turn (a fair semaphore), so a
//! connection handed back goes to the longest waiter.

use std::sync::{Arc, Mutex};

use sqlx::pool::PoolConnection;
use sqlx::{PgPool, Postgres};
use tokio::sync::{Semaphore, SemaphorePermit};

/// At most `turns` connections leased or ready; the rest of the pool stays sqlx's.
#[derive(Debug)]
pub struct Leases {
    pool: PgPool,
    ready: Mutex<Vec<PoolConnection<Postgres>>>,
    turns: Semaphore,
}

impl Leases {
    /// Keeps up to half of `pool` ready, so queries that run on the pool itself always have
    /// the other half.
    pub fn new(pool: PgPool, max_connections: u32) -> Arc<Leases> {
        let turns = usize::try_from(max_connections / 2).unwrap_or(1).max(1);
        Arc::new(Leases {
            pool,
            ready: Mutex::new(Vec::with_capacity(turns)),
            turns: Semaphore::new(turns),
        })
    }

    /// Waits for a turn, then takes a ready connection, else one from the pool.
    pub async fn acquire(&self) -> Result<Lease<'_>, sqlx::Error> {
        let turn = self
            .turns
            .acquire()
            .await
            .map_err(|_| sqlx::Error::PoolClosed)?;
        let ready = self.lock().pop();
        let connection = match ready {
            Some(connection) => connection,
            None => self.pool.acquire().await?,
        };
        Ok(Lease {
            connection: Some(connection),
            leases: self,
            close_unreleased: false,
            _turn: turn,
        })
    }

    /// Ends leasing and gives every ready connection back to the pool, before it closes: the
    /// pool's close waits for every connection out, so none may stay parked here. A lease still
    /// out when this runs goes back to the pool when released.
    pub fn clear(&self) {
        let mut ready = self.lock();
        self.turns.close();
        drop(std::mem::take(&mut *ready));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<PoolConnection<Postgres>>> {
        self.ready
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A connection for one request. Dropped without [`Lease::release`], it goes back through sqlx
/// (or is closed, [`Lease::close_unless_released`]).
pub struct Lease<'a> {
    connection: Option<PoolConnection<Postgres>>,
    leases: &'a Leases,
    /// Closed, not given back to sqlx, if dropped unreleased ([`Lease::close_unless_released`]).
    close_unreleased: bool,
    /// Given back after the connection, so the next in turn finds it ready.
    _turn: SemaphorePermit<'a>,
}

impl Lease<'_> {
    /// Hands the connection to the next request: call it only after the last statement
    /// succeeded, so nothing of it is left on the wire.
    pub fn release(mut self) {
        if let Some(connection) = self.connection.take() {
            let mut ready = self.leases.lock();
            if !self.leases.turns.is_closed() {
                ready.push(connection);
            }
        }
    }

    /// Dropped without [`Lease::release`], the connection is closed instead of given back to
    /// sqlx: for statements sqlx cannot see into (a transaction opened in plain SQL), after
    /// which its check on return would pass a connection still in the transaction.
    pub fn close_unless_released(&mut self) {
        self.close_unreleased = true;
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        match &mut self.connection {
            Some(connection) if self.close_unreleased => connection.close_on_drop(),
            _ => {}
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
