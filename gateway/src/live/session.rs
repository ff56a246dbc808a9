//! One socket's task: the snapshot, then whatever its outbox holds, the client's messages,
//! the heartbeat and the end of its token's validity.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures::SinkExt;
use tokio::time::{sleep_until, Instant};

use super::auth::{self, Signed};
use super::limits::{OverLimit, SocketSlot};
use super::outbox::Drained;
use super::protocol::{self, ClientMessage, Selection};
use super::watching::Registration;
use crate::price_view::{self, PriceView};
use crate::state::AppState;

/// What the upgrade request settled before the socket opened.
pub struct Opening {
    pub selection: Selection,
    /// Offered in `Sec-WebSocket-Protocol` after `bearer`.
    pub token: Option<String>,
    pub slot: Result<SocketSlot, OverLimit>,
}

/// RFC 6455 1013: the server is overloaded; the client may reconnect later.
const TRY_AGAIN_LATER: u16 = 1013;

/// The socket went away (or would not take a message): end its task.
struct Gone;

pub async fn run(state: AppState, mut socket: WebSocket, opening: Opening) {
    let _slot = match opening.slot {
        Ok(slot) => slot,
        Err(over) => {
            match over {
                OverLimit::Total => state.live.metrics().refused_over_total.inc(),
                OverLimit::Address => state.live.metrics().refused_over_address.inc(),
            }
            let close = CloseFrame {
                code: TRY_AGAIN_LATER,
                reason: Utf8Bytes::from_static(over.reason()),
            };
            let _ = socket.send(Message::Close(Some(close))).await;
            return;
        }
    };
    state.metrics.active_websockets.inc();
    let _open = GaugeGuard(state.metrics.active_websockets.clone());
    let mut session = Session {
        registration: Registration::new(&state.live, opening.selection),
        state,
        socket,
    };
    let _ = session.serve(opening.token).await;
}

/// Decrements the legacy open-socket gauge however the socket ends.
struct GaugeGuard(prometheus::IntGauge);

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

struct Session {
    state: AppState,
    socket: WebSocket,
    registration: Registration,
}

impl Session {
    async fn serve(&mut self, token: Option<String>) -> Result<(), Gone> {
        if let Some(token) = token {
            // Boxed, like every rare await here: the socket's task stays as small as its loop.
            Box::pin(self.authenticate(&token)).await?;
        }
        // Registered (above) before the snapshot is read, so no tick falls between the two.
        let watched = self.registration.selection().clone();
        if let Some(prices) = Box::pin(snapshot(&self.state, &watched)).await {
            if !prices.is_empty() {
                self.send(protocol::snapshot(&prices)).await?;
            }
        }
        let heartbeat_after = self
            .state
            .settings
            .websocket_heartbeat
            .max(Duration::from_secs(1));
        let idle = sleep_until(Instant::now() + heartbeat_after);
        let expiry = sleep_until(Instant::now());
        tokio::pin!(idle, expiry);
        self.reset_expiry(expiry.as_mut());
        let outbox = std::sync::Arc::clone(&self.registration.outbox);
        let mut drained = Drained::default();
        loop {
            tokio::select! {
                () = outbox.ready() => {
                    outbox.drain(&mut drained);
                    if std::mem::take(&mut drained.revoked) && self.registration.sign_out() {
                        drained.frames.insert(0, protocol::auth_expired());
                    }
                    self.send_all(&mut drained.frames).await?;
                }
                incoming = self.socket.recv() => {
                    let text = match incoming {
                        Some(Ok(Message::Text(text))) => text,
                        Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return Err(Gone),
                        Some(Ok(_)) => {
                            idle.as_mut().reset(Instant::now() + heartbeat_after);
                            continue;
                        }
                    };
                    idle.as_mut().reset(Instant::now() + heartbeat_after);
                    Box::pin(self.answer(&text)).await?;
                    self.reset_expiry(expiry.as_mut());
                }
                () = &mut idle => {
                    idle.as_mut().reset(Instant::now() + heartbeat_after);
                    self.send(protocol::heartbeat()).await?;
                }
                () = &mut expiry, if self.registration.signed().is_some() => {
                    self.registration.sign_out();
                    self.send(protocol::auth_expired()).await?;
                }
            }
        }
    }

    /// Points the expiry timer at the signed-in token's `exp` (it is only armed while
    /// signed in).
    fn reset_expiry(&self, expiry: std::pin::Pin<&mut tokio::time::Sleep>) {
        if let Some(signed) = self.registration.signed() {
            let left = (signed.expires_at - chrono::Utc::now())
                .to_std()
                .unwrap_or(Duration::ZERO);
            expiry.reset(Instant::now() + left);
        }
    }

    async fn answer(&mut self, text: &str) -> Result<(), Gone> {
        match protocol::parse(text, &self.state.catalogue) {
            Ok(ClientMessage::Ping) => self.send(protocol::pong()).await,
            Ok(ClientMessage::Subscribe(selection)) => {
                self.registration.subscribe(selection.clone());
                self.send(protocol::subscribed(self.registration.selection()))
                    .await?;
                let prices = snapshot(&self.state, &selection).await.unwrap_or_default();
                self.send(protocol::snapshot(&prices)).await
            }
            Ok(ClientMessage::Unsubscribe(selection)) => {
                self.registration
                    .unsubscribe(selection, &self.state.catalogue);
                self.send(protocol::subscribed(self.registration.selection()))
                    .await
            }
            Ok(ClientMessage::Auth(token)) => self.authenticate(&token).await,
            Ok(ClientMessage::Ignored) => Ok(()),
            Err(detail) => self.send(protocol::error(&detail)).await,
        }
    }

    /// Signs the socket in; a refused token leaves it as it was and says why.
    async fn authenticate(&mut self, token: &str) -> Result<(), Gone> {
        match auth::sign_in(&self.state, token).await {
            Ok(
                signed @ Signed {
                    user_id,
                    expires_at,
                    ..
                },
            ) => {
                self.registration.sign_in(signed);
                self.send(protocol::authenticated(user_id, expires_at))
                    .await
            }
            Err(detail) => self.send(protocol::error(detail)).await,
        }
    }
}

/// The latest known prices of `selection`; `None` when storage cannot say.
async fn snapshot(state: &AppState, selection: &Selection) -> Option<BTreeMap<String, PriceView>> {
    match state.store.db().latest_prices().await {
        Ok(prices) => {
            let mut prices = price_view::by_symbol(prices);
            if let Selection::Symbols(symbols) = selection {
                prices.retain(|symbol, _| symbols.iter().any(|s| &**s == symbol));
            }
            Some(prices)
        }
        Err(error) => {
            tracing::warn!(%error, "websocket snapshot unavailable");
            None
        }
    }
}

impl Session {
    async fn send(&mut self, frame: Utf8Bytes) -> Result<(), Gone> {
        self.state.live.metrics().messages_sent.inc();
        self.socket
            .send(Message::Text(frame))
            .await
            .map_err(|_| Gone)
    }

    /// Writes `frames` (emptying it) and flushes once: one write for a burst of prices.
    async fn send_all(&mut self, frames: &mut Vec<Utf8Bytes>) -> Result<(), Gone> {
        if frames.is_empty() {
            return Ok(());
        }
        let count = frames.len() as u64;
        for frame in frames.drain(..) {
            self.socket
                .feed(Message::Text(frame))
                .await
                .map_err(|_| Gone)?;
        }
        self.state.live.metrics().messages_sent.inc_by(count);
        self.socket.flush().await.map_err(|_| Gone)
    }
}
