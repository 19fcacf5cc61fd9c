//! Directory announcements, server names and room aliases (specs/directory.md).
//!
//! A directory announcement is a node's signed list of the public rooms it holds, with their
//! member counts and the addresses it can be reached at, gossiped to every node so that each can
//! list the public rooms of the whole federation. It also carries the room aliases the node
//! gives in its own namespace: `#lobby:<server>` names a room only in the announcement of the
//! node that owns `<server>`.
//!
//! Wire form: canonical CBOR map `{issued_ms, name, node, rooms, signature, v, via}`, each room
//! `{alias, members, name, room, topic}`; signing input = `"causerie/v1/directory\0"` ‖ the map
//! without `signature`. `issued_ms` is also the announcement's sequence: a node's newer
//! announcement replaces its older one.
//!
//! A server name ([`ServerName`]) is either a node name, the first [`NODE_NAME_HEX_DIGITS`]
//! lowercase hex digits of the node key (checkable: it must match the announcing key), or a
//! host name with an optional port (the node's public DNS name, a claim that two keys may both
//! make: the node's directory then refuses to resolve it).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::attestation::valid_handle;
use crate::codec;

use crate::hash::RoomId;
use crate::keys::{NodeKey, NodeSecret};
use crate::signed::{self, Order, Statement};
use crate::signing::{Domain, Signature};

/// Largest encoded announcement, in bytes (fits one gossip message with room to spare).
pub const MAX_ANNOUNCEMENT_BYTES: usize = 32_768;
/// The version this crate writes and reads.
pub const ANNOUNCEMENT_VERSION: u64 = 1;
/// Most rooms in one announcement.
pub const MAX_DIRECTORY_ROOMS: usize = 64;
/// Most `via` addresses in one announcement.
pub const MAX_VIAS: usize = 8;
/// Longest `via` address (a multiaddr in text), in bytes.
pub const MAX_VIA_BYTES: usize = 256;
/// Longest room name in an announcement, in bytes (a longer one is cut by the announcer).
pub const MAX_NAME_BYTES: usize = 64;
/// Longest room topic in an announcement, in bytes (a longer one is cut by the announcer).
pub const MAX_TOPIC_BYTES: usize = 256;
/// Longest alias local part, in bytes (the handle limit: aliases are spelled like handles).
pub const MAX_ALIAS_BYTES: usize = crate::attestation::MAX_HANDLE_BYTES;
/// Longest host part of a server name, in bytes (DNS's limit).
pub const MAX_HOST_BYTES: usize = 253;
/// Longest label of a host name, in bytes (DNS's limit).
pub const MAX_LABEL_BYTES: usize = 63;
/// Hex digits of a node name: the first 8 bytes of the node key.
pub const NODE_NAME_HEX_DIGITS: usize = 16;
/// Longest alias in text (`#` ‖ local ‖ `:` ‖ host ‖ `:65535`), in bytes.
pub const MAX_ALIAS_TEXT_BYTES: usize = 1 + MAX_ALIAS_BYTES + 1 + MAX_HOST_BYTES + 6;

signed::signed_format_error! {
    /// Why an announcement, a server name or an alias was refused. Each variant has a stable
    /// reason name.
    pub enum DirectoryError {
        /// More than [`MAX_DIRECTORY_ROOMS`] rooms.
        #[error("more than {MAX_DIRECTORY_ROOMS} rooms")]
        TooManyRooms => "too_many_rooms",
        /// More than [`MAX_VIAS`] addresses, or none.
        #[error("1 to {MAX_VIAS} via addresses")]
        ViaCount => "via_count",
        /// A text field over its limit, or an empty `via`.
        #[error("a field is over its length limit")]
        FieldTooLong => "field_too_long",
        /// Rooms not in strictly ascending room id order (a repeated room included).
        #[error("rooms are listed once each, in ascending room id order")]
        RoomsNotSorted => "rooms_not_sorted",
        /// The same alias given to two rooms.
        #[error("one alias names two rooms")]
        DuplicateAlias => "duplicate_alias",
        /// Not a server name (a node name or a host name with an optional port).
        #[error(
            "not a server name: a host name (with an optional :port) or 16 hex digits of a node key"
        )]
        BadServerName => "bad_server_name",
        /// A node name that is not the start of the announcing node's key.
        #[error("the node name is not the start of the announcing node's key")]
        NameMismatch => "name_mismatch",
        /// Not an alias local part (1 to 32 of `a-z 0-9 . _ -`, starting with a letter or digit).
        #[error(
            "an alias is 1 to {MAX_ALIAS_BYTES} of a-z 0-9 . _ - (starting with a letter or digit)"
        )]
        BadAlias => "bad_alias",
    }
}

