//! The node's public web origin (`public_origin`) in normal form, and the host-name check that
//! the `[tls]` settings share with it.

use thiserror::Error;

use super::{MAX_DOMAIN_BYTES, MAX_ORIGIN_BYTES};

/// Why a `public_origin` was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum OriginError {
    /// Longer than [`MAX_ORIGIN_BYTES`].
    #[error("longer than {MAX_ORIGIN_BYTES} bytes")]
    TooLong,
    /// Not `https://` or `http://`.
    #[error("the scheme must be https:// or http://")]
    BadScheme,
    /// A path (other than a lone `/`), query, fragment or user info.
    #[error("an origin has no path, query, fragment or user name")]
    NotAnOrigin,
    /// No host, or not a DNS name or IP address.
    #[error("the host must be a DNS name or an IP address")]
    BadHost,
    /// A port that is not 1 to 65535.
    #[error("the port must be 1 to 65535")]
    BadPort,
}

impl OriginError {
    /// Stable reason name.
    pub fn reason(&self) -> &'static str {
        match self {
            OriginError::TooLong => "origin_too_long",
            OriginError::BadScheme => "origin_bad_scheme",
            OriginError::NotAnOrigin => "origin_not_an_origin",
            OriginError::BadHost => "origin_bad_host",
            OriginError::BadPort => "origin_bad_port",
        }
    }
}

/// A web origin: `https` or `http`, a host and an optional port, in normal form (lower case,
/// no default port written, no trailing slash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicOrigin {
    https: bool,
    /// Lower case; an IPv6 address without its brackets.
    host: String,
    /// Only when it differs from the scheme's default.
    port: Option<u16>,
}

impl PublicOrigin {
    /// Parses `scheme://host[:port]`, with at most a lone trailing `/`.
    pub fn parse(text: &str) -> Result<PublicOrigin, OriginError> {
        if text.len() > MAX_ORIGIN_BYTES {
            return Err(OriginError::TooLong);
        }
        let lower = text.to_ascii_lowercase();
        let (https, rest) = if let Some(rest) = lower.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = lower.strip_prefix("http://") {
            (false, rest)
        } else {
            return Err(OriginError::BadScheme);
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['/', '?', '#', '@', '\\']) {
            return Err(OriginError::NotAnOrigin);
        }
        let (host, port) = if let Some(bracketed) = rest.strip_prefix('[') {
            let (address, after) = bracketed.split_once(']').ok_or(OriginError::BadHost)?;
            address
                .parse::<std::net::Ipv6Addr>()
                .map_err(|_| OriginError::BadHost)?;
            let port = match after {
                "" => None,
                _ => Some(after.strip_prefix(':').ok_or(OriginError::BadHost)?),
            };
            (address, port)
        } else {
            match rest.split_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (rest, None),
            }
        };
        if !host.contains(':') && !is_domain_or_ipv4(host) {
            return Err(OriginError::BadHost);
        }
        let default_port = if https { 443 } else { 80 };
        let port = match port {
            None => None,
            Some(port) => {
                let ok =
                    !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit());
                match port.parse::<u16>() {
                    Ok(0) | Err(_) => return Err(OriginError::BadPort),
                    Ok(_) if !ok => return Err(OriginError::BadPort),
                    Ok(port) if port == default_port => None,
                    Ok(port) => Some(port),
                }
            }
        };
        Ok(PublicOrigin {
            https,
            host: host.to_owned(),
            port,
        })
    }

    /// Whether the scheme is `https`.
    pub fn is_https(&self) -> bool {
        self.https
    }

    /// The host: a DNS name or an IP address (IPv6 without brackets), lower case.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The host when it is a DNS name (not an IP address).
    pub fn domain(&self) -> Option<&str> {
        let ip = self.host.parse::<std::net::IpAddr>().is_ok();
        (!ip).then_some(self.host.as_str())
    }

    /// The port, the scheme's default (443 or 80) when none is written.
    pub fn port(&self) -> u16 {
        match (self.port, self.https) {
            (Some(port), _) => port,
            (None, true) => 443,
            (None, false) => 80,
        }
    }

    /// `host[:port]` as a browser sends it in the `Host` header (no default port; IPv6 in
    /// brackets).
    pub fn authority(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        match self.port {
            Some(port) => format!("{host}:{port}"),
            None => host,
        }
    }
}

impl std::fmt::Display for PublicOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = if self.https { "https" } else { "http" };
        write!(f, "{scheme}://{}", self.authority())
    }
}

/// A DNS name (labels of letters, digits and `-`, not starting or ending with `-`) or a dotted
/// IPv4 address.
pub(super) fn is_domain_or_ipv4(host: &str) -> bool {
    if host.is_empty() || host.len() > MAX_DOMAIN_BYTES {
        return false;
    }
    if host.parse::<std::net::Ipv4Addr>().is_ok() {
        return true;
    }
    let labels_ok = host.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    });
    // All-numeric last label would be a malformed IPv4 address, not a name.
    let last_numeric = host
        .rsplit('.')
        .next()
        .is_some_and(|label| label.bytes().all(|b| b.is_ascii_digit()));
    labels_ok && !last_numeric
}
