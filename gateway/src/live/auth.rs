//! Who a socket belongs to: an access token from an `auth` message or from the
//! `Sec-WebSocket-Protocol` header, checked as the REST API checks a Bearer token (signature,
//! issuer, audience, `exp`, `nbf`, an existing active user).

use axum::http::header::SEC_WEBSOCKET_PROTOCOL;
use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use shared::domain::UserId;

use crate::state::AppState;

/// The subprotocol a browser names, followed by its token, to authenticate at connect:
/// `new WebSocket(url, ["bearer", token])` sends `Sec-WebSocket-Protocol: bearer, <token>`;
/// the server selects (echoes) `bearer`, never the token.
pub const BEARER_PROTOCOL: &str = "bearer";

/// Same answer as the REST API's for any token it refuses.
pub const REFUSED: &str = "Could not validate credentials";

#[derive(Debug, Clone, Copy)]
pub struct Signed {
    pub user_id: UserId,
    pub expires_at: DateTime<Utc>,
}

/// The token offered after `bearer` in `Sec-WebSocket-Protocol`, if any.
pub fn token_from_protocols(headers: &HeaderMap) -> Option<String> {
    let offered: Vec<&str> = headers
        .get_all(SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect();
    let at = offered
        .iter()
        .position(|p| p.eq_ignore_ascii_case(BEARER_PROTOCOL))?;
    offered.get(at + 1).map(|token| (*token).to_owned())
}

/// The user `token` names, if the token is valid and the user exists and is active.
pub async fn sign_in(state: &AppState, token: &str) -> Result<Signed, &'static str> {
    let (user_id, exp) = state.jwt.verify_until(token).ok_or(REFUSED)?;
    let expires_at = DateTime::from_timestamp(exp, 0).ok_or(REFUSED)?;
    if user_is_active(state, user_id).await? {
        Ok(Signed {
            user_id,
            expires_at,
        })
    } else {
        Err(REFUSED)
    }
}

/// Whether the account still exists and may sign in; `Err` when storage cannot say.
pub async fn user_is_active(state: &AppState, user_id: UserId) -> Result<bool, &'static str> {
    if state.users.get(user_id).is_some() {
        return Ok(true);
    }
    match state.store.user_by_id(user_id).await {
        Ok(Some(user)) if user.is_active => {
            state.users.insert(user);
            Ok(true)
        }
        Ok(_) => Ok(false),
        Err(error) => {
            tracing::warn!(%error, "could not look a websocket's user up");
            Err("Authentication is unavailable right now; try again")
        }
    }
}
