//! `trusted_proxies`: the reverse proxies whose `X-Forwarded-For` the HTTP server believes.
//!
//! Behind a reverse proxy every client reaches the node from the proxy's address. Without this
//! list the per-client limits (requests, connections, challenges, sessions) would count every
//! user as one client, and registration records would keep the proxy's address instead of the
//! user's. Only a connection from a listed address has its forwarded address read; from any
//! other, the header is ignored, so a client cannot choose its own address.

use std::net::IpAddr;

use ipnet::IpNet;

/// Most entries in `trusted_proxies`.
pub const MAX_TRUSTED_PROXIES: usize = 32;

/// The proxies a connection may come through (addresses or networks), in the order given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses entries that are each an address (`127.0.0.1`, `::1`) or a network in prefix
    /// form (`10.0.0.0/8`, `fd00::/8`); at most [`MAX_TRUSTED_PROXIES`]. The error names the
    /// entry refused.
    pub fn parse(entries: &[String]) -> Result<TrustedProxies, String> {
        if entries.len() > MAX_TRUSTED_PROXIES {
            return Err(format!("at most {MAX_TRUSTED_PROXIES} entries"));
        }
        entries
            .iter()
            .map(|entry| {
                let text = entry.trim();
                text.parse::<IpNet>()
                    .map(|net| net.trunc())
                    .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        format!("{entry:?}: expected an IP address or network (a.b.c.d/n)")
                    })
            })
            .collect::<Result<_, _>>()
            .map(TrustedProxies)
    }

    /// Whether no proxy is trusted (the default).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` is a trusted proxy (an IPv4 address mapped into IPv6 counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(entries: &[&str]) -> Result<TrustedProxies, String> {
        TrustedProxies::parse(&entries.iter().map(|e| (*e).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn addresses_and_networks_are_trusted_and_nothing_else() {
        let trusted = proxies(&["127.0.0.1", "::1", "10.1.2.3/8", " fd00::/8 "]).unwrap();
        for ip in [
            "127.0.0.1",
            "::1",
            "10.0.0.1",
            "10.255.255.255",
            "fd12::7",
            "::ffff:127.0.0.1",
        ] {
            assert!(trusted.contains(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "127.0.0.2",
            "11.0.0.1",
            "fe80::1",
            "192.0.2.1",
            "::ffff:192.0.2.1",
        ] {
            assert!(!trusted.contains(ip.parse().unwrap()), "{ip}");
        }
        assert!(proxies(&[]).unwrap().is_empty());
        assert!(!proxies(&[]).unwrap().contains("127.0.0.1".parse().unwrap()));
    }

    #[test]
    fn bad_entries_are_refused_by_name() {
        for bad in [
            "",
            "localhost",
            "10.0.0.0/33",
            "1.2.3",
            "::1/129",
            "127.0.0.1:80",
        ] {
            let error = proxies(&[bad]).unwrap_err();
            assert!(error.contains(&format!("{bad:?}")), "{bad}: {error}");
        }
        let many: Vec<String> = (0..=MAX_TRUSTED_PROXIES)
            .map(|i| format!("10.0.0.{i}"))
            .collect();
        assert!(TrustedProxies::parse(&many).is_err());
    }
}
