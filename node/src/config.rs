//! The node's typed configuration: documented defaults, an optional TOML file, then command-line
//! overrides, validated once ([`Config::validate`]) before anything starts. Library code never
//! reads environment variables; the binary builds a [`Config`] and hands it over.
//!
//! Defaults talk only to loopback: nothing listens on a public interface and there are no
//! bootstrap peers unless configured.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use causerie_crypto::address::parse_room;
use libp2p::Multiaddr;
use libp2p::multiaddr::Protocol;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::moderation::classifier::{
    ClassifierConfig, DEFAULT_TIMEOUT, FailMode, MAX_CLASSIFIER_ARGS, MAX_TIMEOUT,
};
use crate::rate_limits::{MAX_RATE_BURST, MAX_RATE_PER_MINUTE, RateLimitConfig, RateLimitsFile};
use crate::records::retention::{MAX_RETENTION_MS, MIN_RETENTION_MS};
use crate::records::sweeper::{
    DEFAULT_SWEEP_INTERVAL_MS, MAX_SWEEP_INTERVAL_MS, MIN_SWEEP_INTERVAL_MS,
};
use crate::records::{FieldRetention, RetentionPolicy};

mod origin;
mod proxies;

use origin::is_domain_or_ipv4;
pub use origin::{OriginError, PublicOrigin};
pub use proxies::{MAX_TRUSTED_PROXIES, TrustedProxies};

/// Default data directory.
pub const DEFAULT_DATA_DIR: &str = "./causerie-data";
/// Default p2p listen address (loopback; a fixed port so other local nodes can bootstrap).
pub const DEFAULT_LISTEN: &str = "/ip4/127.0.0.1/tcp/7447";
/// Default HTTP (client API, metrics) address.
pub const DEFAULT_HTTP: &str = "127.0.0.1:8080";
/// Largest config file accepted, in bytes.
pub const MAX_CONFIG_BYTES: u64 = 64 * 1024;
/// Most listen addresses.
pub const MAX_LISTEN_ADDRS: usize = 16;
/// Most bootstrap peers.
pub const MAX_BOOTSTRAP_PEERS: usize = 64;
/// Most entries in the HTTP Host allowlist.
pub const MAX_ALLOWED_HOSTS: usize = 64;
/// Longest allowed host entry, in bytes.
pub const MAX_HOST_BYTES: usize = 255;
/// The operator token's file name in the data directory (unless `[operator] token_file`).
pub const OPERATOR_TOKEN_FILE: &str = "operator.token";
/// Most rooms with their own classifier fail mode in the configuration.
pub const MAX_CLASSIFIER_ROOMS: usize = 1_024;
/// Most node keys in `[federation] deny`.
pub const MAX_FEDERATION_DENY: usize = 1_024;
/// Longest `public_origin`, in bytes.
pub const MAX_ORIGIN_BYTES: usize = 300;
/// Longest host name in `public_origin`, in bytes (a DNS name's limit).
pub const MAX_DOMAIN_BYTES: usize = 253;
/// Most announced external addresses.
pub const MAX_EXTERNAL_ADDRS: usize = 16;
/// Most relays (`relays`).
pub const MAX_RELAYS: usize = 8;

/// Why a configuration was refused.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The IO error.
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_CONFIG_BYTES`].
    #[error("config file {0} is larger than {MAX_CONFIG_BYTES} bytes")]
    TooLarge(PathBuf),
    /// The file is not valid TOML for this schema (unknown keys are refused).
    #[error("parsing {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        message: String,
    },
    /// A value is not acceptable.
    #[error("invalid {field}: {message}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// Why.
        message: String,
    },
}

impl ConfigError {
    /// Stable reason name.
    pub fn reason(&self) -> &'static str {
        match self {
            ConfigError::Read { .. } => "config_unreadable",
            ConfigError::TooLarge(_) => "config_too_large",
            ConfigError::Parse { .. } => "config_parse",
            ConfigError::Invalid { .. } => "config_invalid",
        }
    }
}

/// The config file's shape: every field optional; absent fields keep their defaults. It
/// serializes too, so a test can check that the reference file (`causerie.example.toml`) sets
/// every option.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// See [`Config::data_dir`].
    pub data_dir: Option<PathBuf>,
    /// See [`Config::listen`].
    pub listen: Option<Vec<String>>,
    /// See [`Config::bootstrap`].
    pub bootstrap: Option<Vec<String>>,
    /// See [`Config::external_addresses`].
    pub external_addresses: Option<Vec<String>>,
    /// See [`Config::relays`].
    pub relays: Option<Vec<String>>,
    /// See [`Config::relay_server`].
    pub relay_server: Option<bool>,
    /// See [`Config::autonat`].
    pub autonat: Option<bool>,
    /// See [`Config::http`].
    pub http: Option<String>,
    /// See [`Config::http_allowed_hosts`].
    pub http_allowed_hosts: Option<Vec<String>>,
    /// See [`Config::public_origin`].
    pub public_origin: Option<String>,
    /// See [`Config::trusted_proxies`].
    pub trusted_proxies: Option<Vec<String>>,
    /// See [`Config::classifier`].
    pub classifier: Option<ClassifierFile>,
    /// See [`Config::rate_limits`] (the `[rate_limits]` table).
    pub rate_limits: Option<RateLimitsFile>,
    /// `[moderation]`: see [`ModerationFile`].
    pub moderation: Option<ModerationFile>,
    /// `[operator]`: see [`OperatorFile`].
    pub operator: Option<OperatorFile>,
    /// `[records]`: see [`RecordsFile`].
    pub records: Option<RecordsFile>,
    /// `[federation]`: see [`FederationFile`].
    pub federation: Option<FederationFile>,
    /// `[tls]`: see [`TlsFile`].
    pub tls: Option<TlsFile>,
}

/// Let's Encrypt's production ACME directory (the default `[tls] directory_url`).
pub const LETS_ENCRYPT_DIRECTORY: &str = "https://acme-v02.api.letsencrypt.org/directory";
/// Let's Encrypt's staging directory: untrusted certificates, generous rate limits; for trying
/// a setup out.
pub const LETS_ENCRYPT_STAGING_DIRECTORY: &str =
    "https://acme-staging-v02.api.letsencrypt.org/directory";
/// Most domains in `[tls] domains`.
pub const MAX_TLS_DOMAINS: usize = 16;
/// Most contacts in `[tls] contact`.
pub const MAX_TLS_CONTACTS: usize = 8;

/// The `[tls]` table of the config file: HTTPS served by the node itself.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFile {
    /// `off` (default), `files` or `acme`: see [`TlsConfig`].
    pub mode: Option<String>,
    /// `files`: the PEM certificate chain, leaf first.
    pub cert_file: Option<PathBuf>,
    /// `files`: the PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key_file: Option<PathBuf>,
    /// `acme`: the domains of the certificate. Default: the host of `public_origin`.
    pub domains: Option<Vec<String>>,
    /// `acme`: contact emails given to the ACME server. Default none.
    pub contact: Option<Vec<String>>,
    /// `acme`: the ACME directory. Default [`LETS_ENCRYPT_DIRECTORY`].
    pub directory_url: Option<String>,
    /// `acme`: PEM roots trusted for the ACME directory's own https (a private ACME server).
    /// Default: the web's roots (webpki-roots).
    pub directory_ca_file: Option<PathBuf>,
    /// `acme`: where the account key and certificates are kept. Default `<data_dir>/acme`.
    pub cache_dir: Option<PathBuf>,
}

/// How the HTTP server does TLS (`[tls]`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum TlsConfig {
    /// Plain HTTP (the default): loopback, or behind a reverse proxy that does TLS.
    #[default]
    Off,
    /// A certificate chain and key from PEM files, read at start.
    Files {
        /// The chain, leaf first.
        cert_file: PathBuf,
        /// The private key.
        key_file: PathBuf,
    },
    /// Certificates from an ACME server (TLS-ALPN-01 on the HTTP port, which must then be
    /// reachable on port 443 of every domain), renewed before they expire.
    Acme(AcmeConfig),
}

/// The validated `[tls]` settings of `mode = "acme"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcmeConfig {
    /// The certificate's domains (1 to [`MAX_TLS_DOMAINS`]).
    pub domains: Vec<String>,
    /// Contact emails (at most [`MAX_TLS_CONTACTS`]).
    pub contact: Vec<String>,
    /// The ACME directory URL (https).
    pub directory_url: String,
    /// Extra PEM roots for the directory's https; none: the web's roots.
    pub directory_ca_file: Option<PathBuf>,
    /// The account key and certificate cache.
    pub cache_dir: PathBuf,
}

