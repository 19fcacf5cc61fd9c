//! HTTPS in tests (specs/client-api.md, "HTTPS"): a test certificate authority and leaf
//! certificates made with `rcgen`, an NSS database that makes Chromium trust that authority
//! (`$HOME/.pki/nssdb`, written by `certutil` from Debian's `libnss3-tools`), and a one-shot
//! HTTPS request over `tokio-rustls` that trusts only the test authority.
//!
//! Nothing here turns certificate checks off: the browser and the client verify the node's
//! certificate against the test authority as they would against a public one.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use causerie_node::config::{Config, ConfigFile, Overrides, TlsFile};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio_rustls::rustls;

/// `certutil` (Debian's `libnss3-tools`).
pub const CERTUTIL_PATH: &str = "/usr/bin/certutil";
/// How long a certificate made here is valid, in days (Chromium refuses leaves valid for more
/// than 398 days).
pub const VALIDITY_DAYS: i64 = 30;
/// Longest a test HTTPS exchange may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest test HTTPS response read, in bytes.
pub const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

/// Why a TLS test fixture failed.
#[derive(Debug, thiserror::Error)]
pub enum TlsTestError {
    /// rcgen refused to make a certificate.
    #[error("certificate: {0}")]
    Certificate(#[from] rcgen::Error),
    /// Files, sockets or processes.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// `certutil` failed.
    #[error("certutil {0}")]
    Certutil(String),
    /// The TLS client refused the server or its configuration.
    #[error("tls: {0}")]
    Tls(String),
    /// The exchange did not finish in time.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// Not an HTTP response.
    #[error("bad response: {0}")]
    BadResponse(String),
}

/// A loopback port that was free a moment ago (a public origin names the port before the node
/// binds it).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    listener.local_addr().expect("its address").port()
}

/// The configuration of a node serving HTTPS itself with `tls` on `127.0.0.1:<port>`, its
/// public origin `https://<domain>:<port>`, its data in `dir/node`, p2p on a loopback port.
pub fn https_node_config(dir: &Path, domain: &str, port: u16, tls: TlsFile) -> Config {
    let file = ConfigFile {
        public_origin: Some(format!("https://{domain}:{port}")),
        tls: Some(tls),
        ..ConfigFile::default()
    };
    let overrides = Overrides {
        data_dir: Some(dir.join("node")),
        listen: vec!["/ip4/127.0.0.1/tcp/0".to_owned()],
        bootstrap: Vec::new(),
        http: Some(format!("127.0.0.1:{port}")),
        ..Overrides::default()
    };
    Config::from_parts(file, overrides).expect("test HTTPS config")
}

/// `[tls] mode = "files"` with `cert_file` and `key_file`.
pub fn files_mode(cert_file: &Path, key_file: &Path) -> TlsFile {
    TlsFile {
        mode: Some("files".to_owned()),
        cert_file: Some(cert_file.to_owned()),
        key_file: Some(key_file.to_owned()),
        ..TlsFile::default()
    }
}

/// A test certificate authority.
pub struct TestCa {
    key: KeyPair,
    certificate: rcgen::Certificate,
}

/// Files written by [`TestCa::write_leaf`].
#[derive(Debug, Clone)]
pub struct LeafFiles {
    /// The chain, leaf first (leaf, then the authority).
    pub cert_file: PathBuf,
    /// The leaf's private key (PKCS#8).
    pub key_file: PathBuf,
    /// The authority's certificate alone.
    pub ca_file: PathBuf,
}

/// Sets a validity of [`VALIDITY_DAYS`] from a day ago.
fn validity(params: &mut CertificateParams) {
    let now = rcgen::date_time_ymd(1970, 1, 1)
        + std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
    params.not_before = now - Duration::from_secs(24 * 3600);
    params.not_after = now + Duration::from_secs(VALIDITY_DAYS as u64 * 24 * 3600);
}

