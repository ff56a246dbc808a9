//! The authenticated caller: the `AuthUser` extractor every protected route takes.

use crate::store::UserRecord;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use shared::domain::UserId;
use shared::storage::StorageError;

use crate::error::ApiError;
use crate::state::AppState;

/// The caller, authenticated by a Bearer token that names an existing, active user in the
/// account's current token generation, and within their request rate.
pub struct AuthUser(pub UserRecord);

impl FromRequestParts<AppState> for AuthUser {
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
        let user_id = token.user_id;
        state.limits.check_api(user_id, &state.metrics)?;
        let user = active_user(state, user_id)
            .await?
            .ok_or(ApiError::InvalidToken)?;
        // A token from before the last password change names an older generation.
        if user.token_generation != token.generation {
            return Err(ApiError::InvalidToken);
        }
        Ok(AuthUser(user))
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
    let user = state
        .store
        .user_by_id(user_id)
        .await?
        .filter(|u| u.is_active);
    if let Some(user) = &user {
        state.users.insert(user.clone());
    }
    Ok(user)
}
