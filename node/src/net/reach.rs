//! What a node knows of its reachability (specs/federation.md, "Addresses, reachability and
//! relays"): AutoNAT's verdict, the addresses it announces, and the relay circuits it holds.
//! Plain data, answered by the swarm actor and shown by `GET /api/v1/node`.

use libp2p::Multiaddr;

/// AutoNAT's verdict on whether other nodes can dial this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Reachable {
    /// Not probed yet, or AutoNAT is off, or no peer could probe.
    #[default]
    Unknown,
    /// Peers tried to dial back and could not (behind NAT or a firewall): the node relies on
    /// its relays and on hole punching.
    Private,
    /// Peers dialled it back.
    Public,
}

impl Reachable {
    /// Every status, in the order of their gauge values.
    pub const ALL: [Reachable; 3] = [Reachable::Unknown, Reachable::Private, Reachable::Public];

    /// Stable name (`unknown`, `private`, `public`).
    pub fn name(self) -> &'static str {
        match self {
            Reachable::Unknown => "unknown",
            Reachable::Private => "private",
            Reachable::Public => "public",
        }
    }

    /// The value kept in the metrics gauge.
    pub fn code(self) -> u64 {
        match self {
            Reachable::Unknown => 0,
            Reachable::Private => 1,
            Reachable::Public => 2,
        }
    }

    /// The status a gauge value stands for (unknown values read as unknown).
    pub fn from_code(code: u64) -> Reachable {
        match code {
            1 => Reachable::Private,
            2 => Reachable::Public,
            _ => Reachable::Unknown,
        }
    }
}

/// A snapshot of the node's reachability.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reachability {
    /// AutoNAT's verdict.
    pub status: Reachable,
    /// Addresses announced to peers: configured, confirmed by AutoNAT, and relay circuits.
    pub external_addrs: Vec<Multiaddr>,
    /// The relay circuit addresses the node listens on (a reservation is held on each relay).
    pub relay_circuits: Vec<Multiaddr>,
    /// Connected peers reached only through a relay circuit now.
    pub relayed_peers: Vec<libp2p::PeerId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for status in Reachable::ALL {
            assert_eq!(Reachable::from_code(status.code()), status);
        }
        assert_eq!(Reachable::from_code(99), Reachable::Unknown);
        assert_eq!(Reachable::default().name(), "unknown");
    }
}
