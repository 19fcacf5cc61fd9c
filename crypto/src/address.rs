//! Ids, user keys and invite links as people, URLs and links write them: the one parser the
//! node's client API, the command line and the network code share (specs/client-api.md,
//! "Conventions"; specs/federation.md §5, "Invite links").
//!
//! An id or key in text is exactly 64 lowercase hex digits, optionally after the sigil of its
//! kind: `!` for a room, `$` for an event, `@` for a user key or an attestation. Uppercase
//! digits, the sigil of another kind and any other length are refused, each with its own
//! [`AddressError`], so a value has one spelling apart from its optional sigil.
//!
//! An invite link is `causerie:join/<room>?via=<address>&via=<address>…`: at most
//! [`MAX_INVITE_LINK_BYTES`], 1 to [`MAX_INVITE_VIAS`] `via` parameters and nothing else. The room
//! is written as bare hex (what [`InviteLink`] prints and nodes hand out); a pasted link that
//! names it with its `!` is accepted too. Each `via` is kept as text: checking that it is a
//! multiaddr ending in a peer id is the network layer's part.
//!
//! The same link has a web form for nodes that know their public origin:
//! `https://<host[:port]>/join/!<room>?via=<address>&via=<address>…` (or `http://`), which opens
//! the web client of that node ([`InviteLink::web_link`]). Its `via` values are percent-encoded
//! where a URL needs it ([`VIA_SAFE`]); the room may be written without its `!`; the origin only
//! says which node's web client to open, so parsing keeps the room and the `via` list, exactly
//! what the `causerie:` form carries. [`InviteLink::parse`] reads both forms.

use std::fmt;

use thiserror::Error;

use crate::hash::{AttestationId, EventId, Hash32, RoomId};
use crate::keys::UserKey;

/// Scheme and path of every invite link.
pub const INVITE_PREFIX: &str = "causerie:join/";
/// Longest invite link accepted, in bytes (a room id and a handful of addresses).
pub const MAX_INVITE_LINK_BYTES: usize = 4_096;
/// Most `via` addresses in one invite link.
pub const MAX_INVITE_VIAS: usize = 16;
/// Hex digits of a 32-byte id or key.
pub const ID_HEX_DIGITS: usize = 64;
/// Path prefix of a web invite link on its node: `<origin>/join/<room>`.
pub const WEB_JOIN_PATH: &str = "/join/";
/// Longest `host[:port]` of a web invite link, in bytes (a DNS name and a port).
pub const MAX_AUTHORITY_BYTES: usize = 261;
/// Bytes a `via` value keeps as they are in a web invite link (besides ASCII letters and
/// digits); every other byte is written `%XX`. `+`, `&`, `=`, `#`, `%` and `?` are not among
/// them, so no form decoder can misread a value.
pub const VIA_SAFE: &[u8] = b"-._~/:!$'()*,;@";

/// What a piece of text names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressKind {
    /// A room id (`!`).
    Room,
    /// An event id (`$`).
    Event,
    /// A user's public key (`@`).
    User,
    /// An attestation id (`@`).
    Attestation,
}

impl AddressKind {
    /// The sigil this kind may be written with.
    pub const fn sigil(self) -> char {
        match self {
            AddressKind::Room => '!',
            AddressKind::Event => '$',
            AddressKind::User | AddressKind::Attestation => '@',
        }
    }

    /// Stable reason name of any fault in text of this kind (what the API and CLI report).
    pub const fn reason(self) -> &'static str {
        match self {
            AddressKind::Room => "bad_room_id",
            AddressKind::Event => "bad_event_id",
            AddressKind::User => "bad_user",
            AddressKind::Attestation => "bad_attestation_id",
        }
    }

    const fn noun(self) -> &'static str {
        match self {
            AddressKind::Room => "a room id",
            AddressKind::Event => "an event id",
            AddressKind::User => "a user key",
            AddressKind::Attestation => "an attestation id",
        }
    }
}

impl fmt::Display for AddressKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.noun())
    }
}

/// Sigils of every kind, to tell "another kind's id" from "not an id".
const SIGILS: [char; 3] = ['!', '$', '@'];

