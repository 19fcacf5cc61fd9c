//! directory.json: directory announcements by node `paris` (specs/directory.md), cross-checked
//! against an independent encoding; server names and aliases as text; refused announcements
//! with their reasons.

use causerie_crypto::directory::{
    Announcement, AnnouncementDraft, DirectoryRoom, MAX_DIRECTORY_ROOMS, MAX_VIA_BYTES, RoomAlias,
    ServerName,
};
use causerie_crypto::{Hash32, RoomId};

use crate::support::*;

/// One room as plain data.
#[derive(Clone, Serialize)]
struct RawRoom {
    alias: String,
    members: u64,
    name: String,
    room: ByteBuf,
    topic: String,
}

/// The announcement as plain data, to re-encode independently of the library.
#[derive(Clone, Serialize)]
struct RawAnnouncement {
    issued_ms: u64,
    name: String,
    node: ByteBuf,
    rooms: Vec<RawRoom>,
    #[serde(skip_serializing_if = "Option::is_none")]
    signature: Option<ByteBuf>,
    v: u64,
    via: Vec<String>,
}

impl RawAnnouncement {
    fn of(announcement: &Announcement) -> RawAnnouncement {
        RawAnnouncement {
            issued_ms: announcement.issued_ms(),
            name: announcement.name().to_string(),
            node: buf(announcement.node().as_bytes()),
            rooms: announcement
                .rooms()
                .iter()
                .map(|r| RawRoom {
                    alias: r.alias.clone(),
                    members: r.members,
                    name: r.name.clone(),
                    room: buf(r.room.as_bytes()),
                    topic: r.topic.clone(),
                })
                .collect(),
            signature: None,
            v: 1,
            via: announcement.via().to_vec(),
        }
    }

    fn seal(mut self, node: &NodeSecret) -> RawAnnouncement {
        self.signature = None;
        let message = codec::encode(&self).unwrap();
        self.signature = Some(buf(node.sign(Domain::Directory, &message).as_bytes()));
        self
    }

    fn bytes(&self) -> Vec<u8> {
        codec::encode(self).unwrap()
    }
}

fn room(byte: u8, alias: &str, members: u64, name: &str, topic: &str) -> DirectoryRoom {
    DirectoryRoom {
        alias: alias.into(),
        members,
        name: name.into(),
        room: RoomId(Hash32([byte; 32])),
        topic: topic.into(),
    }
}

fn raw_room(byte: u8) -> RawRoom {
    RawRoom {
        alias: String::new(),
        members: 1,
        name: String::new(),
        room: buf(&[byte; 32]),
        topic: String::new(),
    }
}

