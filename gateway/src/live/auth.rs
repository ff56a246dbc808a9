//! Who a socket belongs to: an access token from an `auth` message or from the
//! `Sec-WebSocket-Protocol` header, checked as the REST API checks a Bearer token (signature,
//! issuer, audience, `exp`, `nbf`, an existing active user, the account's current token
//! generation).

use axum::http::header::SEC_WEBSOCKET_PROTOCOL;
use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use shared::domain::UserId;

use crate::caller::active_user;
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
    /// The account's token generation the socket signed in with.
    pub generation: i64,
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

/// The user `token` names, if the token is valid, the user exists and is active, and the
/// token is of the account's current generation.
pub async fn sign_in(state: &AppState, token: &str) -> Result<Signed, &'static str> {
    let token = state.jwt.verify(token).ok_or(REFUSED)?;
    let expires_at = DateTime::from_timestamp(token.expires_at, 0).ok_or(REFUSED)?;
    match token_generation(state, token.user_id).await? {
        Some(generation) if generation == token.generation => Ok(Signed {
            user_id: token.user_id,
            generation,
            expires_at,
        }),
        _ => Err(REFUSED),
    }
}

/// The account's current token generation, `None` when it no longer exists or may not sign in;
/// `Err` when storage cannot say.
pub async fn token_generation(
    state: &AppState,
    user_id: UserId,
) -> Result<Option<i64>, &'static str> {
    match active_user(state, user_id).await {
        Ok(user) => Ok(user.map(|user| user.token_generation)),
        Err(error) => {
            tracing::warn!(%error, "could not look a websocket's user up");
            Err("Authentication is unavailable right now; try again")
        }
    }
}
