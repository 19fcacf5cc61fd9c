//! invalid.json, second part: strict CBOR types and inputs with two faults; writes the file.

use crate::support::*;

/// Strict types and inputs with two faults; writes invalid.json with `invalid`.
pub(crate) fn generate(
    dir: &Path,
    keys: &Keys,
    attestations: &Attestations,
    events: &Events,
    mut invalid: InvalidVectors,
) {
    let Keys { bob, node, .. } = keys;
    let alice_attestation = &attestations.alice;
    // The same bases as invalid.json's single-fault vectors.
    let message_draft = named(events, "message").0;
    let good = RawEvent::from_draft(message_draft).seal(bob);
    let good_bytes = good.bytes();
    let signature_bytes = good.signature.clone().unwrap();
    let mut changed = good.clone();
    changed.content = Value::Map(map(&[
        ("body", "Bonjour à tous ! 👋 (edited)".into()),
        ("format", "text".into()),
    ]));
    let att = || raw_attestation(alice_attestation);
    let good_att = att().seal(node);
    let weak = hex32(SMALL_ORDER[4].1);
    // ---- strict types (specs/events.md §1.2) and inputs with two faults (§6) ----
    // The labelled reason is computed by the library and checked against the label here, like
    // every vector above; `faults` lists the faults in the order the spec checks them, and the
    // reason is that of the first.
    // The canonical envelope as a generic map, to re-encode with one field of another type.
    let fields = |bytes: &[u8]| -> Content {
        codec::decode_canonical::<Value>(bytes, event::MAX_EVENT_BYTES)
            .unwrap()
            .as_map()
            .unwrap()
            .clone()
    };
    let with = |bytes: &[u8], key: &str, value: Value| -> Vec<u8> {
        let mut map = fields(bytes);
        map.insert(key.to_owned(), value);
        codec::encode(&Value::Map(map)).unwrap()
    };
    let without = |bytes: &[u8], key: &str| -> Vec<u8> {
        let mut map = fields(bytes);
        map.remove(key);
        codec::encode(&Value::Map(map)).unwrap()
    };
    let long_depth = |bytes: &[u8]| -> Vec<u8> {
        // depth 4 in a two-byte head (non-canonical).
        splice(
            bytes,
            &[text_key("depth"), vec![0x04]].concat(),
            &[text_key("depth"), vec![0x18, 0x04]].concat(),
        )
    };
    let float_format = |bytes: &[u8]| -> Vec<u8> {
        splice(
            bytes,
            &[text_key("format"), text_key("text")].concat(),
            &[text_key("format"), vec![0xf9, 0x3c, 0x00]].concat(),
        )
    };
    let twice_kind = |bytes: &[u8]| -> Vec<u8> {
        let kind_field = [text_key("kind"), text_key("room.message")].concat();
        let mut out = splice(
            bytes,
            &kind_field,
            &[kind_field.clone(), kind_field.clone()].concat(),
        );
        out[0] += 1;
        out
    };
    let text32 = Value::Text("a".repeat(32));

    // Item types: a value of another major type is malformed_cbor, never non_canonical_encoding.
    invalid.reject(
        "event",
        "kind as a byte string",
        &with(&good_bytes, "kind", Value::Bytes(b"room.message".to_vec())),
        "malformed_cbor",
    );
    invalid.reject(
        "event",
        "state_key as a byte string",
        &{
            let member = named(events, "member").1;
            let bytes = member.as_bytes().to_vec();
            let state_key = member.state_key().unwrap().as_bytes().to_vec();
            with(&bytes, "state_key", Value::Bytes(state_key))
        },
        "malformed_cbor",
    );
    invalid.reject(
        "event",
        "depth as a negative integer",
        &with(&good_bytes, "depth", Value::Integer(-4)),
        "malformed_cbor",
    );
    invalid.reject(
        "event",
        "v as true",
        &with(&good_bytes, "v", Value::Bool(true)),
        "malformed_cbor",
    );
    invalid.reject(
        "event",
        "prev_events as one byte string",
        &with(&good_bytes, "prev_events", Value::Bytes(vec![1; 32])),
        "malformed_cbor",
    );
    invalid.reject(
        "event",
        "envelope as an array of its values",
        &codec::encode(&Value::Array(fields(&good_bytes).into_values().collect())).unwrap(),
        "malformed_cbor",
    );
    invalid.reject(
        "event",
        "depth as a float",
        &splice(
            &good_bytes,
            &[text_key("depth"), vec![0x04]].concat(),
            &[text_key("depth"), vec![0xf9, 0x44, 0x00]].concat(),
        ),
        "float_not_allowed",
    );
    invalid.reject(
        "event",
        "envelope key `kind` as a byte string",
        &splice(
            &good_bytes,
            &text_key("kind"),
            &[&[0x44][..], b"kind"].concat(),
        ),
        "non_text_map_key",
    );
    invalid.reject(
        "event",
        "envelope key `kind` as an integer",
        &splice(&good_bytes, &text_key("kind"), &[0x06]),
        "non_text_map_key",
    );
    let good_att_bytes = good_att.bytes();
    invalid.reject(
        "attestation",
        "handle as a byte string",
        &with(&good_att_bytes, "handle", Value::Bytes(b"alice".to_vec())),
        "malformed_cbor",
    );
    invalid.reject(
        "attestation",
        "assurance as text",
        &with(&good_att_bytes, "assurance", Value::Text("contact".into())),
        "malformed_cbor",
    );
    for (name, bytes, reason) in [
        (
            "byte-string chunk in an indefinite-length text",
            vec![0x7f, 0x41, b'a', 0xff],
            "malformed_cbor",
        ),
        (
            "indefinite-length map ends after a key",
            vec![0xbf, 0x61, b'a', 0xff],
            "malformed_cbor",
        ),
        ("simple value 32", vec![0xf8, 0x20], "malformed_cbor"),
        ("simple value 0", vec![0xe0], "malformed_cbor"),
        (
            "float map key",
            vec![0xa1, 0xf9, 0x3c, 0x00, 0x00],
            "non_text_map_key",
        ),
        (
            "tagged map key",
            vec![0xa1, 0xc1, 0x00, 0x00],
            "non_text_map_key",
        ),
    ] {
        invalid.reject("value", name, &bytes, reason);
    }

    // Two faults each: the reason is the first fault's in the order of events.md §6,
    // identity.md §2.2 and events.md §1.4.
    let huge = resealed(message_draft, bob, |raw| {
        raw.content = Value::Map(map(&[("body", "x".repeat(70_000).into())]));
    });
    invalid.faults(
        "event",
        "two faults: over 65,536 bytes, and truncated",
        &huge[..huge.len() - 1],
        &["event_too_large", "truncated"],
    );
    invalid.faults(
        "event",
        "two faults: truncated, and depth in a two-byte head",
        &{
            let bytes = long_depth(&good_bytes);
            bytes[..bytes.len() - 1].to_vec()
        },
        &["truncated", "non_canonical_encoding"],
    );
    invalid.faults(
        "event",
        "two faults: author as text (decoding), then a float in content (pre-scan)",
        &float_format(&with(&good_bytes, "author", text32.clone())),
        &["float_not_allowed", "malformed_cbor"],
    );
    invalid.faults(
        "event",
        "two faults: author as text (decoding), then an integer content key (pre-scan)",
        &splice(
            &with(&good_bytes, "author", text32.clone()),
            &[text_key("format"), text_key("text")].concat(),
            &[vec![0x07], text_key("text")].concat(),
        ),
        &["non_text_map_key", "malformed_cbor"],
    );
    invalid.faults(
        "event",
        "two faults: depth in a two-byte head, then kind as a byte string",
        &long_depth(&with(
            &good_bytes,
            "kind",
            Value::Bytes(b"room.message".to_vec()),
        )),
        &["malformed_cbor", "non_canonical_encoding"],
    );
    invalid.faults(
        "event",
        "two faults: `kind` twice, then origin_ts as text",
        &twice_kind(&with(&good_bytes, "origin_ts", Value::Text("now".into()))),
        &["duplicate_map_key", "malformed_cbor"],
    );
    invalid.faults(
        "event",
        "two faults: content_hash as text, then `kind` twice",
        &twice_kind(&with(&good_bytes, "content_hash", text32.clone())),
        &["malformed_cbor", "duplicate_map_key"],
    );
    invalid.faults(
        "event",
        "two faults: author is a small-order point, and version 2",
        &with(
            &with(&good_bytes, "author", Value::Bytes(weak.to_vec())),
            "v",
            Value::Integer(2),
        ),
        &["weak_key", "unsupported_version"],
    );
    invalid.faults(
        "event",
        "two faults: version 2, and depth in a two-byte head",
        &long_depth(&resealed(message_draft, bob, |raw| {
            raw.v = 2;
        })),
        &["unsupported_version", "non_canonical_encoding"],
    );
    invalid.faults(
        "event",
        "two faults: no signature, and depth in a two-byte head",
        &long_depth(&without(&good_bytes, "signature")),
        &["bad_signature", "non_canonical_encoding"],
    );
    invalid.faults(
        "event",
        "two faults: signature null, and depth in a two-byte head",
        &long_depth(&with(&good_bytes, "signature", Value::Null)),
        &["bad_signature", "non_canonical_encoding"],
    );
    invalid.faults(
        "event",
        "two faults: depth in a two-byte head, and 21 prev_events",
        &long_depth(&resealed(message_draft, bob, |raw| {
            raw.prev_events = (1..=21).map(event_id).collect();
        })),
        &["non_canonical_encoding", "too_many_prev_events"],
    );
    invalid.faults(
        "event",
        "two faults: 21 prev_events, and a kind with upper case",
        &resealed(message_draft, bob, |raw| {
            raw.prev_events = (1..=21).map(event_id).collect();
            raw.kind = "Room.Message".into();
        }),
        &["too_many_prev_events", "bad_kind"],
    );
    invalid.faults(
        "event",
        "two faults: a kind with upper case, and no parents",
        &resealed(message_draft, bob, |raw| {
            raw.kind = "Room.Message".into();
            raw.prev_events = vec![];
        }),
        &["bad_kind", "bad_depth"],
    );
    invalid.faults(
        "event",
        "two faults: prev_events lists an id twice, and a state key of 256 bytes",
        &resealed(message_draft, bob, |raw| {
            raw.prev_events = vec![event_id(1), event_id(1)];
            raw.state_key = Some("s".repeat(256));
        }),
        &["duplicate_reference", "state_key_too_long"],
    );
    invalid.faults(
        "event",
        "two faults: content nested 17 deep, and content changed after signing",
        &{
            let mut raw = good.clone();
            raw.content = Value::Map(map(&[("body", nested_arrays(16))]));
            raw.bytes()
        },
        &["nesting_too_deep", "content_hash_mismatch"],
    );
    invalid.faults(
        "event",
        "two faults: message without room, and at depth 0",
        &resealed(message_draft, bob, |raw| {
            raw.room = None;
            raw.depth = 0;
        }),
        &["bad_room_id", "bad_depth"],
    );
    invalid.faults(
        "event",
        "two faults: content changed after signing, and a signature bit flipped",
        &signature_bit_flipped(&changed.bytes(), &signature_bytes),
        &["content_hash_mismatch", "bad_signature"],
    );
    let long_handle = |bytes: &[u8]| -> Vec<u8> {
        splice(
            bytes,
            &text_key("alice"),
            &[&[0x78, 0x05][..], b"alice"].concat(),
        )
    };
    invalid.faults(
        "attestation",
        "two faults: version 2, and a handle with upper case",
        &resigned(att(), node, |raw| {
            raw.v = 2;
            raw.handle = "Alice".into();
        })
        .bytes(),
        &["unsupported_version", "bad_handle"],
    );
    invalid.faults(
        "attestation",
        "two faults: user is a small-order point, and a handle with upper case",
        &resigned(att(), node, |raw| {
            raw.user = buf(&weak);
            raw.handle = "Alice".into();
        })
        .bytes(),
        &["weak_key", "bad_handle"],
    );
    invalid.faults(
        "attestation",
        "two faults: no signature, and the handle length in a two-byte head",
        &long_handle(&without(&good_att_bytes, "signature")),
        &["bad_signature", "non_canonical_encoding"],
    );
    invalid.faults(
        "attestation",
        "two faults: the handle length in a two-byte head, and assurance level 4",
        &long_handle(
            &resigned(att(), node, |raw| {
                raw.assurance = 4;
            })
            .bytes(),
        ),
        &["non_canonical_encoding", "unknown_assurance_level"],
    );
    invalid.faults(
        "attestation",
        "two faults: a handle with upper case, and a signature bit flipped",
        &{
            let sealed = resigned(att(), node, |raw| raw.handle = "Alice".into());
            signature_bit_flipped(&sealed.bytes(), sealed.signature.as_ref().unwrap())
        },
        &["bad_handle", "bad_signature"],
    );
    for (name, bytes, faults) in [
        (
            "two faults: keys out of order, and a key twice",
            vec![0xa3, 0x61, b'b', 0x01, 0x61, b'a', 0x02, 0x61, b'a', 0x03],
            ["duplicate_map_key", "non_canonical_encoding"],
        ),
        (
            "two faults: 2^64 - 1 (decoding), then a float (pre-scan)",
            [&[0x82, 0x1b][..], &[0xff; 8], &[0xf9, 0x3c, 0x00]].concat(),
            ["float_not_allowed", "integer_out_of_range"],
        ),
        (
            "two faults: a tag, then a float",
            vec![0x82, 0xc1, 0x00, 0xf9, 0x3c, 0x00],
            ["non_canonical_encoding", "float_not_allowed"],
        ),
        (
            "two faults: a float, then a byte string 2^63 long",
            [&[0x82, 0xf9, 0x3c, 0x00, 0x5b, 0x80][..], &[0; 7]].concat(),
            ["float_not_allowed", "length_out_of_range"],
        ),
    ] {
        invalid.faults("value", name, &bytes, &faults);
    }
    write(
        dir,
        "invalid.json",
        &json!({
            "description": "Inputs that must be rejected. target: `event` (Event::decode), `attestation` (Attestation::decode) \
                or `value` (a content value: codec::decode_canonical::<Value> with the 65,536-byte event cap). \
                reason: the stable reason() of the error. Events are derived from events.json `message` (author bob) \
                and `create` (author alice) and, unless the mutation is in the bytes, re-signed correctly, \
                so the labelled fault is the only one, except in vectors with `faults`: those have two faults, \
                listed in the order specs/events.md §6 (events), identity.md §2.2 (attestations) and events.md §1.4 \
                (values) check them, and `reason` is the first one's.",
            "invalid": invalid.into_json(),
        }),
    );
}
