//! `/auth/register`, `/auth/login`, `/auth/me`.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::domain::input::{InputErrors, Invalid};
use shared::domain::{Email, Input, PhoneNumber};
use shared::storage::StorageError;

use crate::store::UserRecord;
use utoipa::ToSchema;

use crate::alert_service::relay_now;
use crate::caller::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::extract::{FormOrJsonInput, JsonInput};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/register", post(register))
        .route("/auth/login", post(login))
        .route("/auth/me", get(me).delete(delete_me))
}

/// A user as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct UserView {
    id: i64,
    email: String,
    phone: Option<String>,
    created_at: DateTime<Utc>,
}

impl From<UserRecord> for UserView {
    fn from(user: UserRecord) -> Self {
        UserView {
            id: user.id,
            email: user.email,
            phone: user.phone,
            created_at: user.created_at,
        }
    }
}

/// The body of `POST /auth/register`.
#[derive(Deserialize, ToSchema)]
pub struct RegisterRequest {
    /// A valid email address; unique case-insensitively.
    #[serde(default)]
    #[schema(value_type = String, required = true)]
    email: Input<String>,
    /// 8 to 128 characters.
    #[serde(default)]
    #[schema(value_type = String, required = true)]
    password: Input<String>,
    /// Optional; `""` or null mean none; otherwise normalised to E.164.
    #[serde(default)]
    #[schema(value_type = Option<String>, required = false)]
    phone: Input<String>,
}

/// The body of `POST /auth/login`: form-encoded `username=<email>&password=...` as API.md
/// says, or (extension) JSON with `email` or `username`.
#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    /// The email address (a JSON body may send `email` instead).
    #[serde(default)]
    #[schema(value_type = String, required = true)]
    username: Input<String>,
    /// Extension: accepted instead of `username` in a JSON body.
    #[serde(default)]
    #[schema(value_type = Option<String>, required = false)]
    email: Input<String>,
    #[serde(default)]
    #[schema(value_type = String, required = true)]
    password: Input<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TokenView {
    access_token: String,
    token_type: &'static str,
    expires_in: i64,
}

impl TokenView {
    /// A new access token for `user`, in the account's current token generation.
    pub(super) fn issue(state: &AppState, user: &UserRecord) -> anyhow::Result<TokenView> {
        Ok(TokenView {
            access_token: state.jwt.issue(user.id, user.token_generation)?,
            token_type: "bearer",
            expires_in: state.jwt.ttl_seconds,
        })
    }
}

const MIN_PASSWORD_CHARS: usize = 8;
const MAX_PASSWORD_CHARS: usize = 128;

/// An optional phone number, normalised to E.164; absent, `null` and `""` all mean none.
pub(super) fn phone_field(errors: &mut InputErrors, input: &Input<String>) -> Option<PhoneNumber> {
    match errors.optional("phone", input) {
        Some(Some(raw)) if !raw.trim().is_empty() => match raw.parse::<PhoneNumber>() {
            Ok(phone) => Some(phone),
            Err(e) => {
                errors.add("phone", input, Invalid::value(e));
                None
            }
        },
        _ => None,
    }
}

/// A new password sent as `field`: 8 to 128 characters.
pub(super) fn password_field(
    errors: &mut InputErrors,
    field: &str,
    input: &Input<String>,
) -> Option<String> {
    let password = errors.required(field, input)?;
    let length = password.chars().count();
    if length < MIN_PASSWORD_CHARS {
        errors.add(
            field,
            input,
            Invalid::new(
                "string_too_short",
                "String should have at least 8 characters",
            ),
        );
        return None;
    }
    if length > MAX_PASSWORD_CHARS {
        errors.add(
            field,
            input,
            Invalid::new(
                "string_too_long",
                "String should have at most 128 characters",
            ),
        );
        return None;
    }
    Some(password)
}

#[utoipa::path(post, path = "/auth/register", tag = "auth", request_body = RegisterRequest,
    responses((status = 201, body = UserView), (status = 400, description = "Email already registered"),
              (status = 422, description = "Invalid email, password or phone")))]
