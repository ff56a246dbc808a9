//! A Binance stand-in on loopback speaking the documented protocol: a real WebSocket server
//! at `/stream` that answers SUBSCRIBE (`{"result":null,"id":N}`), streams combined `trade`
//! frames for the subscribed streams only, sends pings and records the pongs, announces
//! `serverShutdown`, and can be killed (connections dropped, new ones refused); and the REST
//! `GET /api/v3/ticker/price?symbols=[...]` with scripted answers (429/418 with `Retry-After`,
//! -1121) and a log of every call. [`BinanceStandIn::start_tls`] serves the stream as
//! `wss://` instead.
//!
//! Frames are the fixtures (`tests/fixtures/binance_*.json`) relabelled per pair, price and
//! time; `frame_template_matches_the_fixture` checks the template against the fixture.

#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::tungstenite::handshake::server::{
    ErrorResponse, Request, Response as WsResponse,
};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

mod rest;

use rest::ticker_price;
pub use rest::RestAnswer;

pub const TRADE_FIXTURE: &str = include_str!("../../fixtures/binance_ws_combined_trade.json");
pub const SHUTDOWN_FIXTURE: &str =
    include_str!("../../fixtures/binance_ws_combined_serverShutdown.json");
pub const SUBSCRIBE_RESPONSE: &str =
    include_str!("../../fixtures/binance_ws_subscribe_response.json");
pub const PRICES_FIXTURE: &str =
    include_str!("../../fixtures/binance_rest_ticker_price_symbols.json");
pub const ERROR_1121: &str =
    include_str!("../../fixtures/binance_rest_error_-1121_invalid_symbol.json");
pub const ERROR_429: &str =
    include_str!("../../fixtures/binance_rest_error_429_-1003_request_weight.json");
pub const ERROR_418: &str =
    include_str!("../../fixtures/binance_rest_error_418_-1003_ip_banned.json");

/// The combined `trade` frame of the fixture, for another pair, price, trade id and time.
pub fn trade_frame(pair: &str, price: &str, trade_id: u64, millis: i64) -> String {
    format!(
        r#"{{"stream":"{}@trade","data":{{"e":"trade","E":{millis},"s":"{pair}","t":{trade_id},"p":"{price}","q":"100","T":{millis},"m":true,"M":true}}}}"#,
        pair.to_ascii_lowercase()
    )
}

#[derive(Clone, Debug)]
enum Command {
    Ping(Vec<u8>),
    Text(String),
    Drop,
}

#[derive(Default)]
struct StandInState {
    ws_down: AtomicBool,
    rest_down: AtomicBool,
    /// Every connection streams `(price, period)` for each subscribed pair while set.
    auto: Mutex<Option<(String, Duration)>>,
    subscriptions: Mutex<Vec<(usize, Vec<String>)>>,
    pongs: Mutex<Vec<Vec<u8>>>,
    connections: AtomicU64,
    open: AtomicU64,
    sent: AtomicU64,
    trade_ids: AtomicU64,
    rest_script: Mutex<VecDeque<RestAnswer>>,
    rest_prices: Mutex<HashMap<String, String>>,
    rest_calls: Mutex<Vec<(Instant, String, u16)>>,
}

pub struct BinanceStandIn {
    pub ws_url: String,
    pub rest_url: String,
    state: Arc<StandInState>,
    commands: broadcast::Sender<Command>,
    stop: CancellationToken,
}

impl Drop for BinanceStandIn {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl BinanceStandIn {
    pub async fn start() -> BinanceStandIn {
        BinanceStandIn::start_with(None).await
    }

    /// The stream behind TLS (`wss://localhost:PORT`), its certificate `acceptor`'s.
    pub async fn start_tls(acceptor: TlsAcceptor) -> BinanceStandIn {
        BinanceStandIn::start_with(Some(acceptor)).await
    }

