//! The authenticated caller: the `AuthUser` extractor every protected route takes.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use shared::storage::UserRecord;

use crate::error::ApiError;
use crate::state::AppState;

/// The caller, authenticated by a Bearer token that names an existing, active user, and within
/// their request rate.
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
        let user_id = state.jwt.verify(token).ok_or(ApiError::InvalidToken)?;
        state.limits.check_api(user_id, &state.metrics)?;
        if let Some(user) = state.users.get(user_id) {
            return Ok(AuthUser(user));
        }
        let _filling = state.fills.enter(user_id).await;
        if let Some(user) = state.users.get(user_id) {
            return Ok(AuthUser(user));
        }
        let user = state
            .db
            .user_by_id(user_id)
            .await?
            .filter(|u| u.is_active)
            .ok_or(ApiError::InvalidToken)?;
        state.users.insert(user.clone());
        Ok(AuthUser(user))
    }
}
