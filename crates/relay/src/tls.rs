//! TLS set-up with rustls and its `ring` provider: the relay's server configuration from PEM
//! files, and the tunnel client's configuration from a trust choice.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore, ServerConfig};

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read or holds nothing usable.
    #[error("the TLS {what} file {} could not be used: {problem}", path.display())]
    File {
        /// "certificate" or "key".
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What went wrong.
        problem: String,
    },
    /// rustls refused the configuration (e.g. the key does not match the certificate).
    #[error("the TLS configuration is not valid: {0}")]
    Rustls(#[from] rustls::Error),
    /// A trusted certificate could not be added.
    #[error("a trusted certificate is not valid: {0}")]
    Trust(String),
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The relay's TLS configuration: the certificate chain (leaf first) and private key from PEM
/// files. HTTP/1.1 only.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let file_error = |what: &'static str, path: &Path, problem: String| TlsError::File {
        what,
        path: path.to_owned(),
        problem,
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|error| file_error("certificate", cert, error.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| file_error("certificate", cert, error.to_string()))?;
    if chain.is_empty() {
        return Err(file_error(
            "certificate",
            cert,
            "it holds no CERTIFICATE block".to_owned(),
        ));
    }
    let key_der = PrivateKeyDer::from_pem_file(key)
        .map_err(|error| file_error("key", key, error.to_string()))?;
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Which certificates the tunnel client trusts.
#[derive(Debug, Clone, Default)]
pub enum Trust {
    /// The public web PKI (Mozilla's root set, built in): for a relay with a certificate from a
    /// public CA such as Let's Encrypt.
    #[default]
    PublicRoots,
    /// Only these roots: for a relay with a private CA or a self-signed certificate (and tests).
    Only(Vec<CertificateDer<'static>>),
}

/// The tunnel client's TLS configuration.
pub fn client_config(trust: &Trust) -> Result<Arc<ClientConfig>, TlsError> {
    let mut roots = RootCertStore::empty();
    match trust {
        Trust::PublicRoots => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        Trust::Only(certificates) => {
            for certificate in certificates {
                roots
                    .add(certificate.clone())
                    .map_err(|error| TlsError::Trust(error.to_string()))?;
            }
        }
    }
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unusable_files_are_named_in_the_error() {
        let dir = tempfile::TempDir::new().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "").unwrap();
        let error = server_config(&empty, &empty).unwrap_err().to_string();
        assert!(error.contains("certificate file"), "{error}");
        assert!(error.contains("empty.pem"), "{error}");

        let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let cert = dir.path().join("cert.pem");
        std::fs::write(&cert, certified.cert.pem()).unwrap();
        let error = server_config(&cert, &dir.path().join("missing.pem"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("key file"), "{error}");

        let other = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let key = dir.path().join("key.pem");
        std::fs::write(&key, other.signing_key.serialize_pem()).unwrap();
        let error = server_config(&cert, &key).unwrap_err().to_string();
        assert!(error.contains("not valid"), "{error}");

        std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
        assert!(server_config(&cert, &key).is_ok());
    }

    #[test]
    fn both_trust_choices_build() {
        assert!(client_config(&Trust::PublicRoots).is_ok());
        let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        assert!(client_config(&Trust::Only(vec![certified.cert.der().clone()])).is_ok());
    }
}
