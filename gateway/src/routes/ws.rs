//! `GET /prices/ws`: the upgrade. The protocol itself lives in `crate::live`.

use std::net::SocketAddr;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{Extensions, HeaderMap};
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use crate::error::ApiError;
use crate::live::{self, Opening, Selection, BEARER_PROTOCOL};
use crate::state::AppState;

/// Client messages are small (the largest is an `auth` with its token): a small read buffer
/// keeps an idle socket cheap (tungstenite's default is 128 KiB, zero-filled on each read).
const READ_BUFFER_BYTES: usize = 1024;
const MAX_CLIENT_MESSAGE_BYTES: usize = 16 * 1024;
/// Frames are gathered up to this before a write (a flush after each burst sends the rest).
const WRITE_BUFFER_BYTES: usize = 4 * 1024;
/// Only grows past the write buffer while writes fail.
const MAX_WRITE_BUFFER_BYTES: usize = 256 * 1024;

pub fn router() -> Router<AppState> {
    Router::new().route("/prices/ws", get(upgrade))
}

#[utoipa::path(get, path = "/prices/ws", tag = "prices",
    description = "WebSocket. A client that sends nothing gets a snapshot \
        `{\"type\":\"snapshot\",\"prices\":{SYM: price},\"timestamp\"}`, then one bare price object \
        per tick; `{\"type\":\"ping\"}` → `{\"type\":\"pong\"}`; `{\"type\":\"heartbeat\",\"timestamp\"}` \
        after 30 s of client silence; unknown messages are ignored.\n\n\
        Extensions: `?symbols=BTC,ETH` (or `*`) at connect; `{\"type\":\"subscribe\",\"symbols\":[...]|\"*\"}` \
        and `{\"type\":\"unsubscribe\",\"symbols\":[...]|\"*\"}`, each answered with \
        `{\"type\":\"subscribed\",\"symbols\":[...]|\"*\"}` (a subscribe then with a snapshot of the symbols it \
        named; a socket watching everything that subscribes to symbols narrows to them). \
        `{\"type\":\"auth\",\"token\":\"<access token>\"}` or `Sec-WebSocket-Protocol: bearer, <access token>` \
        (the server selects `bearer`) → `{\"type\":\"authenticated\",\"user_id\",\"expires_at\"}`; then the \
        user's fires `{\"type\":\"alert\",\"event_id\",\"alert_id\",\"symbol\",\"condition\",\"target_price\",\
        \"target_price_high\",\"current_price\",\"currency\",\"triggered_at\"}` and settled deliveries \
        `{\"type\":\"delivery\",\"event_id\",\"alert_id\",\"channel\",\"status\"}` until the token expires or the \
        user is deleted: `{\"type\":\"auth_expired\"}` (the socket stays, anonymous). A malformed or \
        unknown-symbol subscribe/unsubscribe/auth → `{\"type\":\"error\",\"detail\"}`; the socket stays open. \
        Beyond the WebSocket connection limits (in all, per client address) the socket is closed with 1013.",
    params(("symbols" = Option<String>, Query, description = "Comma-separated symbols to watch, or `*` (default: all)")),
    responses((status = 101, description = "Switching to the WebSocket protocol"),
              (status = 400, description = "Not a WebSocket upgrade request, or an unknown symbol in `symbols`"),
              (status = 426, description = "The connection cannot be upgraded")))]
pub async fn upgrade(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    extensions: Extensions,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let selection = selection(&state, query.as_deref())?;
    // Known to the server loop; absent only when the router is driven without it (tests).
    let peer = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip());
    let opening = Opening {
        selection,
        token: live::token_from_protocols(&headers),
        slot: state.socket_limits.try_take(peer),
    };
    Ok(ws
        .protocols([BEARER_PROTOCOL])
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES)
        .max_write_buffer_size(MAX_WRITE_BUFFER_BYTES)
        .max_message_size(MAX_CLIENT_MESSAGE_BYTES)
        .max_frame_size(MAX_CLIENT_MESSAGE_BYTES)
        .on_upgrade(move |socket| live::run(state, socket, opening)))
}

/// `?symbols=BTC,ETH` or `?symbols=*`; every symbol without it.
fn selection(state: &AppState, query: Option<&str>) -> Result<Selection, ApiError> {
    let pairs: Vec<(String, String)> = query
        .map(serde_urlencoded::from_str)
        .transpose()
        .map_err(|_| ApiError::BadRequest("malformed query string".to_owned()))?
        .unwrap_or_default();
    let Some((_, symbols)) = pairs.iter().find(|(key, _)| key == "symbols") else {
        return Ok(Selection::Everything);
    };
    if symbols.trim() == "*" {
        return Ok(Selection::Everything);
    }
    let names = symbols.split(',').map(str::trim).filter(|s| !s.is_empty());
    match live::symbols(names, &state.catalogue) {
        Ok(symbols) if !symbols.is_empty() => Ok(Selection::Symbols(symbols)),
        Ok(_) => Err(ApiError::BadRequest(
            "symbols must be * or a comma-separated list of symbols".to_owned(),
        )),
        Err(detail) => Err(ApiError::BadRequest(detail)),
    }
}