/// The name a node's aliases live under.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ServerName {
    /// The first [`NODE_NAME_HEX_DIGITS`] hex digits of a node key.
    Node(String),
    /// A host name, with `:port` when one is given.
    Host(String),
}

impl ServerName {
    /// The node name of `key`: its first 8 bytes in lowercase hex.
    pub fn of_node(key: &NodeKey) -> ServerName {
        ServerName::Node(hex::encode(&key.as_bytes()[..NODE_NAME_HEX_DIGITS / 2]))
    }

    /// Parses a server name: 16 lowercase hex digits are a node name; anything else must be a
    /// host name (dot-separated labels of `a-z 0-9 -`, each 1 to 63 bytes and not starting or
    /// ending with `-`, at most 253 bytes in all) with an optional `:port` (1 to 65535, no
    /// leading zero).
    pub fn parse(text: &str) -> Result<ServerName, DirectoryError> {
        if text.len() == NODE_NAME_HEX_DIGITS
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Ok(ServerName::Node(text.to_owned()));
        }
        let (host, port) = match text.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        };
        if !valid_host(host) || port.is_some_and(|p| !valid_port(p)) {
            return Err(DirectoryError::BadServerName);
        }
        Ok(ServerName::Host(text.to_owned()))
    }

    /// Whether `key` may announce this name: a node name must be the start of its key; a host
    /// name is a claim any key may make (conflicting claims are the directory's to refuse).
    pub fn check(&self, key: &NodeKey) -> Result<(), DirectoryError> {
        match self {
            ServerName::Node(_) if *self != ServerName::of_node(key) => {
                Err(DirectoryError::NameMismatch)
            }
            _ => Ok(()),
        }
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        match self {
            ServerName::Node(name) | ServerName::Host(name) => name,
        }
    }

    /// Whether it is a host name (a claim that two keys can make).
    pub fn is_host(&self) -> bool {
        matches!(self, ServerName::Host(_))
    }
}

impl fmt::Display for ServerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ServerName {
    type Err = DirectoryError;
    fn from_str(text: &str) -> Result<ServerName, DirectoryError> {
        ServerName::parse(text)
    }
}

fn valid_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= MAX_HOST_BYTES
        && host.split('.').all(|label| {
            let bytes = label.as_bytes();
            !bytes.is_empty()
                && bytes.len() <= MAX_LABEL_BYTES
                && bytes.first() != Some(&b'-')
                && bytes.last() != Some(&b'-')
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        })
}

fn valid_port(port: &str) -> bool {
    !port.is_empty()
        && port.len() <= 5
        && !port.starts_with('0')
        && port.bytes().all(|b| b.is_ascii_digit())
        && port.parse::<u32>().is_ok_and(|p| (1..=65_535).contains(&p))
}

/// Whether `local` is an alias local part: spelled like a handle (specs/identity.md §2.4).
pub fn valid_alias(local: &str) -> bool {
    valid_handle(local)
}

/// A room alias, `#<local>:<server>`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RoomAlias {
    /// The local part.
    pub local: String,
    /// The server whose announcement gives it.
    pub server: ServerName,
}

impl RoomAlias {
    /// Parses `#local:server` (the `#` is required, so an alias never reads as an id).
    pub fn parse(text: &str) -> Result<RoomAlias, DirectoryError> {
        if text.len() > MAX_ALIAS_TEXT_BYTES {
            return Err(DirectoryError::BadAlias);
        }
        let rest = text.strip_prefix('#').ok_or(DirectoryError::BadAlias)?;
        let (local, server) = rest.split_once(':').ok_or(DirectoryError::BadAlias)?;
        if !valid_alias(local) {
            return Err(DirectoryError::BadAlias);
        }
        Ok(RoomAlias {
            local: local.to_owned(),
            server: ServerName::parse(server)?,
        })
    }
}

impl fmt::Display for RoomAlias {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}:{}", self.local, self.server)
    }
}

impl FromStr for RoomAlias {
    type Err = DirectoryError;
    fn from_str(text: &str) -> Result<RoomAlias, DirectoryError> {
        RoomAlias::parse(text)
    }
}

/// One public room of an announcement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryRoom {
    /// The alias local part in the announcer's namespace; empty for none.
    pub alias: String,
    /// Joined members, as the announcer counts them.
    pub members: u64,
    /// The room's name (at most [`MAX_NAME_BYTES`]); empty for none.
    pub name: String,
    /// The room id.
    pub room: RoomId,
    /// The room's topic (at most [`MAX_TOPIC_BYTES`]); empty for none.
    pub topic: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    issued_ms: u64,
    name: String,
    node: NodeKey,
    rooms: Vec<DirectoryRoom>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    signature: Option<Signature>,
    v: u64,
    via: Vec<String>,
}

