//! A real SMTP server on loopback (mailin-embedded) that keeps every message it accepts.

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use mailin_embedded::response::{AUTH_OK, INVALID_CREDENTIALS, NO_MAILBOX, OK};
use mailin_embedded::{AuthMechanism, Handler, Response, Server, SslConfig};

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

/// The only account a server with AUTH accepts.
pub const SMTP_USER: &str = "mailer";
pub const SMTP_PASSWORD: &str = "relay secret";

/// How a server secures its sessions. mailin offers AUTH only once STARTTLS is active and then
/// refuses mail from a session that has not authenticated.
#[derive(Default)]
pub struct Security {
    /// Offer STARTTLS with this certificate and key (PEM files).
    pub starttls: Option<(PathBuf, PathBuf)>,
    /// Require AUTH with these mechanisms.
    pub auth: Vec<AuthMechanism>,
}

/// One AUTH exchange as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    pub mechanism: &'static str,
    pub user: String,
    pub accepted: bool,
}

#[derive(Clone)]
struct Collector {
    inbox: Arc<Mutex<Vec<ReceivedMail>>>,
    logins: Arc<Mutex<Vec<Login>>>,
    from: String,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Collector {
    fn login(&mut self, mechanism: &'static str, user: &str, password: &str) -> Response {
        let accepted = user == SMTP_USER && password == SMTP_PASSWORD;
        self.logins.lock().expect("logins lock").push(Login {
            mechanism,
            user: user.to_owned(),
            accepted,
        });
        if accepted {
            AUTH_OK
        } else {
            INVALID_CREDENTIALS
        }
    }
}

impl Handler for Collector {
    fn auth_plain(&mut self, _authz: &str, user: &str, password: &str) -> Response {
        self.login("PLAIN", user, password)
    }

    fn auth_login(&mut self, user: &str, password: &str) -> Response {
        self.login("LOGIN", user, password)
    }

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
    logins: Arc<Mutex<Vec<Login>>>,
    listener: Option<TcpListener>,
}

impl SmtpServer {
    /// A server answering on a fresh loopback port.
    pub fn start() -> SmtpServer {
        SmtpServer::start_secured(Security::default())
    }

    /// A server with STARTTLS and/or AUTH on a fresh loopback port.
    pub fn start_secured(security: Security) -> SmtpServer {
        let mut server = SmtpServer::down();
        server.come_up_secured(security);
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
            logins: Arc::new(Mutex::new(Vec::new())),
            listener: Some(listener),
        }
    }

    /// Starts serving on the reserved port.
    pub fn come_up(&mut self) {
        self.come_up_secured(Security::default());
    }

    fn come_up_secured(&mut self, security: Security) {
        let listener = self.listener.take().expect("the server is not up yet");
        let ssl = match security.starttls {
            Some((cert, key)) => SslConfig::SelfSigned {
                cert_path: cert.display().to_string(),
                key_path: key.display().to_string(),
            },
            None => SslConfig::None,
        };
        let handler = Collector {
            inbox: Arc::clone(&self.inbox),
            logins: Arc::clone(&self.logins),
            from: String::new(),
            to: Vec::new(),
            data: Vec::new(),
        };
        // The server blocks its thread forever; it ends with the test process.
        std::thread::spawn(move || {
            let mut server = Server::new(handler);
            server
                .with_name("smtp.test")
                .with_ssl(ssl)
                .expect("the server's TLS configuration")
                .with_num_threads(4)
                .with_tcp_listener(listener);
            for mechanism in security.auth {
                server.with_auth(mechanism);
            }
            let _ = server.serve();
        });
    }

    pub fn logins(&self) -> Vec<Login> {
        self.logins.lock().expect("logins lock").clone()
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