/// The `[operator]` table of the config file.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorFile {
    /// See [`Config::operator_token_file`].
    pub token_file: Option<PathBuf>,
}

/// The `[records]` table of the config file: registration records (specs/accountability.md §2).
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RecordsFile {
    /// See [`RecordsConfig::require_contact`].
    pub require_contact: Option<bool>,
    /// See [`RecordsConfig::sweep_interval_ms`].
    pub sweep_interval_ms: Option<u64>,
    /// `[records.registration_time]`: see [`RetentionPolicy::registration_time`].
    pub registration_time: Option<FieldRetentionFile>,
    /// `[records.connections]`: see [`RetentionPolicy::connections`].
    pub connections: Option<FieldRetentionFile>,
    /// `[records.contact]`: see [`RetentionPolicy::contact`].
    pub contact: Option<FieldRetentionFile>,
}

/// One field's retention in the config file; absent keys keep the field's default.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FieldRetentionFile {
    /// See [`FieldRetention::retention_ms`].
    pub retention_ms: Option<u64>,
    /// See [`FieldRetention::keep_after_erasure`].
    pub keep_after_erasure: Option<bool>,
}

/// The validated `[records]` settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordsConfig {
    /// Per-field retention. Defaults: every field one year; connections from each connection,
    /// registration time and contact from the account's end; an erasure keeps connections and
    /// the registration time until they expire and deletes the contact data at once.
    pub retention: RetentionPolicy,
    /// Whether registration requires contact data (`contact_required` otherwise). Default false.
    pub require_contact: bool,
    /// How often the sweeper removes expired data, in ms (100 ms to one day). Default 60,000.
    pub sweep_interval_ms: u64,
}

impl Default for RecordsConfig {
    fn default() -> Self {
        RecordsConfig {
            retention: RetentionPolicy::default(),
            require_contact: false,
            sweep_interval_ms: DEFAULT_SWEEP_INTERVAL_MS,
        }
    }
}

impl RecordsConfig {
    fn from_file(file: RecordsFile) -> RecordsConfig {
        let defaults = RetentionPolicy::default();
        let field = |file: Option<FieldRetentionFile>, default: FieldRetention| {
            let file = file.unwrap_or_default();
            FieldRetention {
                retention_ms: file.retention_ms.unwrap_or(default.retention_ms),
                keep_after_erasure: file
                    .keep_after_erasure
                    .unwrap_or(default.keep_after_erasure),
            }
        };
        RecordsConfig {
            retention: RetentionPolicy {
                registration_time: field(file.registration_time, defaults.registration_time),
                connections: field(file.connections, defaults.connections),
                contact: field(file.contact, defaults.contact),
            },
            require_contact: file.require_contact.unwrap_or(false),
            sweep_interval_ms: file.sweep_interval_ms.unwrap_or(DEFAULT_SWEEP_INTERVAL_MS),
        }
    }
}

/// The `[federation]` table of the config file.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FederationFile {
    /// See [`Config::federation_deny`]: node keys, 64 hex digits each.
    #[serde(default)]
    pub deny: Vec<String>,
}

/// The `[moderation]` table of the config file.
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ModerationFile {
    /// See [`Config::enforcer_key_file`].
    pub enforcer_key_file: Option<PathBuf>,
}

