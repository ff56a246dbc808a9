//! A private certificate authority for tests of our TLS clients (the SMTP relay, Binance), and
//! a TLS-terminating front: TLS from the first byte on a port of its own, relayed in the clear
//! to a plain server behind it, as stunnel or a TLS-terminating proxy does.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, SanType};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

use crate::TempDir;

/// An authority and one server certificate it signed, as PEM files (for servers that read
/// files) and as a rustls acceptor (for servers in the test's process).
pub struct TestAuthority {
    pub ca_file: PathBuf,
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    acceptor: TlsAcceptor,
    _dir: TempDir,
}

impl TestAuthority {
    /// The server certificate names `names`: IP addresses (`127.0.0.1`) or DNS names
    /// (`localhost`).
    pub fn new(names: &[&str]) -> TestAuthority {
        let ca_key = KeyPair::generate().expect("a CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "pricealert test authority");
        let ca_cert = ca_params.self_signed(&ca_key).expect("a CA certificate");

        let server_key = KeyPair::generate().expect("a server key");
        let mut server_params = CertificateParams::new(Vec::<String>::new()).expect("params");
        server_params.subject_alt_names = names
            .iter()
            .map(|name| match name.parse::<IpAddr>() {
                Ok(ip) => SanType::IpAddress(ip),
                Err(_) => SanType::DnsName((*name).try_into().expect("a DNS name")),
            })
            .collect();
        let server_cert = server_params
            .signed_by(&server_key, &Issuer::new(ca_params, ca_key))
            .expect("a server certificate");

        let dir = TempDir::new("pa-test-authority");
        let ca_file = dir.0.join("ca.pem");
        let cert_file = dir.0.join("server.pem");
        let key_file = dir.0.join("server.key");
        std::fs::write(&ca_file, ca_cert.pem()).expect("write the CA");
        std::fs::write(&cert_file, server_cert.pem()).expect("write the certificate");
        std::fs::write(&key_file, server_key.serialize_pem()).expect("write the key");

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
        let chain: Vec<CertificateDer<'static>> = vec![server_cert.der().clone()];
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .expect("a server TLS configuration");
        TestAuthority {
            ca_file,
            cert_file,
            key_file,
            acceptor: TlsAcceptor::from(Arc::new(config)),
            _dir: dir,
        }
    }

    /// Accepts TLS with the server certificate.
    pub fn acceptor(&self) -> TlsAcceptor {
        self.acceptor.clone()
    }

    /// Listens on a fresh loopback port, speaks TLS with the server certificate and relays
    /// the decrypted bytes to `backend` (`host:port`); returns the port.
    pub async fn tls_front(&self, backend: &str) -> u16 {
        let acceptor = self.acceptor();
        let backend = backend.to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("local address").port();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (acceptor, backend) = (acceptor.clone(), backend.clone());
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(client).await else {
                        return;
                    };
                    let Ok(mut plain) = TcpStream::connect(backend.as_str()).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                });
            }
        });
        port
    }
}
