//! The gateway's accept loop: HTTP/1.1 through hyper with a header read time-out, a global
//! and a per-address limit on open connections, and graceful shutdown.
//!
//! `axum::serve` has none of these knobs (its hyper has no timer, so no header time-out: a
//! trickling header block kept a connection for as long as the client liked). A connection
//! beyond a limit is answered at once, without reading its request, and closed: 503 when the
//! gateway as a whole is full, 429 when its address is.

use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use shared::config::GatewaySettings;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

use crate::overload::PerAddress;
use crate::rejections::{HYPER_MAX_HEADERS, HYPER_MAX_HEAD_BYTES};

/// How long a refused connection is given to take its answer.
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(1);
const ALL_BUSY: &str = "Service temporarily overloaded; retry shortly";
const ADDRESS_BUSY: &str = "Too many open connections from your address";
/// Pause after a failed accept (out of file descriptors, say) before the next.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(50);

/// Serves `app` on `listener` until `shutdown`, then lets open requests finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    settings: &GatewaySettings,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let connections = Arc::new(Semaphore::new(settings.max_connections.max(1)));
    let per_address = PerAddress::new(settings.max_connections_per_address);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(settings.header_read_timeout.max(Duration::from_secs(1)))
        .max_buf_size(HYPER_MAX_HEAD_BYTES)
        .max_headers(HYPER_MAX_HEADERS);
    let tasks = TaskTracker::new();
    loop {
        let (stream, peer) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "could not accept a connection");
                    tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                    continue;
                }
            },
        };
        let Ok(open) = Arc::clone(&connections).try_acquire_owned() else {
            tasks.spawn(refuse(stream, StatusCode::SERVICE_UNAVAILABLE, ALL_BUSY));
            continue;
        };
        let Some(from_address) = per_address.try_take(peer.ip()) else {
            tasks.spawn(refuse(stream, StatusCode::TOO_MANY_REQUESTS, ADDRESS_BUSY));
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = app
            .clone()
            .map_request(move |mut request: Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            });
        let connection = http
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
            .with_upgrades();
        let shutdown = shutdown.clone();
        tasks.spawn(async move {
            let _held = (open, from_address);
            let mut connection = pin!(connection);
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(error) = result {
                        tracing::debug!(%error, %peer, "connection ended with an error");
                    }
                    return;
                }
                () = shutdown.cancelled() => connection.as_mut().graceful_shutdown(),
            }
            let _ = connection.await;
        });
    }
    tasks.close();
    tasks.wait().await;
    Ok(())
}

/// Answers a connection that is over a limit with a JSON `detail`, without reading its
/// request, and closes it (reading what arrived meanwhile, so the close does not reset the
/// connection before the client has read the answer).
async fn refuse(mut stream: TcpStream, status: StatusCode, detail: &'static str) {
    tracing::debug!(peer = ?stream.peer_addr().ok(), %status, "connection refused");
    let answer = raw_response(status, detail);
    let _ = tokio::time::timeout(REFUSAL_TIMEOUT, async {
        stream.write_all(&answer).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 4096];
        while stream.read(&mut sink).await? > 0 {}
        Ok::<(), std::io::Error>(())
    })
    .await;
}

/// A whole HTTP/1.1 answer `{"detail": detail}` that closes the connection.
fn raw_response(status: StatusCode, detail: &str) -> Vec<u8> {
    let body = serde_json::json!({ "detail": detail }).to_string();
    format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         retry-after: 1\r\nconnection: close\r\n\r\n{body}",
        status.as_str(),
        status.canonical_reason().unwrap_or(""),
        body.len()
    )
    .into_bytes()
}