crate::signed_wire!(Wire, Domain::Directory, node);

/// An announcement before the node signs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnouncementDraft {
    /// When (ms since the Unix epoch); also the sequence: a later one replaces an earlier one.
    pub issued_ms: u64,
    /// The node's server name.
    pub name: ServerName,
    /// The public rooms, in ascending room id order, at most [`MAX_DIRECTORY_ROOMS`].
    pub rooms: Vec<DirectoryRoom>,
    /// Where the node can be reached (multiaddrs ending in its peer id), 1 to [`MAX_VIAS`].
    pub via: Vec<String>,
}

impl AnnouncementDraft {
    fn wire(&self, node: NodeKey) -> Wire {
        Wire {
            issued_ms: self.issued_ms,
            name: self.name.as_str().to_owned(),
            node,
            rooms: self.rooms.clone(),
            signature: None,
            v: ANNOUNCEMENT_VERSION,
            via: self.via.clone(),
        }
    }

    /// The unsigned map's canonical bytes for `node` (what the signature covers after the
    /// domain prefix).
    pub fn unsigned_bytes(&self, node: NodeKey) -> Result<Vec<u8>, DirectoryError> {
        Ok(codec::encode(&self.wire(node))?)
    }

    /// Signs as `node`; the result is checked exactly as a receiver checks it.
    pub fn sign(&self, node: &NodeSecret) -> Result<Announcement, DirectoryError> {
        Announcement::decode(&signed::seal(self.wire(node.public()), node)?)
    }
}

