//! TLS for the clients (the sync client and the Backstage importer): which
//! server certificates to trust, the rustls configuration handed to reqwest,
//! and a failed handshake said in plain words.
//!
//! rustls runs on the `ring` provider, given explicitly to every config
//! (nothing is installed process-wide, so a library user or a test needs no
//! start-up step). Trust is either the system's store (through
//! rustls-platform-verifier: on Linux the CA bundle openssl would use,
//! `SSL_CERT_FILE` / `SSL_CERT_DIR` included) or exactly the certificates of
//! one PEM bundle (`--ca-file`, like `curl --cacert`).
//!
//! A certificate the client refuses is never an "offline" error: retrying
//! cannot fix it, so the callers report it at once and queue nothing.

use std::error::Error as StdError;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::ServerCertVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::{CertificateError, ClientConfig, RootCertStore};

/// The crypto provider every TLS config of govdeck uses.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Makes ring the process-wide rustls provider (a second call does
/// nothing). govdeck's own clients and server never rely on it; it is for a
/// plain `reqwest::Client::new()` elsewhere in a process (the load generator,
/// test helpers), which would otherwise panic, reqwest being built without a
/// provider of its own.
pub fn install_default_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Why the trust settings could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustError {
    #[error("cannot read the CA file {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("the CA file {path} is not valid PEM: {reason}")]
    BadPem { path: String, reason: String },
    #[error("the CA file {path} holds no certificate (no -----BEGIN CERTIFICATE----- block)")]
    NoCertificates { path: String },
    #[error("the CA file {path}: certificate {index} cannot be used as a trust anchor: {reason}")]
    BadCertificate { path: String, index: usize, reason: String },
    #[error("TLS: no trusted CA certificates were found on this system ({reason}); pass --ca-file with the CA bundle")]
    NoSystemRoots { reason: String },
    #[error("TLS: cannot set up the client: {reason}")]
    Config { reason: String },
}

/// Which server certificates a client trusts.
#[derive(Debug, Clone, Default)]
pub struct ClientTrust {
    /// `None`: the system's trust store.
    ca_file: Option<(PathBuf, Arc<RootCertStore>)>,
}

impl ClientTrust {
    /// The system's trust store.
    pub fn system() -> ClientTrust {
        ClientTrust::default()
    }

    /// Exactly the certificates in the PEM bundle at `path`; the file is
    /// read and checked now, so a bad one fails before anything is sent.
    pub fn ca_file(path: &Path) -> Result<ClientTrust, TrustError> {
        let shown = path.display().to_string();
        let pem =
            std::fs::read(path).map_err(|err| TrustError::Read { path: shown.clone(), reason: err.to_string() })?;
        let certs = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|err| TrustError::BadPem { path: shown.clone(), reason: err.to_string() })?;
        if certs.is_empty() {
            return Err(TrustError::NoCertificates { path: shown });
        }
        let mut roots = RootCertStore::empty();
        for (index, cert) in certs.into_iter().enumerate() {
            roots.add(cert).map_err(|err| TrustError::BadCertificate {
                path: shown.clone(),
                index: index + 1,
                reason: err.to_string(),
            })?;
        }
        Ok(ClientTrust { ca_file: Some((path.to_path_buf(), Arc::new(roots))) })
    }

    /// `--ca-file` when given, else the system's store.
    pub fn from_option(ca_file: Option<&Path>) -> Result<ClientTrust, TrustError> {
        ca_file.map_or_else(|| Ok(ClientTrust::system()), ClientTrust::ca_file)
    }

    /// The CA file trusted, or `None` for the system's store.
    pub fn ca_path(&self) -> Option<&Path> {
        self.ca_file.as_ref().map(|(path, _)| path.as_path())
    }

    /// The rustls config for a client of `https` (or plain http) URLs. With
    /// the system's store and a plain `http` URL, a system without any CA
    /// certificate is not an error: no certificate will be checked.
    pub fn client_config(&self, https: bool) -> Result<ClientConfig, TrustError> {
        let provider = provider();
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|err| TrustError::Config { reason: err.to_string() })?;
        let mut config = match &self.ca_file {
            Some((_, roots)) => builder.with_root_certificates(roots.clone()).with_no_client_auth(),
            None => match rustls_platform_verifier::Verifier::new(provider) {
                Ok(verifier) => {
                    let verifier: Arc<dyn ServerCertVerifier> = Arc::new(verifier);
                    builder.dangerous().with_custom_certificate_verifier(verifier).with_no_client_auth()
                }
                Err(err) if https => return Err(TrustError::NoSystemRoots { reason: err.to_string() }),
                Err(_) => builder.with_root_certificates(RootCertStore::empty()).with_no_client_auth(),
            },
        };
        // reqwest is built without HTTP/2 here.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(config)
    }

    /// A reqwest builder set up with this trust for `url`.
    pub fn apply(
        &self,
        builder: reqwest::ClientBuilder,
        url: &reqwest::Url,
    ) -> Result<reqwest::ClientBuilder, TrustError> {
        Ok(builder.tls_backend_preconfigured(self.client_config(url.scheme() == "https")?))
    }
}