/// The `[classifier]` table of the config file (specs/moderation.md §6).
#[derive(Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClassifierFile {
    /// The program to run (required when the table is present).
    pub program: PathBuf,
    /// Its arguments. Default none.
    #[serde(default)]
    pub args: Vec<String>,
    /// How long a request waits for its answer, in ms. Default
    /// [`classifier::DEFAULT_TIMEOUT`](crate::moderation::classifier::DEFAULT_TIMEOUT) (800).
    pub timeout_ms: Option<u64>,
    /// `fail_open` (default), `fail_closed` or `off`: for rooms whose state names none.
    pub fail_mode: Option<String>,
    /// Room id → fail mode, for rooms whose state names none.
    #[serde(default)]
    pub rooms: std::collections::BTreeMap<String, String>,
}

/// Overrides from the command line (each `None`/empty keeps the file's or default value).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--data-dir`.
    pub data_dir: Option<PathBuf>,
    /// `--listen` (repeatable; replaces the list).
    pub listen: Vec<String>,
    /// `--bootstrap` (repeatable; replaces the list).
    pub bootstrap: Vec<String>,
    /// `--http`.
    pub http: Option<String>,
    /// `--external-address` (repeatable; replaces the list).
    pub external_addresses: Vec<String>,
    /// `--relay` (repeatable; replaces the list).
    pub relays: Vec<String>,
}

/// The validated configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Where the node keeps its key (`node.key`) and store (`store/`). Default `./causerie-data`.
    pub data_dir: PathBuf,
    /// p2p listen addresses. Default `/ip4/127.0.0.1/tcp/7447`.
    pub listen: Vec<Multiaddr>,
    /// Peers dialled at start, each ending in `/p2p/<peer id>`. Default none.
    pub bootstrap: Vec<Multiaddr>,
    /// Addresses announced to peers and in invite links, where other machines reach the node's
    /// p2p port (a public IP or name and the forwarded port), without `/p2p`; at most
    /// [`MAX_EXTERNAL_ADDRS`]. Separate from `listen`, the bind address. Default none: links
    /// carry the listen addresses (specs/federation.md, "Addresses, reachability and relays").
    pub external_addresses: Vec<Multiaddr>,
    /// Relays this node reserves a circuit on while it is not known to be publicly reachable
    /// (behind NAT), each ending in `/p2p/<peer id>`; at most [`MAX_RELAYS`]. Default none.
    pub relays: Vec<Multiaddr>,
    /// Serve as a relay for nodes behind NAT (reservations and circuits bounded; see
    /// specs/federation.md). For reachable nodes only. Default false.
    pub relay_server: bool,
    /// Probe reachability with AutoNAT (peers dial the node back) and answer other nodes'
    /// probes. Default true.
    pub autonat: bool,
    /// Client API and metrics address. Default `127.0.0.1:8080`.
    pub http: SocketAddr,
    /// `Host` header values (`name:port`) the HTTP server answers to. Default (empty): the bound
    /// address, and `localhost`, `127.0.0.1` and `[::1]` with its port. Requests naming another
    /// host are refused, which defeats DNS rebinding against a local node; list the public
    /// name here when serving behind a reverse proxy.
    pub http_allowed_hosts: Vec<String>,
    /// `public_origin`: the origin people reach this node's web client and API at
    /// (`https://chat.example.org`, `https://chat.example.org:8443`), whether the node serves
    /// TLS itself or sits behind a reverse proxy. Its `host[:port]` joins the Host allowlist,
    /// its host is the node's public name, and invite links become `<origin>/join/<room>`.
    /// Default none: the node knows no public name.
    pub public_origin: Option<PublicOrigin>,
    /// `trusted_proxies`: the reverse proxies (addresses, or networks as `10.0.0.0/8`; at most
    /// [`MAX_TRUSTED_PROXIES`]) whose `X-Forwarded-For` names the client. A request that comes
    /// from one of them counts, for the per-client limits and in registration records, as
    /// coming from the address the proxies forwarded; its connection is not held to the
    /// per-client connection cap. Default none: every request is the connection's own address
    /// and the header is ignored.
    pub trusted_proxies: TrustedProxies,
    /// The classifier hook. Default none (off).
    pub classifier: Option<ClassifierConfig>,
    /// Rate limits on submitted events (per user per room, per user, joins, invites) and on
    /// peers' gossip (`[rate_limits]`, each entry `{ burst, per_minute }`). Defaults in
    /// [`crate::rate_limits`]: user_room 20 then 300/min, user 60 then 600/min, joins 10 then
    /// 10/min, invites 20 then 20/min, peer 20,000 then 600,000/min.
    pub rate_limits: RateLimitConfig,
    /// `[moderation] enforcer_key_file`: a user key file (as `causerie key` writes) whose key is
    /// the ban-list enforcer of the rooms that name it (specs/moderation.md §3.6). Default none.
    /// The key never leaves the node and is never printed.
    pub enforcer_key_file: Option<PathBuf>,
    /// `[operator] token_file`: the operator token the admin API requires (created with a fresh
    /// random token, mode 0600, at first start). Default `<data_dir>/operator.token`.
    pub operator_token_file: Option<PathBuf>,
    /// `[records]`: registration records' retention, required contact data, sweep interval.
    pub records: RecordsConfig,
    /// `[federation] deny`: nodes this node refuses to federate with (no connection either way,
    /// no request, no gossip; specs/accountability.md §8). At most [`MAX_FEDERATION_DENY`].
    /// Default none.
    pub federation_deny: std::collections::BTreeSet<causerie_crypto::NodeKey>,
    /// `[tls]`: HTTPS served by the node: `off` (default), certificate `files`, or `acme`.
    pub tls: TlsConfig,
}

