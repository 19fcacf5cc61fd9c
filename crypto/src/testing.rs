//! Event and attestation fixtures for tests, benchmarks and the storage crash writer (feature
//! `testing`): the one place that builds drafts from a few parameters, so the fixture is
//! written once for every crate that needs signed events without a room engine.
//!
//! Every draft is deterministic: the same arguments give the same bytes, hence the same ids.
//!
//! It also reads the committed vectors of `specs/test-vectors/` for the tests that check them
//! and the generators that build on them, and holds the checks those tests share: a signed
//! vector's id from its bytes alone ([`assert_signed_vector_id`]), a statement vector's bytes and
//! id ([`decode_statement_vector`]) and a list of refused vectors ([`assert_refusals`]).

use std::path::{Path, PathBuf};

use serde_json::Value as Json;

use crate::event::kinds;
use crate::signed::Statement;
use crate::{
    Assurance, Attestation, AttestationDraft, AttestationId, Content, Event, EventDraft, EventId,
    Hash32, NodeSecret, RoomId, UserKey, UserSecret, Value,
};

/// Origin timestamp of a fixture room's create event; later events add their depth.
pub const FIXTURE_TS_MS: u64 = 1_700_000_000_000;

/// The attestation id fixture events name when no attestation is stored next to them.
pub const FIXTURE_ATTESTATION: AttestationId = AttestationId(Hash32([9; 32]));

/// How long a fixture attestation is valid from [`FIXTURE_TS_MS`] (one day).
pub const FIXTURE_ATTESTATION_MS: u64 = 86_400_000;

/// A room's create event by `author`; a `salt` makes distinct rooms for the same author.
pub fn create_draft(author: UserKey, salt: Option<i64>, attestation: AttestationId) -> EventDraft {
    let mut content = Content::new();
    content.insert("creator".into(), Value::Bytes(author.as_bytes().to_vec()));
    if let Some(salt) = salt {
        content.insert("salt".into(), Value::Integer(salt));
    }
    EventDraft {
        room: None,
        author,
        kind: kinds::CREATE.into(),
        state_key: Some(String::new()),
        content,
        prev_events: vec![],
        auth_events: vec![],
        depth: 0,
        origin_ts: FIXTURE_TS_MS,
        attestation,
    }
}

/// What a fixture event after the create event says.
#[derive(Debug, Clone, Copy)]
pub enum Said<'a> {
    /// A message with this body.
    Message(&'a str),
    /// A `room.name` state event setting this name.
    Name(&'a str),
}

/// An event of `author` in `room` on top of `prev` at `depth`, authorised by the create event
/// alone (whose id is the room id), stamped [`FIXTURE_TS_MS`] + `depth`.
pub fn draft_after(
    author: UserKey,
    room: RoomId,
    prev: Vec<EventId>,
    depth: u64,
    said: Said<'_>,
    attestation: AttestationId,
) -> EventDraft {
    let mut content = Content::new();
    let (kind, state_key) = match said {
        Said::Message(body) => {
            content.insert("body".into(), body.into());
            (kinds::MESSAGE, None)
        }
        Said::Name(name) => {
            content.insert("name".into(), name.into());
            (kinds::NAME, Some(String::new()))
        }
    };
    EventDraft {
        room: Some(room),
        author,
        kind: kind.into(),
        state_key,
        content,
        prev_events: prev,
        auth_events: vec![EventId(room.0)],
        depth,
        origin_ts: FIXTURE_TS_MS + depth,
        attestation,
    }
}

/// The draft `event` was signed from: its author signing it again gives the same bytes.
pub fn draft_of(event: &Event) -> EventDraft {
    EventDraft {
        // A create event names no room: its own id is the room id.
        room: (event.kind() != kinds::CREATE).then(|| event.room_id()),
        author: *event.author(),
        kind: event.kind().to_owned(),
        state_key: event.state_key().map(str::to_owned),
        content: event.content().clone(),
        prev_events: event.prev_events().to_vec(),
        auth_events: event.auth_events().to_vec(),
        depth: event.depth(),
        origin_ts: event.origin_ts(),
        attestation: *event.attestation(),
    }
}

/// An attestation of `user`'s key by `node` under `handle`, valid for
/// [`FIXTURE_ATTESTATION_MS`] from [`FIXTURE_TS_MS`].
pub fn attestation(node: &NodeSecret, user: &UserSecret, handle: &str) -> Attestation {
    let draft = AttestationDraft {
        user: user.public(),
        handle: handle.into(),
        assurance: Assurance::Contact,
        not_before: FIXTURE_TS_MS,
        not_after: FIXTURE_TS_MS + FIXTURE_ATTESTATION_MS,
    };
    match draft.sign(node) {
        Ok(attestation) => attestation,
        // A fixture handle that breaks the attestation rules is a bug in the test itself.
        Err(error) => panic!("fixture attestation for {handle:?}: {error}"),
    }
}

/// A room created by `author` (no salt, [`FIXTURE_ATTESTATION`]) and one message of theirs on
/// top of it, both signed: `(create, message)`.
pub fn room_with_message(author: &UserSecret, body: &str) -> (Event, Event) {
    let sign = |draft: EventDraft| match draft.sign(author) {
        Ok(event) => event,
        // The fixture drafts follow the rules; a refusal is a bug in the fixture itself.
        Err(error) => panic!("fixture event: {error}"),
    };
    let create = sign(create_draft(author.public(), None, FIXTURE_ATTESTATION));
    let message = sign(draft_after(
        author.public(),
        RoomId(create.id().0),
        vec![create.id()],
        1,
        Said::Message(body),
        FIXTURE_ATTESTATION,
    ));
    (create, message)
}

/// The folder of the committed test vectors, `specs/test-vectors/`.
pub fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs/test-vectors")
}

