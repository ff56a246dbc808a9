//! Accounts changed behind this gateway's back — through another replica, or by an
//! operator's SQL. PostgreSQL notifies [`CHANNEL`] with the user's id whenever a row of `users`
//! changes in a way a cached copy could be wrong about (a trigger, so every writer does it;
//! migration `20261208090000_account_change_notices`). Each notice evicts the user here and
//! re-checks their WebSockets at once, so a deleted account or an old password's token stops
//! working on every replica within a round trip rather than after the cache's life.
//!
//! A notice sent while this gateway was not listening is lost: the cache trusts its entries
//! only while notices flow, and forgets them all when they flow again.

use std::time::Duration;

use shared::domain::UserId;
use tokio_util::sync::CancellationToken;

use crate::live;
use crate::state::AppState;

pub const CHANNEL: &str = "pricealert_account_changes";

/// Pause before listening again after a failure.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Follows account changes until `shutdown`; returns at once on SQLite, which has no
/// notices (its cached accounts live 2 s).
pub async fn follow(state: AppState, shutdown: CancellationToken) {
    let mut notices = loop {
        match state.store.db().listen(CHANNEL).await {
            Ok(Some(notices)) => break notices,
            Ok(None) => return,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for account changes; cached accounts live 2 s");
                if pause(&shutdown).await.is_err() {
                    return;
                }
            }
        }
    };
    state.users.set_notified(true);
    loop {
        let notice = tokio::select! {
            () = shutdown.cancelled() => return,
            notice = notices.next() => notice,
        };
        match notice {
            Ok(Some(payload)) => match payload.parse::<UserId>() {
                Ok(user_id) => {
                    state.users.evict(user_id);
                    live::recheck_user(&state, user_id).await;
                }
                Err(_) => {
                    tracing::warn!(payload, "an account change notice without a user id");
                    // Whoever it concerned, forget everyone.
                    state.users.set_notified(true);
                }
            },
            Ok(None) => {
                tracing::info!("listening for account changes again; cached accounts forgotten");
                state.users.set_notified(true);
            }
            Err(error) => {
                tracing::warn!(%error, "lost the account change notices; cached accounts live 2 s");
                state.users.set_notified(false);
                if pause(&shutdown).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Waits [`RETRY_AFTER`]; `Err` when shut down meanwhile.
async fn pause(shutdown: &CancellationToken) -> Result<(), ()> {
    tokio::select! {
        () = shutdown.cancelled() => Err(()),
        () = tokio::time::sleep(RETRY_AFTER) => Ok(()),
    }
}