/// Why text is not an id, key or invite link.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AddressError {
    /// Not 64 digits (after the optional sigil).
    #[error("{kind} is {} and 64 lowercase hex digits (the {} is optional); this has {length} characters", kind.sigil(), kind.sigil())]
    WrongLength {
        /// What was expected.
        kind: AddressKind,
        /// Characters found after the sigil.
        length: usize,
    },
    /// The sigil of another kind (e.g. `$` where a room id is expected).
    #[error("{kind} starts with {} or a digit, not {found}", kind.sigil())]
    WrongSigil {
        /// What was expected.
        kind: AddressKind,
        /// The sigil found.
        found: char,
    },
    /// Uppercase hex digits.
    #[error("{kind} is written in lowercase hex; uppercase digits are refused")]
    Uppercase {
        /// What was expected.
        kind: AddressKind,
    },
    /// A character that is not a hex digit.
    #[error("{kind} has only the digits 0-9 and a-f")]
    NotHex {
        /// What was expected.
        kind: AddressKind,
    },
    /// Well-formed digits that are not a usable public key.
    #[error("{kind} must be a valid Ed25519 public key ({reason})")]
    BadKey {
        /// What was expected.
        kind: AddressKind,
        /// The key check's reason name.
        reason: &'static str,
    },
    /// An invite link over [`MAX_INVITE_LINK_BYTES`].
    #[error("invite links are at most {MAX_INVITE_LINK_BYTES} bytes")]
    InviteTooLong,
    /// Text that does not start with [`INVITE_PREFIX`], nor is `http(s)://<host>/join/…`.
    #[error(
        "not an invite link: those start with {INVITE_PREFIX} or are https://<host>/join/<room>?via=…"
    )]
    NotAnInvite,
    /// A web invite link whose host is not `name[:port]` or `[ipv6][:port]`.
    #[error("the host of a web invite link is a name or an address, with an optional port")]
    BadOrigin,
    /// A query parameter other than `via`, an empty `via`, bad percent-encoding or a fragment.
    #[error("an invite link has only via=ADDRESS parameters, none empty")]
    BadVia,
    /// No `via`, or more than [`MAX_INVITE_VIAS`].
    #[error("an invite link names 1 to {MAX_INVITE_VIAS} via addresses")]
    ViaCount,
}

impl AddressError {
    /// Stable reason name: the kind's for an id or key (`bad_room_id`, `bad_event_id`,
    /// `bad_user`, `bad_attestation_id`), else the link's fault.
    pub fn reason(&self) -> &'static str {
        match self.kind() {
            Some(kind) => kind.reason(),
            None => self.fault(),
        }
    }

    /// The kind of id or key that was expected; `None` for an invite link's own faults.
    pub fn kind(&self) -> Option<AddressKind> {
        match self {
            AddressError::WrongLength { kind, .. }
            | AddressError::WrongSigil { kind, .. }
            | AddressError::Uppercase { kind }
            | AddressError::NotHex { kind }
            | AddressError::BadKey { kind, .. } => Some(*kind),
            AddressError::InviteTooLong
            | AddressError::NotAnInvite
            | AddressError::BadOrigin
            | AddressError::BadVia
            | AddressError::ViaCount => None,
        }
    }

    /// Stable name of the rule that was broken (finer than [`AddressError::reason`]).
    pub fn fault(&self) -> &'static str {
        match self {
            AddressError::WrongLength { .. } => "wrong_length",
            AddressError::WrongSigil { .. } => "wrong_sigil",
            AddressError::Uppercase { .. } => "uppercase_hex",
            AddressError::NotHex { .. } => "not_hex",
            AddressError::BadKey { .. } => "bad_key",
            AddressError::InviteTooLong => "invite_too_long",
            AddressError::NotAnInvite => "not_an_invite",
            AddressError::BadOrigin => "bad_origin",
            AddressError::BadVia => "bad_via",
            AddressError::ViaCount => "via_count",
        }
    }
}

