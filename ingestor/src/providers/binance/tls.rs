//! Whom Binance's stream and REST API are trusted as: the Mozilla roots, plus the operator's
//! own authority (`BINANCE_CA_FILE`) for a relay or proxy whose certificate a private CA
//! signed. The server's certificate is always verified: there is deliberately no switch to
//! turn verification off.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

use crate::IngestorError;

/// The certificates of `BINANCE_CA_FILE`, read and checked once at startup so that a bad
/// file stops the ingestor with its name rather than failing every connection later.
#[derive(Clone, Debug)]
pub struct ExtraAuthority {
    certificates: Vec<CertificateDer<'static>>,
}

impl ExtraAuthority {
    pub fn read(path: &Path) -> Result<ExtraAuthority, IngestorError> {
        let unusable = |why: String| {
            IngestorError::Config(format!("BINANCE_CA_FILE {}: {why}", path.display()))
        };
        let pem = std::fs::read(path).map_err(|e| unusable(e.to_string()))?;
        let certificates = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| unusable(e.to_string()))?;
        if certificates.is_empty() {
            return Err(unusable("no PEM certificate in it".to_owned()));
        }
        // Both clients accept exactly what rustls accepts as a root; checked here, once.
        let mut roots = rustls::RootCertStore::empty();
        for certificate in &certificates {
            roots
                .add(certificate.clone())
                .map_err(|e| unusable(e.to_string()))?;
        }
        Ok(ExtraAuthority { certificates })
    }
}

/// The stream's TLS configuration: built once per provider, so the extra authority (if any)
/// applies to every reconnect.
pub fn client_config(
    extra: Option<&ExtraAuthority>,
) -> Result<Arc<rustls::ClientConfig>, IngestorError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for certificate in extra.iter().flat_map(|e| &e.certificates) {
        roots
            .add(certificate.clone())
            .map_err(|e| IngestorError::Config(format!("BINANCE_CA_FILE: {e}")))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| IngestorError::Config(format!("Binance TLS: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// `builder` trusting the extra authority too (reqwest keeps its public roots).
pub fn trusting(
    mut builder: reqwest::ClientBuilder,
    extra: Option<&ExtraAuthority>,
) -> Result<reqwest::ClientBuilder, IngestorError> {
    for certificate in extra.iter().flat_map(|e| &e.certificates) {
        let certificate = reqwest::Certificate::from_der(certificate)
            .map_err(|e| IngestorError::Config(format!("BINANCE_CA_FILE: {e}")))?;
        builder = builder.add_root_certificate(certificate);
    }
    Ok(builder)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unusable_ca_file_is_a_configuration_error() {
        let scratch = testkit::TempDir::new("pa-binance-ca");
        let dir = &scratch.0;
        let not_pem = dir.join("not-pem.txt");
        std::fs::write(&not_pem, "not a certificate").expect("write");
        let key_only = dir.join("key.pem");
        std::fs::write(
            &key_only,
            "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n",
        )
        .expect("write");
        for (path, why) in [
            (dir.join("absent.pem"), "No such file"),
            (not_pem, "no PEM certificate"),
            (key_only, "no PEM certificate"),
        ] {
            let error = ExtraAuthority::read(&path)
                .expect_err("refused")
                .to_string();
            assert!(
                error.contains("BINANCE_CA_FILE")
                    && error.contains(&path.display().to_string())
                    && error.contains(why),
                "{error}"
            );
        }
    }
}
