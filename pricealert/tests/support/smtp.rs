//! A minimal SMTP server on loopback that accepts every message and keeps it, so tests can see
//! what the notifier handed over.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

pub struct SmtpSink {
    pub port: u16,
    messages: Arc<Mutex<Vec<Received>>>,
    script: Script,
    task: tokio::task::JoinHandle<()>,
}

/// How the sink answers the end of one message's DATA.
pub enum DataReply {
    /// `250` at once (what it does when nothing is scripted).
    Accept,
    /// Tells the test the message arrived (it is already in [`SmtpSink::received`]), then
    /// waits for the test's go before answering `250`.
    AcceptWhenReleased {
        arrived: tokio::sync::oneshot::Sender<()>,
        release: tokio::sync::oneshot::Receiver<()>,
    },
    /// Never answers (the connection stays open until the client gives up).
    Silence,
}

/// Replies for the next messages, in order.
type Script = Arc<Mutex<VecDeque<DataReply>>>;

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        SmtpSink::start_with(false).await
    }

    /// A sink that acknowledges every TCP segment at once (Linux `TCP_QUICKACK`), so a
    /// client that writes a message in two pieces without `TCP_NODELAY` does not wait for
    /// the kernel's delayed ACK (~40 ms) between them. Real relays delay their ACKs; this one
    /// measures the pipeline without that stall.
    pub async fn start_quick_ack() -> SmtpSink {
        SmtpSink::start_with(true).await
    }

    async fn start_with(quick_ack: bool) -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the SMTP sink");
        let port = listener.local_addr().expect("SMTP sink address").port();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let script: Script = Arc::default();
        let store = messages.clone();
        let replies = script.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, store.clone(), replies.clone(), quick_ack));
            }
        });
        SmtpSink {
            port,
            messages,
            script,
            task,
        }
    }

    /// How to answer the next message not yet scripted (after those already queued).
    pub fn then(&self, reply: DataReply) {
        self.script.lock().expect("script lock").push_back(reply);
    }

    /// Messages received so far (DATA contents).
    pub fn messages(&self) -> Vec<String> {
        self.received().into_iter().map(|m| m.data).collect()
    }

    /// Messages received so far, with when each one was accepted.
    pub fn received(&self) -> Vec<Received> {
        self.messages.lock().expect("messages lock").clone()
    }

    /// How many messages have been accepted so far.
    pub fn count(&self) -> usize {
        self.messages.lock().expect("messages lock").len()
    }
}

/// One accepted message.
#[derive(Debug, Clone)]
pub struct Received {
    /// The DATA contents, lines joined with `\n`.
    pub data: String,
    /// When the final `.` arrived, just before the sink answers 250.
    pub at: Instant,
}

impl Received {
    /// The `Message-ID` header's value (`<...>`), if the message has one.
    pub fn message_id(&self) -> Option<&str> {
        self.data
            .lines()
            .take_while(|line| !line.is_empty())
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.trim()
                    .eq_ignore_ascii_case("message-id")
                    .then_some(value.trim())
            })
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(
    stream: TcpStream,
    store: Arc<Mutex<Vec<Received>>>,
    script: Script,
    quick_ack: bool,
) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    ack_now(&mut lines, quick_ack);
    if write.write_all(b"220 sink ESMTP ready\r\n").await.is_err() {
        return;
    }
    while let Ok(Some(line)) = lines.next_line().await {
        ack_now(&mut lines, quick_ack);
        let verb = line
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n",
            "HELO" | "MAIL" | "RCPT" | "RSET" | "NOOP" => b"250 OK\r\n",
            "DATA" => {
                if write.write_all(b"354 end with .\r\n").await.is_err() {
                    return;
                }
                let mut body = Vec::new();
                while let Ok(Some(data_line)) = lines.next_line().await {
                    ack_now(&mut lines, quick_ack);
                    if data_line == "." {
                        break;
                    }
                    body.push(data_line);
                }
                let received = Received {
                    data: body.join("\n"),
                    at: Instant::now(),
                };
                store.lock().expect("messages lock").push(received);
                let reply = script.lock().expect("script lock").pop_front();
                match reply {
                    None | Some(DataReply::Accept) => {}
                    Some(DataReply::AcceptWhenReleased { arrived, release }) => {
                        let _ = arrived.send(());
                        let _ = release.await;
                    }
                    Some(DataReply::Silence) => {
                        // Hold the connection, answering nothing, until the client leaves.
                        while let Ok(Some(_)) = lines.next_line().await {}
                        return;
                    }
                }
                b"250 OK queued\r\n"
            }
            "QUIT" => {
                let _ = write.write_all(b"221 bye\r\n").await;
                return;
            }
            _ => b"502 not implemented\r\n",
        };
        if write.write_all(reply).await.is_err() {
            return;
        }
    }
}

type Reader = tokio::io::Lines<BufReader<tokio::net::tcp::OwnedReadHalf>>;

/// In quick-ACK mode, asks Linux to acknowledge the next segments at once; Linux leaves the
/// mode on its own, so it is re-armed after every read. Best effort: a failure only slows ACKs.
fn ack_now(lines: &mut Reader, quick_ack: bool) {
    #[cfg(target_os = "linux")]
    if quick_ack {
        let stream: &TcpStream = lines.get_mut().get_ref().as_ref();
        let _ = socket2::SockRef::from(stream).set_tcp_quickack(true);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (lines, quick_ack);
}
