//! An HTTP server on loopback standing in for a chat service (Telegram's Bot API, a Slack or
//! Discord webhook, an ntfy server): it records every request and answers from a script of
//! the services' documented answers (shared/fixtures/services, statuses and headers as its
//! README gives them).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;

use super::twilio::fixture;

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Reply {
    /// This status, these headers, this body.
    Answer {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: String,
    },
    /// Take the request and never answer (the sender is cut off mid-send).
    Hang,
}

impl Reply {
    /// `services/<name>` as the body, with `content_type`.
    pub fn fixture(status: u16, name: &str, content_type: &str) -> Reply {
        Reply::Answer {
            status,
            headers: vec![("content-type", content_type.to_owned())],
            body: fixture(&format!("services/{name}")),
        }
    }

    /// The same answer with one more header.
    pub fn with_header(mut self, name: &'static str, value: &str) -> Reply {
        if let Reply::Answer { headers, .. } = &mut self {
            headers.push((name, value.to_owned()));
        }
        self
    }

    /// The same answer with `from` replaced by `to` in its body (a documented example
    /// value, such as a 65 s wait, changed to one a test can wait for).
    pub fn replacing(mut self, from: &str, to: &str) -> Reply {
        if let Reply::Answer { body, .. } = &mut self {
            assert!(body.contains(from), "{from} is not in the fixture");
            *body = body.replace(from, to);
        }
        self
    }
}

/// A request as received, and when.
#[derive(Debug, Clone)]
pub struct ServiceRequest {
    pub method: Method,
    pub path: String,
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub at: Instant,
}

impl ServiceRequest {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    /// The JSON body's keys, sorted.
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self
            .json()
            .as_object()
            .expect("a JSON object")
            .keys()
            .cloned()
            .collect();
        keys.sort();
        keys
    }
}

#[derive(Clone)]
struct State {
    requests: Arc<Mutex<Vec<ServiceRequest>>>,
    script: Arc<Mutex<VecDeque<Reply>>>,
    /// Answered once the script is used up.
    otherwise: Reply,
}

pub struct FakeChatService {
    /// `http://127.0.0.1:<port>`, no trailing slash.
    pub base: String,
    state: State,
}

impl FakeChatService {
    pub async fn start(script: Vec<Reply>, otherwise: Reply) -> FakeChatService {
        let state = State {
            requests: Arc::default(),
            script: Arc::new(Mutex::new(script.into())),
            otherwise,
        };
        let app = Router::new().fallback({
            let state = state.clone();
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let state = state.clone();
                async move { answer(state, method, uri, headers, body).await }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake chat service");
        let port = listener.local_addr().expect("address").port();
        tokio::spawn(async move { axum::serve(listener, app).await });
        FakeChatService {
            base: format!("http://127.0.0.1:{port}"),
            state,
        }
    }

    pub fn requests(&self) -> Vec<ServiceRequest> {
        self.state.requests.lock().expect("lock").clone()
    }

    /// Requests whose body mentions `text` (e.g. `alert 41`).
    pub fn requests_mentioning(&self, text: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| String::from_utf8_lossy(&r.body).contains(text))
            .count()
    }
}

async fn answer(
    state: State,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    state.requests.lock().expect("lock").push(ServiceRequest {
        method,
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        headers,
        body: body.to_vec(),
        at: Instant::now(),
    });
    let reply = state
        .script
        .lock()
        .expect("lock")
        .pop_front()
        .unwrap_or_else(|| state.otherwise.clone());
    match reply {
        Reply::Hang => std::future::pending().await,
        Reply::Answer {
            status,
            headers,
            body,
        } => {
            let mut response =
                (StatusCode::from_u16(status).expect("status"), body).into_response();
            for (name, value) in headers {
                response.headers_mut().insert(
                    HeaderName::from_static(name),
                    HeaderValue::from_str(&value).expect("header value"),
                );
            }
            response
        }
    }
}