/// The 32 bytes `text` names as a `kind` (see the module header for the rules).
pub fn parse_bytes(text: &str, kind: AddressKind) -> Result<[u8; 32], AddressError> {
    let digits = text.strip_prefix(kind.sigil()).unwrap_or(text);
    // Another kind's sigil, or a second one.
    if let Some(found) = digits.chars().next().filter(|c| SIGILS.contains(c)) {
        return Err(AddressError::WrongSigil { kind, found });
    }
    let length = digits.chars().count();
    if length != ID_HEX_DIGITS {
        return Err(AddressError::WrongLength { kind, length });
    }
    if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AddressError::NotHex { kind });
    }
    // Checked before decoding so that the refusal can say what to change.
    if digits.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err(AddressError::Uppercase { kind });
    }
    crate::lower_hex::decode32(digits).ok_or(AddressError::NotHex { kind })
}

/// A room id: `!` (optional) and 64 lowercase hex digits.
pub fn parse_room(text: &str) -> Result<RoomId, AddressError> {
    parse_bytes(text, AddressKind::Room).map(|b| RoomId(Hash32(b)))
}

/// An event id: `$` (optional) and 64 lowercase hex digits.
pub fn parse_event_id(text: &str) -> Result<EventId, AddressError> {
    parse_bytes(text, AddressKind::Event).map(|b| EventId(Hash32(b)))
}

/// An attestation id: `@` (optional) and 64 lowercase hex digits.
pub fn parse_attestation_id(text: &str) -> Result<AttestationId, AddressError> {
    parse_bytes(text, AddressKind::Attestation).map(|b| AttestationId(Hash32(b)))
}

/// A user key: `@` (optional) and 64 lowercase hex digits that are a valid, strong Ed25519
/// public key.
pub fn parse_user(text: &str) -> Result<UserKey, AddressError> {
    let bytes = parse_bytes(text, AddressKind::User)?;
    UserKey::from_bytes(&bytes).map_err(|e| AddressError::BadKey {
        kind: AddressKind::User,
        reason: e.reason(),
    })
}

/// A parsed invite link: the room and the `via` addresses, as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InviteLink {
    /// The room to join.
    pub room: RoomId,
    /// Where to reach nodes hosting it, in the link's order (1 to [`MAX_INVITE_VIAS`]).
    pub via: Vec<String>,
}

impl InviteLink {
    /// Parses `causerie:join/<room>?via=…&via=…` or its web form
    /// `http(s)://<host[:port]>/join/<room>?via=…`; the room with or without its `!`.
    pub fn parse(text: &str) -> Result<InviteLink, AddressError> {
        if text.len() > MAX_INVITE_LINK_BYTES {
            return Err(AddressError::InviteTooLong);
        }
        if let Some(rest) = text.strip_prefix(INVITE_PREFIX) {
            let (room_text, query) = rest.split_once('?').unwrap_or((rest, ""));
            let room = parse_room(room_text)?;
            let via = parse_vias(query, |v| Ok(v.to_owned()))?;
            return Ok(InviteLink { room, via });
        }
        let rest = text
            .strip_prefix("https://")
            .or_else(|| text.strip_prefix("http://"))
            .ok_or(AddressError::NotAnInvite)?;
        let (authority, path) = rest.split_at(rest.find('/').ok_or(AddressError::NotAnInvite)?);
        check_authority(authority)?;
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        let room = path
            .strip_prefix(WEB_JOIN_PATH)
            .ok_or(AddressError::NotAnInvite)?;
        InviteLink::from_join_path(room, query)
    }

    /// The link a node's `GET /join/<room>?<query>` names: `room` is the path segment after
    /// [`WEB_JOIN_PATH`] and `query` the raw query string, both as the URL writes them
    /// (percent-encoded).
    pub fn from_join_path(room: &str, query: &str) -> Result<InviteLink, AddressError> {
        let room = percent_decode(room).ok_or(AddressError::NotHex {
            kind: AddressKind::Room,
        })?;
        let room = parse_room(&room)?;
        if query.contains('#') {
            return Err(AddressError::BadVia);
        }
        let via = parse_vias(query, |v| percent_decode(v).ok_or(AddressError::BadVia))?;
        Ok(InviteLink { room, via })
    }