    async fn start_with(tls: Option<TlsAcceptor>) -> BinanceStandIn {
        let state = Arc::new(StandInState::default());
        let (commands, _) = broadcast::channel(1024);
        let stop = CancellationToken::new();
        let ws = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("bind the stand-in stream");
        let addr = ws.local_addr().expect("addr");
        let ws_url = match tls {
            // The name the certificate is for; it resolves to the loopback bound here.
            Some(_) => format!("wss://localhost:{}", addr.port()),
            None => format!("ws://{addr}"),
        };
        tokio::spawn(accept_loop(
            ws,
            tls,
            state.clone(),
            commands.clone(),
            stop.clone(),
        ));
        let rest = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("bind the stand-in REST API");
        let rest_url = format!("http://{}", rest.local_addr().expect("addr"));
        let app = Router::new()
            .route("/api/v3/ticker/price", get(ticker_price))
            .with_state(state.clone());
        let stopped = stop.clone();
        tokio::spawn(async move {
            axum::serve(rest, app)
                .with_graceful_shutdown(async move { stopped.cancelled().await })
                .await
                .expect("the stand-in REST API serves");
        });
        BinanceStandIn {
            ws_url,
            rest_url,
            state,
            commands,
            stop,
        }
    }

    /// Every connection sends a trade at `price` for each subscribed pair every `period`.
    pub fn stream(&self, price: &str, period: Duration) {
        *lock(&self.state.auto) = Some((price.to_owned(), period));
    }

    /// Connections stay open (and answer pings) but send no trades: a stall.
    pub fn stall(&self) {
        *lock(&self.state.auto) = None;
    }

    /// One frame to every open connection that subscribed to its stream.
    pub fn send_trade(&self, pair: &str, price: &str, millis: i64) {
        let id = self.state.trade_ids.fetch_add(1, Ordering::Relaxed);
        let _ = self
            .commands
            .send(Command::Text(trade_frame(pair, price, id, millis)));
    }

    pub fn send_server_shutdown(&self) {
        let _ = self
            .commands
            .send(Command::Text(SHUTDOWN_FIXTURE.to_owned()));
    }

    pub fn ping(&self, payload: &[u8]) {
        let _ = self.commands.send(Command::Ping(payload.to_vec()));
    }

    /// Drops every connection and refuses new ones; REST answers 503.
    pub fn kill(&self) {
        self.state.ws_down.store(true, Ordering::SeqCst);
        self.state.rest_down.store(true, Ordering::SeqCst);
        let _ = self.commands.send(Command::Drop);
    }

    /// New stream connections are dropped at once; REST still answers.
    pub fn refuse_streams(&self) {
        self.state.ws_down.store(true, Ordering::SeqCst);
    }

    /// Drops every connection without a close frame (the server went away), still accepting.
    pub fn drop_connections(&self) {
        let _ = self.commands.send(Command::Drop);
    }

    pub fn revive(&self) {
        self.state.ws_down.store(false, Ordering::SeqCst);
        self.state.rest_down.store(false, Ordering::SeqCst);
    }

    /// The streams each connection subscribed, in connection order.
    pub fn subscriptions(&self) -> Vec<(usize, Vec<String>)> {
        lock(&self.state.subscriptions).clone()
    }

    pub fn pongs(&self) -> Vec<Vec<u8>> {
        lock(&self.state.pongs).clone()
    }

    pub fn connections(&self) -> u64 {
        self.state.connections.load(Ordering::SeqCst)
    }

    pub fn open_connections(&self) -> u64 {
        self.state.open.load(Ordering::SeqCst)
    }

    /// Trade frames sent so far.
    pub fn sent(&self) -> u64 {
        self.state.sent.load(Ordering::SeqCst)
    }

    pub fn set_rest_price(&self, pair: &str, price: &str) {
        lock(&self.state.rest_prices).insert(pair.to_owned(), price.to_owned());
    }

    /// Answers for the next REST calls, in order; then prices from `set_rest_price`.
    pub fn script_rest(&self, answers: Vec<RestAnswer>) {
        lock(&self.state.rest_script).extend(answers);
    }

    /// (arrival, `symbols` parameter, status answered) of every REST call.
    pub fn rest_calls(&self) -> Vec<(Instant, String, u16)> {
        lock(&self.state.rest_calls).clone()
    }
}

async fn accept_loop(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    state: Arc<StandInState>,
    commands: broadcast::Sender<Command>,
    stop: CancellationToken,
) {
    loop {
        let accepted = tokio::select! {
            _ = stop.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((tcp, _)) = accepted else { continue };
        if state.ws_down.load(Ordering::SeqCst) {
            drop(tcp);
            continue;
        }
        let _ = tcp.set_nodelay(true);
        let index = state.connections.fetch_add(1, Ordering::SeqCst) as usize;
        let (state, commands, stop) = (state.clone(), commands.subscribe(), stop.clone());
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                // A refused handshake ends the connection before any WebSocket is opened.
                Some(tls) => {
                    if let Ok(tls) = tls.accept(tcp).await {
                        serve(tls, index, state, commands, stop).await;
                    }
                }
                None => serve(tcp, index, state, commands, stop).await,
            }
        });
    }
}