pub async fn register(
    State(state): State<AppState>,
    JsonInput(request): JsonInput<RegisterRequest>,
) -> ApiResult<impl IntoResponse> {
    let mut errors = InputErrors::new();
    let email = errors.required("email", &request.email).and_then(|raw| {
        raw.parse::<Email>()
            .map_err(|e| {
                errors.add(
                    "email",
                    &request.email,
                    Invalid::new(
                        "value_error",
                        format!("value is not a valid email address: {e}"),
                    ),
                )
            })
            .ok()
    });
    let password = password_field(&mut errors, "password", &request.password);
    let phone = phone_field(&mut errors, &request.phone);
    errors.finish().map_err(ApiError::invalid_body)?;
    let (Some(email), Some(password)) = (email, password) else {
        return Err(ApiError::Unprocessable("Invalid registration".to_owned()));
    };
    if state.store.user_by_email(&email).await?.is_some() {
        return Err(ApiError::BadRequest("Email already registered".to_owned()));
    }
    let hash = state.passwords.hash(password).await?;
    let user = match state.store.create_user(&email, &hash, phone.as_ref()).await {
        Ok(user) => user,
        Err(StorageError::Conflict) => {
            return Err(ApiError::BadRequest("Email already registered".to_owned()))
        }
        Err(e) => return Err(e.into()),
    };
    tracing::info!(user_id = user.id, "user registered");
    Ok((StatusCode::CREATED, Json(UserView::from(user))))
}

#[utoipa::path(post, path = "/auth/login", tag = "auth",
    request_body(content = LoginRequest, content_type = "application/x-www-form-urlencoded", description = "username=<email>&password=...; a JSON {\"email\"|\"username\",\"password\"} body is accepted too"),
    responses((status = 200, body = TokenView), (status = 401, description = "Incorrect email or password"),
              (status = 429, description = "Too many attempts; see Retry-After")))]
pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    FormOrJsonInput(request): FormOrJsonInput<LoginRequest>,
) -> ApiResult<Json<TokenView>> {
    let mut errors = InputErrors::new();
    let (username_field, username_input) =
        if request.username.was_sent() || !request.email.was_sent() {
            ("username", &request.username)
        } else {
            ("email", &request.email)
        };
    let username = errors.required(username_field, username_input);
    let password = errors.required("password", &request.password);
    errors.finish().map_err(ApiError::invalid_body)?;
    let (Some(username), Some(password)) = (username, password) else {
        return Err(ApiError::Unprocessable("Invalid login".to_owned()));
    };
    state
        .limits
        .check_login(&username, peer.ip(), &state.metrics)?;
    let user = match username.parse::<Email>() {
        Ok(email) => state
            .store
            .user_by_email(&email)
            .await?
            .filter(|u| u.is_active),
        Err(_) => None,
    };
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let verified = state.passwords.verify(password, stored).await?;
    match user {
        Some(user) if verified => Ok(Json(TokenView::issue(&state, &user)?)),
        _ => {
            state.metrics.login_failures.inc();
            Err(ApiError::IncorrectLogin)
        }
    }
}

#[utoipa::path(get, path = "/auth/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = UserView), (status = 401, description = "Not authenticated")))]
pub async fn me(AuthUser(user): AuthUser) -> Json<UserView> {
    Json(UserView::from(user))
}

#[utoipa::path(delete, path = "/auth/me", tag = "auth", security(("bearer" = [])),
    responses((status = 204, description = "Account, alerts and deliveries deleted"), (status = 401)))]
pub async fn delete_me(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
) -> ApiResult<StatusCode> {
    // The alerts' deletion changes are queued with the deletion, in its transaction.
    state.store.delete_user(user.id).await?;
    state.users.evict(user.id);
    state.alert_lists.evict(user.id);
    // Its WebSockets here stop at once; other replicas notice within their recheck.
    state.live.revoke_user(user.id);
    relay_now(&state).await;
    tracing::info!(user_id = user.id, "user deleted their account");
    Ok(StatusCode::NO_CONTENT)
}