impl Config {
    /// Reads `file` (if given), applies `overrides`, validates.
    pub fn load(file: Option<&Path>, overrides: Overrides) -> Result<Config, ConfigError> {
        let parsed = match file {
            Some(path) => parse_file(path)?,
            None => ConfigFile::default(),
        };
        Self::from_parts(parsed, overrides)
    }

    /// Builds from an already-parsed file and overrides, then validates.
    pub fn from_parts(file: ConfigFile, overrides: Overrides) -> Result<Config, ConfigError> {
        let data_dir = overrides
            .data_dir
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        let listen = overridden_list(overrides.listen, file.listen)
            .unwrap_or_else(|| vec![DEFAULT_LISTEN.to_owned()]);
        let bootstrap = overridden_list(overrides.bootstrap, file.bootstrap).unwrap_or_default();
        let http = overrides
            .http
            .or(file.http)
            .unwrap_or_else(|| DEFAULT_HTTP.to_owned());
        let external_addresses =
            overridden_list(overrides.external_addresses, file.external_addresses)
                .unwrap_or_default();
        let relays = overridden_list(overrides.relays, file.relays).unwrap_or_default();
        let config = Config {
            data_dir,
            listen: parse_addrs("listen", &listen)?,
            bootstrap: parse_addrs("bootstrap", &bootstrap)?,
            external_addresses: parse_addrs("external_addresses", &external_addresses)?,
            relays: parse_addrs("relays", &relays)?,
            relay_server: file.relay_server.unwrap_or(false),
            autonat: file.autonat.unwrap_or(true),
            http: http
                .parse()
                .map_err(|e| invalid("http", format!("{http}: {e}")))?,
            http_allowed_hosts: file.http_allowed_hosts.unwrap_or_default(),
            public_origin: file
                .public_origin
                .map(|text| {
                    PublicOrigin::parse(&text)
                        .map_err(|e| invalid("public_origin", format!("{text:?}: {e}")))
                })
                .transpose()?,
            trusted_proxies: TrustedProxies::parse(&file.trusted_proxies.unwrap_or_default())
                .map_err(|message| invalid("trusted_proxies", message))?,
            classifier: file.classifier.map(classifier_config).transpose()?,
            rate_limits: RateLimitConfig::from_file(file.rate_limits.unwrap_or_default()),
            enforcer_key_file: file.moderation.and_then(|m| m.enforcer_key_file),
            operator_token_file: file.operator.and_then(|o| o.token_file),
            records: RecordsConfig::from_file(file.records.unwrap_or_default()),
            federation_deny: federation_deny(file.federation.unwrap_or_default())?,
            tls: TlsConfig::Off,
        };
        let config = Config {
            tls: tls_config(file.tls.unwrap_or_default(), &config)?,
            ..config
        };
        config.validate()?;
        Ok(config)
    }

    /// Checks the values that parsing alone does not.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.data_dir.as_os_str().is_empty() {
            return Err(invalid("data_dir", "empty".into()));
        }
        if self.listen.is_empty() || self.listen.len() > MAX_LISTEN_ADDRS {
            return Err(invalid(
                "listen",
                format!("1 to {MAX_LISTEN_ADDRS} addresses"),
            ));
        }
        for addr in &self.listen {
            if !addr.iter().any(|p| matches!(p, Protocol::Tcp(_))) {
                return Err(invalid("listen", format!("{addr}: not a TCP address")));
            }
        }
        if self.bootstrap.len() > MAX_BOOTSTRAP_PEERS {
            return Err(invalid(
                "bootstrap",
                format!("at most {MAX_BOOTSTRAP_PEERS} peers"),
            ));
        }
        if self.http_allowed_hosts.len() > MAX_ALLOWED_HOSTS {
            return Err(invalid(
                "http_allowed_hosts",
                format!("at most {MAX_ALLOWED_HOSTS} hosts"),
            ));
        }
        for host in &self.http_allowed_hosts {
            let ok = !host.is_empty()
                && host.len() <= MAX_HOST_BYTES
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-.:[]_".contains(&b));
            if !ok {
                return Err(invalid(
                    "http_allowed_hosts",
                    format!("{host:?}: expected name:port"),
                ));
            }
        }
        if let Some(key) = self.rate_limits.invalid() {
            return Err(invalid(
                "rate_limits",
                format!(
                    "{key}: burst 1 to {MAX_RATE_BURST}, per_minute 1 to {MAX_RATE_PER_MINUTE}"
                ),
            ));
        }
        if let Some(field) = self.records.retention.invalid() {
            return Err(invalid(
                "records",
                format!(
                    "{}: retention_ms is {MIN_RETENTION_MS} to {MAX_RETENTION_MS}",
                    field.name()
                ),
            ));
        }
        if !(MIN_SWEEP_INTERVAL_MS..=MAX_SWEEP_INTERVAL_MS)
            .contains(&self.records.sweep_interval_ms)
        {
            return Err(invalid(
                "records",
                format!("sweep_interval_ms is {MIN_SWEEP_INTERVAL_MS} to {MAX_SWEEP_INTERVAL_MS}"),
            ));
        }
        for addr in &self.bootstrap {
            if !matches!(addr.iter().last(), Some(Protocol::P2p(_))) {
                return Err(invalid(
                    "bootstrap",
                    format!("{addr}: must end in /p2p/<peer id>"),
                ));
            }
        }
        self.validate_reach()
    }

    /// Checks `external_addresses` and `relays`.
    fn validate_reach(&self) -> Result<(), ConfigError> {
        let direct_tcp = |addr: &Multiaddr| {
            addr.iter().any(|p| matches!(p, Protocol::Tcp(_)))
                && !addr.iter().any(|p| p == Protocol::P2pCircuit)
        };
        if self.external_addresses.len() > MAX_EXTERNAL_ADDRS {
            return Err(invalid(
                "external_addresses",
                format!("at most {MAX_EXTERNAL_ADDRS} addresses"),
            ));
        }
        for addr in &self.external_addresses {
            if !direct_tcp(addr) || addr.iter().any(|p| matches!(p, Protocol::P2p(_))) {
                return Err(invalid(
                    "external_addresses",
                    format!(
                        "{addr}: a TCP address without /p2p (e.g. /ip4/203.0.113.7/tcp/7447 or /dns/chat.example.org/tcp/7447)"
                    ),
                ));
            }
        }
        if self.relays.len() > MAX_RELAYS {
            return Err(invalid("relays", format!("at most {MAX_RELAYS} relays")));
        }
        for addr in &self.relays {
            if !direct_tcp(addr) || !matches!(addr.iter().last(), Some(Protocol::P2p(_))) {
                return Err(invalid(
                    "relays",
                    format!("{addr}: a TCP address ending in /p2p/<peer id>"),
                ));
            }
        }
        Ok(())
    }

    /// The node key file.
    pub fn node_key_path(&self) -> PathBuf {
        self.data_dir.join("node.key")
    }

    /// The operator token file: `[operator] token_file`, else `<data_dir>/operator.token`.
    pub fn operator_token_path(&self) -> PathBuf {
        self.operator_token_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join(OPERATOR_TOKEN_FILE))
    }

    /// The store directory.
    pub fn store_path(&self) -> PathBuf {
        self.data_dir.join("store")
    }

    /// The node's public host name (from `public_origin`), if one is configured: a DNS name, or
    /// an IP address (IPv6 without brackets).
    pub fn public_host(&self) -> Option<&str> {
        self.public_origin.as_ref().map(PublicOrigin::host)
    }
}

