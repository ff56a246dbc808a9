//! A private certificate authority for the test relays, and an implicit-TLS front: TLS from
//! the first byte on its own port, relayed in the clear to an SMTP server behind it (as
//! stunnel or a TLS-terminating proxy does in front of a real relay).

use std::path::PathBuf;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, SanType};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use testkit::TempDir;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

/// An authority and one server certificate it signed for `127.0.0.1`, as PEM files.
pub struct TestAuthority {
    pub ca_file: PathBuf,
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    cert_der: CertificateDer<'static>,
    key_der: Vec<u8>,
    _dir: TempDir,
}

impl TestAuthority {
    pub fn new() -> TestAuthority {
        let ca_key = KeyPair::generate().expect("a CA key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "pricealert test authority");
        let ca_cert = ca_params.self_signed(&ca_key).expect("a CA certificate");

        let server_key = KeyPair::generate().expect("a server key");
        let mut server_params = CertificateParams::new(Vec::<String>::new()).expect("params");
        server_params.subject_alt_names = vec![SanType::IpAddress([127, 0, 0, 1].into())];
        let issuer = Issuer::new(ca_params, ca_key);
        let server_cert = server_params
            .signed_by(&server_key, &issuer)
            .expect("a server certificate");

        let dir = TempDir::new("pa-smtp-tls");
        let ca_file = dir.0.join("ca.pem");
        let cert_file = dir.0.join("server.pem");
        let key_file = dir.0.join("server.key");
        std::fs::write(&ca_file, ca_cert.pem()).expect("write the CA");
        std::fs::write(&cert_file, server_cert.pem()).expect("write the certificate");
        std::fs::write(&key_file, server_key.serialize_pem()).expect("write the key");
        TestAuthority {
            ca_file,
            cert_file,
            key_file,
            cert_der: server_cert.der().clone(),
            key_der: server_key.serialize_der(),
            _dir: dir,
        }
    }

    /// Listens on a fresh loopback port, speaks TLS with this authority's server certificate
    /// and relays the decrypted bytes to `backend_port`.
    pub async fn implicit_tls_front(&self, backend_port: u16) -> u16 {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_der.clone()));
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(vec![self.cert_der.clone()], key)
            .expect("a server TLS configuration");
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("local address").port();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(client).await else {
                        return;
                    };
                    let Ok(mut backend) = TcpStream::connect(("127.0.0.1", backend_port)).await
                    else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut backend).await;
                });
            }
        });
        port
    }
}
