//! `POST /auth/me/channels/{kind}/test`, the gateway's half: the request goes to the notifier
//! on `channel-tests`; its answer comes back on `channel-test-results`, which every gateway
//! replica reads in a consumer group of its own. Each replica hands each result to the request
//! waiting for it here, if that request is one of its own.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex, PoisonError};

use shared::bus::{Delivery, Handler};
use shared::events::ChannelTestResult;
use tokio::sync::oneshot;
use uuid::Uuid;

/// The test requests of this replica still waiting for their result. Cheap to clone.
#[derive(Clone, Default)]
pub struct ChannelTestWaiters {
    pending: Arc<Mutex<HashMap<Uuid, oneshot::Sender<ChannelTestResult>>>>,
}

/// One request's wait; dropping it (answered, timed out, or the client went away) forgets it.
pub struct Waiter {
    request_id: Uuid,
    receiver: oneshot::Receiver<ChannelTestResult>,
    waiters: ChannelTestWaiters,
}

impl ChannelTestWaiters {
    /// Waits for the result of `request_id` (register before publishing the request).
    pub fn register(&self, request_id: Uuid) -> Waiter {
        let (sender, receiver) = oneshot::channel();
        self.lock().insert(request_id, sender);
        Waiter {
            request_id,
            receiver,
            waiters: self.clone(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, oneshot::Sender<ChannelTestResult>>> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Waiter {
    /// The result, or `None` when none came within `timeout`.
    pub async fn result(mut self, timeout: std::time::Duration) -> Option<ChannelTestResult> {
        tokio::time::timeout(timeout, &mut self.receiver)
            .await
            .ok()
            .and_then(Result::ok)
    }
}

impl Drop for Waiter {
    fn drop(&mut self) {
        self.waiters.lock().remove(&self.request_id);
    }
}

impl Handler<ChannelTestResult> for ChannelTestWaiters {
    type Error = Infallible;

    /// Results of other replicas' requests find no waiter here and are dropped.
    async fn handle(&mut self, delivery: &Delivery<ChannelTestResult>) -> Result<(), Infallible> {
        let result = &delivery.event;
        if let Some(sender) = self.lock().remove(&result.request_id) {
            let _ = sender.send(result.clone());
        }
        Ok(())
    }
}
