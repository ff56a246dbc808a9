//! A real SMTP server on loopback (mailin-embedded) that keeps every message it accepts.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use mailin_embedded::response::{NO_MAILBOX, OK};
use mailin_embedded::{Handler, Response, Server, SslConfig};

/// A message as the server received it.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    pub envelope_from: String,
    pub envelope_to: Vec<String>,
    pub raw: Vec<u8>,
}

impl ReceivedMail {
    pub fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(&self.raw)
            .expect("a parseable RFC 5322 message")
    }

    pub fn message_id(&self) -> String {
        self.parsed()
            .message_id()
            .expect("a Message-ID header")
            .to_owned()
    }
}

/// Rejects this recipient with `550 Mailbox unavailable`.
pub const BOUNCING_ADDRESS: &str = "bounce@example.com";

#[derive(Clone)]
struct Collector {
    inbox: Arc<Mutex<Vec<ReceivedMail>>>,
    from: String,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Handler for Collector {
    fn rcpt(&mut self, to: &str) -> Response {
        if to.eq_ignore_ascii_case(BOUNCING_ADDRESS) {
            NO_MAILBOX
        } else {
            OK
        }
    }

    fn data_start(&mut self, _domain: &str, from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.from = from.to_owned();
        self.to = to.to_vec();
        self.data.clear();
        OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        self.inbox.lock().expect("inbox lock").push(ReceivedMail {
            envelope_from: std::mem::take(&mut self.from),
            envelope_to: std::mem::take(&mut self.to),
            raw: std::mem::take(&mut self.data),
        });
        OK
    }
}

pub struct SmtpServer {
    pub port: u16,
    inbox: Arc<Mutex<Vec<ReceivedMail>>>,
    listener: Option<TcpListener>,
}

impl SmtpServer {
    /// A server answering on a fresh loopback port.
    pub fn start() -> SmtpServer {
        let mut server = SmtpServer::down();
        server.come_up();
        server
    }

    /// The port is taken but nobody speaks SMTP on it yet: connections are accepted by the
    /// kernel and never greeted, like a hung relay.
    pub fn down() -> SmtpServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let port = listener.local_addr().expect("local address").port();
        SmtpServer {
            port,
            inbox: Arc::new(Mutex::new(Vec::new())),
            listener: Some(listener),
        }
    }

    /// Starts serving on the reserved port.
    pub fn come_up(&mut self) {
        let listener = self.listener.take().expect("the server is not up yet");
        let handler = Collector {
            inbox: Arc::clone(&self.inbox),
            from: String::new(),
            to: Vec::new(),
            data: Vec::new(),
        };
        // The server blocks its thread forever; it ends with the test process.
        std::thread::spawn(move || {
            let mut server = Server::new(handler);
            server
                .with_name("smtp.test")
                .with_ssl(SslConfig::None)
                .expect("plain SMTP")
                .with_num_threads(4)
                .with_tcp_listener(listener);
            let _ = server.serve();
        });
    }

    pub fn messages(&self) -> Vec<ReceivedMail> {
        self.inbox.lock().expect("inbox lock").clone()
    }

    /// How many received messages carry this Message-ID (without angle brackets).
    pub fn count_with_message_id(&self, message_id: &str) -> usize {
        self.messages()
            .iter()
            .filter(|m| m.message_id() == message_id)
            .count()
    }
}
