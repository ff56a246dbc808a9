//! A local stand-in for CoinGecko and Yahoo Finance on loopback: scripted answers per endpoint
//! (one-shot answers first, then a default), and a log of every request with its arrival time.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Router;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// One scripted answer.
#[derive(Debug, Clone)]
pub struct Canned {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub delay: Duration,
}

impl Canned {
    pub fn json(body: impl Into<String>) -> Canned {
        Canned {
            status: 200,
            headers: vec![("content-type".to_owned(), "application/json".to_owned())],
            body: body.into(),
            delay: Duration::ZERO,
        }
    }

    pub fn status(status: u16, body: impl Into<String>) -> Canned {
        Canned {
            status,
            ..Canned::json(body)
        }
    }

    pub fn html(body: impl Into<String>) -> Canned {
        Canned {
            headers: vec![("content-type".to_owned(), "text/html".to_owned())],
            ..Canned::json(body)
        }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Canned {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn delayed(mut self, delay: Duration) -> Canned {
        self.delay = delay;
        self
    }
}

/// One-shot answers in order, then `then` forever.
struct Script {
    queue: VecDeque<Canned>,
    then: Canned,
}

impl Script {
    fn next(&mut self) -> Canned {
        self.queue.pop_front().unwrap_or_else(|| self.then.clone())
    }
}

/// A request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// `coingecko` or `yahoo`.
    pub provider: &'static str,
    /// The decoded Yahoo ticker (`^NSEI`), or `market_chart:{id}` for a CoinGecko history call.
    pub ticker: Option<String>,
    pub query: HashMap<String, String>,
    pub headers: HeaderMap,
    pub at: Instant,
}

#[derive(Default)]
struct FakeState {
    coingecko: Mutex<Option<Script>>,
    yahoo: Mutex<HashMap<String, Script>>,
    requests: Mutex<Vec<Recorded>>,
    yahoo_in_flight: Mutex<(usize, usize)>,
}

pub struct FakeProviders {
    pub base_url: String,
    state: Arc<FakeState>,
    stop: CancellationToken,
}

impl Drop for FakeProviders {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl FakeProviders {
    pub async fn start() -> FakeProviders {
        let state = Arc::new(FakeState::default());
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("bind the fake providers");
        let port = listener.local_addr().expect("local addr").port();
        let app = Router::new().fallback(answer).with_state(state.clone());
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move { stopped.cancelled().await })
                .await
                .expect("fake providers serve");
        });
        FakeProviders {
            base_url: format!("http://127.0.0.1:{port}"),
            state,
            stop,
        }
    }

    /// CoinGecko answers `first` in order, then `then` forever.
    pub fn script_coingecko(&self, first: Vec<Canned>, then: Canned) {
        *lock(&self.state.coingecko) = Some(Script {
            queue: first.into(),
            then,
        });
    }

    /// Yahoo answers for `ticker`: `first` in order, then `then` forever. Unscripted tickers
    /// get Yahoo's 404 "No data found".
    pub fn script_yahoo(&self, ticker: &str, first: Vec<Canned>, then: Canned) {
        lock(&self.state.yahoo).insert(
            ticker.to_owned(),
            Script {
                queue: first.into(),
                then,
            },
        );
    }

    /// CoinGecko's `/coins/{id}/market_chart` answers `then` for coin `id`.
    pub fn script_market_chart(&self, id: &str, then: Canned) {
        self.script_yahoo(&market_chart_key(id), vec![], then);
    }

    pub fn requests(&self, provider: &str) -> Vec<Recorded> {
        lock(&self.state.requests)
            .iter()
            .filter(|r| r.provider == provider)
            .cloned()
            .collect()
    }

    /// The most Yahoo requests the fake was answering at once.
    pub fn max_yahoo_in_flight(&self) -> usize {
        lock(&self.state.yahoo_in_flight).1
    }
}

async fn answer(State(state): State<Arc<FakeState>>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    let query: HashMap<String, String> = request
        .uri()
        .query()
        .map(|q| {
            q.split('&')
                .filter_map(|pair| pair.split_once('='))
                .map(|(k, v)| (percent_decode(k), percent_decode(v)))
                .collect()
        })
        .unwrap_or_default();
    let (provider, ticker) = if path == "/api/v3/simple/price" {
        ("coingecko", None)
    } else if let Some(encoded) = path.strip_prefix("/v8/finance/chart/") {
        ("yahoo", Some(percent_decode(encoded)))
    } else if let Some(id) = path
        .strip_prefix("/api/v3/coins/")
        .and_then(|rest| rest.strip_suffix("/market_chart"))
    {
        ("coingecko", Some(market_chart_key(id)))
    } else {
        return plain(404, "unknown endpoint");
    };
    lock(&state.requests).push(Recorded {
        provider,
        ticker: ticker.clone(),
        query,
        headers: request.headers().clone(),
        at: Instant::now(),
    });
    let canned = match &ticker {
        None => lock(&state.coingecko).as_mut().map(Script::next),
        Some(ticker) => lock(&state.yahoo).get_mut(ticker).map(Script::next),
    };
    let canned = canned.unwrap_or_else(|| {
        Canned::status(
            404,
            r#"{"chart":{"result":null,"error":{"code":"Not Found","description":"No data found, symbol may be delisted"}}}"#,
        )
    });
    if provider == "yahoo" {
        let mut in_flight = lock(&state.yahoo_in_flight);
        in_flight.0 += 1;
        in_flight.1 = in_flight.1.max(in_flight.0);
    }
    tokio::time::sleep(canned.delay).await;
    if provider == "yahoo" {
        lock(&state.yahoo_in_flight).0 -= 1;
    }
    let mut response = Response::builder().status(canned.status);
    for (name, value) in &canned.headers {
        response = response.header(name, value);
    }
    response
        .body(Body::from(canned.body))
        .expect("valid canned response")
}

/// Where a coin's `market_chart` script is kept (with Yahoo's, by a key no ticker has).
fn market_chart_key(id: &str) -> String {
    format!("market_chart:{id}")
}

fn plain(status: u16, body: &'static str) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = StatusCode::from_u16(status).expect("status");
    response
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(byte) => {
                        out.push(byte);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