    /// The web form of this link on the node at `origin` (`https://host[:port]`, no trailing
    /// slash): `<origin>/join/!<room>?via=…`, each `via` percent-encoded outside [`VIA_SAFE`].
    pub fn web_link(&self, origin: &str) -> String {
        let mut out = format!("{origin}{WEB_JOIN_PATH}{}", self.room);
        for (i, address) in self.via.iter().enumerate() {
            out.push(if i == 0 { '?' } else { '&' });
            out.push_str("via=");
            percent_encode_into(address, &mut out);
        }
        out
    }
}

/// The `via` values of a query (`via=…&via=…`, nothing else), each read by `value`: 1 to
/// [`MAX_INVITE_VIAS`], none empty.
fn parse_vias(
    query: &str,
    value: impl Fn(&str) -> Result<String, AddressError>,
) -> Result<Vec<String>, AddressError> {
    let mut via = Vec::new();
    for parameter in query.split('&').filter(|p| !p.is_empty()) {
        let address = parameter
            .strip_prefix("via=")
            .filter(|a| !a.is_empty())
            .ok_or(AddressError::BadVia)?;
        if via.len() == MAX_INVITE_VIAS {
            return Err(AddressError::ViaCount);
        }
        let address = value(address)?;
        if address.is_empty() {
            return Err(AddressError::BadVia);
        }
        via.push(address);
    }
    if via.is_empty() {
        return Err(AddressError::ViaCount);
    }
    Ok(via)
}

/// `name[:port]` or `[ipv6][:port]`: at most [`MAX_AUTHORITY_BYTES`], a name of letters, digits,
/// dots and dashes, a port of 1 to 5 digits. No user name.
fn check_authority(authority: &str) -> Result<(), AddressError> {
    let bad = AddressError::BadOrigin;
    if authority.is_empty() || authority.len() > MAX_AUTHORITY_BYTES {
        return Err(bad);
    }
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let (address, after) = bracketed.split_once(']').ok_or(AddressError::BadOrigin)?;
        let ok = !address.is_empty()
            && address
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
        if !ok || !address.contains(':') {
            return Err(bad);
        }
        match after {
            "" => return Ok(()),
            _ => (
                "ipv6",
                after.strip_prefix(':').ok_or(AddressError::BadOrigin)?,
            ),
        }
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, port),
            None => (authority, "80"),
        }
    };
    let host_ok = !host.is_empty()
        && host.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    let port_ok = (1..=5).contains(&port.len())
        && port.bytes().all(|b| b.is_ascii_digit())
        && port.parse::<u16>().is_ok_and(|p| p != 0);
    if host_ok && port_ok { Ok(()) } else { Err(bad) }
}

/// Appends `text` with every byte outside ASCII letters, digits and [`VIA_SAFE`] as `%XX`.
fn percent_encode_into(text: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &byte in text.as_bytes() {
        if byte.is_ascii_alphanumeric() || VIA_SAFE.contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0xf)]));
        }
    }
}

