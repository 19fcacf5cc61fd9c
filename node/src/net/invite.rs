//! Invite links (specs/federation.md, "Invite links"):
//! `causerie:join/<room id hex>?via=<multiaddr>&via=<multiaddr>...`. Their form is parsed by
//! [`causerie_crypto::address::InviteLink`], shared with the client API and the CLI; this module
//! adds what only the network can check: each `via` is a multiaddr ending in a peer id.
//!
//! A link carries what a node needs to join a room through any node hosting it: the room id
//! (the create event's id, checked against the fetched create event) and at least one address
//! to dial, each ending in `/p2p/<peer id>` so the Noise handshake authenticates the host.

use std::fmt;
use std::str::FromStr;

use causerie_crypto::RoomId;
use causerie_crypto::address::{AddressError, InviteLink};
use libp2p::Multiaddr;
use libp2p::multiaddr::Protocol;

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

/// The peer id an address ends with, if any.
pub fn peer_of(address: &Multiaddr) -> Option<libp2p::PeerId> {
    match address.iter().last() {
        Some(Protocol::P2p(peer)) => Some(peer),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use causerie_crypto::Hash32;
    use libp2p::PeerId;

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
