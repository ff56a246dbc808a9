//! `/auth/register`, `/auth/login`, `/auth/me`.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Serialize;
use shared::domain::{Email, PhoneNumber};
use shared::events::AlertChange;
use shared::storage::{StorageError, UserRecord};
use utoipa::ToSchema;

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::extract::{string, Fields, JsonObject, LoginBody};
use crate::routes::alerts::announce;
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

/// Registration body (documentation of the JSON the handler reads).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct RegisterRequest {
    /// A valid email address; unique case-insensitively.
    email: String,
    /// 8 to 128 characters.
    password: String,
    /// Optional; `""` or null mean none; otherwise normalised to E.164.
    phone: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct TokenView {
    access_token: String,
    token_type: &'static str,
    expires_in: i64,
}

fn password_field(fields: &mut Fields) -> Option<String> {
    let password = fields.required("password", string)?;
    let length = password.chars().count();
    if length < 8 {
        fields.error(
            "string_too_short",
            "password",
            "String should have at least 8 characters",
        );
        return None;
    }
    if length > 128 {
        fields.error(
            "string_too_long",
            "password",
            "String should have at most 128 characters",
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
    JsonObject(body): JsonObject,
) -> ApiResult<impl IntoResponse> {
    let mut fields = Fields::body(body);
    let email = fields.required("email", string).and_then(|raw| {
        raw.parse::<Email>()
            .map_err(|e| {
                fields.error(
                    "value_error",
                    "email",
                    format!("value is not a valid email address: {e}"),
                )
            })
            .ok()
    });
    let password = password_field(&mut fields);
    let phone = match fields.optional("phone", string) {
        Some(Some(raw)) if !raw.trim().is_empty() => match raw.parse::<PhoneNumber>() {
            Ok(phone) => Some(phone),
            Err(e) => {
                fields.error("value_error", "phone", format!("Value error, {e}"));
                None
            }
        },
        _ => None,
    };
    fields.finish()?;
    let (Some(email), Some(password)) = (email, password) else {
        return Err(ApiError::Unprocessable("Invalid registration".to_owned()));
    };
    if state.db.user_by_email(&email).await?.is_some() {
        return Err(ApiError::BadRequest("Email already registered".to_owned()));
    }
    let hash = state.passwords.hash(password).await?;
    let user = match state.db.create_user(&email, &hash, phone.as_ref()).await {
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
    request_body(content_type = "application/x-www-form-urlencoded", description = "username=<email>&password=...; a JSON {\"email\"|\"username\",\"password\"} body is accepted too"),
    responses((status = 200, body = TokenView), (status = 401, description = "Incorrect email or password"),
              (status = 429, description = "Too many attempts; see Retry-After")))]
pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    LoginBody(body): LoginBody,
) -> ApiResult<Json<TokenView>> {
    let mut fields = Fields::body(body);
    let username_field = if fields.has("username") || !fields.has("email") {
        "username"
    } else {
        "email"
    };
    let username = fields.required(username_field, string);
    let password = fields.required("password", string);
    fields.finish()?;
    let (Some(username), Some(password)) = (username, password) else {
        return Err(ApiError::Unprocessable("Invalid login".to_owned()));
    };
    state
        .limits
        .check_login(&username, peer.ip(), &state.metrics)?;
    let user = match username.parse::<Email>() {
        Ok(email) => state
            .db
            .user_by_email(&email)
            .await?
            .filter(|u| u.is_active),
        Err(_) => None,
    };
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let verified = state.passwords.verify(password, stored).await?;
    match user {
        Some(user) if verified => Ok(Json(TokenView {
            access_token: state.jwt.issue(user.id)?,
            token_type: "bearer",
            expires_in: state.jwt.ttl_seconds,
        })),
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
    let alerts = state.db.user_alert_keys(user.id).await?;
    state.db.delete_user(user.id).await?;
    state.users.evict(user.id);
    state.alert_lists.evict(user.id);
    for (alert_id, symbol) in alerts {
        announce(&state, AlertChange::deleted(alert_id, symbol)).await;
    }
    tracing::info!(user_id = user.id, "user deleted their account");
    Ok(StatusCode::NO_CONTENT)
}