/// The text of the committed vector file `name` (panics, naming the path, when unreadable).
pub fn vector_text(name: &str) -> String {
    let path = vectors_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The committed vector file `name`, parsed.
pub fn vector_file(name: &str) -> Json {
    serde_json::from_str(&vector_text(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The bytes a vector field spells in hex (panics when it is not a hex string).
pub fn hex_bytes(value: &Json) -> Vec<u8> {
    value
        .as_str()
        .and_then(|text| hex::decode(text).ok())
        .unwrap_or_else(|| panic!("not a hex string: {value}"))
}

/// Checks a signed vector's `signing_input` against its `bytes` alone, as an implementation
/// without this library would: the input starts with `prefix` (the format's domain prefix,
/// spelled out by the caller), and SHA-256(input ‖ the 64-byte signature after the key
/// `signature` in `bytes`) is the vector's `id`.
pub fn assert_signed_vector_id(vector: &Json, prefix: &[u8]) {
    let encoded = hex_bytes(&vector["bytes"]);
    let input = hex_bytes(&vector["signing_input"]);
    assert!(input.starts_with(prefix), "{}", vector["name"]);
    // The signature: the 64-byte string (head 0x58 0x40) after the key "signature".
    let key = b"\x69signature\x58\x40";
    let at = encoded
        .windows(key.len())
        .position(|w| w == key)
        .unwrap_or_else(|| panic!("{}: no signature", vector["name"]))
        + key.len();
    let signature = encoded
        .get(at..at + 64)
        .unwrap_or_else(|| panic!("{}: signature cut short", vector["name"]));
    assert_eq!(
        Hash32::digest(&[&input[..], signature]).to_hex(),
        vector["id"].as_str().unwrap_or_default(),
        "{}",
        vector["name"]
    );
}

/// Decodes a statement vector (a revocation, signal or directory announcement) with `decode`
/// and checks what every such vector records: the statement re-encodes to its `bytes` and has
/// its `id`, and its `signing_input` starts with `prefix` and gives that id
/// ([`assert_signed_vector_id`]). Returns the statement, for the checks of its own fields.
pub fn decode_statement_vector<D, E: std::fmt::Display>(
    vector: &Json,
    decode: impl Fn(&[u8]) -> Result<Statement<D>, E>,
    prefix: &[u8],
) -> Statement<D> {
    let name = &vector["name"];
    let encoded = hex_bytes(&vector["bytes"]);
    let statement = decode(&encoded).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(statement.as_bytes(), encoded.as_slice(), "{name}");
    assert_eq!(
        statement.id().to_hex(),
        vector["id"].as_str().unwrap_or_default(),
        "{name}"
    );
    assert_signed_vector_id(vector, prefix);
    statement
}

/// Checks every vector of the list `vectors`: `decode` refuses its `bytes` with an error whose
/// `reason` is the vector's `reason`. A failure names the vector (its `name`, or its
/// `description`). Returns how many were checked.
pub fn assert_refusals<T, E>(
    vectors: &Json,
    decode: impl Fn(&[u8]) -> Result<T, E>,
    reason: impl Fn(&E) -> &'static str,
) -> usize {
    let vectors = vectors
        .as_array()
        .unwrap_or_else(|| panic!("not a list of vectors: {vectors}"));
    for vector in vectors {
        let label = vector.get("name").unwrap_or(&vector["description"]);
        let expected = vector["reason"]
            .as_str()
            .unwrap_or_else(|| panic!("{label}: no reason"));
        let got = decode(&hex_bytes(&vector["bytes"])).map(|_| ());
        assert_eq!(got.map_err(|e| reason(&e)), Err(expected), "{label}");
    }
    vectors.len()
}

/// Base58btc (Bitcoin alphabet), as libp2p prints peer ids.
pub fn base58(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    let mut digits: Vec<u8> = Vec::new();
    for &byte in bytes {
        let mut carry = u32::from(byte);
        for digit in digits.iter_mut() {
            carry += u32::from(*digit) << 8;
            *digit = (carry % 58) as u8;
            carry /= 58;
        }
        while carry > 0 {
            digits.push((carry % 58) as u8);
            carry /= 58;
        }
    }
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    std::iter::repeat_n(b'1', zeros)
        .chain(digits.iter().rev().map(|d| ALPHABET[usize::from(*d)]))
        .map(char::from)
        .collect()
}

/// Replaces the one occurrence of `needle` in `bytes` (panics unless exactly one): how the
/// generators build an input with one fault from a valid one.
pub fn splice(bytes: &[u8], needle: &[u8], replacement: &[u8]) -> Vec<u8> {
    let hits: Vec<usize> = (0..=bytes.len().saturating_sub(needle.len()))
        .filter(|&i| bytes[i..].starts_with(needle))
        .collect();
    assert_eq!(
        hits.len(),
        1,
        "needle {} found {} times",
        hex::encode(needle),
        hits.len()
    );
    let at = hits[0];
    [&bytes[..at], replacement, &bytes[at + needle.len()..]].concat()
}

/// The content a vector spells as canonical CBOR in hex (`case["content_cbor"]`).
pub fn vector_content(case: &Json) -> Content {
    let bytes = hex_bytes(&case["content_cbor"]);
    crate::codec::decode(&bytes, bytes.len())
        .unwrap_or_else(|e| panic!("{}: content_cbor: {e}", case["name"]))
}

/// Checks a refusal of an invalid-content vector: reason `bad_content`, and the message names
/// the vector's `detail`.
pub fn assert_bad_content(case: &Json, reason: &str, error: &dyn std::fmt::Display) {
    assert_eq!(reason, "bad_content");
    assert_eq!(
        format!("{error}"),
        format!(
            "bad content: {}",
            case["detail"].as_str().unwrap_or_default()
        ),
        "{}",
        case["name"]
    );
}

/// The event named `name` in a parsed `events.json`, decoded and verified.
pub fn vector_event(events: &Json, name: &str) -> Event {
    let found = events["events"]
        .as_array()
        .and_then(|list| list.iter().find(|e| e["name"] == name))
        .unwrap_or_else(|| panic!("no event {name} in events.json"));
    Event::decode(&hex_bytes(&found["bytes"])).unwrap_or_else(|e| panic!("event {name}: {e}"))
}
