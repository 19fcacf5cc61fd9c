//! Invite links (specs/federation.md, "Invite links"):
//! `causerie:join/<room id hex>?via=<multiaddr>&via=<multiaddr>...`.
//!
//! A link carries what a node needs to join a room through any node hosting it: the room id
//! (the create event's id, checked against the fetched create event) and at least one address
//! to dial, each ending in `/p2p/<peer id>` so the Noise handshake authenticates the host.

use std::fmt;
use std::str::FromStr;

use causerie_crypto::RoomId;
use libp2p::Multiaddr;
use libp2p::multiaddr::Protocol;

/// Scheme and path prefix of every invite link.
pub const INVITE_PREFIX: &str = "causerie:join/";
/// Longest invite link accepted, in bytes.
pub const MAX_INVITE_BYTES: usize = 4_096;
/// Most `via` addresses in one link.
pub const MAX_INVITE_VIAS: usize = 16;

/// A parsed invite link.
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
    /// Longer than [`MAX_INVITE_BYTES`].
    #[error("invite link too long")]
    TooLong,
    /// Does not start with [`INVITE_PREFIX`].
    #[error("not a causerie join link")]
    NotAnInvite,
    /// The room id is not 64 hex digits.
    #[error("bad room id")]
    BadRoomId,
    /// A query parameter other than `via`, or an unparsable address.
    #[error("bad via address")]
    BadVia,
    /// A `via` address without a `/p2p/<peer id>` suffix.
    #[error("via address without peer id")]
    MissingPeerId,
    /// No `via` address, or more than [`MAX_INVITE_VIAS`].
    #[error("need 1 to {MAX_INVITE_VIAS} via addresses")]
    ViaCount,
}

impl InviteError {
    /// Stable reason name.
    pub fn reason(&self) -> &'static str {
        match self {
            InviteError::TooLong => "invite_too_long",
            InviteError::NotAnInvite => "not_an_invite",
            InviteError::BadRoomId => "bad_room_id",
            InviteError::BadVia => "bad_via",
            InviteError::MissingPeerId => "missing_peer_id",
            InviteError::ViaCount => "via_count",
        }
    }
}

impl FromStr for Invite {
    type Err = InviteError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.len() > MAX_INVITE_BYTES {
            return Err(InviteError::TooLong);
        }
        let rest = text
            .strip_prefix(INVITE_PREFIX)
            .ok_or(InviteError::NotAnInvite)?;
        let (room_text, query) = rest.split_once('?').unwrap_or((rest, ""));
        // Only the bare hex form: the `!` display prefix is not URL-safe.
        if room_text.len() != 64 || !room_text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(InviteError::BadRoomId);
        }
        let room = RoomId::from_str(room_text).map_err(|_| InviteError::BadRoomId)?;
        let mut via = Vec::new();
        for parameter in query.split('&').filter(|p| !p.is_empty()) {
            let address = parameter.strip_prefix("via=").ok_or(InviteError::BadVia)?;
            if via.len() == MAX_INVITE_VIAS {
                return Err(InviteError::ViaCount);
            }
            let address = Multiaddr::from_str(address).map_err(|_| InviteError::BadVia)?;
            if peer_of(&address).is_none() {
                return Err(InviteError::MissingPeerId);
            }
            via.push(address);
        }
        if via.is_empty() {
            return Err(InviteError::ViaCount);
        }
        Ok(Invite { room, via })
    }
}

impl fmt::Display for Invite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{INVITE_PREFIX}{}", self.room.0.to_hex())?;
        for (i, address) in self.via.iter().enumerate() {
            let separator = if i == 0 { '?' } else { '&' };
            write!(f, "{separator}via={address}")?;
        }
        Ok(())
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
        let many = (0..=MAX_INVITE_VIAS)
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
