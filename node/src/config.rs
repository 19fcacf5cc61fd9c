//! The node's typed configuration: documented defaults, an optional TOML file, then command-line
//! overrides, validated once ([`Config::validate`]) before anything starts. Library code never
//! reads environment variables; the binary builds a [`Config`] and hands it over.
//!
//! Defaults talk only to loopback: nothing listens on a public interface and there are no
//! bootstrap peers unless configured.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use libp2p::Multiaddr;
use libp2p::multiaddr::Protocol;
use serde::Deserialize;
use thiserror::Error;

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

/// The config file's shape: every field optional; absent fields keep their defaults.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// See [`Config::data_dir`].
    pub data_dir: Option<PathBuf>,
    /// See [`Config::listen`].
    pub listen: Option<Vec<String>>,
    /// See [`Config::bootstrap`].
    pub bootstrap: Option<Vec<String>>,
    /// See [`Config::http`].
    pub http: Option<String>,
    /// See [`Config::http_allowed_hosts`].
    pub http_allowed_hosts: Option<Vec<String>>,
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
    /// Client API and metrics address. Default `127.0.0.1:8080`.
    pub http: SocketAddr,
    /// `Host` header values (`name:port`) the HTTP server answers to. Default (empty): the bound
    /// address, and `localhost`, `127.0.0.1` and `[::1]` with its port. Requests naming another
    /// host are refused, which defeats DNS rebinding against a local node; list the public
    /// name here when serving behind a reverse proxy.
    pub http_allowed_hosts: Vec<String>,
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
        let listen = if !overrides.listen.is_empty() {
            overrides.listen
        } else {
            file.listen
                .unwrap_or_else(|| vec![DEFAULT_LISTEN.to_owned()])
        };
        let bootstrap = if !overrides.bootstrap.is_empty() {
            overrides.bootstrap
        } else {
            file.bootstrap.unwrap_or_default()
        };
        let http = overrides
            .http
            .or(file.http)
            .unwrap_or_else(|| DEFAULT_HTTP.to_owned());
        let config = Config {
            data_dir,
            listen: parse_addrs("listen", &listen)?,
            bootstrap: parse_addrs("bootstrap", &bootstrap)?,
            http: http
                .parse()
                .map_err(|e| invalid("http", format!("{http}: {e}")))?,
            http_allowed_hosts: file.http_allowed_hosts.unwrap_or_default(),
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
        for addr in &self.bootstrap {
            if !matches!(addr.iter().last(), Some(Protocol::P2p(_))) {
                return Err(invalid(
                    "bootstrap",
                    format!("{addr}: must end in /p2p/<peer id>"),
                ));
            }
        }
        Ok(())
    }

    /// The node key file.
    pub fn node_key_path(&self) -> PathBuf {
        self.data_dir.join("node.key")
    }

    /// The store directory.
    pub fn store_path(&self) -> PathBuf {
        self.data_dir.join("store")
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
}
