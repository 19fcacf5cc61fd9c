//! A request's client address: the connection's own, or, when the connection comes from a
//! trusted reverse proxy (`trusted_proxies`), the address its `X-Forwarded-For` names.
//!
//! Proxies append the address they received a request from, so the header reads client first,
//! nearest proxy last, and everything left of the last trusted hop may have been written by
//! the client. The list is therefore read from the right: trusted proxies are skipped and the
//! first address that is not one is the client. A client that sends its own header only adds
//! entries to the left of the one its proxy appended, which are never reached.

use std::net::{IpAddr, SocketAddr};

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;

use super::error::{ApiError, Reason};
use super::limits::MAX_FORWARDED_HOPS;
use crate::config::TrustedProxies;

/// The forwarding header read.
pub const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// Where a request came from, as the guard resolved it (a request extension; handlers take it
/// as an extractor). The port is 0 when a proxy forwarded the address without one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub SocketAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        // The guard inserts it before any handler runs; a route outside the guard is a bug.
        parts
            .extensions
            .get::<ClientAddress>()
            .copied()
            .ok_or_else(|| ApiError::new(Reason::Internal, "no client address"))
    }
}

/// What [`resolve`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resolved {
    /// The client's address.
    pub client: SocketAddr,
    /// A trusted proxy's header held an entry that is not an address (`bad_forwarded_for`):
    /// the client is then the last trusted hop read before it.
    pub malformed: bool,
}

/// The client address of a request that arrived on a connection from `peer`.
pub fn resolve(proxies: &TrustedProxies, peer: SocketAddr, headers: &HeaderMap) -> Resolved {
    let mut resolved = Resolved {
        client: peer,
        malformed: false,
    };
    if !proxies.contains(peer.ip()) {
        return resolved;
    }
    // Header lines in order, each a comma-separated list: the entries from the right.
    let mut lines: Vec<&str> = Vec::new();
    for value in headers.get_all(X_FORWARDED_FOR) {
        match value.to_str() {
            Ok(line) => lines.push(line),
            Err(_) => {
                resolved.malformed = true;
                return resolved;
            }
        }
    }
    let entries = lines
        .iter()
        .rev()
        .flat_map(|line| line.rsplit(','))
        .take(MAX_FORWARDED_HOPS);
    for entry in entries {
        let Some(hop) = parse_hop(entry.trim()) else {
            resolved.malformed = true;
            return resolved;
        };
        resolved.client = hop;
        if !proxies.contains(hop.ip()) {
            break;
        }
    }
    resolved
}

/// One `X-Forwarded-For` entry: an address, with or without a port (`192.0.2.7`,
/// `192.0.2.7:4711`, `2001:db8::7`, `[2001:db8::7]:4711`); IPv4 mapped into IPv6 as IPv4.
fn parse_hop(entry: &str) -> Option<SocketAddr> {
    let addr = entry
        .parse::<SocketAddr>()
        .ok()
        .or_else(|| {
            entry
                .parse::<IpAddr>()
                .ok()
                .map(|ip| SocketAddr::new(ip, 0))
        })
        .or_else(|| {
            let inner = entry.strip_prefix('[')?.strip_suffix(']')?;
            inner
                .parse::<IpAddr>()
                .ok()
                .map(|ip| SocketAddr::new(ip, 0))
        })?;
    Some(SocketAddr::new(addr.ip().to_canonical(), addr.port()))
}

#[cfg(test)]
mod tests {
    use super::*;

    use axum::http::HeaderValue;

    const PROXY: &str = "127.0.0.1:40000";

    fn proxies() -> TrustedProxies {
        TrustedProxies::parse(&["127.0.0.1".into(), "10.0.0.0/8".into()]).unwrap()
    }

    fn resolve_from(peer: &str, lines: &[&[u8]]) -> Resolved {
        let mut headers = HeaderMap::new();
        for line in lines {
            headers.append(X_FORWARDED_FOR, HeaderValue::from_bytes(line).unwrap());
        }
        resolve(&proxies(), peer.parse().unwrap(), &headers)
    }

    fn client(peer: &str, lines: &[&[u8]]) -> String {
        let resolved = resolve_from(peer, lines);
        assert!(!resolved.malformed, "{lines:?}");
        resolved.client.to_string()
    }

    #[test]
    fn a_trusted_proxy_names_the_client() {
        assert_eq!(client(PROXY, &[b"203.0.113.5"]), "203.0.113.5:0");
        assert_eq!(client(PROXY, &[b"203.0.113.5:4711"]), "203.0.113.5:4711");
        assert_eq!(client(PROXY, &[b"2001:db8::7"]), "[2001:db8::7]:0");
        assert_eq!(
            client(PROXY, &[b"[2001:db8::7]:4711"]),
            "[2001:db8::7]:4711"
        );
        assert_eq!(client(PROXY, &[b"[2001:db8::7]"]), "[2001:db8::7]:0");
        assert_eq!(client(PROXY, &[b"::ffff:203.0.113.5"]), "203.0.113.5:0");
        // Trusted hops on the right are skipped, over several header lines too.
        assert_eq!(client(PROXY, &[b"203.0.113.5, 10.0.0.2"]), "203.0.113.5:0");
        assert_eq!(
            client(PROXY, &[b"203.0.113.5", b"10.0.0.2,10.0.0.3"]),
            "203.0.113.5:0"
        );
        // No header: the proxy itself asked.
        assert_eq!(client(PROXY, &[]), PROXY);
        // Every hop trusted: the leftmost is the client.
        assert_eq!(client(PROXY, &[b"10.0.0.9, 10.0.0.2"]), "10.0.0.9:0");
    }

    #[test]
    fn what_a_client_writes_itself_is_never_believed() {
        // Sent straight to the node, the header is ignored.
        assert_eq!(
            client("198.51.100.1:5000", &[b"203.0.113.5"]),
            "198.51.100.1:5000"
        );
        // Sent through the proxy, the client's own entries stand left of the one the proxy
        // appended, which is the first untrusted one from the right.
        assert_eq!(
            client(PROXY, &[b"127.0.0.1, 198.51.100.1"]),
            "198.51.100.1:0"
        );
        assert_eq!(
            client(PROXY, &[b"not an address, 198.51.100.1"]),
            "198.51.100.1:0"
        );
    }

    #[test]
    fn a_malformed_entry_leaves_the_last_trusted_hop() {
        let resolved = resolve_from(PROXY, &[b"garbage"]);
        assert_eq!(
            resolved,
            Resolved {
                client: PROXY.parse().unwrap(),
                malformed: true
            }
        );
        let resolved = resolve_from(PROXY, &[b"garbage, 10.0.0.2"]);
        assert!(resolved.malformed);
        assert_eq!(resolved.client.to_string(), "10.0.0.2:0");
        let resolved = resolve_from(PROXY, &[b"", b"\xff"]);
        assert!(resolved.malformed);
        assert_eq!(resolved.client.to_string(), PROXY);
    }

    #[test]
    fn at_most_max_forwarded_hops_are_read() {
        let mut chain: Vec<String> = vec!["203.0.113.5".into()];
        chain.extend((0..MAX_FORWARDED_HOPS).map(|i| format!("10.0.0.{i}")));
        let line = chain.join(", ");
        // The client stands one entry too far left: the last hop read counts.
        let resolved = resolve_from(PROXY, &[line.as_bytes()]);
        assert!(!resolved.malformed);
        assert_eq!(resolved.client.to_string(), "10.0.0.0:0");
    }
}