/// directory.json.
pub(crate) fn generate(dir: &Path, keys: &Keys) {
    let node = &keys.node;
    let via = format!(
        "/ip4/192.0.2.7/tcp/4001/p2p/{}",
        hex::encode(node.public().as_bytes())
    );
    let node_name = ServerName::of_node(&node.public());
    let host = ServerName::parse("chat.example.org").unwrap();
    let drafts = [
        (
            "node_name",
            AnnouncementDraft {
                issued_ms: T0_MS,
                name: node_name.clone(),
                rooms: vec![
                    room(0x11, "lobby", 12, "Lobby", "Say hello"),
                    room(0x22, "", 3, "Quiet corner", ""),
                ],
                via: vec![via.clone()],
            },
        ),
        (
            "host_name",
            AnnouncementDraft {
                issued_ms: T0_MS + 60_000,
                name: host.clone(),
                rooms: vec![room(0x11, "lobby", 13, "Lobby", "Say hello")],
                via: vec![via.clone(), "/dns4/chat.example.org/tcp/4001".into()],
            },
        ),
        (
            "no_rooms",
            AnnouncementDraft {
                issued_ms: T0_MS + 120_000,
                name: node_name.clone(),
                rooms: vec![],
                via: vec![via.clone()],
            },
        ),
    ];
    let mut valid = Vec::new();
    let mut first = None;
    for (name, draft) in drafts {
        let announcement = draft.sign(node).unwrap();
        let raw = RawAnnouncement::of(&announcement).seal(node);
        assert_eq!(raw.bytes(), announcement.as_bytes(), "independent encoding");
        let mut unsigned = raw.clone();
        unsigned.signature = None;
        let input = Domain::Directory.signing_input(&codec::encode(&unsigned).unwrap());
        let mut hashed = input.clone();
        hashed.extend_from_slice(raw.signature.as_ref().unwrap());
        assert_eq!(sha256(&hashed), announcement.id().0);
        valid.push(json!({
            "name": name,
            "bytes": hex::encode(announcement.as_bytes()),
            "id": announcement.id().to_hex(),
            "node": announcement.node().to_string(),
            "server_name": announcement.name().to_string(),
            "issued_ms": announcement.issued_ms(),
            "rooms": announcement.rooms().iter().map(|r| json!({
                "alias": r.alias,
                "members": r.members,
                "name": r.name,
                "room": r.room.to_string(),
                "topic": r.topic,
            })).collect::<Vec<_>>(),
            "via": announcement.via(),
            "signing_input": hex::encode(&input),
        }));
        first.get_or_insert(announcement);
    }
    let first = first.unwrap();

    // Server names and aliases as text.
    let mut names = Vec::new();
    for text in [
        node_name.as_str(),
        "chat.example.org",
        "chat.example.org:8443",
        "localhost",
        "127.0.0.1:8080",
    ] {
        let kind = if ServerName::parse(text).unwrap().is_host() {
            "host"
        } else {
            "node"
        };
        names.push(json!({ "text": text, "valid": kind }));
    }
    for text in [
        "",
        "Chat.example.org",
        "-chat.example.org",
        "chat..example.org",
        "chat.example.org:",
        "chat.example.org:0",
        "chat.example.org:08443",
        "chat.example.org:65536",
        "chat_room.example.org",
    ] {
        assert!(ServerName::parse(text).is_err(), "{text}");
        names.push(json!({ "text": text, "reason": "bad_server_name" }));
    }
    let mut aliases = Vec::new();
    for text in [
        format!("#lobby:{node_name}"),
        "#lobby:chat.example.org".into(),
        "#the-lobby.fr:chat.example.org:8443".into(),
    ] {
        let alias = RoomAlias::parse(&text).unwrap();
        aliases.push(
            json!({ "text": text, "local": alias.local, "server": alias.server.to_string() }),
        );
    }
    for (text, reason) in [
        ("lobby:chat.example.org", "bad_alias"),
        ("#lobby", "bad_alias"),
        ("#:chat.example.org", "bad_alias"),
        ("#Lobby:chat.example.org", "bad_alias"),
        ("#lobby:Chat.example.org", "bad_server_name"),
    ] {
        assert_eq!(
            RoomAlias::parse(text).map(|_| ()).map_err(|e| e.reason()),
            Err(reason),
            "{text}"
        );
        aliases.push(json!({ "text": text, "reason": reason }));
    }

    // Refused announcements, each with the library's reason.
    let base = RawAnnouncement::of(&first);
    let mut invalid: Vec<(&str, Vec<u8>, &str)> = Vec::new();
    invalid.push(("over 32768 bytes", vec![0xa0; 32_769], "too_large"));
    invalid.push(("not CBOR", vec![0xff, 0x00], "malformed_cbor"));
    let mut version = base.clone();
    version.v = 2;
    invalid.push((
        "version 2",
        version.seal(node).bytes(),
        "unsupported_version",
    ));
    invalid.push(("no signature", base.bytes(), "bad_signature"));
    let sealed = base.clone().seal(node).bytes();
    invalid.push((
        "v written with a two-byte head",
        splice(&sealed, &[0x61, b'v', 0x01], &[0x61, b'v', 0x18, 0x01]),
        "non_canonical_encoding",
    ));
    let mut many = base.clone();
    many.rooms = (0..=MAX_DIRECTORY_ROOMS as u8).map(raw_room).collect();
    invalid.push(("65 rooms", many.seal(node).bytes(), "too_many_rooms"));
    let mut no_via = base.clone();
    no_via.via.clear();
    invalid.push(("no via", no_via.seal(node).bytes(), "via_count"));
    let mut long_via = base.clone();
    long_via.via = vec!["/".repeat(MAX_VIA_BYTES + 1)];
    invalid.push((
        "via over 256 bytes",
        long_via.seal(node).bytes(),
        "field_too_long",
    ));
    let mut long_topic = base.clone();
    long_topic.rooms[0].topic = "t".repeat(257);
    invalid.push((
        "topic over 256 bytes",
        long_topic.seal(node).bytes(),
        "field_too_long",
    ));
    let mut unsorted = base.clone();
    unsorted.rooms.reverse();
    invalid.push((
        "rooms out of order",
        unsorted.seal(node).bytes(),
        "rooms_not_sorted",
    ));
    let mut twice = base.clone();
    twice.rooms[1] = twice.rooms[0].clone();
    invalid.push((
        "one room listed twice",
        twice.seal(node).bytes(),
        "rooms_not_sorted",
    ));
    let mut same_alias = base.clone();
    same_alias.rooms[1].alias = "lobby".into();
    invalid.push((
        "one alias for two rooms",
        same_alias.seal(node).bytes(),
        "duplicate_alias",
    ));
    let mut bad_alias = base.clone();
    bad_alias.rooms[0].alias = "Lobby".into();
    invalid.push((
        "alias with a capital",
        bad_alias.seal(node).bytes(),
        "bad_alias",
    ));
    let mut bad_name = base.clone();
    bad_name.name = "chat example".into();
    invalid.push((
        "server name with a space",
        bad_name.seal(node).bytes(),
        "bad_server_name",
    ));
    let stranger = NodeSecret::from_seed(&[0x77; 32]);
    let mut other_name = base.clone();
    other_name.name = ServerName::of_node(&stranger.public()).to_string();
    invalid.push((
        "node name of another key",
        other_name.seal(node).bytes(),
        "name_mismatch",
    ));
    let mut flipped = base.clone().seal(node);
    if let Some(signature) = &mut flipped.signature {
        signature[0] ^= 0x01;
    }
    invalid.push(("signature byte flipped", flipped.bytes(), "bad_signature"));
    invalid.push((
        "signed by another node than node",
        base.clone().seal(&stranger).bytes(),
        "bad_signature",
    ));
    let mut recount = base.clone().seal(node);
    recount.rooms[0].members += 100;
    invalid.push((
        "member count changed after signing",
        recount.bytes(),
        "bad_signature",
    ));
    let mut weak = base.clone();
    weak.node = buf(&hex::decode(SMALL_ORDER[0].1).unwrap());
    invalid.push((
        "node key of small order",
        weak.seal(node).bytes(),
        "weak_key",
    ));
    let mut invalid_json = Vec::new();
    for (name, bytes, reason) in invalid {
        let got = Announcement::decode(&bytes)
            .map(|_| ())
            .map_err(|e| e.reason());
        assert_eq!(got, Err(reason), "{name}");
        invalid_json.push(json!({
            "name": name,
            "bytes": hex::encode(&bytes),
            "reason": reason,
        }));
    }
    write(
        dir,
        "directory.json",
        &json!({
            "description": "Directory announcements by node `paris` (keys.json) (directory.md). id = SHA-256(\"causerie/v1/directory\\0\" ‖ CBOR without signature ‖ signature). `server_names`: text that is a node name, a host name, or refused. `aliases`: `#local:server` text with its parts, or its reason. `invalid`: announcements every implementation must refuse, with the reason (checks in the order of directory.md §2.3).",
            "announcements": valid,
            "server_names": names,
            "aliases": aliases,
            "invalid": invalid_json,
        }),
    );
}