async fn serve(
    tcp: impl AsyncRead + AsyncWrite + Unpin,
    index: usize,
    state: Arc<StandInState>,
    mut commands: broadcast::Receiver<Command>,
    stop: CancellationToken,
) {
    // The signature is tungstenite's callback's; its error is the HTTP answer itself.
    #[allow(clippy::result_large_err)]
    let only_stream =
        |request: &Request, response: WsResponse| -> Result<WsResponse, ErrorResponse> {
            if request.uri().path() == "/stream" {
                Ok(response)
            } else {
                let mut refused = ErrorResponse::new(Some("not found".to_owned()));
                *refused.status_mut() = StatusCode::NOT_FOUND;
                Err(refused)
            }
        };
    let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(tcp, only_stream).await else {
        return;
    };
    state.open.fetch_add(1, Ordering::SeqCst);
    let mut subscribed: Vec<String> = Vec::new();
    lock(&state.subscriptions).push((index, Vec::new()));
    let mut ticker = tokio::time::interval(Duration::from_millis(100));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut period = Duration::from_millis(100);
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            message = ws.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    let request: serde_json::Value = serde_json::from_str(text.as_str()).unwrap_or_default();
                    if request["method"] == "SUBSCRIBE" {
                        let params: Vec<String> = serde_json::from_value(request["params"].clone()).unwrap_or_default();
                        subscribed.extend(params.iter().cloned());
                        if let Some(entry) = lock(&state.subscriptions).iter_mut().find(|(i, _)| *i == index) {
                            entry.1.extend(params);
                        }
                        let mut answer: serde_json::Value = serde_json::from_str(SUBSCRIBE_RESPONSE).expect("fixture");
                        answer["id"] = request["id"].clone();
                        if ws.send(Message::text(answer.to_string())).await.is_err() { break; }
                    }
                }
                Some(Ok(Message::Pong(payload))) => lock(&state.pongs).push(payload.to_vec()),
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
            command = commands.recv() => match command {
                Ok(Command::Ping(payload)) => { if ws.send(Message::Ping(payload.into())).await.is_err() { break; } }
                Ok(Command::Text(text)) => {
                    let wanted = text.contains("serverShutdown") || subscribed.iter().any(|s| text.contains(&format!("\"{s}\"")));
                    if wanted && ws.send(Message::text(text)).await.is_err() { break; }
                }
                Ok(Command::Drop) => break,
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => break,
            },
            _ = ticker.tick() => {
                let auto = lock(&state.auto).clone();
                let Some((price, every)) = auto else { continue };
                if every != period {
                    period = every;
                    ticker = tokio::time::interval(every);
                    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
                }
                let millis = chrono::Utc::now().timestamp_millis();
                let mut failed = false;
                for stream in &subscribed {
                    let Some(pair) = stream.strip_suffix("@trade") else { continue };
                    let id = state.trade_ids.fetch_add(1, Ordering::Relaxed);
                    let frame = trade_frame(&pair.to_ascii_uppercase(), &price, id, millis);
                    // Fed without a flush per frame; one flush per round, as a busy server would.
                    if ws.feed(Message::text(frame)).await.is_err() { failed = true; break; }
                    state.sent.fetch_add(1, Ordering::Relaxed);
                }
                if failed || ws.flush().await.is_err() { break; }
            }
        }
    }
    state.open.fetch_sub(1, Ordering::SeqCst);
}

#[test]
fn frame_template_matches_the_fixture() {
    let fixture: serde_json::Value = serde_json::from_str(TRADE_FIXTURE).expect("fixture");
    let built: serde_json::Value =
        serde_json::from_str(&trade_frame("BNBBTC", "0.001", 12345, 1_672_515_782_136))
            .expect("frame");
    assert_eq!(built, fixture);
}
