//! HTTP/1.1 by hand over a socket bound to a chosen loopback address, for clients no HTTP
//! library would be: slow uploads, half-sent headers, greedy connections.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// Longest a test waits for the gateway to answer or close.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// A connection to the gateway on `port` from `127.0.0.<host>`.
pub async fn connect_from(host: u8, port: u16) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::from((Ipv4Addr::new(127, 0, 0, host), 0)))
        .expect("bind a loopback source address");
    socket
        .connect(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
        .await
        .expect("connect to the gateway")
}

/// Starts `POST path` announcing a `length`-byte form body with `Expect: 100-continue`, waits
/// for the gateway's `100 Continue` (it is reading the body now), sends one byte and stalls:
/// the slow upload of the attack, holding whatever the gateway holds while a body arrives.
pub async fn start_slow_upload(host: u8, port: u16, path: &str, length: usize) -> TcpStream {
    let (stream, interim) = try_slow_upload(host, port, path, length).await;
    assert!(
        interim.starts_with("HTTP/1.1 100"),
        "expected 100 Continue, got: {interim}"
    );
    stream
}

/// [`start_slow_upload`], also when the gateway answers something else than `100 Continue`
/// (a refusal): the connection and that answer's head.
pub async fn try_slow_upload(
    host: u8,
    port: u16,
    path: &str,
    length: usize,
) -> (TcpStream, String) {
    let mut stream = connect_from(host, port).await;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {length}\r\n\
         Expect: 100-continue\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.expect("send head");
    let interim = read_head(&mut stream).await;
    if interim.starts_with("HTTP/1.1 100") {
        stream.write_all(b"u").await.expect("send a body byte");
    }
    (stream, interim)
}

/// Reads up to the end of a response head (`\r\n\r\n`), or what came before the connection
/// closed; empty when it closed at once.
pub async fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    let read = async {
        while !head.ends_with(b"\r\n\r\n") {
            match stream.read(&mut byte).await {
                Ok(0) | Err(_) => break,
                Ok(_) => head.push(byte[0]),
            }
        }
    };
    tokio::time::timeout(PATIENCE, read)
        .await
        .expect("the gateway answers or closes in time");
    String::from_utf8_lossy(&head).into_owned()
}

/// Reads one whole response whose body has a `content-length`: (status line, JSON body).
pub async fn read_json_response(stream: &mut TcpStream) -> (String, Value) {
    let head = read_head(stream).await;
    let status = head.lines().next().unwrap_or_default().to_owned();
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())?
        })
        .unwrap_or_else(|| panic!("no content-length in: {head}"));
    let mut body = vec![0u8; length];
    tokio::time::timeout(PATIENCE, stream.read_exact(&mut body))
        .await
        .expect("the body arrives in time")
        .expect("read the body");
    let json = serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("{status}: body is not JSON ({e}): {body:?}"));
    (status, json)
}

/// Sends a whole request (`head` without its final blank line) and reads its JSON answer.
pub async fn request(stream: &mut TcpStream, head: &str) -> (String, Value) {
    stream
        .write_all(format!("{head}\r\n\r\n").as_bytes())
        .await
        .expect("send request");
    read_json_response(stream).await
}
