//! A webhook receiver on loopback that answers 204 and records the event header of every
//! request, so tests can count what each event delivered.

use std::sync::{Arc, Mutex};

use axum::http::HeaderMap;
use axum::Router;

pub struct WebhookReceiver {
    pub url: String,
    events: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl WebhookReceiver {
    pub async fn start() -> WebhookReceiver {
        let events: Arc<Mutex<Vec<String>>> = Arc::default();
        let recorded = events.clone();
        let app = Router::new().fallback(move |headers: HeaderMap| {
            let recorded = recorded.clone();
            async move {
                let event = headers
                    .get("x-pricealert-event")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                recorded.lock().expect("events lock").push(event);
                axum::http::StatusCode::NO_CONTENT
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the webhook receiver");
        let port = listener.local_addr().expect("address").port();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        WebhookReceiver {
            url: format!("http://127.0.0.1:{port}/hooks/pricealert"),
            events,
            task,
        }
    }

    /// The `X-Pricealert-Event` header of every request so far.
    pub fn events(&self) -> Vec<String> {
        self.events.lock().expect("events lock").clone()
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}
