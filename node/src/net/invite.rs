//! Invite links (specs/federation.md, "Invite links"):
//! `causerie:join/<room id hex>?via=<multiaddr>&via=<multiaddr>...`. Their form is parsed by
//! [`causerie_crypto::address::InviteLink`], shared with the client API and the CLI; this module
//! adds what only the network can check: each `via` is a multiaddr ending in a peer id.
//!
//! A link carries what a node needs to join a room through any node hosting it: the room id
//! (the create event's id, checked against the fetched create event) and at least one address
//! to dial, each ending in `/p2p/<peer id>` so the Noise handshake authenticates the host.
//!
//! Which addresses a node puts in its own links is [`invite_addresses`] (specs/federation.md,
//! "Addresses, reachability and relays").

use std::fmt;
use std::str::FromStr;

use causerie_crypto::RoomId;
use causerie_crypto::address::{AddressError, InviteLink};
use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};

/// A parsed invite link whose `via` addresses are multiaddrs ending in a peer id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invite {
    /// The room to join.
    pub room: RoomId,
    /// Addresses of nodes hosting it, each with a `/p2p/<peer id>` suffix.
    pub via: Vec<Multiaddr>,
}

/// Why an invite link did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InviteError {
    /// The link's form (prefix, room id, parameters, size; see [`causerie_crypto::address`]).
    #[error(transparent)]
    Link(#[from] AddressError),
    /// A `via` that is not a multiaddr.
    #[error("bad via address")]
    BadVia,
    /// A `via` address without a `/p2p/<peer id>` suffix.
    #[error("via address without peer id")]
    MissingPeerId,
}

impl InviteError {
    /// Stable reason name.
    pub fn reason(&self) -> &'static str {
        match self {
            InviteError::Link(e) => e.reason(),
            InviteError::BadVia => "bad_via",
            InviteError::MissingPeerId => "missing_peer_id",
        }
    }
}

impl FromStr for Invite {
    type Err = InviteError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let link = InviteLink::parse(text)?;
        let mut via = Vec::with_capacity(link.via.len());
        for address in &link.via {
            let address = Multiaddr::from_str(address).map_err(|_| InviteError::BadVia)?;
            if peer_of(&address).is_none() {
                return Err(InviteError::MissingPeerId);
            }
            via.push(address);
        }
        Ok(Invite {
            room: link.room,
            via,
        })
    }
}

impl fmt::Display for Invite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let link = InviteLink {
            room: self.room,
            via: self.via.iter().map(ToString::to_string).collect(),
        };
        fmt::Display::fmt(&link, f)
    }
}

/// The addresses a node's invite links carry, best first, each ending in `/p2p/<own>`, without
/// duplicates, at most [`MAX_INVITE_VIAS`](causerie_crypto::address::MAX_INVITE_VIAS) (a joining
/// node dials them in order until one serves the room):
/// 1. `external`: the announced addresses (`external_addresses`, then any AutoNAT confirmed);
/// 2. `/dns/<dns_name>/tcp/<port>` when the node has a public name (`/ip4`, `/ip6` when the
///    name is an IP address), with the TCP port of the first announced address, else of the
///    first listen address;
/// 3. `circuits`: `<relay>/p2p-circuit` addresses of the relays holding a reservation for it;
/// 4. `listen`: the listen addresses, only when neither 1 nor 3 gave any (a node on loopback or
///    a LAN announces nothing and stays joinable where it listens).
pub fn invite_addresses(
    own: PeerId,
    external: &[Multiaddr],
    dns_name: Option<&str>,
    circuits: &[Multiaddr],
    listen: &[Multiaddr],
) -> Vec<Multiaddr> {
    let port = external.iter().chain(listen).find_map(|address| {
        address.iter().find_map(|p| match p {
            Protocol::Tcp(port) => Some(port),
            _ => None,
        })
    });
    let dns = dns_name.zip(port).map(|(name, port)| {
        // A public "name" may be an IP address (an origin such as https://203.0.113.7).
        let host = match name.parse::<std::net::IpAddr>() {
            Ok(std::net::IpAddr::V4(ip)) => Protocol::Ip4(ip),
            Ok(std::net::IpAddr::V6(ip)) => Protocol::Ip6(ip),
            Err(_) => Protocol::Dns(name.to_owned().into()),
        };
        Multiaddr::empty().with(host).with(Protocol::Tcp(port))
    });
    let fallback = if external.is_empty() && circuits.is_empty() {
        listen
    } else {
        &[]
    };
    let mut out: Vec<Multiaddr> = Vec::new();
    let all = external
        .iter()
        .cloned()
        .chain(dns)
        .chain(circuits.iter().cloned())
        .chain(fallback.iter().cloned());
    for address in all {
        let address = match peer_of(&address) {
            Some(_) => address,
            None => address.with(Protocol::P2p(own)),
        };
        if out.len() == causerie_crypto::address::MAX_INVITE_VIAS {
            break;
        }
        if !out.contains(&address) {
            out.push(address);
        }
    }
    out
}

/// Whether an address goes through a relay (`/p2p-circuit`).
pub fn is_relayed(address: &Multiaddr) -> bool {
    address.iter().any(|p| p == Protocol::P2pCircuit)
}