/// Checks the `[tls]` table against the rest of the configuration.
fn tls_config(file: TlsFile, config: &Config) -> Result<TlsConfig, ConfigError> {
    let field = "tls";
    let mode = file.mode.as_deref().unwrap_or("off");
    if mode != "off"
        && let Some(origin) = &config.public_origin
        && !origin.is_https()
    {
        return Err(invalid(
            field,
            format!("public_origin {origin} is not https while the node serves TLS"),
        ));
    }
    match mode {
        "off" => Ok(TlsConfig::Off),
        "files" => match (file.cert_file, file.key_file) {
            (Some(cert_file), Some(key_file)) => Ok(TlsConfig::Files {
                cert_file,
                key_file,
            }),
            _ => Err(invalid(
                field,
                "mode files needs cert_file and key_file".into(),
            )),
        },
        "acme" => {
            let domains = match file.domains {
                Some(domains) => domains,
                None => match config.public_origin.as_ref().and_then(PublicOrigin::domain) {
                    Some(domain) => vec![domain.to_owned()],
                    None => {
                        return Err(invalid(
                            field,
                            "mode acme needs domains, or a public_origin whose host is a DNS name"
                                .into(),
                        ));
                    }
                },
            };
            if domains.is_empty() || domains.len() > MAX_TLS_DOMAINS {
                return Err(invalid(field, format!("1 to {MAX_TLS_DOMAINS} domains")));
            }
            for domain in &domains {
                if !is_domain_or_ipv4(domain) || domain.parse::<std::net::Ipv4Addr>().is_ok() {
                    return Err(invalid(field, format!("{domain:?} is not a DNS name")));
                }
            }
            let contact = file.contact.unwrap_or_default();
            if contact.len() > MAX_TLS_CONTACTS {
                return Err(invalid(
                    field,
                    format!("at most {MAX_TLS_CONTACTS} contacts"),
                ));
            }
            for email in &contact {
                let ok = email.len() <= MAX_HOST_BYTES
                    && email
                        .split_once('@')
                        .is_some_and(|(user, host)| !user.is_empty() && is_domain_or_ipv4(host))
                    && !email.contains([' ', ',', ':']);
                if !ok {
                    return Err(invalid(field, format!("{email:?} is not an email address")));
                }
            }
            let directory_url = file
                .directory_url
                .unwrap_or_else(|| LETS_ENCRYPT_DIRECTORY.to_owned());
            if !directory_url.starts_with("https://") || directory_url.len() > MAX_ORIGIN_BYTES {
                return Err(invalid(
                    field,
                    format!("directory_url {directory_url:?} is not an https URL"),
                ));
            }
            Ok(TlsConfig::Acme(AcmeConfig {
                domains,
                contact,
                directory_url,
                directory_ca_file: file.directory_ca_file,
                cache_dir: file
                    .cache_dir
                    .unwrap_or_else(|| config.data_dir.join("acme")),
            }))
        }
        other => Err(invalid(
            field,
            format!("mode {other:?}: the modes are off, files and acme"),
        )),
    }
}

/// Checks `[federation] deny`: at most [`MAX_FEDERATION_DENY`] node keys in hex.
fn federation_deny(
    file: FederationFile,
) -> Result<std::collections::BTreeSet<causerie_crypto::NodeKey>, ConfigError> {
    let field = "federation.deny";
    if file.deny.len() > MAX_FEDERATION_DENY {
        return Err(invalid(
            field,
            format!("at most {MAX_FEDERATION_DENY} node keys"),
        ));
    }
    file.deny
        .iter()
        .map(|key| {
            causerie_crypto::NodeKey::from_hex(key)
                .map_err(|_| invalid(field, format!("{key:?}: a node key is 64 hex digits")))
        })
        .collect()
}

