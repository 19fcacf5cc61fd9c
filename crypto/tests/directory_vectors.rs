//! Checks the library against `specs/test-vectors/directory.json` (written by `cargo run -p
//! causerie-crypto --example gen_vectors`): every announcement decodes to its recorded fields and
//! id and re-encodes to identical bytes; server names and aliases parse as recorded; every
//! refused announcement is refused with its recorded reason (specs/directory.md).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use causerie_crypto::directory::{Announcement, DirectoryError, RoomAlias, ServerName};
use causerie_crypto::testing::{assert_refusals, decode_statement_vector, vector_file as load};
use serde_json::Value as Json;

#[test]
fn directory_vectors() {
    let file = load("directory.json");
    let announcements = file["announcements"].as_array().unwrap();
    assert!(announcements.len() >= 3);
    for vector in announcements {
        // The signing input is the domain prefix and the map without its signature; the id
        // hashes it with the signature (the 64-byte string after the key "signature").
        let announcement =
            decode_statement_vector(vector, Announcement::decode, b"causerie/v1/directory\0");
        assert_eq!(announcement.node().to_string(), vector["node"]);
        assert_eq!(announcement.name().to_string(), vector["server_name"]);
        assert_eq!(announcement.issued_ms(), vector["issued_ms"]);
        assert_eq!(
            announcement.via(),
            vector["via"].as_array().unwrap().as_slice()
        );
        let rooms = vector["rooms"].as_array().unwrap();
        assert_eq!(announcement.rooms().len(), rooms.len());
        for (room, expected) in announcement.rooms().iter().zip(rooms) {
            assert_eq!(room.room.to_string(), expected["room"]);
            assert_eq!(room.alias, expected["alias"]);
            assert_eq!(room.members, expected["members"]);
            assert_eq!(room.name, expected["name"]);
            assert_eq!(room.topic, expected["topic"]);
        }
    }

    for vector in file["server_names"].as_array().unwrap() {
        let text = vector["text"].as_str().unwrap();
        match vector.get("valid").and_then(Json::as_str) {
            Some(kind) => {
                let name = ServerName::parse(text).unwrap();
                assert_eq!(name.is_host(), kind == "host", "{text}");
                assert_eq!(name.as_str(), text);
            }
            None => assert_eq!(
                ServerName::parse(text).map(|_| ()).map_err(|e| e.reason()),
                Err(vector["reason"].as_str().unwrap()),
                "{text}"
            ),
        }
    }

    for vector in file["aliases"].as_array().unwrap() {
        let text = vector["text"].as_str().unwrap();
        match vector.get("reason").and_then(Json::as_str) {
            None => {
                let alias = RoomAlias::parse(text).unwrap();
                assert_eq!(alias.local, vector["local"]);
                assert_eq!(alias.server.as_str(), vector["server"]);
                assert_eq!(alias.to_string(), text);
            }
            Some(reason) => assert_eq!(
                RoomAlias::parse(text).map(|_| ()).map_err(|e| e.reason()),
                Err(reason),
                "{text}"
            ),
        }
    }

    let refused = assert_refusals(
        &file["invalid"],
        Announcement::decode,
        DirectoryError::reason,
    );
    assert!(refused >= 15);
}
