//! TLS for the HTTP server (specs/client-api.md, "HTTPS"): the rustls server configuration built
//! from `[tls]` ([`crate::config::TlsConfig`]), and the handshake the accept loop
//! ([`super::server`]) runs on each admitted connection before HTTP.
//!
//! - `files`: a PEM chain and key read once at start ([`Tls::from_files`]).
//! - `acme`: certificates from an ACME server through `rustls-acme` ([`Tls::acme`]): a task owns
//!   the ACME state (account, orders, renewals, the cache directory) and the handshake answers
//!   TLS-ALPN-01 validation connections (ALPN `acme-tls/1`) with the challenge certificate, then
//!   closes them; every other connection gets the current certificate.
//!
//! A handshake must finish within [`TLS_HANDSHAKE_TIMEOUT`]; failures are counted by reason
//! (`tls_handshake_timeout`, `tls_handshake_failed`; validation connections as
//! `tls_acme_challenge`). Only HTTP/1.1 is offered (ALPN `http/1.1`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls_acme::caches::DirCache;
use rustls_acme::{AcmeConfig as AcmeClientConfig, is_tls_alpn_challenge};
use thiserror::Error;
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_rustls::server::TlsStream;
use tokio_rustls::{LazyConfigAcceptor, rustls};
use tokio_util::sync::CancellationToken;

use crate::config::{AcmeConfig, TlsConfig};

/// Longest a TLS handshake may take, from the connection's admission.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Most certificates in a chain file.
pub const MAX_CHAIN_CERTIFICATES: usize = 16;
/// Largest certificate or key file read, in bytes.
pub const MAX_PEM_FILE_BYTES: u64 = 1024 * 1024;
/// How long the ACME task waits before driving its state again after an error (the state
/// itself backs off between orders; this only bounds a tight loop).
pub const ACME_ERROR_PAUSE: Duration = Duration::from_secs(5);

/// Why TLS could not be set up.
#[derive(Debug, Error)]
pub enum TlsError {
    /// A certificate or key file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The IO error.
        source: std::io::Error,
    },
    /// A file over [`MAX_PEM_FILE_BYTES`].
    #[error("{0} is larger than {MAX_PEM_FILE_BYTES} bytes")]
    TooLarge(PathBuf),
    /// No PEM certificate in the chain file, more than [`MAX_CHAIN_CERTIFICATES`], or broken PEM.
    #[error("{path}: {message}")]
    BadCertificates {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        message: String,
    },
    /// No usable PEM private key in the key file.
    #[error("{path}: no PEM private key (PKCS#8, PKCS#1 or SEC1)")]
    BadKey {
        /// The file.
        path: PathBuf,
    },
    /// rustls refused the pair (e.g. the key does not match the certificate).
    #[error("the certificate and key are not usable together: {0}")]
    Rustls(String),
}

impl TlsError {
    /// Stable reason name.
    pub fn reason(&self) -> &'static str {
        match self {
            TlsError::Read { .. } => "tls_file_unreadable",
            TlsError::TooLarge(_) => "tls_file_too_large",
            TlsError::BadCertificates { .. } => "tls_bad_certificates",
            TlsError::BadKey { .. } => "tls_bad_key",
            TlsError::Rustls(_) => "tls_unusable_pair",
        }
    }
}

/// Why a connection's handshake did not lead to HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandshakeEnd {
    /// Not finished within [`TLS_HANDSHAKE_TIMEOUT`].
    Timeout,
    /// Not TLS, a protocol error, or no certificate for the name asked.
    Failed,
    /// An ACME TLS-ALPN-01 validation connection, answered and closed.
    AcmeChallenge,
}

impl HandshakeEnd {
    /// Stable reason name (counted on the guard's refusal counters).
    pub fn reason(self) -> &'static str {
        match self {
            HandshakeEnd::Timeout => "tls_handshake_timeout",
            HandshakeEnd::Failed => "tls_handshake_failed",
            HandshakeEnd::AcmeChallenge => "tls_acme_challenge",
        }
    }
}

/// The server side of TLS: the configuration for ordinary connections and, with ACME, the one
/// for validation connections.
#[derive(Clone)]
pub struct Tls {
    default: Arc<ServerConfig>,
    challenge: Option<Arc<ServerConfig>>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("acme", &self.challenge.is_some())
            .finish_non_exhaustive()
    }
}

/// TLS as `[tls]` configures it, and the ACME task when there is one (it ends on shutdown).
#[derive(Debug)]
pub struct TlsServer {
    /// The server side of TLS.
    pub tls: Tls,
    /// The task obtaining and renewing ACME certificates.
    pub acme_task: Option<JoinHandle<()>>,
}

/// The crypto provider: ring, which libp2p's Noise already builds.
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Reads `path`, refusing files over [`MAX_PEM_FILE_BYTES`].
fn read_pem(path: &Path) -> Result<Vec<u8>, TlsError> {
    let read = |source| TlsError::Read {
        path: path.to_owned(),
        source,
    };
    let size = std::fs::metadata(path).map_err(read)?.len();
    if size > MAX_PEM_FILE_BYTES {
        return Err(TlsError::TooLarge(path.to_owned()));
    }
    std::fs::read(path).map_err(read)
}

