//! An HTTP server on loopback standing in for Twilio's Messages API. It records every
//! request and answers from a script of recorded Twilio responses (shared/fixtures).

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;

pub const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
pub const AUTH_TOKEN: &str = "test-auth-token";
pub const FROM_NUMBER: &str = "+14155552345";

/// Where the recorded provider payloads live: `PRICEALERT_FIXTURES_DIR`, else `shared/fixtures`
/// beside the repository (as in CI's checkout).
pub fn fixtures_dir() -> PathBuf {
    std::env::var_os("PRICEALERT_FIXTURES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures"))
}

pub fn fixture(name: &str) -> String {
    let path = fixtures_dir().join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("read fixture {}: {e}", path.display()))
}

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Reply {
    /// This status with this JSON body.
    Json(u16, String),
    /// Never answer (the client times out).
    Hang,
}

impl Reply {
    pub fn fixture(status: u16, name: &str) -> Reply {
        Reply::Json(status, fixture(name))
    }

    pub fn created() -> Reply {
        Reply::fixture(201, "twilio_messages_create_201.json")
    }
}

/// A request as received.
#[derive(Debug, Clone)]
pub struct TwilioRequest {
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl TwilioRequest {
    pub fn form(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(&self.body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    pub fn field(&self, name: &str) -> Option<String> {
        self.form()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }
}

#[derive(Clone, Default)]
struct State {
    requests: Arc<Mutex<Vec<TwilioRequest>>>,
    script: Arc<Mutex<VecDeque<Reply>>>,
}

pub struct FakeTwilio {
    pub base_url: String,
    state: State,
}

impl FakeTwilio {
    /// Answers `script` in order, then 201 Created to everything.
    pub async fn start(script: Vec<Reply>) -> FakeTwilio {
        let state = State {
            requests: Arc::default(),
            script: Arc::new(Mutex::new(script.into())),
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
            .expect("bind the fake Twilio");
        let port = listener.local_addr().expect("address").port();
        tokio::spawn(async move { axum::serve(listener, app).await });
        FakeTwilio {
            base_url: format!("http://127.0.0.1:{port}"),
            state,
        }
    }

    pub fn requests(&self) -> Vec<TwilioRequest> {
        self.state.requests.lock().expect("lock").clone()
    }

    /// Requests whose body mentions `text` (e.g. an alert id).
    pub fn requests_mentioning(&self, text: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.field("Body").is_some_and(|b| b.contains(text)))
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
    state.requests.lock().expect("lock").push(TwilioRequest {
        method,
        path: uri.path().to_owned(),
        headers,
        body: body.to_vec(),
    });
    let reply = state
        .script
        .lock()
        .expect("lock")
        .pop_front()
        .unwrap_or_else(Reply::created);
    match reply {
        Reply::Json(status, body) => (
            StatusCode::from_u16(status).expect("valid status"),
            [("content-type", "application/json")],
            body,
        )
            .into_response(),
        Reply::Hang => std::future::pending().await,
    }
}

/// Settings pointing SMS at this server.
pub fn with_twilio(
    mut settings: shared::config::Settings,
    twilio: &FakeTwilio,
) -> shared::config::Settings {
    let sms = &mut settings.notifier.twilio;
    sms.account_sid = Some(ACCOUNT_SID.to_owned());
    sms.auth_token = Some(AUTH_TOKEN.to_owned().into());
    sms.phone_number = Some(FROM_NUMBER.parse().expect("a valid sender number"));
    sms.base_url = twilio.base_url.clone();
    settings
}
