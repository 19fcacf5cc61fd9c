//! Deterministic generator of `specs/test-vectors/federation.json` (specs/federation.md).
//!
//! Run with `cargo run -p causerie-node --example gen_federation_vectors` after
//! `cargo run -p causerie-crypto --example gen_vectors` (it reads the events, attestations and
//! keys written there); the output is committed, and `node/tests/net_codec.rs` checks every
//! vector against the node's codec and gossip functions.
//!
//! Every request and answer is written a second time by [`Cbor`], a minimal CBOR writer that
//! follows the spec's description (shortest heads, definite lengths, the map keys in the order
//! given, which the generator keeps bytewise sorted), and the generator asserts that the node's
//! codec produces identical bytes. The vectors also carry each message in CBOR diagnostic
//! notation (RFC 8949 §8) and as JSON (byte strings as lowercase hex).

// A generator, not library code: any failure is a bug to see at once.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    missing_docs
)]

use causerie_crypto::testing::{hex_bytes as hex_field, splice, vector_file as load, vectors_dir};
use causerie_crypto::{AttestationId, Domain, Event, EventId, Hash32, NodeSecret, RoomId};
use causerie_node::letter::NodeLetter;
use causerie_node::net::codec::{FederationRequest, REQUEST_TOO_LARGE};
use causerie_node::net::gossip;
use causerie_node::net::wire::{
    self, BACKFILL_PAGE, ErrorReason, MAX_IDS_PER_REQUEST, MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES,
    MAX_TIPS, PROTOCOL, Request, Response,
};
use serde_bytes::ByteBuf;
use serde_json::{Value as Json, json};

/// A CBOR data item of the kinds the federation messages use.
#[derive(Clone)]
enum Cbor {
    Uint(u64),
    Bytes(Vec<u8>),
    Text(String),
    Array(Vec<Cbor>),
    /// Entries in the order written.
    Map(Vec<(String, Cbor)>),
    Null,
}

