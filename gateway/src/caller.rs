//! The authenticated caller: the `AuthUser` extractor every protected route takes, and
//! `CallerToken` for a route that reads the account with its own rows (`GET /alerts`).

use crate::store::UserRecord;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use shared::domain::UserId;
use shared::storage::StorageError;

use crate::auth::{UserTicket, Verified};
use crate::error::ApiError;
use crate::state::AppState;

/// The caller, authenticated by a Bearer token that names an existing, active user in the
/// account's current token generation, and within their request rate.
pub struct AuthUser(pub UserRecord);

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = CallerToken::from_request_parts(parts, state).await?;
        let user = active_user(state, token.user_id()).await?;
        token.admit(user).map(AuthUser)
    }
}

/// A valid Bearer token within its rate whose account is not checked yet: for a handler that
/// reads the account together with its own rows when the user cache misses (one round trip
/// instead of two). It must pass the account it read through [`CallerToken::admit`].
pub struct CallerToken(Verified);

impl FromRequestParts<AppState> for CallerToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(ApiError::NotAuthenticated)?;
        let token = match header.split_once(' ') {
            Some((scheme, token))
                if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
            {
                token.trim()
            }
            _ => return Err(ApiError::NotAuthenticated),
        };
        let token = state.jwt.verify(token).ok_or(ApiError::InvalidToken)?;
        state.limits.check_api(token.user_id, &state.metrics)?;
        Ok(CallerToken(token))
    }
}

impl CallerToken {
    pub fn user_id(&self) -> UserId {
        self.0.user_id
    }

    /// The caller from the user cache, admitted; `Ok(None)` when the cache has no entry.
    pub fn cached(&self, state: &AppState) -> Result<Option<UserRecord>, ApiError> {
        state
            .users
            .get(self.user_id())
            .map(|user| self.admit(Some(user)))
            .transpose()
    }

    /// The caller, if `account` (the token's account as read, `None` when it does not exist) is
    /// active and in the token's generation.
    pub fn admit(&self, account: Option<UserRecord>) -> Result<UserRecord, ApiError> {
        let user = account
            .filter(|user| user.is_active)
            .ok_or(ApiError::InvalidToken)?;
        // A token from before the last password change names an older generation.
        if user.token_generation != self.0.generation {
            return Err(ApiError::InvalidToken);
        }
        Ok(user)
    }

    /// Keeps an account read after `ticket` was taken in the user cache when it is active.
    pub fn remember(state: &AppState, ticket: UserTicket, account: Option<&UserRecord>) {
        if let Some(user) = account.filter(|user| user.is_active) {
            state.users.insert(user.clone(), ticket);
        }
    }
}

/// The account `user_id` if it exists and is active: from the short-lived user cache, else one
/// query per user however many of their requests arrive at once.
pub async fn active_user(
    state: &AppState,
    user_id: UserId,
) -> Result<Option<UserRecord>, StorageError> {
    if let Some(user) = state.users.get(user_id) {
        return Ok(Some(user));
    }
    let _filling = state.fills.enter(user_id).await;
    if let Some(user) = state.users.get(user_id) {
        return Ok(Some(user));
    }
    let ticket = state.users.ticket();
    let user = state
        .store
        .user_by_id(user_id)
        .await?
        .filter(|u| u.is_active);
    CallerToken::remember(state, ticket, user.as_ref());
    Ok(user)
}