/// The certificates of a PEM file, in order: 1 to [`MAX_CHAIN_CERTIFICATES`].
pub fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bad = |message: String| TlsError::BadCertificates {
        path: path.to_owned(),
        message,
    };
    let pem = read_pem(path)?;
    let mut chain = Vec::new();
    for certificate in CertificateDer::pem_slice_iter(&pem) {
        let certificate = certificate.map_err(|e| bad(format!("broken PEM: {e}")))?;
        if chain.len() == MAX_CHAIN_CERTIFICATES {
            return Err(bad(format!(
                "more than {MAX_CHAIN_CERTIFICATES} certificates"
            )));
        }
        chain.push(certificate);
    }
    if chain.is_empty() {
        return Err(bad("no PEM certificate".into()));
    }
    Ok(chain)
}

/// Offers HTTP/1.1 only: the server speaks nothing else.
fn with_http1(mut config: ServerConfig) -> Arc<ServerConfig> {
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

impl Tls {
    /// TLS with the chain in `cert_file` (leaf first) and the key in `key_file`.
    pub fn from_files(cert_file: &Path, key_file: &Path) -> Result<Tls, TlsError> {
        let chain = read_certificates(cert_file)?;
        let key_pem = read_pem(key_file)?;
        let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|_| TlsError::BadKey {
            path: key_file.to_owned(),
        })?;
        let config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Rustls(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| TlsError::Rustls(e.to_string()))?;
        Ok(Tls {
            default: with_http1(config),
            challenge: None,
        })
    }

    /// TLS with certificates from the ACME server of `config`, and the task that obtains and
    /// renews them until `shutdown`. Until a certificate is deployed, handshakes fail
    /// (`tls_handshake_failed`).
    pub fn acme(
        config: &AcmeConfig,
        shutdown: CancellationToken,
    ) -> Result<(Tls, JoinHandle<()>), TlsError> {
        let client = match &config.directory_ca_file {
            None => AcmeClientConfig::new_with_provider(&config.domains, provider()),
            Some(path) => {
                let mut roots = rustls::RootCertStore::empty();
                for certificate in read_certificates(path)? {
                    roots
                        .add(certificate)
                        .map_err(|e| TlsError::BadCertificates {
                            path: path.clone(),
                            message: e.to_string(),
                        })?;
                }
                let client = rustls::ClientConfig::builder_with_provider(provider())
                    .with_safe_default_protocol_versions()
                    .map_err(|e| TlsError::Rustls(e.to_string()))?
                    .with_root_certificates(roots)
                    .with_no_client_auth();
                AcmeClientConfig::new_with_client_config(&config.domains, Arc::new(client))
            }
        };
        let mut state = client
            .contact(config.contact.iter().map(|email| format!("mailto:{email}")))
            .directory(&config.directory_url)
            .cache(DirCache::new(config.cache_dir.clone()))
            .state();
        let tls = Tls {
            default: with_http1(Arc::unwrap_or_clone(
                state.default_rustls_config_with_provider(provider()),
            )),
            challenge: Some(state.challenge_rustls_config_with_provider(provider())),
        };
        let domains = config.domains.join(",");
        let task = tokio::spawn(async move {
            loop {
                let event = tokio::select! {
                    biased;
                    () = shutdown.cancelled() => break,
                    event = state.next() => event,
                };
                match event {
                    Some(Ok(event)) => tracing::info!(%domains, ?event, "acme"),
                    Some(Err(error)) => {
                        tracing::warn!(%domains, %error, "acme certificate not obtained");
                        tokio::select! {
                            () = shutdown.cancelled() => break,
                            () = tokio::time::sleep(ACME_ERROR_PAUSE) => {}
                        }
                    }
                    None => break,
                }
            }
        });
        Ok((tls, task))
    }

    /// The TLS configuration that `[tls]` asks for: `None` for `off`.
    pub fn from_config(
        config: &TlsConfig,
        shutdown: CancellationToken,
    ) -> Result<Option<TlsServer>, TlsError> {
        match config {
            TlsConfig::Off => Ok(None),
            TlsConfig::Files {
                cert_file,
                key_file,
            } => Ok(Some(TlsServer {
                tls: Tls::from_files(cert_file, key_file)?,
                acme_task: None,
            })),
            TlsConfig::Acme(acme) => {
                let (tls, task) = Tls::acme(acme, shutdown)?;
                Ok(Some(TlsServer {
                    tls,
                    acme_task: Some(task),
                }))
            }
        }
    }

    /// Runs the server side of the handshake on `stream`, within [`TLS_HANDSHAKE_TIMEOUT`].
    /// Cancel-safe: dropping it drops the connection.
    pub async fn handshake(&self, stream: TcpStream) -> Result<TlsStream<TcpStream>, HandshakeEnd> {
        let handshake = async {
            let start = LazyConfigAcceptor::new(rustls::server::Acceptor::default(), stream)
                .await
                .map_err(|_| HandshakeEnd::Failed)?;
            if let Some(challenge) = &self.challenge
                && is_tls_alpn_challenge(&start.client_hello())
            {
                let mut stream = start
                    .into_stream(challenge.clone())
                    .await
                    .map_err(|_| HandshakeEnd::Failed)?;
                let _ = stream.shutdown().await;
                return Err(HandshakeEnd::AcmeChallenge);
            }
            start
                .into_stream(self.default.clone())
                .await
                .map_err(|_| HandshakeEnd::Failed)
        };
        tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, handshake)
            .await
            .unwrap_or(Err(HandshakeEnd::Timeout))
    }
}
