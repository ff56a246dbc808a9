//! One connection to Binance's combined market stream: connect (`ws://`, or `wss://` with the
//! Mozilla roots and `BINANCE_CA_FILE`'s authority), subscribe every pair, and read frames
//! until the connection ends.
//!
//! Streams are subscribed with SUBSCRIBE messages rather than listed in the URL: 1,000 pairs
//! would make a ~20 kB URL. Binance allows 5 incoming messages a second per connection (pongs
//! included) and 1,024 streams, so SUBSCRIBEs carry 200 streams each, 300 ms apart.

use std::sync::Arc;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;

use crate::IngestorError;

/// Streams per SUBSCRIBE message, and the pause between two of them.
const STREAMS_PER_SUBSCRIBE: usize = 200;
const SUBSCRIBE_SPACING: Duration = Duration::from_millis(300);

pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

pub type Connection = WebSocketStream<Box<dyn Io>>;

/// Opens `{base}/stream` within `timeout`, verifying a `wss://` server against `tls`.
pub async fn connect(
    base: &str,
    tls: &Arc<rustls::ClientConfig>,
    timeout: Duration,
) -> Result<Connection, IngestorError> {
    tokio::time::timeout(timeout, open(base, tls))
        .await
        .map_err(|_| IngestorError::Stream("connecting timed out".to_owned()))?
}

async fn open(base: &str, tls: &Arc<rustls::ClientConfig>) -> Result<Connection, IngestorError> {
    let failed =
        |what: &str, e: &dyn std::fmt::Display| IngestorError::Stream(format!("{what}: {e}"));
    let url = format!("{}/stream", base.trim_end_matches('/'));
    let parsed = url::Url::parse(&url).map_err(|e| failed("bad stream URL", &e))?;
    let host = parsed.host_str().unwrap_or_default().to_owned();
    let port = parsed.port_or_known_default().unwrap_or(443);
    let tcp = TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| failed("connect", &e))?;
    // Frames are small and latency matters more than packet count.
    let _ = tcp.set_nodelay(true);
    let io: Box<dyn Io> = if parsed.scheme() == "wss" {
        let name = rustls::pki_types::ServerName::try_from(host.clone())
            .map_err(|e| failed("bad host name", &e))?;
        let tls = tokio_rustls::TlsConnector::from(tls.clone())
            .connect(name, tcp)
            .await
            .map_err(|e| failed("TLS", &e))?;
        Box::new(tls)
    } else {
        Box::new(tcp)
    };
    let request = url
        .as_str()
        .into_client_request()
        .map_err(|e| failed("bad request", &e))?;
    let (connection, _) = tokio_tungstenite::client_async(request, io)
        .await
        .map_err(|e| failed("handshake", &e))?;
    Ok(connection)
}

/// Sends SUBSCRIBE for `streams` (`btcusdt@trade`, …), paced under Binance's message limit.
pub async fn subscribe(
    connection: &mut Connection,
    streams: &[String],
) -> Result<(), IngestorError> {
    for (index, chunk) in streams.chunks(STREAMS_PER_SUBSCRIBE).enumerate() {
        if index > 0 {
            tokio::time::sleep(SUBSCRIBE_SPACING).await;
        }
        let request = serde_json::json!({
            "method": "SUBSCRIBE",
            "params": chunk,
            "id": index + 1,
        });
        connection
            .send(Message::text(request.to_string()))
            .await
            .map_err(|e| IngestorError::Stream(format!("subscribe: {e}")))?;
    }
    Ok(())
}

/// The next text frame; `Ok(None)` when the server closed the connection. Pings are answered
/// by the library as frames are read (the pong carries the ping's payload, as Binance asks).
pub async fn next_text(connection: &mut Connection) -> Result<Option<Utf8Bytes>, IngestorError> {
    loop {
        match connection.next().await {
            None | Some(Ok(Message::Close(_))) => return Ok(None),
            Some(Ok(Message::Text(text))) => return Ok(Some(text)),
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(IngestorError::Stream(e.to_string())),
        }
    }
}