/// Checks the `[classifier]` table.
fn classifier_config(file: ClassifierFile) -> Result<ClassifierConfig, ConfigError> {
    let field = "classifier";
    if file.program.as_os_str().is_empty() {
        return Err(invalid(field, "program is empty".into()));
    }
    if file.args.len() > MAX_CLASSIFIER_ARGS {
        return Err(invalid(
            field,
            format!("at most {MAX_CLASSIFIER_ARGS} arguments"),
        ));
    }
    let timeout = match file.timeout_ms {
        None => DEFAULT_TIMEOUT,
        Some(ms) => Duration::from_millis(ms),
    };
    if timeout.is_zero() || timeout > MAX_TIMEOUT {
        return Err(invalid(
            field,
            format!("timeout_ms is 1 to {}", MAX_TIMEOUT.as_millis()),
        ));
    }
    let mode = |text: &str| {
        FailMode::parse(text).ok_or_else(|| {
            invalid(
                field,
                format!("{text:?}: fail modes are off, fail_open and fail_closed"),
            )
        })
    };
    let fail_mode = file.fail_mode.as_deref().map(mode).transpose()?;
    if file.rooms.len() > MAX_CLASSIFIER_ROOMS {
        return Err(invalid(
            field,
            format!("at most {MAX_CLASSIFIER_ROOMS} rooms"),
        ));
    }
    let mut rooms = std::collections::BTreeMap::new();
    for (room, text) in &file.rooms {
        let id = parse_room(room).map_err(|e| invalid(field, format!("{room}: {e}")))?;
        rooms.insert(id, mode(text)?);
    }
    Ok(ClassifierConfig {
        program: file.program,
        args: file.args,
        timeout,
        fail_mode: fail_mode.unwrap_or_default(),
        rooms,
    })
}

/// A list option: the command line's (repeatable, so an empty list means not given) replaces
/// the file's; `None` when neither sets it.
fn overridden_list(command_line: Vec<String>, file: Option<Vec<String>>) -> Option<Vec<String>> {
    if command_line.is_empty() {
        file
    } else {
        Some(command_line)
    }
}

fn invalid(field: &'static str, message: String) -> ConfigError {
    ConfigError::Invalid { field, message }
}

fn parse_addrs(field: &'static str, values: &[String]) -> Result<Vec<Multiaddr>, ConfigError> {
    values
        .iter()
        .map(|v| {
            v.parse::<Multiaddr>()
                .map_err(|e| invalid(field, format!("{v}: {e}")))
        })
        .collect()
}

