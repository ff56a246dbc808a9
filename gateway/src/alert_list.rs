//! Where `GET /alerts` finds its page: the user's cached list, or the database. A caller the
//! user cache does not hold is read with the alerts, in the same round trip.

use std::sync::Arc;

use shared::domain::{Alert, UserId};

use crate::alert_cache::{CachedList, MAX_CACHED_ALERTS};
use crate::caller::CallerToken;
use crate::error::ApiResult;
use crate::state::AppState;
use crate::store::{AlertFilter, UserRecord};

/// The alerts a page is cut from.
pub enum Page {
    /// Every alert of the user, newest first (the page is filtered from it in memory).
    Cached(Arc<CachedList>),
    /// The page itself, read with the request's filter.
    Read(Vec<Alert>),
}

/// Where the page of `filter` comes from, once the caller is admitted by `token`.
pub async fn caller_page(
    state: &AppState,
    token: &CallerToken,
    filter: &AlertFilter,
) -> ApiResult<Page> {
    if let Some(user) = token.cached(state)? {
        return page_of(state, &user, filter).await;
    }
    let user_id = token.user_id();
    let filling = state.fills.enter(user_id).await;
    if let Some(user) = token.cached(state)? {
        drop(filling);
        return page_of(state, &user, filter).await;
    }
    if !state.alert_lists.enabled() {
        let (account, page) = read_with_caller(state, user_id, filter).await?;
        token.admit(account)?;
        return Ok(Page::Read(page));
    }
    match state.alert_lists.get(user_id) {
        Ok(list) => {
            let ticket = state.users.ticket();
            let account = state.store.user_by_id(user_id).await?;
            CallerToken::remember(state, ticket, account.as_ref());
            token.admit(account)?;
            Ok(Page::Cached(list))
        }
        Err(ticket) => {
            let (account, all) = read_with_caller(state, user_id, &everything()).await?;
            token.admit(account)?;
            if all.len() > MAX_CACHED_ALERTS {
                drop(filling);
                return Ok(Page::Read(state.store.list_alerts(user_id, filter).await?));
            }
            let list = Arc::new(CachedList::new(all));
            state.alert_lists.insert(user_id, ticket, list.clone());
            Ok(Page::Cached(list))
        }
    }
}

/// The page of a caller already admitted.
async fn page_of(state: &AppState, user: &UserRecord, filter: &AlertFilter) -> ApiResult<Page> {
    Ok(match cached_alert_list(state, user).await? {
        Some(list) => Page::Cached(list),
        None => Page::Read(state.store.list_alerts(user.id, filter).await?),
    })
}

/// The account (kept in the user cache when active) and `filter`'s page, in one round trip.
async fn read_with_caller(
    state: &AppState,
    user_id: UserId,
    filter: &AlertFilter,
) -> ApiResult<(Option<UserRecord>, Vec<Alert>)> {
    let ticket = state.users.ticket();
    let (account, alerts) = match state.store.caller_with_alerts(user_id, filter).await? {
        Some((account, alerts)) => (Some(account), alerts),
        None => (None, Vec::new()),
    };
    CallerToken::remember(state, ticket, account.as_ref());
    Ok((account, alerts))
}

/// What a cached list holds: every alert, and one more to tell a list too long to cache.
fn everything() -> AlertFilter {
    AlertFilter {
        limit: i64::try_from(MAX_CACHED_ALERTS + 1).unwrap_or(i64::MAX),
        ..AlertFilter::default()
    }
}

/// Every alert of the user, newest first, from the cache or read into it; `None` when the
/// cache is off or the user has too many alerts to keep in memory.
async fn cached_alert_list(
    state: &AppState,
    user: &UserRecord,
) -> ApiResult<Option<Arc<CachedList>>> {
    if !state.alert_lists.enabled() {
        return Ok(None);
    }
    if let Ok(list) = state.alert_lists.get(user.id) {
        return Ok(Some(list));
    }
    let _filling = state.fills.enter(user.id).await;
    let ticket = match state.alert_lists.get(user.id) {
        Ok(list) => return Ok(Some(list)),
        Err(ticket) => ticket,
    };
    let list = state.store.list_alerts(user.id, &everything()).await?;
    if list.len() > MAX_CACHED_ALERTS {
        return Ok(None);
    }
    let list = Arc::new(CachedList::new(list));
    state.alert_lists.insert(user.id, ticket, list.clone());
    Ok(Some(list))
}
