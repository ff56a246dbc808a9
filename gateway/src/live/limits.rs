//! How many WebSockets may be open at once, in all and per client address. A socket beyond
//! either limit is accepted and closed at once with code 1013 (try again later), which a
//! browser can see, unlike an HTTP refusal of the upgrade.

use std::net::IpAddr;
use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::overload::{AddressSlot, PerAddress};

#[derive(Clone)]
pub struct SocketLimits {
    total: Arc<Semaphore>,
    per_address: PerAddress,
}

/// A socket's place under both limits, given back when dropped.
pub struct SocketSlot {
    _total: OwnedSemaphorePermit,
    _address: Option<AddressSlot>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverLimit {
    Total,
    Address,
}

impl OverLimit {
    pub fn reason(self) -> &'static str {
        match self {
            OverLimit::Total => "too many websockets open; try again later",
            OverLimit::Address => "too many websockets from this address; try again later",
        }
    }
}

impl SocketLimits {
    pub fn new(total: usize, per_address: usize) -> SocketLimits {
        SocketLimits {
            total: Arc::new(Semaphore::new(total.clamp(1, Semaphore::MAX_PERMITS))),
            per_address: PerAddress::new(per_address),
        }
    }

    /// A slot for a socket from `address` (unknown when the server did not say, as under a
    /// test router: then only the total applies).
    pub fn try_take(&self, address: Option<IpAddr>) -> Result<SocketSlot, OverLimit> {
        let total = Arc::clone(&self.total)
            .try_acquire_owned()
            .map_err(|_| OverLimit::Total)?;
        let address = match address {
            Some(address) => Some(
                self.per_address
                    .try_take(address)
                    .ok_or(OverLimit::Address)?,
            ),
            None => None,
        };
        Ok(SocketSlot {
            _total: total,
            _address: address,
        })
    }
}
