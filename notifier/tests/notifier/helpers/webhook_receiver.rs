//! A webhook receiver on loopback that records every request and answers from a script.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;

#[derive(Debug, Clone)]
pub struct HookRequest {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl HookRequest {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// A scripted answer: status, and the `Location` header for redirects.
type Answer = (u16, Option<String>);

#[derive(Clone, Default)]
struct State {
    requests: Arc<Mutex<Vec<HookRequest>>>,
    /// (status, Location header) answers, then 204 to everything.
    script: Arc<Mutex<VecDeque<Answer>>>,
}

pub struct WebhookReceiver {
    pub url: String,
    state: State,
}

impl WebhookReceiver {
    pub async fn start(script: Vec<Answer>) -> WebhookReceiver {
        let state = State {
            requests: Arc::default(),
            script: Arc::new(Mutex::new(script.into())),
        };
        let app = Router::new().fallback({
            let state = state.clone();
            move |uri: Uri, headers: HeaderMap, body: Bytes| {
                let state = state.clone();
                async move { answer(state, uri, headers, body) }
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the webhook receiver");
        let port = listener.local_addr().expect("address").port();
        tokio::spawn(async move { axum::serve(listener, app).await });
        WebhookReceiver {
            url: format!("http://127.0.0.1:{port}/hooks/pricealert"),
            state,
        }
    }

    pub fn requests(&self) -> Vec<HookRequest> {
        self.state.requests.lock().expect("lock").clone()
    }
}

fn answer(state: State, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    state.requests.lock().expect("lock").push(HookRequest {
        path: uri.path().to_owned(),
        headers,
        body: body.to_vec(),
    });
    let (status, location) = state
        .script
        .lock()
        .expect("lock")
        .pop_front()
        .unwrap_or((204, None));
    let mut response = StatusCode::from_u16(status)
        .expect("status")
        .into_response();
    if let Some(location) = location {
        response
            .headers_mut()
            .insert("location", location.parse().expect("header value"));
    }
    response
}