fn head(out: &mut Vec<u8>, major: u8, argument: u64) {
    let major = major << 5;
    match argument {
        0..=23 => out.push(major | argument as u8),
        24..=0xff => out.extend([major | 24, argument as u8]),
        0x100..=0xffff => {
            out.push(major | 25);
            out.extend((argument as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(major | 26);
            out.extend((argument as u32).to_be_bytes());
        }
        _ => {
            out.push(major | 27);
            out.extend(argument.to_be_bytes());
        }
    }
}

impl Cbor {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        match self {
            Cbor::Uint(n) => head(out, 0, *n),
            Cbor::Bytes(b) => {
                head(out, 2, b.len() as u64);
                out.extend(b);
            }
            Cbor::Text(t) => {
                head(out, 3, t.len() as u64);
                out.extend(t.as_bytes());
            }
            Cbor::Array(items) => {
                head(out, 4, items.len() as u64);
                for item in items {
                    item.encode_into(out);
                }
            }
            Cbor::Map(entries) => {
                head(out, 5, entries.len() as u64);
                for (key, value) in entries {
                    Cbor::Text(key.clone()).encode_into(out);
                    value.encode_into(out);
                }
            }
            Cbor::Null => out.push(0xf6),
        }
    }

    /// RFC 8949 §8 diagnostic notation.
    fn diagnostic(&self) -> String {
        match self {
            Cbor::Uint(n) => n.to_string(),
            Cbor::Bytes(b) => format!("h'{}'", hex::encode(b)),
            Cbor::Text(t) => format!("{t:?}"),
            Cbor::Array(items) => format!(
                "[{}]",
                items
                    .iter()
                    .map(Cbor::diagnostic)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Cbor::Map(entries) => format!(
                "{{{}}}",
                entries
                    .iter()
                    .map(|(k, v)| format!("{k:?}: {}", v.diagnostic()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Cbor::Null => "null".to_owned(),
        }
    }

    /// JSON view: byte strings as lowercase hex, maps as objects.
    fn json(&self) -> Json {
        match self {
            Cbor::Uint(n) => json!(n),
            Cbor::Bytes(b) => json!(hex::encode(b)),
            Cbor::Text(t) => json!(t),
            Cbor::Array(items) => Json::Array(items.iter().map(Cbor::json).collect()),
            Cbor::Map(entries) => {
                Json::Object(entries.iter().map(|(k, v)| (k.clone(), v.json())).collect())
            }
            Cbor::Null => Json::Null,
        }
    }
}

fn map(entries: Vec<(&str, Cbor)>) -> Cbor {
    let keys: Vec<&str> = entries.iter().map(|(k, _)| *k).collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(keys, sorted, "keys must be in bytewise order");
    Cbor::Map(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
    )
}

/// `{kind: body}`: a request or answer of the given kind.
fn tagged(kind: &str, body: Cbor) -> Cbor {
    map(vec![(kind, body)])
}

fn bytes(b: &[u8]) -> Cbor {
    Cbor::Bytes(b.to_vec())
}

fn ids(list: &[[u8; 32]]) -> Cbor {
    Cbor::Array(list.iter().map(|id| bytes(id)).collect())
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = (body.len() as u32).to_be_bytes().to_vec();
    out.extend(body);
    out
}

fn hex32(value: &Json) -> [u8; 32] {
    hex_field(value).try_into().unwrap()
}

fn seed(label: &str) -> [u8; 32] {
    Hash32::digest(&[format!("causerie/test-vectors/{label}").as_bytes()]).0
}

/// One valid message: its JSON view, diagnostic notation, body and frame.
fn message_vector(name: &str, kind: &str, cbor: &Cbor, encoded: &[u8]) -> Json {
    let independent = cbor.encode();
    assert_eq!(
        hex::encode(encoded),
        hex::encode(&independent),
        "{name}: the node's codec and the independent encoding differ"
    );
    json!({
        "name": name,
        "kind": kind,
        "fields": cbor.json(),
        "diagnostic": cbor.diagnostic(),
        "bytes": hex::encode(encoded),
        "frame": hex::encode(frame(encoded)),
    })
}

fn main() {
    let events = load("events.json");
    let event = |name: &str| -> Json {
        events["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("no event {name}"))
            .clone()
    };
    let create = event("create");
    let member = event("member");
    let power_levels = event("power_levels");
    let message = event("message");
    let room = hex32(&create["room_id"]);
    let room_id = RoomId(Hash32(room));
    let id_of = |e: &Json| hex32(&e["id"]);
    let attestations = load("attestations.json");
    let alice_attestation = attestations["attestations"][0].clone();
    let keys = load("keys.json");
    let paris = NodeSecret::from_seed(&hex32(&keys["nodes"][0]["seed"]));
    let lyon = NodeSecret::from_seed(&seed("node/lyon"));

    // ---- requests ----
    let event_id = |b: [u8; 32]| EventId(Hash32(b));
    let node_letter = NodeLetter::sign(
        &paris,
        lyon.public(),
        "report",
        b"{\"reason\":\"spam\"}".to_vec(),
        1_764_000_000_000,
    )
    .unwrap();
    let requests: Vec<(&str, Request, Cbor)> = vec![
        (
            "get_events",
            Request::GetEvents {
                ids: vec![event_id(id_of(&create)), event_id(id_of(&message))],
            },
            tagged(
                "get_events",
                map(vec![("ids", ids(&[id_of(&create), id_of(&message)]))]),
            ),
        ),
        (
            "get_events with no ids",
            Request::GetEvents { ids: vec![] },
            tagged("get_events", map(vec![("ids", ids(&[]))])),
        ),
        (
            "backfill",
            Request::Backfill {
                from: vec![event_id(id_of(&message))],
                limit: 64,
                room: room_id,
            },
            tagged(
                "backfill",
                map(vec![
                    ("from", ids(&[id_of(&message)])),
                    ("limit", Cbor::Uint(64)),
                    ("room", bytes(&room)),
                ]),
            ),
        ),
        (
            "since the start",
            Request::Since {
                after: None,
                limit: BACKFILL_PAGE as u64,
                room: room_id,
            },
            tagged(
                "since",
                map(vec![
                    ("after", Cbor::Null),
                    ("limit", Cbor::Uint(BACKFILL_PAGE as u64)),
                    ("room", bytes(&room)),
                ]),
            ),
        ),
        (
            "since a position",
            Request::Since {
                after: Some((1, event_id(id_of(&member)))),
                limit: 2,
                room: room_id,
            },
            tagged(
                "since",
                map(vec![
                    (
                        "after",
                        Cbor::Array(vec![Cbor::Uint(1), bytes(&id_of(&member))]),
                    ),
                    ("limit", Cbor::Uint(2)),
                    ("room", bytes(&room)),
                ]),
            ),
        ),
        (
            "room_state",
            Request::RoomState { room: room_id },
            tagged("room_state", map(vec![("room", bytes(&room))])),
        ),
        (
            "tips",
            Request::Tips { room: room_id },
            tagged("tips", map(vec![("room", bytes(&room))])),
        ),
        (
            "get_attestation",
            Request::GetAttestation {
                id: AttestationId(Hash32(hex32(&alice_attestation["id"]))),
            },
            tagged(
                "get_attestation",
                map(vec![("id", bytes(&hex32(&alice_attestation["id"])))]),
            ),
        ),
        (
            "deliver",
            Request::Deliver {
                message: ByteBuf::from(node_letter.as_bytes().to_vec()),
            },
            tagged(
                "deliver",
                map(vec![("message", bytes(node_letter.as_bytes()))]),
            ),
        ),
        (
            "revocations",
            Request::Revocations {
                after: 3,
                limit: 256,
            },
            tagged(
                "revocations",
                map(vec![("after", Cbor::Uint(3)), ("limit", Cbor::Uint(256))]),
            ),
        ),
        (
            "directory, from the first",
            Request::Directory {
                after: None,
                limit: 64,
            },
            tagged(
                "directory",
                map(vec![("after", Cbor::Null), ("limit", Cbor::Uint(64))]),
            ),
        ),
        (
            "directory, after a node key",
            Request::Directory {
                after: Some(Box::new(paris.public())),
                limit: 64,
            },
            tagged(
                "directory",
                map(vec![
                    ("after", bytes(paris.public().as_bytes())),
                    ("limit", Cbor::Uint(64)),
                ]),
            ),
        ),
    ];
    let request_vectors: Vec<Json> = requests
        .iter()
        .map(|(name, request, cbor)| {
            let encoded = wire::encode_request(request).unwrap();
            assert_eq!(
                FederationRequest::from_frame(&encoded),
                FederationRequest::Wire(request.clone())
            );
            message_vector(name, request.kind(), cbor, &encoded)
        })
        .collect();

    // The node letter carried by `deliver`, field by field.
    let unsigned = map(vec![
        ("body", bytes(node_letter.body())),
        ("from", bytes(paris.public().as_bytes())),
        ("kind", Cbor::Text("report".into())),
        ("sent_ms", Cbor::Uint(node_letter.sent_ms())),
        ("to", bytes(lyon.public().as_bytes())),
        ("v", Cbor::Uint(1)),
    ]);
    let signature = paris.sign(Domain::NodeMessage, &unsigned.encode());
    let Cbor::Map(mut entries) = unsigned.clone() else {
        unreachable!()
    };
    entries.insert(4, ("signature".into(), bytes(signature.as_bytes())));
    let node_letter_cbor = Cbor::Map(entries);
    assert_eq!(node_letter_cbor.encode(), node_letter.as_bytes());
    let node_letter_vector = json!({
        "name": "report from paris to lyon",
        "from_seed_label": "causerie/test-vectors/node/paris",
        "to_seed_label": "causerie/test-vectors/node/lyon",
        "to_seed": hex::encode(seed("node/lyon")),
        "fields": node_letter_cbor.json(),
        "diagnostic": node_letter_cbor.diagnostic(),
        "signing_input": hex::encode(
            [&b"causerie/v1/node-message\0"[..], &unsigned.encode()].concat()
        ),
        "bytes": hex::encode(node_letter.as_bytes()),
    });

    // ---- answers ----
    let event_bytes = |e: &Json| hex_field(&e["bytes"]);
    let buf = |b: Vec<u8>| ByteBuf::from(b);
    let mut responses: Vec<(&str, &str, Response, Cbor)> = vec![
        (
            "events",
            "get_events, backfill, since",
            Response::Events {
                events: vec![buf(event_bytes(&create)), buf(event_bytes(&message))],
            },
            tagged(
                "events",
                map(vec![(
                    "events",
                    Cbor::Array(vec![
                        bytes(&event_bytes(&create)),
                        bytes(&event_bytes(&message)),
                    ]),
                )]),
            ),
        ),
        (
            "events, none",
            "get_events, backfill, since",
            Response::Events { events: vec![] },
            tagged("events", map(vec![("events", Cbor::Array(vec![]))])),
        ),
        (
            "room_state",
            "room_state",
            Response::RoomState {
                auth_chain: vec![buf(event_bytes(&create))],
                state: vec![
                    buf(event_bytes(&create)),
                    buf(event_bytes(&member)),
                    buf(event_bytes(&power_levels)),
                ],
                tips: vec![event_id(id_of(&message))],
            },
            tagged(
                "room_state",
                map(vec![
                    (
                        "auth_chain",
                        Cbor::Array(vec![bytes(&event_bytes(&create))]),
                    ),
                    (
                        "state",
                        Cbor::Array(vec![
                            bytes(&event_bytes(&create)),
                            bytes(&event_bytes(&member)),
                            bytes(&event_bytes(&power_levels)),
                        ]),
                    ),
                    ("tips", ids(&[id_of(&message)])),
                ]),
            ),
        ),
        (
            "tips",
            "tips",
            Response::Tips {
                tips: vec![event_id(id_of(&message)), event_id(id_of(&member))],
            },
            tagged(
                "tips",
                map(vec![("tips", ids(&[id_of(&message), id_of(&member)]))]),
            ),
        ),
        (
            "attestation",
            "get_attestation",
            Response::Attestation {
                attestation: Some(buf(hex_field(&alice_attestation["bytes"]))),
            },
            tagged(
                "attestation",
                map(vec![(
                    "attestation",
                    bytes(&hex_field(&alice_attestation["bytes"])),
                )]),
            ),
        ),
        (
            "attestation, unknown",
            "get_attestation",
            Response::Attestation { attestation: None },
            tagged("attestation", map(vec![("attestation", Cbor::Null)])),
        ),
        (
            "delivered",
            "deliver",
            Response::Delivered,
            Cbor::Text("delivered".into()),
        ),
        (
            "revocations",
            "revocations",
            Response::Revocations {
                last: 4,
                revocations: vec![buf(vec![0xa0])],
            },
            tagged(
                "revocations",
                map(vec![
                    ("last", Cbor::Uint(4)),
                    ("revocations", Cbor::Array(vec![bytes(&[0xa0])])),
                ]),
            ),
        ),
        (
            "directory",
            "directory",
            Response::Directory {
                announcements: vec![buf(vec![0xa0])],
            },
            tagged(
                "directory",
                map(vec![("announcements", Cbor::Array(vec![bytes(&[0xa0])]))]),
            ),
        ),
    ];
    let reasons = [
        ErrorReason::UnknownRoom,
        ErrorReason::TooManyIds,
        ErrorReason::BadLimit,
        ErrorReason::TooLarge,
        ErrorReason::Busy,
        ErrorReason::MessageRefused,
        ErrorReason::Malformed,
        ErrorReason::Internal,
    ];
    let error_cbor = |reason: ErrorReason| {
        tagged(
            "error",
            map(vec![("reason", Cbor::Text(reason.reason().into()))]),
        )
    };
    for reason in reasons {
        responses.push((
            reason.reason(),
            "any",
            Response::Error { reason },
            error_cbor(reason),
        ));
    }
    let response_vectors: Vec<Json> = responses
        .iter()
        .map(|(name, answers, response, cbor)| {
            let encoded = wire::encode_response(response).unwrap();
            assert_eq!(wire::decode_response(&encoded).as_ref(), Ok(response));
            let kind = match response {
                Response::Events { .. } => "events",
                Response::RoomState { .. } => "room_state",
                Response::Tips { .. } => "tips",
                Response::Attestation { .. } => "attestation",
                Response::Delivered => "delivered",
                Response::Revocations { .. } => "revocations",
                Response::Directory { .. } => "directory",
                Response::Error { .. } => "error",
            };
            let mut vector = message_vector(name, kind, cbor, &encoded);
            vector["answers"] = json!(answers);
            vector
        })
        .collect();

    // ---- requests the server refuses ----
    let tips = tagged("tips", map(vec![("room", bytes(&room))])).encode();
    let mut invalid_requests: Vec<Json> = Vec::new();
    let mut refuse = |name: &str, frame_bytes: Vec<u8>, reason: ErrorReason, detail: &str| {
        let body_len = u32::from_be_bytes(frame_bytes[..4].try_into().unwrap()) as usize;
        let got = if body_len > MAX_REQUEST_BYTES {
            FederationRequest::Invalid {
                reason: ErrorReason::TooLarge,
                detail: REQUEST_TOO_LARGE,
            }
        } else {
            assert_eq!(body_len, frame_bytes.len() - 4, "{name}: frame length");
            FederationRequest::from_frame(&frame_bytes[4..])
        };
        match got {
            FederationRequest::Invalid {
                reason: got_reason,
                detail: got_detail,
            } => assert_eq!((got_reason, got_detail), (reason, detail), "{name}"),
            FederationRequest::Wire(request) => panic!("{name}: accepted as {request:?}"),
        }
        let answer = error_cbor(reason).encode();
        assert_eq!(
            wire::encode_response(&Response::Error { reason }).unwrap(),
            answer
        );
        invalid_requests.push(json!({
            "name": name,
            "frame": hex::encode(&frame_bytes),
            "answer": hex::encode(frame(&answer)),
            "reason": reason.reason(),
            "detail": detail,
        }));
    };
    refuse(
        "length prefix over 131,072 (body never read)",
        ((MAX_REQUEST_BYTES + 1) as u32).to_be_bytes().to_vec(),
        ErrorReason::TooLarge,
        REQUEST_TOO_LARGE,
    );
    let many: Vec<[u8; 32]> = (0..=MAX_IDS_PER_REQUEST)
        .map(|i| Hash32::digest(&[&(i as u64).to_be_bytes()]).0)
        .collect();
    refuse(
        "get_events with 1,001 ids",
        frame(&tagged("get_events", map(vec![("ids", ids(&many))])).encode()),
        ErrorReason::TooManyIds,
        "too_many_ids",
    );
    let backfill = |limit: u64| {
        tagged(
            "backfill",
            map(vec![
                ("from", ids(&[id_of(&message)])),
                ("limit", Cbor::Uint(limit)),
                ("room", bytes(&room)),
            ]),
        )
    };
    refuse(
        "backfill with limit 0",
        frame(&backfill(0).encode()),
        ErrorReason::BadLimit,
        "bad_limit",
    );
    refuse(
        "since with limit 1,001",
        frame(
            &tagged(
                "since",
                map(vec![
                    ("after", Cbor::Null),
                    ("limit", Cbor::Uint(BACKFILL_PAGE as u64 + 1)),
                    ("room", bytes(&room)),
                ]),
            )
            .encode(),
        ),
        ErrorReason::BadLimit,
        "bad_limit",
    );
    refuse(
        "empty frame",
        frame(&[]),
        ErrorReason::Malformed,
        "truncated",
    );
    refuse(
        "tips with the room length in a two-byte head",
        frame(&splice(&tips, &[0x58, 0x20], &[0x59, 0x00, 0x20])),
        ErrorReason::Malformed,
        "non_canonical_encoding",
    );
    refuse(
        "backfill with its keys out of order",
        frame(
            &Cbor::Map(vec![(
                "backfill".into(),
                Cbor::Map(vec![
                    ("room".into(), bytes(&room)),
                    ("limit".into(), Cbor::Uint(64)),
                    ("from".into(), ids(&[id_of(&message)])),
                ]),
            )])
            .encode(),
        ),
        ErrorReason::Malformed,
        "non_canonical_encoding",
    );
    refuse(
        "unknown request kind",
        frame(&tagged("ping", map(vec![])).encode()),
        ErrorReason::Malformed,
        "malformed_cbor",
    );
    refuse(
        "two requests in one map",
        frame(
            &map(vec![
                ("room_state", map(vec![("room", bytes(&room))])),
                ("tips", map(vec![("room", bytes(&room))])),
            ])
            .encode(),
        ),
        ErrorReason::Malformed,
        "malformed_cbor",
    );
    refuse(
        "tips with an unknown field",
        frame(
            &tagged(
                "tips",
                map(vec![("room", bytes(&room)), ("zz", Cbor::Uint(0))]),
            )
            .encode(),
        ),
        ErrorReason::Malformed,
        "malformed_cbor",
    );
    refuse(
        "backfill without limit",
        frame(
            &tagged(
                "backfill",
                map(vec![
                    ("from", ids(&[id_of(&message)])),
                    ("room", bytes(&room)),
                ]),
            )
            .encode(),
        ),
        ErrorReason::Malformed,
        "malformed_cbor",
    );
    refuse(
        "tips with a room of 31 bytes",
        frame(&tagged("tips", map(vec![("room", bytes(&room[..31]))])).encode()),
        ErrorReason::Malformed,
        "malformed_cbor",
    );
    // Strict types (specs/events.md §1.2): another major type is malformed_cbor, never
    // non_canonical_encoding, and the data model is enforced before any field is read.
    refuse(
        "tips with the room as a text string",
        frame(&tagged("tips", map(vec![("room", Cbor::Text("r".repeat(32)))])).encode()),
        ErrorReason::Malformed,
        "malformed_cbor",
    );
    refuse(
        "the request kind as a byte string",
        frame(&splice(&tips, b"\x64tips", b"\x44tips")),
        ErrorReason::Malformed,
        "non_text_map_key",
    );
    refuse(
        "tips as an array [kind, fields]",
        frame(
            &Cbor::Array(vec![
                Cbor::Text("tips".into()),
                map(vec![("room", bytes(&room))]),
            ])
            .encode(),
        ),
        ErrorReason::Malformed,
        "malformed_cbor",
    );
    refuse(
        "backfill with limit as a float",
        frame(&splice(
            &backfill(64).encode(),
            b"\x65limit\x18\x40",
            b"\x65limit\xf9\x54\x00",
        )),
        ErrorReason::Malformed,
        "float_not_allowed",
    );
    refuse(
        "tips followed by a byte",
        frame(&[&tips[..], &[0x00]].concat()),
        ErrorReason::Malformed,
        "trailing_bytes",
    );

    // ---- answers the client refuses ----
    let mut invalid_responses: Vec<Json> = Vec::new();
    let mut refuse_answer = |name: &str, body: Vec<u8>, reason: &str| {
        let got = wire::decode_response(&body).err().map(|e| e.reason());
        assert_eq!(got, Some(reason), "{name}");
        invalid_responses.push(json!({
            "name": name,
            "frame": hex::encode(frame(&body)),
            "reason": reason,
        }));
    };
    let too_many_tips: Vec<[u8; 32]> = many[..=MAX_TIPS].to_vec();
    refuse_answer(
        "tips with 257 ids",
        tagged("tips", map(vec![("tips", ids(&too_many_tips))])).encode(),
        "too_large",
    );
    refuse_answer(
        "delivered as a map",
        map(vec![("delivered", Cbor::Null)]).encode(),
        "malformed_cbor",
    );
    refuse_answer(
        "events as text strings",
        tagged(
            "events",
            map(vec![(
                "events",
                Cbor::Array(vec![Cbor::Text("event".into())]),
            )]),
        )
        .encode(),
        "malformed_cbor",
    );
    refuse_answer(
        "error reason as a byte string",
        splice(
            &error_cbor(ErrorReason::Busy).encode(),
            b"\x64busy",
            b"\x44busy",
        ),
        "malformed_cbor",
    );
    refuse_answer(
        "unknown error reason",
        tagged("error", map(vec![("reason", Cbor::Text("teapot".into()))])).encode(),
        "malformed_cbor",
    );

    // ---- gossip ----
    let topics: Vec<Json> = [room, [0u8; 32], [0xff; 32]]
        .iter()
        .map(|r| {
            let room = RoomId(Hash32(*r));
            let name = format!("causerie/room/v1/{}", hex::encode(r));
            assert_eq!(gossip::topic_name(&room), name);
            assert_eq!(gossip::topic(&room).hash().as_str(), name);
            json!({ "room": hex::encode(r), "topic": name, "topic_hash": name })
        })
        .collect();
    let invalid = load("invalid.json");
    let invalid_event = |name: &str| -> Vec<u8> {
        hex_field(
            &invalid["invalid"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["name"] == name && e["target"] == "event")
                .unwrap_or_else(|| panic!("no invalid event {name}"))["bytes"],
        )
    };
    let mut message_ids: Vec<Json> = Vec::new();
    let mut message_id = |name: &str, data: Vec<u8>, expected: [u8; 32], how: &str| {
        assert_eq!(gossip::message_id_bytes(&data), expected, "{name}");
        message_ids.push(json!({
            "name": name,
            "data": hex::encode(&data),
            "message_id": hex::encode(expected),
            "how": how,
        }));
    };
    let undecodable = |data: &[u8]| Hash32::digest(&[b"causerie/v1/undecodable-gossip\0", data]).0;
    message_id(
        "an event",
        event_bytes(&message),
        id_of(&message),
        "event id",
    );
    message_id(
        "a redacted event (same id as the full one)",
        event_bytes(&event("message.redacted")),
        id_of(&message),
        "event id",
    );
    let flipped = invalid_event("signature bit flipped");
    let flipped_id = Event::decode_trusted(&flipped).unwrap().id().0.0;
    assert_ne!(flipped_id, id_of(&message));
    message_id(
        "an event with a bad signature (decodes without the signature check)",
        flipped,
        flipped_id,
        "event id",
    );
    let changed = invalid_event("content changed after signing");
    message_id(
        "an event whose content does not match its hash",
        changed.clone(),
        undecodable(&changed),
        "undecodable",
    );
    message_id(
        "not CBOR",
        b"hello".to_vec(),
        undecodable(b"hello"),
        "undecodable",
    );
    message_id("empty", vec![], undecodable(&[]), "undecodable");

    let out = json!({
        "description": "Federation wire vectors (specs/federation.md). requests/responses: one message each; \
            bytes = the canonical CBOR body, frame = 4-byte big-endian length ‖ bytes, fields = the message as JSON \
            (byte strings as lowercase hex), diagnostic = RFC 8949 §8 notation. Decoding `frame` gives `fields`, and \
            encoding `fields` gives `frame` byte for byte. invalid_requests: frames a server answers with \
            `answer` (an error frame) and counts under `reason`; `detail` is the precise cause. invalid_responses: \
            frames a client refuses with `reason`. gossip: topic of a room, and the message id of gossip data. \
            Events, attestations and keys are those of events.json, attestations.json and keys.json.",
        "protocol": PROTOCOL,
        "max_request_bytes": MAX_REQUEST_BYTES,
        "max_response_bytes": MAX_RESPONSE_BYTES,
        "requests": request_vectors,
        "responses": response_vectors,
        "node_letter": node_letter_vector,
        "invalid_requests": invalid_requests,
        "invalid_responses": invalid_responses,
        "gossip": {
            "topics": topics,
            "undecodable_prefix": hex::encode(b"causerie/v1/undecodable-gossip\0"),
            "message_ids": message_ids,
        },
    });
    let mut text = serde_json::to_string_pretty(&out).unwrap();
    text.push('\n');
    let path = vectors_dir().join("federation.json");
    std::fs::write(&path, text).unwrap();
    println!("wrote {}", path.display());
}