/// `text` with its `%XX` escapes decoded; `None` for a broken escape or bytes that are not
/// UTF-8. A `+` stays a `+` (this is a URL, not a form).
fn percent_decode(text: &str) -> Option<String> {
    if !text.contains('%') {
        return Some(text.to_owned());
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        if byte == b'%' {
            let pair = bytes.get(i + 1..i + 3)?;
            let digits = std::str::from_utf8(pair).ok()?;
            out.push(u8::from_str_radix(digits, 16).ok()?);
            i += 3;
        } else {
            out.push(byte);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

impl fmt::Display for InviteLink {
    /// The documented spelling: the room as bare hex, then each `via` in order.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{INVITE_PREFIX}{}", self.room.0.to_hex())?;
        for (i, address) in self.via.iter().enumerate() {
            let separator = if i == 0 { '?' } else { '&' };
            write!(f, "{separator}via={address}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::UserSecret;

    const HEX: &str = "ab01ab01ab01ab01ab01ab01ab01ab01ab01ab01ab01ab01ab01ab01ab01ab01";

    fn fault<T: fmt::Debug>(result: Result<T, AddressError>) -> (&'static str, &'static str) {
        let error = result.unwrap_err();
        (error.reason(), error.fault())
    }

    /// Each text is refused as an invite link with its reason.
    fn assert_invite_links_refused(cases: &[(String, &str)]) {
        for (text, reason) in cases {
            assert_eq!(
                InviteLink::parse(text).map_err(|e| e.reason()),
                Err(*reason),
                "{text}"
            );
        }
    }

    #[test]
    fn ids_parse_with_or_without_their_sigil() {
        let room = RoomId(Hash32::from_hex(HEX).unwrap());
        assert_eq!(parse_room(HEX), Ok(room));
        assert_eq!(parse_room(&format!("!{HEX}")), Ok(room));
        assert_eq!(parse_room(&room.to_string()), Ok(room));
        let event = EventId(room.0);
        assert_eq!(parse_event_id(HEX), Ok(event));
        assert_eq!(parse_event_id(&format!("${HEX}")), Ok(event));
        let attestation = AttestationId(room.0);
        assert_eq!(parse_attestation_id(&format!("@{HEX}")), Ok(attestation));
        // Display, FromStr and the parser agree.
        assert_eq!(event.to_string().parse::<EventId>(), Ok(event));
        assert_eq!(HEX.parse::<RoomId>(), Ok(room));
    }

    #[test]
    fn user_keys_parse_with_or_without_their_sigil() {
        let user = UserSecret::from_seed(&[5; 32]).public();
        let text = user.to_string();
        assert_eq!(parse_user(&text), Ok(user));
        assert_eq!(parse_user(&format!("@{text}")), Ok(user));
    }

    #[test]
    fn another_kinds_sigil_is_refused() {
        // An event's or an attestation's sigil on a room id; two sigils are one too many.
        for text in [format!("${HEX}"), format!("@{HEX}"), format!("!!{HEX}")] {
            let refused = fault(parse_room(&text));
            assert_eq!(refused, ("bad_room_id", "wrong_sigil"), "{text}");
        }
        assert_eq!(
            fault(parse_event_id(&format!("!{HEX}"))),
            ("bad_event_id", "wrong_sigil")
        );
        assert_eq!(
            fault(parse_user(&format!("!{HEX}"))),
            ("bad_user", "wrong_sigil")
        );
    }

    #[test]
    fn uppercase_is_refused() {
        let upper = HEX.to_uppercase();
        assert_eq!(fault(parse_room(&upper)), ("bad_room_id", "uppercase_hex"));
        assert_eq!(
            fault(parse_room(&format!("!{upper}"))),
            ("bad_room_id", "uppercase_hex")
        );
        let mixed = format!("{}A", &HEX[..63]);
        assert_eq!(
            fault(parse_event_id(&mixed)),
            ("bad_event_id", "uppercase_hex")
        );
        let user = UserSecret::from_seed(&[5; 32]).public().to_string();
        assert_eq!(
            fault(parse_user(&user.to_uppercase())),
            ("bad_user", "uppercase_hex")
        );
    }

    #[test]
    fn other_lengths_are_refused() {
        for text in [
            "",
            "!",
            "ab",
            &HEX[..63],
            &format!("{HEX}0"),
            &format!("!{HEX}00"),
        ] {
            assert_eq!(
                fault(parse_room(text)),
                ("bad_room_id", "wrong_length"),
                "{text:?}"
            );
        }
        // Counted in characters, so the message does not depend on the encoding.
        let error = parse_room(&"é".repeat(32)).unwrap_err();
        assert_eq!(error.fault(), "wrong_length");
        assert!(error.to_string().contains("32 characters"), "{error}");
        let error = parse_room(&format!("{}é", &HEX[..63])).unwrap_err();
        assert_eq!(error.fault(), "not_hex");
        // Whitespace is not trimmed.
        assert_eq!(
            fault(parse_room(&format!(" {HEX}"))),
            ("bad_room_id", "wrong_length")
        );
    }

    #[test]
    fn non_hex_digits_are_refused() {
        let text = format!("{}g", &HEX[..63]);
        assert_eq!(fault(parse_room(&text)), ("bad_room_id", "not_hex"));
        let text = format!("{}éé", &HEX[..62]);
        assert_eq!(fault(parse_event_id(&text)), ("bad_event_id", "not_hex"));
        let text = format!("#{}", &HEX[1..]);
        assert_eq!(fault(parse_room(&text)), ("bad_room_id", "not_hex"));
    }

    #[test]
    fn unusable_keys_are_refused() {
        // The identity point: well-formed digits, a weak key.
        let mut weak = [0u8; 32];
        weak[0] = 1;
        assert_eq!(
            fault(parse_user(&hex::encode(weak))),
            ("bad_user", "bad_key")
        );
        // An id of the same digits is fine: ids are hashes, not points.
        assert!(parse_room(&hex::encode(weak)).is_ok());
    }

    fn via(port: u16) -> String {
        format!("/ip4/127.0.0.1/tcp/{port}/p2p/12D3KooWQ")
    }

    #[test]
    fn invite_links_parse_with_or_without_the_rooms_sigil() {
        let room = parse_room(HEX).unwrap();
        let link = InviteLink {
            room,
            via: vec![via(1), via(2)],
        };
        let text = link.to_string();
        assert_eq!(
            text,
            format!("causerie:join/{HEX}?via={}&via={}", via(1), via(2))
        );
        assert_eq!(InviteLink::parse(&text), Ok(link.clone()));
        let with_sigil = format!("causerie:join/!{HEX}?via={}&via={}", via(1), via(2));
        assert_eq!(InviteLink::parse(&with_sigil), Ok(link));
    }

    #[test]
    fn bad_invite_links_are_refused() {
        let good = via(1);
        let cases = [
            ("https://example.invalid/".to_owned(), "not_an_invite"),
            ("causerie.example.org/join/x".to_owned(), "not_an_invite"),
            (format!("Causerie:join/{HEX}?via={good}"), "not_an_invite"),
            (
                format!("causerie:join/{}?via={good}", &HEX[..60]),
                "bad_room_id",
            ),
            (
                format!("causerie:join/{}?via={good}", HEX.to_uppercase()),
                "bad_room_id",
            ),
            (format!("causerie:join/${HEX}?via={good}"), "bad_room_id"),
            (format!("causerie:join/{HEX}/?via={good}"), "bad_room_id"),
            (format!("causerie:join/{HEX}"), "via_count"),
            (format!("causerie:join/{HEX}?"), "via_count"),
            (format!("causerie:join/{HEX}?via="), "bad_via"),
            (format!("causerie:join/{HEX}?to={good}"), "bad_via"),
            (format!("causerie:join/{HEX}?via={good}&x=1"), "bad_via"),
            (
                format!(
                    "causerie:join/{HEX}?via={}",
                    "x".repeat(MAX_INVITE_LINK_BYTES)
                ),
                "invite_too_long",
            ),
        ];
        assert_invite_links_refused(&cases);
        let at_most = (1..=MAX_INVITE_VIAS as u16)
            .map(|i| format!("via={}", via(i)))
            .collect::<Vec<_>>()
            .join("&");
        let link = InviteLink::parse(&format!("causerie:join/{HEX}?{at_most}")).unwrap();
        assert_eq!(link.via.len(), MAX_INVITE_VIAS);
        let too_many = format!("{at_most}&via={}", via(99));
        assert_eq!(
            InviteLink::parse(&format!("causerie:join/{HEX}?{too_many}")).map_err(|e| e.reason()),
            Err("via_count")
        );
    }

    #[test]
    fn web_invite_links_carry_the_same_room_and_vias() {
        let room = parse_room(HEX).unwrap();
        let link = InviteLink {
            room,
            via: vec![
                via(1),
                "/dns/chat.example.org/tcp/7447/p2p/12D3KooWQ".to_owned(),
            ],
        };
        let web = link.web_link("https://chat.example.org:8443");
        assert_eq!(
            web,
            format!(
                "https://chat.example.org:8443/join/!{HEX}?via={}&via=/dns/chat.example.org/tcp/7447/p2p/12D3KooWQ",
                via(1)
            )
        );
        assert_eq!(InviteLink::parse(&web), Ok(link.clone()));
        // Without the room's `!`, over http, without a port, with an IPv6 host.
        for origin in [
            "http://chat.example.org",
            "https://[2001:db8::1]:8443",
            "https://127.0.0.1",
        ] {
            let text = format!(
                "{origin}/join/{HEX}?via={}&via=/dns/chat.example.org/tcp/7447/p2p/12D3KooWQ",
                via(1)
            );
            assert_eq!(InviteLink::parse(&text), Ok(link.clone()), "{text}");
        }
        // Values that need escaping go out escaped and come back the same.
        let odd = InviteLink {
            room,
            via: vec!["/dns/a+b.example/tcp/1/p2p/x&y=z #é%".to_owned()],
        };
        let web = odd.web_link("https://a.example");
        assert!(
            web.ends_with("?via=/dns/a%2Bb.example/tcp/1/p2p/x%26y%3Dz%20%23%C3%A9%25"),
            "{web}"
        );
        assert_eq!(InviteLink::parse(&web), Ok(odd));
        // What the node's /join route reads.
        assert_eq!(
            InviteLink::from_join_path(&format!("%21{HEX}"), &format!("via={}", via(1))),
            Ok(InviteLink {
                room,
                via: vec![via(1)]
            })
        );
    }

    #[test]
    fn bad_web_invite_links_are_refused() {
        let good = via(1);
        let cases = [
            (
                format!("https://a.example/rooms/{HEX}?via={good}"),
                "not_an_invite",
            ),
            (
                format!("https://a.example/join?via={good}"),
                "not_an_invite",
            ),
            ("https://a.example".to_owned(), "not_an_invite"),
            (
                format!("ftp://a.example/join/{HEX}?via={good}"),
                "not_an_invite",
            ),
            (format!("https:///join/{HEX}?via={good}"), "bad_origin"),
            (
                format!("https://user@a.example/join/{HEX}?via={good}"),
                "bad_origin",
            ),
            (
                format!("https://a.example:0/join/{HEX}?via={good}"),
                "bad_origin",
            ),
            (
                format!("https://a.example:99999/join/{HEX}?via={good}"),
                "bad_origin",
            ),
            (
                format!("https://a..example/join/{HEX}?via={good}"),
                "bad_origin",
            ),
            (format!("https://[zz]/join/{HEX}?via={good}"), "bad_origin"),
            (
                format!("https://a.example/join/{}?via={good}", &HEX[1..]),
                "bad_room_id",
            ),
            (
                format!("https://a.example/join/${HEX}?via={good}"),
                "bad_room_id",
            ),
            (
                format!("https://a.example/join/{HEX}/x?via={good}"),
                "bad_room_id",
            ),
            (format!("https://a.example/join/{HEX}"), "via_count"),
            (format!("https://a.example/join/{HEX}?via=%zz"), "bad_via"),
            (format!("https://a.example/join/{HEX}?via=%"), "bad_via"),
            (format!("https://a.example/join/{HEX}?via=%ff"), "bad_via"),
            (format!("https://a.example/join/{HEX}?via=%20&x"), "bad_via"),
            (
                format!("https://a.example/join/{HEX}?via={good}#top"),
                "bad_via",
            ),
            (
                format!("https://a.example/join/{HEX}?via={good}&name=x"),
                "bad_via",
            ),
        ];
        assert_invite_links_refused(&cases);
        let long = format!(
            "https://a.example/join/{HEX}?via={}",
            "x".repeat(MAX_INVITE_LINK_BYTES)
        );
        assert_eq!(
            InviteLink::parse(&long).map_err(|e| e.fault()),
            Err("invite_too_long")
        );
    }

    #[test]
    fn reasons_and_messages_say_what_to_write() {
        let error = parse_room("abc").unwrap_err();
        assert_eq!(
            error.to_string(),
            "a room id is ! and 64 lowercase hex digits (the ! is optional); this has 3 characters"
        );
        let error = parse_event_id(&HEX.to_uppercase()).unwrap_err();
        assert!(error.to_string().contains("lowercase"), "{error}");
    }
}
