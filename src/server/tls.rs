//! HTTPS for `govdeck serve --tls-cert --tls-key`: the certificate chain and
//! its private key read from PEM files and checked (readable, parsable, the
//! key matching the certificate) before the port is bound, each error naming
//! the file at fault. rustls on the `ring` provider, as the clients use.

use std::path::Path;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;

/// Why the certificate or the key cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum TlsFileError {
    #[error("cannot read the TLS {what} file {path}")]
    Read { what: &'static str, path: String, source: std::io::Error },
    #[error("the TLS certificate file {path} holds no certificate (no -----BEGIN CERTIFICATE----- block)")]
    NoCertificate { path: String },
    #[error("the TLS key file {path} holds no private key (no -----BEGIN … PRIVATE KEY----- block)")]
    NoKey { path: String },
    #[error("the TLS {what} file {path} is not valid PEM: {reason}")]
    BadPem { what: &'static str, path: String, reason: String },
    #[error("the TLS certificate file {path} does not hold a valid X.509 certificate: {reason}")]
    BadCertificate { path: String, reason: String },
    #[error("the TLS key file {path} holds a key rustls cannot use: {reason}")]
    BadKey { path: String, reason: String },
    #[error("the TLS key file {key} does not match the certificate in {cert}")]
    KeyMismatch { cert: String, key: String },
    #[error("cannot set up TLS: {reason}")]
    Config { reason: String },
}

fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, TlsFileError> {
    std::fs::read(path).map_err(|source| TlsFileError::Read { what, path: path.display().to_string(), source })
}

/// Reads `cert_path` (the server's certificate first, then any
/// intermediates) and `key_path` (PKCS#8, PKCS#1 or SEC1) and builds the
/// server's TLS config (HTTP/1.1 and HTTP/2 by ALPN).
pub fn load(cert_path: &Path, key_path: &Path) -> Result<Arc<ServerConfig>, TlsFileError> {
    let cert_shown = cert_path.display().to_string();
    let key_shown = key_path.display().to_string();
    let cert_pem = read("certificate", cert_path)?;
    let key_pem = read("key", key_path)?;

    let chain = CertificateDer::pem_slice_iter(&cert_pem).collect::<Result<Vec<_>, _>>().map_err(|err| {
        TlsFileError::BadPem { what: "certificate", path: cert_shown.clone(), reason: err.to_string() }
    })?;
    if chain.is_empty() {
        return Err(TlsFileError::NoCertificate { path: cert_shown });
    }
    let key = match PrivateKeyDer::from_pem_slice(&key_pem) {
        Ok(key) => key,
        Err(pem::Error::NoItemsFound) => return Err(TlsFileError::NoKey { path: key_shown }),
        Err(err) => return Err(TlsFileError::BadPem { what: "key", path: key_shown, reason: err.to_string() }),
    };

    let provider = crate::tls::provider();
    let signing_key = provider
        .key_provider
        .load_private_key(key)
        .map_err(|err| TlsFileError::BadKey { path: key_shown.clone(), reason: err.to_string() })?;
    let certified = CertifiedKey::new(chain, signing_key);
    match certified.keys_match() {
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {}
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => {
            return Err(TlsFileError::KeyMismatch { cert: cert_shown, key: key_shown });
        }
        Err(err) => return Err(TlsFileError::BadCertificate { path: cert_shown, reason: err.to_string() }),
    }

    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| TlsFileError::Config { reason: err.to_string() })?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(rustls::sign::SingleCertAndKey::from(certified)));
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
