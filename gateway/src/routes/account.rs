//! Changes to one's own account: `PATCH /auth/me` (the phone number) and
//! `POST /auth/me/password` (a password change that ends every other session).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::routing::{patch, post};
use axum::{Json, Router};
use serde::Deserialize;
use shared::domain::input::InputErrors;
use shared::domain::Input;
use utoipa::ToSchema;

use super::auth::{password_field, phone_field, TokenView, UserView};
use crate::caller::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::extract::JsonInput;
use crate::state::AppState;

/// `PATCH /auth/me` (merged with the path's other methods from `auth`) and `/auth/me/password`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/me", patch(patch_me))
        .route("/auth/me/password", post(change_password))
}

/// The body of `PATCH /auth/me`: only the fields sent change.
#[derive(Deserialize, ToSchema)]
pub struct AccountPatch {
    /// A phone number, normalised to E.164; `null` or `""` remove it.
    #[serde(default)]
    #[schema(value_type = Option<String>, required = false)]
    phone: Input<String>,
}

/// The body of `POST /auth/me/password`.
#[derive(Deserialize, ToSchema)]
pub struct PasswordChange {
    /// The password the account has now.
    #[serde(default)]
    #[schema(value_type = String, required = true)]
    current_password: Input<String>,
    /// 8 to 128 characters.
    #[serde(default)]
    #[schema(value_type = String, required = true)]
    new_password: Input<String>,
}

#[utoipa::path(patch, path = "/auth/me", tag = "auth", security(("bearer" = [])),
    request_body = AccountPatch,
    responses((status = 200, body = UserView), (status = 401, description = "Not authenticated"),
              (status = 422, description = "Invalid phone number")))]
pub async fn patch_me(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    JsonInput(request): JsonInput<AccountPatch>,
) -> ApiResult<Json<UserView>> {
    if !request.phone.was_sent() {
        return Ok(Json(UserView::from(user)));
    }
    let mut errors = InputErrors::new();
    let phone = phone_field(&mut errors, &request.phone);
    errors.finish().map_err(ApiError::invalid_body)?;
    let updated = state
        .store
        .set_phone(user.id, phone.as_ref())
        .await?
        .ok_or(ApiError::InvalidToken)?;
    state.users.evict(user.id);
    tracing::info!(user_id = user.id, "user changed their phone number");
    Ok(Json(UserView::from(updated)))
}

#[utoipa::path(post, path = "/auth/me/password", tag = "auth", security(("bearer" = [])),
    request_body = PasswordChange,
    responses((status = 200, body = TokenView, description = "A new token; every token issued before is refused from now on"),
              (status = 400, description = "Current password is incorrect"),
              (status = 401, description = "Not authenticated"),
              (status = 422, description = "Missing field or invalid new password"),
              (status = 429, description = "Too many attempts; see Retry-After")))]
pub async fn change_password(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    AuthUser(user): AuthUser,
    JsonInput(request): JsonInput<PasswordChange>,
) -> ApiResult<Json<TokenView>> {
    let mut errors = InputErrors::new();
    let current = errors.required("current_password", &request.current_password);
    let new = password_field(&mut errors, "new_password", &request.new_password);
    errors.finish().map_err(ApiError::invalid_body)?;
    let (Some(current), Some(new)) = (current, new) else {
        return Err(ApiError::Unprocessable(
            "Invalid password change".to_owned(),
        ));
    };
    // A stolen token must not be a way around the login's guessing limits.
    state
        .limits
        .check_login(&user.email, peer.ip(), &state.metrics)?;
    let verified = state
        .passwords
        .verify(current, Some(user.password_hash.clone()))
        .await?;
    if !verified {
        state.metrics.login_failures.inc();
        return Err(ApiError::BadRequest(
            "Current password is incorrect".to_owned(),
        ));
    }
    let hash = state.passwords.hash(new).await?;
    // `None`: the password changed meanwhile through another session, which ended this one.
    let updated = state
        .store
        .change_password(user.id, &user.password_hash, &hash)
        .await?
        .ok_or(ApiError::InvalidToken)?;
    state.users.evict(user.id);
    // Its other sockets here stop at once; other replicas notice within their recheck.
    state
        .live
        .revoke_other_generations(user.id, updated.token_generation);
    tracing::info!(user_id = user.id, "user changed their password");
    Ok(Json(TokenView::issue(&state, &updated)?))
}
