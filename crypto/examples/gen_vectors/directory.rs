//! directory.json: directory announcements by node `paris` (specs/directory.md), cross-checked
//! against an independent encoding; server names and aliases as text; refused announcements
//! with their reasons.

use causerie_crypto::directory::{
    Announcement, AnnouncementDraft, DirectoryError, DirectoryRoom, MAX_DIRECTORY_ROOMS,
    MAX_VIA_BYTES, RoomAlias, ServerName,
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
}

raw_signed!(RawAnnouncement, Domain::Directory);

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
        valid.push(statement_vector(
            name,
            &announcement,
            RawAnnouncement::of(&announcement),
            node,
            json!({
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
            }),
        ));
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
    let mut invalid = Refusals::new(&base, node, 32_768);
    invalid.changed("65 rooms", "too_many_rooms", |raw| {
        raw.rooms = (0..=MAX_DIRECTORY_ROOMS as u8).map(raw_room).collect();
    });
    invalid.changed("no via", "via_count", |raw| raw.via.clear());
    invalid.changed("via over 256 bytes", "field_too_long", |raw| {
        raw.via = vec!["/".repeat(MAX_VIA_BYTES + 1)];
    });
    invalid.changed("topic over 256 bytes", "field_too_long", |raw| {
        raw.rooms[0].topic = "t".repeat(257);
    });
    invalid.changed("rooms out of order", "rooms_not_sorted", |raw| {
        raw.rooms.reverse();
    });
    invalid.changed("one room listed twice", "rooms_not_sorted", |raw| {
        raw.rooms[1] = raw.rooms[0].clone();
    });
    invalid.changed("one alias for two rooms", "duplicate_alias", |raw| {
        raw.rooms[1].alias = "lobby".into();
    });
    invalid.changed("alias with a capital", "bad_alias", |raw| {
        raw.rooms[0].alias = "Lobby".into();
    });
    invalid.changed("server name with a space", "bad_server_name", |raw| {
        raw.name = "chat example".into();
    });
    invalid.changed("node name of another key", "name_mismatch", |raw| {
        raw.name = ServerName::of_node(&stranger().public()).to_string();
    });
    invalid.bad_signatures("node", "member count changed after signing", |raw| {
        raw.rooms[0].members += 100;
    });
    invalid.changed("node key of small order", "weak_key", |raw| {
        raw.node = small_order_key();
    });
    let invalid_json = invalid.checked_json(Announcement::decode, DirectoryError::reason);
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