/// The peer id an address ends with, if any.
pub fn peer_of(address: &Multiaddr) -> Option<PeerId> {
    match address.iter().last() {
        Some(Protocol::P2p(peer)) => Some(peer),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use causerie_crypto::Hash32;

    fn address(port: u16) -> Multiaddr {
        let peer = PeerId::from(libp2p::identity::Keypair::generate_ed25519().public());
        format!("/ip4/127.0.0.1/tcp/{port}/p2p/{peer}")
            .parse()
            .unwrap()
    }

    #[test]
    fn formats_and_parses_back() {
        let invite = Invite {
            room: RoomId(Hash32([0xab; 32])),
            via: vec![address(4001), address(4002)],
        };
        let text = invite.to_string();
        assert!(text.starts_with("causerie:join/abab"));
        assert!(text.contains("?via=/ip4/127.0.0.1/tcp/4001/p2p/"));
        assert!(text.contains("&via=/ip4/127.0.0.1/tcp/4002/p2p/"));
        assert_eq!(text.parse::<Invite>().unwrap(), invite);
        // A pasted link that names the room with its `!` is the same invite.
        let with_sigil = text.replacen("causerie:join/", "causerie:join/!", 1);
        assert_eq!(with_sigil.parse::<Invite>().unwrap(), invite);
    }

    #[test]
    fn invite_addresses_prefer_what_is_announced() {
        let own = PeerId::from(libp2p::identity::Keypair::generate_ed25519().public());
        let relay = address(4001);
        let a = |text: &str| text.parse::<Multiaddr>().unwrap();
        let listen = [a("/ip4/10.0.0.2/tcp/7447"), a("/ip4/127.0.0.1/tcp/7447")];
        let circuit = relay.clone().with(Protocol::P2pCircuit);
        let external = [a("/ip4/203.0.113.7/tcp/7000")];
        let with_own = |m: &Multiaddr| m.clone().with(Protocol::P2p(own));

        // Nothing announced: the listen addresses.
        let vias = invite_addresses(own, &[], None, &[], &listen);
        assert_eq!(vias, listen.iter().map(with_own).collect::<Vec<_>>());
        // A public name alone keeps them, after the name (port of the first listen address).
        let vias = invite_addresses(own, &[], Some("chat.example"), &[], &listen);
        assert_eq!(vias[0], a(&format!("/dns/chat.example/tcp/7447/p2p/{own}")));
        assert_eq!(vias.len(), 3);
        // Announced addresses first, then the name on their port, then circuits; no listen.
        let vias = invite_addresses(
            own,
            &external,
            Some("chat.example"),
            std::slice::from_ref(&circuit),
            &listen,
        );
        assert_eq!(
            vias,
            vec![
                with_own(&external[0]),
                a(&format!("/dns/chat.example/tcp/7000/p2p/{own}")),
                with_own(&circuit),
            ]
        );
        // An IP address as the public name is written as one.
        let vias = invite_addresses(own, &[], Some("203.0.113.9"), &[], &listen);
        assert_eq!(vias[0], a(&format!("/ip4/203.0.113.9/tcp/7447/p2p/{own}")));
        // Behind NAT: the circuit alone, which still parses as an invite's via.
        let vias = invite_addresses(own, &[], None, std::slice::from_ref(&circuit), &listen);
        assert_eq!(vias, vec![with_own(&circuit)]);
        assert!(is_relayed(&vias[0]) && !is_relayed(&listen[0]));
        let invite = Invite {
            room: RoomId(Hash32([1; 32])),
            via: vias,
        };
        assert_eq!(invite.to_string().parse::<Invite>().unwrap(), invite);
        // Bounded, without duplicates.
        let many: Vec<Multiaddr> = (0..40)
            .map(|i| a(&format!("/ip4/10.0.1.{i}/tcp/1")))
            .chain(external.iter().cloned())
            .collect();
        let vias = invite_addresses(own, &many, None, &[], &[]);
        assert_eq!(vias.len(), causerie_crypto::address::MAX_INVITE_VIAS);
        let twice = invite_addresses(
            own,
            &[external[0].clone(), external[0].clone()],
            None,
            &[],
            &[],
        );
        assert_eq!(twice.len(), 1);
    }

    #[test]
    fn refuses_bad_links() {
        let room = "ab".repeat(32);
        let good = address(1);
        let cases = [
            ("https://example.invalid/".to_string(), "not_an_invite"),
            (
                format!("causerie:join/{}?via={good}", &room[..60]),
                "bad_room_id",
            ),
            (
                format!("causerie:join/{}zz?via={good}", &room[..62]),
                "bad_room_id",
            ),
            (format!("causerie:join/{room}"), "via_count"),
            (
                format!("causerie:join/{room}?via=/ip4/1.2.3.4/tcp/1"),
                "missing_peer_id",
            ),
            (format!("causerie:join/{room}?via=nonsense"), "bad_via"),
            (format!("causerie:join/{room}?to={good}"), "bad_via"),
            (
                format!("causerie:join/{room}?via={}", "x".repeat(5_000)),
                "invite_too_long",
            ),
        ];
        for (text, reason) in cases {
            assert_eq!(
                text.parse::<Invite>().map_err(|e| e.reason()),
                Err(reason),
                "{text}"
            );
        }
        let many = (0..=causerie_crypto::address::MAX_INVITE_VIAS)
            .map(|i| format!("via={}", address(i as u16)))
            .collect::<Vec<_>>()
            .join("&");
        assert_eq!(
            format!("causerie:join/{room}?{many}")
                .parse::<Invite>()
                .map_err(|e| e.reason()),
            Err("via_count")
        );
    }
}