/// The rustls error under `err`, if a TLS handshake is what failed. The
/// chain is walked through `source()` and into `std::io::Error`s, whose
/// `source()` skips the error they wrap.
pub fn rustls_error<'a>(err: &'a (dyn StdError + 'static)) -> Option<&'a rustls::Error> {
    let mut next = Some(err);
    while let Some(current) = next {
        if let Some(tls) = current.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        if let Some(inner) = current.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
            let inner: &(dyn StdError + 'static) = inner;
            if let Some(tls) = rustls_error(inner) {
                return Some(tls);
            }
        }
        next = current.source();
    }
    None
}

/// What went wrong in a TLS handshake with `authority` (`host:port`), for
/// the user; `None` when `err` is not a TLS failure (a refused connection,
/// a timeout…).
pub fn describe_failure(err: &(dyn StdError + 'static), authority: &str) -> Option<String> {
    let tls = rustls_error(err)?;
    let host = host_of(authority);
    Some(match tls {
        rustls::Error::InvalidCertificate(cert) => match cert {
            CertificateError::UnknownIssuer => format!(
                "TLS: the certificate of {authority} is not trusted (self-signed or issued by an unknown CA); \
                 pass --ca-file with the CA that issued it"
            ),
            CertificateError::Expired => format!("TLS: the certificate of {authority} has expired"),
            CertificateError::ExpiredContext { not_after, .. } => {
                format!("TLS: the certificate of {authority} has expired (on {})", date(*not_after))
            }
            CertificateError::NotValidYet => format!("TLS: the certificate of {authority} is not valid yet"),
            CertificateError::NotValidYetContext { not_before, .. } => {
                format!("TLS: the certificate of {authority} is not valid yet (from {})", date(*not_before))
            }
            CertificateError::NotValidForName => format!("TLS: the certificate is not valid for {host}"),
            CertificateError::NotValidForNameContext { presented, .. } => {
                let names: Vec<String> = presented.iter().map(|name| presented_name(name)).collect();
                if names.is_empty() {
                    format!("TLS: the certificate is not valid for {host} (it names no host)")
                } else {
                    format!("TLS: the certificate is not valid for {host} (only for {})", names.join(", "))
                }
            }
            other => {
                format!("TLS handshake with {authority} failed: {}", rustls::Error::InvalidCertificate(other.clone()))
            }
        },
        other => format!("TLS handshake with {authority} failed: {other}"),
    })
}

/// `host` of `host:port` (an IPv6 literal keeps its brackets off).
fn host_of(authority: &str) -> &str {
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    };
    host.trim_start_matches('[').trim_end_matches(']')
}

/// webpki's `DnsName("a.example")` / `IpAddress(127.0.0.1)` as the bare name.
fn presented_name(name: &str) -> String {
    for prefix in ["DnsName(\"", "UniformResourceIdentifier(\""] {
        if let Some(inner) = name.strip_prefix(prefix).and_then(|rest| rest.strip_suffix("\")")) {
            return inner.to_string();
        }
    }
    if let Some(inner) = name.strip_prefix("IpAddress(").and_then(|rest| rest.strip_suffix(')')) {
        return inner.to_string();
    }
    name.to_string()
}

fn date(at: UnixTime) -> String {
    i64::try_from(at.as_secs())
        .ok()
        .and_then(|secs| chrono::DateTime::from_timestamp(secs, 0))
        .map_or_else(|| format!("{} s after 1970", at.as_secs()), |at| at.format("%Y-%m-%d %H:%M UTC").to_string())
}

/// `host:port` of `url`, the port filled in from the scheme.
pub fn authority(url: &reqwest::Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port_or_known_default() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wrapped(err: rustls::Error) -> Box<dyn StdError + Send + Sync> {
        // As tokio-rustls hands it up: inside an io::Error, inside a connect error.
        #[derive(Debug, thiserror::Error)]
        #[error("client error (Connect)")]
        struct Connect(#[source] std::io::Error);
        Box::new(Connect(std::io::Error::new(std::io::ErrorKind::InvalidData, err)))
    }

    #[test]
    fn certificate_failures_are_said_plainly() {
        let unknown = wrapped(rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer));
        let text = describe_failure(unknown.as_ref(), "127.0.0.1:8443").unwrap();
        assert!(text.starts_with("TLS: the certificate of 127.0.0.1:8443 is not trusted"), "{text}");
        assert!(text.contains("--ca-file"), "{text}");

        let expired = wrapped(rustls::Error::InvalidCertificate(CertificateError::ExpiredContext {
            time: UnixTime::since_unix_epoch(std::time::Duration::from_secs(1_800_000_000)),
            not_after: UnixTime::since_unix_epoch(std::time::Duration::from_secs(1_700_000_000)),
        }));
        let text = describe_failure(expired.as_ref(), "h:1").unwrap();
        assert_eq!(text, "TLS: the certificate of h:1 has expired (on 2023-11-14 22:13 UTC)");

        let name = wrapped(rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext {
            expected: rustls::pki_types::ServerName::try_from("localhost").unwrap(),
            presented: vec!["DnsName(\"example.invalid\")".into(), "IpAddress(10.0.0.1)".into()],
        }));
        let text = describe_failure(name.as_ref(), "localhost:8443").unwrap();
        assert_eq!(text, "TLS: the certificate is not valid for localhost (only for example.invalid, 10.0.0.1)");

        let other = wrapped(rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType));
        let text = describe_failure(other.as_ref(), "[::1]:8443").unwrap();
        assert!(text.starts_with("TLS handshake with [::1]:8443 failed: "), "{text}");

        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused");
        assert_eq!(describe_failure(&refused, "h:1"), None);
    }

    #[test]
    fn hosts_and_authorities() {
        assert_eq!(host_of("127.0.0.1:8443"), "127.0.0.1");
        assert_eq!(host_of("[::1]:8443"), "::1");
        assert_eq!(host_of("example.com"), "example.com");
        let url = reqwest::Url::parse("https://example.com/x").unwrap();
        assert_eq!(authority(&url), "example.com:443");
    }

    #[test]
    fn a_ca_file_must_hold_certificates() {
        let dir = tempfile::tempdir().unwrap();
        let missing = ClientTrust::ca_file(&dir.path().join("nope.pem")).unwrap_err();
        assert!(matches!(missing, TrustError::Read { .. }), "{missing}");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "just words\n").unwrap();
        let err = ClientTrust::ca_file(&empty).unwrap_err();
        assert!(matches!(err, TrustError::NoCertificates { .. }), "{err}");
        assert!(err.to_string().contains("empty.pem"), "{err}");
        let garbage = dir.path().join("garbage.pem");
        std::fs::write(&garbage, "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n").unwrap();
        let err = ClientTrust::ca_file(&garbage).unwrap_err();
        assert!(matches!(err, TrustError::BadPem { .. } | TrustError::BadCertificate { .. }), "{err}");
    }
}