fn parse_file(path: &Path) -> Result<ConfigFile, ConfigError> {
    let read = |source| ConfigError::Read {
        path: path.to_owned(),
        source,
    };
    let size = std::fs::metadata(path).map_err(read)?.len();
    if size > MAX_CONFIG_BYTES {
        return Err(ConfigError::TooLarge(path.to_owned()));
    }
    let text = std::fs::read_to_string(path).map_err(read)?;
    toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_loopback() {
        let config = Config::load(None, Overrides::default()).unwrap();
        assert_eq!(config.data_dir, PathBuf::from(DEFAULT_DATA_DIR));
        assert_eq!(config.http, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(
            config.listen,
            vec![DEFAULT_LISTEN.parse::<Multiaddr>().unwrap()]
        );
        assert!(config.bootstrap.is_empty());
    }

    #[test]
    fn file_then_overrides() {
        let file: ConfigFile = toml::from_str(
            "data_dir = \"/tmp/x\"\nhttp = \"127.0.0.1:9000\"\nlisten = [\"/ip4/127.0.0.1/tcp/1\"]\n",
        )
        .unwrap();
        let overrides = Overrides {
            http: Some("127.0.0.1:9001".into()),
            ..Default::default()
        };
        let config = Config::from_parts(file, overrides).unwrap();
        assert_eq!(config.data_dir, PathBuf::from("/tmp/x"));
        assert_eq!(config.http.port(), 9001);
        assert_eq!(config.listen[0].to_string(), "/ip4/127.0.0.1/tcp/1");
    }

    #[test]
    fn bad_values_are_refused_with_reasons() {
        let unknown = toml::from_str::<ConfigFile>("colour = \"blue\"\n");
        assert!(unknown.is_err());
        let bad_http = Overrides {
            http: Some("nowhere".into()),
            ..Default::default()
        };
        let err = Config::from_parts(ConfigFile::default(), bad_http).unwrap_err();
        assert_eq!(err.reason(), "config_invalid");
        let no_peer_id = Overrides {
            bootstrap: vec!["/ip4/127.0.0.1/tcp/1".into()],
            ..Default::default()
        };
        let err = Config::from_parts(ConfigFile::default(), no_peer_id).unwrap_err();
        assert_eq!(err.reason(), "config_invalid");
        let udp = Overrides {
            listen: vec!["/ip4/127.0.0.1/udp/1".into()],
            ..Default::default()
        };
        assert!(Config::from_parts(ConfigFile::default(), udp).is_err());
    }

    #[test]
    fn trusted_proxies_come_from_the_file() {
        let file: ConfigFile =
            toml::from_str("trusted_proxies = [\"127.0.0.1\", \"10.0.0.0/8\"]\n").unwrap();
        let config = Config::from_parts(file, Overrides::default()).unwrap();
        assert!(config.trusted_proxies.contains("10.9.8.7".parse().unwrap()));
        assert!(
            !config
                .trusted_proxies
                .contains("192.0.2.1".parse().unwrap())
        );
        assert!(
            Config::load(None, Overrides::default())
                .unwrap()
                .trusted_proxies
                .is_empty()
        );
        let file: ConfigFile = toml::from_str("trusted_proxies = [\"proxy.local\"]\n").unwrap();
        match Config::from_parts(file, Overrides::default()).unwrap_err() {
            ConfigError::Invalid { field, message } => {
                assert_eq!(field, "trusted_proxies");
                assert!(message.contains("proxy.local"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn reachability_options_are_checked() {
        let peer = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";
        let file_text = format!(
            "external_addresses = [\"/ip4/203.0.113.7/tcp/7447\", \"/dns/chat.example.org/tcp/7447\"]\n\
             relays = [\"/ip4/198.51.100.1/tcp/7447/p2p/{peer}\"]\nrelay_server = true\nautonat = false\n"
        );
        let config_file = |text: &str| toml::from_str::<ConfigFile>(text).unwrap();
        let config = Config::from_parts(config_file(&file_text), Overrides::default()).unwrap();
        assert_eq!(config.external_addresses.len(), 2);
        assert_eq!(config.relays.len(), 1);
        assert!(config.relay_server && !config.autonat);
        // The command-line flags replace the file's lists, and are checked the same way.
        let flags = Overrides {
            external_addresses: vec!["/ip4/192.0.2.9/tcp/7447".into()],
            relays: vec![format!("/ip4/198.51.100.2/tcp/7447/p2p/{peer}")],
            ..Overrides::default()
        };
        let replaced = Config::from_parts(config_file(&file_text), flags).unwrap();
        assert_eq!(
            replaced.external_addresses,
            ["/ip4/192.0.2.9/tcp/7447".parse::<Multiaddr>().unwrap()]
        );
        assert_eq!(
            replaced.relays[0].to_string(),
            format!("/ip4/198.51.100.2/tcp/7447/p2p/{peer}")
        );
        let bad_flag = Overrides {
            relays: vec!["/ip4/198.51.100.2/tcp/7447".into()],
            ..Overrides::default()
        };
        let err = Config::from_parts(ConfigFile::default(), bad_flag).unwrap_err();
        assert_eq!(err.reason(), "config_invalid");
        let default = Config::load(None, Overrides::default()).unwrap();
        assert!(default.external_addresses.is_empty() && default.relays.is_empty());
        assert!(!default.relay_server && default.autonat);
        for bad in [
            "external_addresses = [\"/ip4/203.0.113.7/udp/7447\"]\n".to_owned(),
            format!("external_addresses = [\"/ip4/203.0.113.7/tcp/7447/p2p/{peer}\"]\n"),
            "external_addresses = [\"nonsense\"]\n".to_owned(),
            "relays = [\"/ip4/198.51.100.1/tcp/7447\"]\n".to_owned(),
            format!("relays = [\"/ip4/198.51.100.1/tcp/1/p2p/{peer}/p2p-circuit/p2p/{peer}\"]\n"),
            format!(
                "relays = [{}]\n",
                vec![format!("\"/ip4/198.51.100.1/tcp/1/p2p/{peer}\""); MAX_RELAYS + 1].join(",")
            ),
        ] {
            let file: ConfigFile = toml::from_str(&bad).unwrap();
            let err = Config::from_parts(file, Overrides::default()).unwrap_err();
            assert_eq!(err.reason(), "config_invalid", "{bad}");
        }
    }

    #[test]
    fn the_classifier_table_is_checked() {
        let room = "ab".repeat(32);
        let file: ConfigFile = toml::from_str(&format!(
            "[classifier]\nprogram = \"/bin/cat\"\nargs = [\"-u\"]\nfail_mode = \"fail_closed\"\n\
             [classifier.rooms]\n\"{room}\" = \"off\"\n"
        ))
        .unwrap();
        let config = Config::from_parts(file, Overrides::default()).unwrap();
        let classifier = config.classifier.unwrap();
        assert_eq!(classifier.timeout, DEFAULT_TIMEOUT);
        assert_eq!(classifier.fail_mode, FailMode::FailClosed);
        assert_eq!(
            classifier.rooms.values().copied().collect::<Vec<_>>(),
            [FailMode::Off]
        );
        for bad in [
            "[classifier]\nprogram = \"\"\n",
            "[classifier]\nprogram = \"x\"\ntimeout_ms = 0\n",
            "[classifier]\nprogram = \"x\"\ntimeout_ms = 60001\n",
            "[classifier]\nprogram = \"x\"\nfail_mode = \"closed\"\n",
            "[classifier]\nprogram = \"x\"\n[classifier.rooms]\nnot_a_room = \"off\"\n",
        ] {
            let file: ConfigFile = toml::from_str(bad).unwrap();
            let err = Config::from_parts(file, Overrides::default()).unwrap_err();
            assert_eq!(err.reason(), "config_invalid", "{bad}");
        }
        assert!(
            Config::load(None, Overrides::default())
                .unwrap()
                .classifier
                .is_none()
        );
    }

    #[test]
    fn rate_limits_from_the_file() {
        let file: ConfigFile =
            toml::from_str("[rate_limits]\njoins = { burst = 3, per_minute = 2 }\n").unwrap();
        let config = Config::from_parts(file, Overrides::default()).unwrap();
        assert_eq!(config.rate_limits.joins.burst, 3);
        assert_eq!(config.rate_limits.user, crate::rate_limits::DEFAULT_USER);
        let file: ConfigFile =
            toml::from_str("[rate_limits]\npeer = { burst = 1, per_minute = 0 }\n").unwrap();
        let err = Config::from_parts(file, Overrides::default()).unwrap_err();
        assert_eq!(err.reason(), "config_invalid");
    }

    #[test]
    fn the_enforcer_key_file_comes_from_the_moderation_table() {
        let file: ConfigFile =
            toml::from_str("[moderation]\nenforcer_key_file = \"/etc/causerie/enforcer.key\"\n")
                .unwrap();
        let config = Config::from_parts(file, Overrides::default()).unwrap();
        assert_eq!(
            config.enforcer_key_file,
            Some(PathBuf::from("/etc/causerie/enforcer.key"))
        );
        assert!(toml::from_str::<ConfigFile>("[moderation]\nenforcer = 1\n").is_err());
        let default = Config::load(None, Overrides::default()).unwrap();
        assert_eq!(default.enforcer_key_file, None);
    }

    #[test]
    fn public_origin_is_checked_and_normalised() {
        let origin = |text: &str| PublicOrigin::parse(text);
        let o = origin("https://Chat.Example.org").unwrap();
        assert_eq!(o.to_string(), "https://chat.example.org");
        assert_eq!(
            (o.host(), o.port(), o.authority().as_str()),
            ("chat.example.org", 443, "chat.example.org")
        );
        assert_eq!(o.domain(), Some("chat.example.org"));
        let o = origin("https://chat.example.org:8443/").unwrap();
        assert_eq!(o.authority(), "chat.example.org:8443");
        assert_eq!(o.to_string(), "https://chat.example.org:8443");
        // The default port is not written.
        assert_eq!(
            origin("https://a.example:443").unwrap().authority(),
            "a.example"
        );
        assert_eq!(
            origin("http://a.example:80").unwrap().to_string(),
            "http://a.example"
        );
        let o = origin("http://[2001:DB8::1]:8080").unwrap();
        assert_eq!(
            (o.host(), o.authority().as_str()),
            ("2001:db8::1", "[2001:db8::1]:8080")
        );
        assert_eq!(o.domain(), None);
        assert_eq!(origin("https://192.0.2.1").unwrap().domain(), None);
        for (bad, reason) in [
            ("chat.example.org", "origin_bad_scheme"),
            ("ftp://chat.example.org", "origin_bad_scheme"),
            ("https://chat.example.org/join", "origin_not_an_origin"),
            ("https://chat.example.org?x=1", "origin_not_an_origin"),
            ("https://user@chat.example.org", "origin_not_an_origin"),
            ("https://", "origin_bad_host"),
            ("https://-bad.example", "origin_bad_host"),
            ("https://bad..example", "origin_bad_host"),
            ("https://under_score.example", "origin_bad_host"),
            ("https://1.2.3.999", "origin_bad_host"),
            ("https://[nope]", "origin_bad_host"),
            ("https://a.example:0", "origin_bad_port"),
            ("https://a.example:65536", "origin_bad_port"),
            ("https://a.example:", "origin_bad_port"),
            ("https://a.example:+1", "origin_bad_port"),
        ] {
            assert_eq!(origin(bad).unwrap_err().reason(), reason, "{bad}");
        }
        let long = format!("https://{}.example", "a".repeat(MAX_ORIGIN_BYTES));
        assert_eq!(origin(&long).unwrap_err().reason(), "origin_too_long");
        // Through the config file: validated once, typed error.
        let file: ConfigFile =
            toml::from_str("public_origin = \"https://chat.example.org:8443\"\n").unwrap();
        let config = Config::from_parts(file, Overrides::default()).unwrap();
        assert_eq!(config.public_host(), Some("chat.example.org"));
        let file: ConfigFile = toml::from_str("public_origin = \"chat.example.org\"\n").unwrap();
        let err = Config::from_parts(file, Overrides::default()).unwrap_err();
        assert_eq!(err.reason(), "config_invalid");
        assert_eq!(
            Config::load(None, Overrides::default())
                .unwrap()
                .public_host(),
            None
        );
    }

    #[test]
    fn the_tls_table_is_checked() {
        let load = |text: &str| {
            let file: ConfigFile = toml::from_str(text).unwrap();
            Config::from_parts(file, Overrides::default())
        };
        assert_eq!(load("").unwrap().tls, TlsConfig::Off);
        let files = load("[tls]\nmode = \"files\"\ncert_file = \"c.pem\"\nkey_file = \"k.pem\"\n");
        assert_eq!(
            files.unwrap().tls,
            TlsConfig::Files {
                cert_file: "c.pem".into(),
                key_file: "k.pem".into()
            }
        );
        let acme = load(
            "data_dir = \"/d\"\npublic_origin = \"https://chat.example.org\"\n[tls]\nmode = \"acme\"\n\
             contact = [\"ops@example.org\"]\n",
        )
        .unwrap();
        assert_eq!(
            acme.tls,
            TlsConfig::Acme(AcmeConfig {
                domains: vec!["chat.example.org".into()],
                contact: vec!["ops@example.org".into()],
                directory_url: LETS_ENCRYPT_DIRECTORY.into(),
                directory_ca_file: None,
                cache_dir: "/d/acme".into(),
            })
        );
        for bad in [
            "[tls]\nmode = \"on\"\n",
            "[tls]\nmode = \"files\"\ncert_file = \"c.pem\"\n",
            "[tls]\nmode = \"acme\"\n",
            "public_origin = \"https://192.0.2.1\"\n[tls]\nmode = \"acme\"\n",
            "public_origin = \"http://a.example\"\n[tls]\nmode = \"files\"\ncert_file = \"c\"\nkey_file = \"k\"\n",
            "[tls]\nmode = \"acme\"\ndomains = []\n",
            "[tls]\nmode = \"acme\"\ndomains = [\"bad_domain\"]\n",
            "[tls]\nmode = \"acme\"\ndomains = [\"a.example\"]\ncontact = [\"nobody\"]\n",
            "[tls]\nmode = \"acme\"\ndomains = [\"a.example\"]\ndirectory_url = \"http://x\"\n",
        ] {
            assert_eq!(load(bad).unwrap_err().reason(), "config_invalid", "{bad}");
        }
        assert!(toml::from_str::<ConfigFile>("[tls]\ncert = \"x\"\n").is_err());
    }

    #[test]
    fn federation_deny_takes_node_keys() {
        let key = causerie_crypto::NodeSecret::from_seed(&[5; 32]).public();
        let hex = hex::encode(key.as_bytes());
        let file: ConfigFile =
            toml::from_str(&format!("[federation]\ndeny = [\"{hex}\"]\n")).unwrap();
        let config = Config::from_parts(file, Overrides::default()).unwrap();
        assert_eq!(config.federation_deny, [key].into_iter().collect());
        let bad: ConfigFile = toml::from_str("[federation]\ndeny = [\"nope\"]\n").unwrap();
        let err = Config::from_parts(bad, Overrides::default()).unwrap_err();
        assert_eq!(err.reason(), "config_invalid");
        assert!(toml::from_str::<ConfigFile>("[federation]\nallow = []\n").is_err());
        let many = vec![format!("\"{hex}\""); MAX_FEDERATION_DENY + 1].join(",");
        let file: ConfigFile = toml::from_str(&format!("[federation]\ndeny = [{many}]\n")).unwrap();
        assert!(Config::from_parts(file, Overrides::default()).is_err());
        assert!(
            Config::load(None, Overrides::default())
                .unwrap()
                .federation_deny
                .is_empty()
        );
    }
}