/// Cuts `text` to at most `max` bytes at a character boundary (announcers cut long names and
/// topics rather than leave the room out).
pub fn truncate_to(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// The field rules of specs/directory.md §2.3 steps 5-12, in order; the server name they
/// checked.
fn check_fields(wire: &Wire) -> Result<ServerName, DirectoryError> {
    if wire.rooms.len() > MAX_DIRECTORY_ROOMS {
        return Err(DirectoryError::TooManyRooms);
    }
    if wire.via.is_empty() || wire.via.len() > MAX_VIAS {
        return Err(DirectoryError::ViaCount);
    }
    let fields_fit = wire
        .via
        .iter()
        .all(|via| !via.is_empty() && via.len() <= MAX_VIA_BYTES)
        && wire.rooms.iter().all(|room| {
            room.name.len() <= MAX_NAME_BYTES
                && room.topic.len() <= MAX_TOPIC_BYTES
                && room.alias.len() <= MAX_ALIAS_BYTES
        });
    if !fields_fit {
        return Err(DirectoryError::FieldTooLong);
    }
    if !wire.rooms.windows(2).all(|w| w[0].room < w[1].room) {
        return Err(DirectoryError::RoomsNotSorted);
    }
    let mut aliases: Vec<&str> = Vec::with_capacity(wire.rooms.len());
    for room in &wire.rooms {
        if room.alias.is_empty() {
            continue;
        }
        if !valid_alias(&room.alias) {
            return Err(DirectoryError::BadAlias);
        }
        aliases.push(&room.alias);
    }
    aliases.sort_unstable();
    if aliases.windows(2).any(|w| w[0] == w[1]) {
        return Err(DirectoryError::DuplicateAlias);
    }
    let name = ServerName::parse(&wire.name)?;
    name.check(&wire.node)?;
    Ok(name)
}

/// A verified announcement: its [`node`](Statement::node) is the announcing node.
pub type Announcement = Statement<AnnouncementDraft>;

impl Announcement {
    /// Checks, in the order of specs/directory.md §2.3 (the first failure is the reason): size
    /// cap and decoding (key validity of `node` included), version, signature present,
    /// canonical encoding, room count, via count, field lengths, room order, aliases, server
    /// name, `verify_strict` of the node's signature.
    pub fn decode(bytes: &[u8]) -> Result<Announcement, DirectoryError> {
        Statement::open(
            bytes,
            MAX_ANNOUNCEMENT_BYTES,
            Order::VersionFirst(ANNOUNCEMENT_VERSION),
            check_fields,
            |wire: Wire, name| {
                let draft = AnnouncementDraft {
                    issued_ms: wire.issued_ms,
                    name,
                    rooms: wire.rooms,
                    via: wire.via,
                };
                (wire.node, draft)
            },
        )
    }

    /// When it was issued (its sequence).
    pub fn issued_ms(&self) -> u64 {
        self.draft().issued_ms
    }
    /// The node's server name.
    pub fn name(&self) -> &ServerName {
        &self.draft().name
    }
    /// The public rooms, in ascending room id order.
    pub fn rooms(&self) -> &[DirectoryRoom] {
        &self.draft().rooms
    }
    /// Where the node can be reached.
    pub fn via(&self) -> &[String] {
        &self.draft().via
    }
    /// The room this announcement gives `local` to, if any.
    pub fn alias(&self, local: &str) -> Option<&DirectoryRoom> {
        self.draft().rooms.iter().find(|room| room.alias == local)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::Hash32;

    fn node(seed: u8) -> NodeSecret {
        NodeSecret::from_seed(&[seed; 32])
    }

    fn room(byte: u8, alias: &str) -> DirectoryRoom {
        DirectoryRoom {
            alias: alias.into(),
            members: u64::from(byte),
            name: format!("room {byte}"),
            room: RoomId(Hash32([byte; 32])),
            topic: String::new(),
        }
    }

    fn draft(secret: &NodeSecret, rooms: Vec<DirectoryRoom>) -> AnnouncementDraft {
        AnnouncementDraft {
            issued_ms: 1_000,
            name: ServerName::of_node(&secret.public()),
            rooms,
            via: vec!["/ip4/127.0.0.1/tcp/4001".into()],
        }
    }

    #[test]
    fn signs_decodes_and_finds_aliases() {
        let secret = node(1);
        let announcement = draft(&secret, vec![room(1, "lobby"), room(2, "")])
            .sign(&secret)
            .unwrap();
        assert_eq!(
            Announcement::decode(announcement.as_bytes()).unwrap(),
            announcement
        );
        assert_eq!(announcement.alias("lobby").unwrap().members, 1);
        assert!(announcement.alias("").is_some_and(|r| r.members == 2));
        assert!(announcement.alias("other").is_none());
    }

    #[test]
    fn refuses_each_fault_with_its_reason() {
        let secret = node(1);
        let reason = |d: AnnouncementDraft| d.sign(&secret).map(|_| ()).map_err(|e| e.reason());
        let mut unsorted = draft(&secret, vec![room(2, ""), room(1, "")]);
        assert_eq!(reason(unsorted.clone()), Err("rooms_not_sorted"));
        unsorted.rooms = vec![room(1, "a"), room(2, "a")];
        assert_eq!(reason(unsorted), Err("duplicate_alias"));
        let mut bad = draft(&secret, vec![room(1, "Lobby")]);
        assert_eq!(reason(bad.clone()), Err("bad_alias"));
        bad.rooms = (0..=MAX_DIRECTORY_ROOMS as u8)
            .map(|b| room(b, ""))
            .collect();
        assert_eq!(reason(bad.clone()), Err("too_many_rooms"));
        bad.rooms.clear();
        bad.via.clear();
        assert_eq!(reason(bad.clone()), Err("via_count"));
        bad.via = vec!["x".repeat(MAX_VIA_BYTES + 1)];
        assert_eq!(reason(bad.clone()), Err("field_too_long"));
        bad.via = vec!["/ip4/127.0.0.1/tcp/1".into()];
        bad.name = ServerName::of_node(&node(2).public());
        assert_eq!(reason(bad), Err("name_mismatch"));
    }

    #[test]
    fn server_names_and_aliases_parse_strictly() {
        let key = node(3).public();
        let own = ServerName::of_node(&key);
        assert_eq!(own.as_str().len(), NODE_NAME_HEX_DIGITS);
        assert_eq!(ServerName::parse(own.as_str()), Ok(own.clone()));
        assert!(own.check(&key).is_ok());
        for good in [
            "chat.example.org",
            "localhost",
            "a-b.c:8443",
            "127.0.0.1:80",
        ] {
            assert_eq!(
                ServerName::parse(good),
                Ok(ServerName::Host(good.into())),
                "{good}"
            );
        }
        for bad in [
            "",
            "Chat.example",
            "-a.b",
            "a..b",
            "a.b:",
            "a.b:0",
            "a.b:080",
            "a:70000",
        ] {
            assert_eq!(
                ServerName::parse(bad),
                Err(DirectoryError::BadServerName),
                "{bad}"
            );
        }
        let alias = RoomAlias::parse("#lobby:chat.example.org:8443").unwrap();
        assert_eq!(alias.local, "lobby");
        assert_eq!(alias.server.as_str(), "chat.example.org:8443");
        assert_eq!(alias.to_string(), "#lobby:chat.example.org:8443");
        for bad in ["lobby:x.y", "#:x.y", "#lobby", "#Lobby:x.y", "#lo by:x.y"] {
            assert!(RoomAlias::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(truncate_to("héllo", 2), "h");
    }
}
