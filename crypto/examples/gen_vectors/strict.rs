//! invalid.json, second part: strict CBOR types and inputs with two faults; writes the file.

use crate::support::*;

/// Strict types and inputs with two faults; writes invalid.json with `invalid`.
pub(crate) fn generate(
    dir: &Path,
    keys: &Keys,
    attestations: &Attestations,
    events: &Events,
    mut invalid: Vec<Json>,
) {
    let Keys { bob, node, .. } = keys;
    let alice_attestation = &attestations.alice;
    // The same bases as invalid.json's single-fault vectors.
    let message_draft = named(events, "message").0.clone();
    let base = || RawEvent::from_draft(&message_draft);
    let good = base().seal(bob);
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
    let id = |n: u8| buf(&[n; 32]);
    // ---- strict types (specs/events.md §1.2) and inputs with two faults (§6) ----
    // The labelled reason is computed by the library and checked against the label here, like
    // every vector above; `faults` lists the faults in the order the spec checks them, and the
    // reason is that of the first.
    let mut labelled = |target: &str, name: &str, bytes: &[u8], reason: &str, faults: &[&str]| {
        assert_eq!(
            refusal(target, bytes),
            Some(reason),
            "invalid vector {target}/{name}"
        );
        let mut vector = json!({ "target": target, "name": name, "bytes": hex::encode(bytes), "reason": reason });
        if !faults.is_empty() {
            assert!(faults.len() >= 2, "{name}: one fault needs no list");
            vector["faults"] = json!(faults);
        }
        invalid.push(vector);
    };
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
    labelled(
        "event",
        "kind as a byte string",
        &with(&good_bytes, "kind", Value::Bytes(b"room.message".to_vec())),
        "malformed_cbor",
        &[],
    );
    labelled(
        "event",
        "state_key as a byte string",
        &{
            let member = named(events, "member").1;
            let bytes = member.as_bytes().to_vec();
            let state_key = member.state_key().unwrap().as_bytes().to_vec();
            with(&bytes, "state_key", Value::Bytes(state_key))
        },
        "malformed_cbor",
        &[],
    );
    labelled(
        "event",
        "depth as a negative integer",
        &with(&good_bytes, "depth", Value::Integer(-4)),
        "malformed_cbor",
        &[],
    );
    labelled(
        "event",
        "v as true",
        &with(&good_bytes, "v", Value::Bool(true)),
        "malformed_cbor",
        &[],
    );
    labelled(
        "event",
        "prev_events as one byte string",
        &with(&good_bytes, "prev_events", Value::Bytes(vec![1; 32])),
        "malformed_cbor",
        &[],
    );
    labelled(
        "event",
        "envelope as an array of its values",
        &codec::encode(&Value::Array(fields(&good_bytes).into_values().collect())).unwrap(),
        "malformed_cbor",
        &[],
    );
    labelled(
        "event",
        "depth as a float",
        &splice(
            &good_bytes,
            &[text_key("depth"), vec![0x04]].concat(),
            &[text_key("depth"), vec![0xf9, 0x44, 0x00]].concat(),
        ),
        "float_not_allowed",
        &[],
    );
    labelled(
        "event",
        "envelope key `kind` as a byte string",
        &splice(
            &good_bytes,
            &text_key("kind"),
            &[&[0x44][..], b"kind"].concat(),
        ),
        "non_text_map_key",
        &[],
    );
    labelled(
        "event",
        "envelope key `kind` as an integer",
        &splice(&good_bytes, &text_key("kind"), &[0x06]),
        "non_text_map_key",
        &[],
    );
    let good_att_bytes = codec::encode(&good_att).unwrap();
    labelled(
        "attestation",
        "handle as a byte string",
        &with(&good_att_bytes, "handle", Value::Bytes(b"alice".to_vec())),
        "malformed_cbor",
        &[],
    );
    labelled(
        "attestation",
        "assurance as text",
        &with(&good_att_bytes, "assurance", Value::Text("contact".into())),
        "malformed_cbor",
        &[],
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
        labelled("value", name, &bytes, reason, &[]);
    }

    // Two faults each: the reason is the first fault's in the order of events.md §6,
    // identity.md §2.2 and events.md §1.4.
    let huge = {
        let mut raw = base();
        raw.content = Value::Map(map(&[("body", "x".repeat(70_000).into())]));
        raw.seal(bob).bytes()
    };
    labelled(
        "event",
        "two faults: over 65,536 bytes, and truncated",
        &huge[..huge.len() - 1],
        "event_too_large",
        &["event_too_large", "truncated"],
    );
    labelled(
        "event",
        "two faults: truncated, and depth in a two-byte head",
        &{
            let bytes = long_depth(&good_bytes);
            bytes[..bytes.len() - 1].to_vec()
        },
        "truncated",
        &["truncated", "non_canonical_encoding"],
    );
    labelled(
        "event",
        "two faults: author as text (decoding), then a float in content (pre-scan)",
        &float_format(&with(&good_bytes, "author", text32.clone())),
        "float_not_allowed",
        &["float_not_allowed", "malformed_cbor"],
    );
    labelled(
        "event",
        "two faults: author as text (decoding), then an integer content key (pre-scan)",
        &splice(
            &with(&good_bytes, "author", text32.clone()),
            &[text_key("format"), text_key("text")].concat(),
            &[vec![0x07], text_key("text")].concat(),
        ),
        "non_text_map_key",
        &["non_text_map_key", "malformed_cbor"],
    );
    labelled(
        "event",
        "two faults: depth in a two-byte head, then kind as a byte string",
        &long_depth(&with(
            &good_bytes,
            "kind",
            Value::Bytes(b"room.message".to_vec()),
        )),
        "malformed_cbor",
        &["malformed_cbor", "non_canonical_encoding"],
    );
    labelled(
        "event",
        "two faults: `kind` twice, then origin_ts as text",
        &twice_kind(&with(&good_bytes, "origin_ts", Value::Text("now".into()))),
        "duplicate_map_key",
        &["duplicate_map_key", "malformed_cbor"],
    );
    labelled(
        "event",
        "two faults: content_hash as text, then `kind` twice",
        &twice_kind(&with(&good_bytes, "content_hash", text32.clone())),
        "malformed_cbor",
        &["malformed_cbor", "duplicate_map_key"],
    );
    labelled(
        "event",
        "two faults: author is a small-order point, and version 2",
        &with(
            &with(&good_bytes, "author", Value::Bytes(weak.to_vec())),
            "v",
            Value::Integer(2),
        ),
        "weak_key",
        &["weak_key", "unsupported_version"],
    );
    labelled(
        "event",
        "two faults: version 2, and depth in a two-byte head",
        &long_depth(&{
            let mut raw = base();
            raw.v = 2;
            raw.seal(bob).bytes()
        }),
        "unsupported_version",
        &["unsupported_version", "non_canonical_encoding"],
    );
    labelled(
        "event",
        "two faults: no signature, and depth in a two-byte head",
        &long_depth(&without(&good_bytes, "signature")),
        "bad_signature",
        &["bad_signature", "non_canonical_encoding"],
    );
    labelled(
        "event",
        "two faults: signature null, and depth in a two-byte head",
        &long_depth(&with(&good_bytes, "signature", Value::Null)),
        "bad_signature",
        &["bad_signature", "non_canonical_encoding"],
    );
    labelled(
        "event",
        "two faults: depth in a two-byte head, and 21 prev_events",
        &long_depth(&{
            let mut raw = base();
            raw.prev_events = (1..=21).map(id).collect();
            raw.seal(bob).bytes()
        }),
        "non_canonical_encoding",
        &["non_canonical_encoding", "too_many_prev_events"],
    );
    labelled(
        "event",
        "two faults: 21 prev_events, and a kind with upper case",
        &{
            let mut raw = base();
            raw.prev_events = (1..=21).map(id).collect();
            raw.kind = "Room.Message".into();
            raw.seal(bob).bytes()
        },
        "too_many_prev_events",
        &["too_many_prev_events", "bad_kind"],
    );
    labelled(
        "event",
        "two faults: a kind with upper case, and no parents",
        &{
            let mut raw = base();
            raw.kind = "Room.Message".into();
            raw.prev_events = vec![];
            raw.seal(bob).bytes()
        },
        "bad_kind",
        &["bad_kind", "bad_depth"],
    );
    labelled(
        "event",
        "two faults: prev_events lists an id twice, and a state key of 256 bytes",
        &{
            let mut raw = base();
            raw.prev_events = vec![id(1), id(1)];
            raw.state_key = Some("s".repeat(256));
            raw.seal(bob).bytes()
        },
        "duplicate_reference",
        &["duplicate_reference", "state_key_too_long"],
    );
    labelled(
        "event",
        "two faults: content nested 17 deep, and content changed after signing",
        &{
            let mut deep = Value::Integer(0);
            for _ in 0..16 {
                deep = Value::Array(vec![deep]);
            }
            let mut raw = base().seal(bob);
            raw.content = Value::Map(map(&[("body", deep)]));
            raw.bytes()
        },
        "nesting_too_deep",
        &["nesting_too_deep", "content_hash_mismatch"],
    );
    labelled(
        "event",
        "two faults: message without room, and at depth 0",
        &{
            let mut raw = base();
            raw.room = None;
            raw.depth = 0;
            raw.seal(bob).bytes()
        },
        "bad_room_id",
        &["bad_room_id", "bad_depth"],
    );
    labelled(
        "event",
        "two faults: content changed after signing, and a signature bit flipped",
        &{
            let mut bytes = changed.bytes();
            let at = bytes
                .windows(64)
                .position(|w| w == &signature_bytes[..])
                .unwrap();
            bytes[at + 10] ^= 0x01;
            bytes
        },
        "content_hash_mismatch",
        &["content_hash_mismatch", "bad_signature"],
    );
    let long_handle = |bytes: &[u8]| -> Vec<u8> {
        splice(
            bytes,
            &text_key("alice"),
            &[&[0x78, 0x05][..], b"alice"].concat(),
        )
    };
    labelled(
        "attestation",
        "two faults: version 2, and a handle with upper case",
        &{
            let mut raw = att();
            raw.v = 2;
            raw.handle = "Alice".into();
            codec::encode(&raw.seal(node)).unwrap()
        },
        "unsupported_version",
        &["unsupported_version", "bad_handle"],
    );
    labelled(
        "attestation",
        "two faults: user is a small-order point, and a handle with upper case",
        &{
            let mut raw = att();
            raw.user = buf(&weak);
            raw.handle = "Alice".into();
            codec::encode(&raw.seal(node)).unwrap()
        },
        "weak_key",
        &["weak_key", "bad_handle"],
    );
    labelled(
        "attestation",
        "two faults: no signature, and the handle length in a two-byte head",
        &long_handle(&without(&good_att_bytes, "signature")),
        "bad_signature",
        &["bad_signature", "non_canonical_encoding"],
    );
    labelled(
        "attestation",
        "two faults: the handle length in a two-byte head, and assurance level 4",
        &long_handle(&{
            let mut raw = att();
            raw.assurance = 4;
            codec::encode(&raw.seal(node)).unwrap()
        }),
        "non_canonical_encoding",
        &["non_canonical_encoding", "unknown_assurance_level"],
    );
    labelled(
        "attestation",
        "two faults: a handle with upper case, and a signature bit flipped",
        &{
            let mut raw = att();
            raw.handle = "Alice".into();
            let sealed = raw.seal(node);
            let signature = sealed.signature.clone().unwrap();
            let mut bytes = codec::encode(&sealed).unwrap();
            let at = bytes.windows(64).position(|w| w == &signature[..]).unwrap();
            bytes[at + 10] ^= 0x01;
            bytes
        },
        "bad_handle",
        &["bad_handle", "bad_signature"],
    );
    for (name, bytes, reason, faults) in [
        (
            "two faults: keys out of order, and a key twice",
            vec![0xa3, 0x61, b'b', 0x01, 0x61, b'a', 0x02, 0x61, b'a', 0x03],
            "duplicate_map_key",
            ["duplicate_map_key", "non_canonical_encoding"],
        ),
        (
            "two faults: 2^64 - 1 (decoding), then a float (pre-scan)",
            [&[0x82, 0x1b][..], &[0xff; 8], &[0xf9, 0x3c, 0x00]].concat(),
            "float_not_allowed",
            ["float_not_allowed", "integer_out_of_range"],
        ),
        (
            "two faults: a tag, then a float",
            vec![0x82, 0xc1, 0x00, 0xf9, 0x3c, 0x00],
            "non_canonical_encoding",
            ["non_canonical_encoding", "float_not_allowed"],
        ),
        (
            "two faults: a float, then a byte string 2^63 long",
            [&[0x82, 0xf9, 0x3c, 0x00, 0x5b, 0x80][..], &[0; 7]].concat(),
            "float_not_allowed",
            ["float_not_allowed", "length_out_of_range"],
        ),
    ] {
        labelled("value", name, &bytes, reason, &faults);
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
            "invalid": invalid,
        }),
    );
}
