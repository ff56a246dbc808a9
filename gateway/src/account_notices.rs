//! Accounts changed behind this gateway's back — through another replica, or by an
//! operator's SQL. PostgreSQL notifies [`CHANNEL`] with the user's id whenever a row of `users`
//! changes in a way a cached copy could be wrong about (a trigger, so every writer does it;
//! migration `20261208090000_account_change_notices`). Each notice evicts the user here and
//! re-checks their WebSockets at once, so a deleted account or an old password's token stops
//! working on every replica within a round trip rather than after the cache's life.
//!
//! A notice sent while this gateway was not listening is lost: the cache trusts its entries
//! only while notices flow, and forgets them all when they flow again, on a fresh listener.

use std::time::Duration;

use shared::domain::UserId;
use tokio_util::sync::CancellationToken;

use crate::live;
use crate::state::AppState;

pub const CHANNEL: &str = "pricealert_account_changes";

/// Pause before listening again after a failure.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Follows account changes until `shutdown`; returns at once on SQLite, which has no
/// notices (its cached accounts live 2 s). `gateway_account_notices_listening` says whether
/// they flow.
pub async fn follow(state: AppState, shutdown: CancellationToken) {
    let mut listened = state.store.db().listen(CHANNEL).await;
    if matches!(listened, Ok(None)) {
        return; // no notices, and no series for them
    }
    let listening = state
        .metrics
        .account_notices_listening
        .with_label_values(&[CHANNEL]);
    let received = state.metrics.account_notices.with_label_values(&[CHANNEL]);
    loop {
        let mut notices = match listened {
            Ok(Some(notices)) => notices,
            Ok(None) => return,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for account changes; cached accounts live 2 s");
                listening.set(0);
                if pause(&shutdown).await.is_err() {
                    return;
                }
                listened = state.store.db().listen(CHANNEL).await;
                continue;
            }
        };
        // Listening from here on: whatever changed before is in the database, where every
        // read from now on finds it; the reads already on their way are refused by the cache.
        state.users.set_notified(true);
        listening.set(1);
        tracing::info!("listening for account changes; accounts cached for the cache's life");
        let failure = loop {
            let notice = tokio::select! {
                () = shutdown.cancelled() => return,
                notice = notices.next() => notice,
            };
            match notice {
                Ok(Some(payload)) => {
                    received.inc();
                    forget(&state, &payload).await;
                }
                Ok(None) => break None,
                Err(error) => break Some(error),
            }
        };
        // Notices sent from now until listening again are lost. The listener would reconnect
        // by itself, but only a fresh one says when it is back: the cache must not trust its
        // entries until then.
        state.users.set_notified(false);
        listening.set(0);
        drop(notices);
        match failure {
            None => tracing::warn!("lost the account change notices; cached accounts live 2 s"),
            Some(error) => {
                tracing::warn!(%error, "lost the account change notices; cached accounts live 2 s");
                if pause(&shutdown).await.is_err() {
                    return;
                }
            }
        }
        listened = state.store.db().listen(CHANNEL).await;
    }
}

/// Evicts the account a notice names and re-checks its WebSockets.
async fn forget(state: &AppState, payload: &str) {
    match payload.parse::<UserId>() {
        Ok(user_id) => {
            state.users.evict(user_id);
            live::recheck_user(state, user_id).await;
        }
        Err(_) => {
            tracing::warn!(payload, "an account change notice without a user id");
            // Whoever it concerned, the cache cannot tell: it forgets everyone.
            state.users.forget_all();
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