impl TestCa {
    /// A fresh authority (ECDSA P-256).
    pub fn new() -> Result<TestCa, TlsTestError> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "Causerie test CA");
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        validity(&mut params);
        let certificate = params.self_signed(&key)?;
        Ok(TestCa { key, certificate })
    }

    /// The authority's certificate, PEM.
    pub fn pem(&self) -> String {
        self.certificate.pem()
    }

    /// A server certificate for `names` signed by this authority: (chain PEM, key PEM).
    pub fn leaf(&self, names: &[&str]) -> Result<(String, String), TlsTestError> {
        let key = KeyPair::generate()?;
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = CertificateParams::new(names)?;
        params
            .distinguished_name
            .push(DnType::CommonName, "Causerie test node");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        validity(&mut params);
        let leaf = params.signed_by(&key, &self.certificate, &self.key)?;
        Ok((format!("{}{}", leaf.pem(), self.pem()), key.serialize_pem()))
    }

    /// Writes a leaf for `names` into `dir`: `cert.pem` (chain), `key.pem`, `ca.pem`.
    pub fn write_leaf(&self, dir: &Path, names: &[&str]) -> Result<LeafFiles, TlsTestError> {
        let (chain, key) = self.leaf(names)?;
        let files = LeafFiles {
            cert_file: dir.join("cert.pem"),
            key_file: dir.join("key.pem"),
            ca_file: dir.join("ca.pem"),
        };
        std::fs::write(&files.cert_file, chain)?;
        std::fs::write(&files.key_file, key)?;
        std::fs::write(&files.ca_file, self.pem())?;
        Ok(files)
    }

    /// A home directory whose NSS database (`.pki/nssdb`) trusts this authority for TLS
    /// servers (`-t C,,`): give it to Chromium as `HOME`.
    pub fn browser_home(&self) -> Result<tempfile::TempDir, TlsTestError> {
        let home = tempfile::Builder::new()
            .prefix("causerie-nss-home-")
            .tempdir()?;
        let db = home.path().join(".pki/nssdb");
        std::fs::create_dir_all(&db)?;
        let ca = home.path().join("ca.pem");
        std::fs::write(&ca, self.pem())?;
        let database = format!("sql:{}", db.display());
        let run = |args: &[&str]| -> Result<(), TlsTestError> {
            let output = Command::new(CERTUTIL_PATH).args(args).output()?;
            if output.status.success() {
                Ok(())
            } else {
                Err(TlsTestError::Certutil(format!(
                    "{args:?}: {}",
                    String::from_utf8_lossy(&output.stderr)
                )))
            }
        };
        run(&["-N", "-d", &database, "--empty-password"])?;
        let ca_path = ca.display().to_string();
        run(&[
            "-A",
            "-d",
            &database,
            "-t",
            "C,,",
            "-n",
            "causerie-test-ca",
            "-i",
            &ca_path,
        ])?;
        Ok(home)
    }
}

/// A TLS client trusting only `ca_pem`.
pub fn client(ca_pem: &str) -> Result<tokio_rustls::TlsConnector, TlsTestError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore::empty();
    for certificate in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        let certificate = certificate.map_err(|e| TlsTestError::Tls(e.to_string()))?;
        roots
            .add(certificate)
            .map_err(|e| TlsTestError::Tls(e.to_string()))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsTestError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

/// One HTTPS request: connects to `addr`, checks the certificate for the name in `host`
/// (`name[:port]`, also the `Host` header) against `ca_pem`, sends `GET path` and returns the
/// status code and body.
pub async fn get(
    addr: SocketAddr,
    host: &str,
    path: &str,
    ca_pem: &str,
) -> Result<(u16, String), TlsTestError> {
    let exchange = async {
        let connector = client(ca_pem)?;
        let name = host.rsplit_once(':').map_or(host, |(name, _)| name);
        let server_name = rustls::pki_types::ServerName::try_from(name.to_owned())
            .map_err(|e| TlsTestError::Tls(e.to_string()))?;
        let tcp = tokio::net::TcpStream::connect(addr).await?;
        let mut stream = connector
            .connect(server_name, tcp)
            .await
            .map_err(|e| TlsTestError::Tls(e.to_string()))?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await?;
        let mut raw = Vec::new();
        let mut buffer = [0u8; 16 * 1024];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) => break,
                Ok(n) if raw.len() + n <= MAX_RESPONSE_BYTES => raw.extend_from_slice(&buffer[..n]),
                Ok(_) => return Err(TlsTestError::BadResponse("too large".into())),
                // A peer that closes without close_notify: what arrived is the answer.
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
                Err(e) => return Err(e.into()),
            }
        }
        parse_response(&raw)
    };
    tokio::time::timeout(REQUEST_TIMEOUT, exchange)
        .await
        .unwrap_or(Err(TlsTestError::Timeout(REQUEST_TIMEOUT)))
}

/// The status code and body of a `Connection: close` HTTP/1.1 response (plain or chunked).
fn parse_response(raw: &[u8]) -> Result<(u16, String), TlsTestError> {
    let bad = |what: &str| TlsTestError::BadResponse(what.to_owned());
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no end of head"))?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| bad(&head))?;
    let mut body = raw[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut out = Vec::new();
        let mut rest = body.as_slice();
        while let Some(line_end) = rest.windows(2).position(|w| w == b"\r\n") {
            let size_text = String::from_utf8_lossy(&rest[..line_end]).to_string();
            let size = usize::from_str_radix(size_text.trim(), 16).map_err(|_| bad("chunk"))?;
            rest = &rest[line_end + 2..];
            if size == 0 || rest.len() < size {
                break;
            }
            out.extend_from_slice(&rest[..size]);
            rest = rest.get(size + 2..).unwrap_or_default();
        }
        body = out;
    }
    Ok((status, String::from_utf8_lossy(&body).to_string()))
}
