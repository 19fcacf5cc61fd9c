//! invalid.json, first part: events, attestations and values with one fault each.

use crate::support::*;

/// A vector made of a valid statement with one field changed, then signed: its name, the
/// change, and the reason it is refused for.
type FieldChange<T> = (&'static str, fn(&mut T), &'static str);

/// The same for an event: its name, the valid draft and its author, the change, the reason.
type DraftChange<'a> = (
    &'static str,
    (&'a EventDraft, &'a UserSecret),
    fn(&mut RawEvent),
    &'static str,
);

/// The invalid events, attestations and values of invalid.json (one fault each).
pub(crate) fn generate(
    keys: &Keys,
    attestations: &Attestations,
    events: &Events,
) -> InvalidVectors {
    let Keys {
        alice,
        bob,
        node,
        p_le,
    } = keys;
    let alice_attestation = &attestations.alice;
    // ---- invalid ----
    let mut invalid = InvalidVectors::new();
    let mut reject = |target: &str, name: &str, bytes: &[u8], reason: &str| {
        invalid.reject(target, name, bytes, reason);
    };

    let message_draft = named(events, "message").0;
    let create_draft = named(events, "create").0;
    let base = || RawEvent::from_draft(message_draft);
    let good = base().seal(bob);
    let good_bytes = good.bytes();
    let message = named(events, "message").1;
    assert_eq!(good_bytes, message.as_bytes());

    let signature_bytes = good.signature.clone().unwrap();
    reject(
        "event",
        "signature bit flipped",
        &signature_bit_flipped(&good_bytes, &signature_bytes),
        "bad_signature",
    );

    let mut other_domain = base().seal(bob);
    let unsigned_input = other_domain.signing_input();
    let message_part = &unsigned_input[Domain::Event.prefix().len()..];
    other_domain.signature = Some(buf(bob.sign(Domain::Attestation, message_part).as_bytes()));
    reject(
        "event",
        "signed in the attestation domain",
        &other_domain.bytes(),
        "bad_signature",
    );

    reject(
        "event",
        "author is not the signer",
        &resealed(message_draft, bob, |raw| {
            raw.author = buf(alice.public().as_bytes());
        }),
        "bad_signature",
    );

    let mut unsigned = base().seal(bob);
    unsigned.signature = None;
    reject("event", "no signature", &unsigned.bytes(), "bad_signature");

    let mut changed = good.clone();
    changed.content = Value::Map(map(&[
        ("body", "Bonjour à tous ! 👋 (edited)".into()),
        ("format", "text".into()),
    ]));
    reject(
        "event",
        "content changed after signing",
        &changed.bytes(),
        "content_hash_mismatch",
    );

    let mut half = good.clone();
    half.content = Value::Map(map(&[("format", "text".into())]));
    reject(
        "event",
        "content partly removed (not the redacted form)",
        &half.bytes(),
        "content_hash_mismatch",
    );

    // One field of a valid draft changed, then signed by its author: the field is the fault.
    let (message, create) = ((message_draft, bob), (create_draft, alice));
    let changed_drafts: &[DraftChange<'_>] = &[
        (
            "21 prev_events",
            message,
            |raw| raw.prev_events = (1..=21).map(event_id).collect(),
            "too_many_prev_events",
        ),
        (
            "11 auth_events",
            message,
            |raw| raw.auth_events = (1..=11).map(event_id).collect(),
            "too_many_auth_events",
        ),
        (
            "prev_events lists an id twice",
            message,
            |raw| raw.prev_events = vec![event_id(1), event_id(2), event_id(1)],
            "duplicate_reference",
        ),
        (
            "prev_events entry of 31 bytes",
            message,
            |raw| raw.prev_events = vec![buf(&[1; 31])],
            "malformed_cbor",
        ),
        (
            "envelope version 2",
            message,
            |raw| raw.v = 2,
            "unsupported_version",
        ),
        (
            "kind with upper case",
            message,
            |raw| raw.kind = "Room.Message".into(),
            "bad_kind",
        ),
        ("empty kind", message, |raw| raw.kind.clear(), "bad_kind"),
        (
            "kind of 65 bytes",
            message,
            |raw| raw.kind = "k".repeat(65),
            "bad_kind",
        ),
        (
            "state key of 256 bytes",
            message,
            |raw| raw.state_key = Some("s".repeat(256)),
            "state_key_too_long",
        ),
        (
            "message without room",
            message,
            |raw| raw.room = None,
            "bad_room_id",
        ),
        (
            "create event with a room id",
            create,
            |raw| raw.room = Some(event_id(7)),
            "bad_room_id",
        ),
        (
            "create event at depth 1",
            create,
            |raw| raw.depth = 1,
            "bad_depth",
        ),
        (
            "create event with a parent",
            create,
            |raw| raw.prev_events = vec![event_id(3)],
            "bad_depth",
        ),
        (
            "message at depth 0",
            message,
            |raw| raw.depth = 0,
            "bad_depth",
        ),
        (
            "message without parents",
            message,
            |raw| raw.prev_events.clear(),
            "bad_depth",
        ),
        (
            "depth 2^53",
            message,
            |raw| raw.depth = 1 << 53,
            "bad_depth",
        ),
        // Not a map: sealing leaves the drafted content hash (zeros) as it is.
        (
            "content is an array",
            message,
            |raw| raw.content = Value::Array(vec!["body".into()]),
            "bad_content",
        ),
        (
            "content nested 17 deep",
            message,
            |raw| raw.content = Value::Map(map(&[("body", nested_arrays(16))])),
            "nesting_too_deep",
        ),
    ];
    for (name, (draft, author), change, reason) in changed_drafts {
        reject("event", name, &resealed(draft, author, change), reason);
    }

    // Author keys the library refuses, put in after signing.
    let weak = hex32(SMALL_ORDER[4].1);
    let off_curve = {
        let mut y = [0u8; 32];
        y[0] = 2;
        y
    };
    for (name, author, reason) in [
        ("author is a small-order point", weak, "weak_key"),
        ("author is not a curve point", off_curve, "invalid_key"),
        (
            "author is a non-canonical encoding",
            add_le(p_le, &hex32(SMALL_ORDER[0].1)),
            "invalid_key",
        ),
    ] {
        let mut raw = good.clone();
        raw.author = buf(&author);
        reject("event", name, &raw.bytes(), reason);
    }

    // Byte-level mutations of the good event.
    let depth_field = [text_key("depth"), vec![0x04]].concat();
    assert_eq!(good.depth, 4);
    reject(
        "event",
        "depth 4 in a two-byte head",
        &splice(
            &good_bytes,
            &depth_field,
            &[text_key("depth"), vec![0x18, 0x04]].concat(),
        ),
        "non_canonical_encoding",
    );
    let kind_field = [text_key("kind"), text_key("room.message")].concat();
    let origin = text_key("origin_ts");
    let swapped = {
        // Move `kind` after `origin_ts`: same fields, wrong order.
        let without_kind = splice(&good_bytes, &kind_field, &[]);
        let at = without_kind
            .windows(origin.len())
            .position(|w| w == origin.as_slice())
            .unwrap();
        let origin_end = at + origin.len() + 9; // origin_ts is a uint64 head: 0x1b + 8 bytes
        assert_eq!(without_kind[at + origin.len()], 0x1b);
        [
            &without_kind[..origin_end],
            &kind_field[..],
            &without_kind[origin_end..],
        ]
        .concat()
    };
    reject(
        "event",
        "envelope keys out of order",
        &swapped,
        "non_canonical_encoding",
    );
    let first_head = good_bytes[0];
    assert_eq!(first_head, 0xac, "12-entry envelope map");
    let dup_kind = [&[0xad][..], &good_bytes[1..]].concat();
    let dup_kind = splice(
        &dup_kind,
        &kind_field,
        &[kind_field.clone(), kind_field.clone()].concat(),
    );
    reject(
        "event",
        "envelope repeats `kind`",
        &dup_kind,
        "duplicate_map_key",
    );
    let unknown = [&[0xad][..], &good_bytes[1..], &text_key("zz"), &[0x00][..]].concat();
    reject(
        "event",
        "unknown envelope field",
        &unknown,
        "malformed_cbor",
    );
    let body_field = text_key("body");
    let content_dup = splice(
        &good_bytes,
        &[0xa2][..]
            .iter()
            .chain(body_field.iter())
            .copied()
            .collect::<Vec<u8>>(),
        &[&[0xa3][..], &body_field, &text_key("x"), &body_field].concat(),
    );
    reject(
        "event",
        "content repeats `body`",
        &content_dup,
        "duplicate_map_key",
    );
    // The content field `format: "text"` replaced by other CBOR.
    let format_field = [text_key("format"), text_key("text")].concat();
    for (name, replacement, reason) in [
        (
            "float in content",
            [text_key("format"), vec![0xf9, 0x3c, 0x00]].concat(),
            "float_not_allowed",
        ),
        (
            "content integer 2^63",
            [text_key("format"), vec![0x1b, 0x80, 0, 0, 0, 0, 0, 0, 0]].concat(),
            "integer_out_of_range",
        ),
        (
            "content map key is an integer",
            [vec![0x07], text_key("text")].concat(),
            "non_text_map_key",
        ),
        (
            "tag in content",
            [text_key("format"), vec![0xc0], text_key("text")].concat(),
            "non_canonical_encoding",
        ),
    ] {
        let bytes = splice(&good_bytes, &format_field, &replacement);
        reject("event", name, &bytes, reason);
    }
    let null_room = {
        let mut raw = RawEvent::from_draft(create_draft).seal(alice);
        let bytes = raw.bytes();
        raw.room = None;
        // Insert `room: null` before `signature`: decodes as no room, so it is not canonical.
        let signature_key = text_key("signature");
        let at = bytes
            .windows(signature_key.len())
            .position(|w| w == signature_key.as_slice())
            .unwrap();
        let mut out = [
            &bytes[..at],
            &text_key("room")[..],
            &[0xf6][..],
            &bytes[at..],
        ]
        .concat();
        out[0] += 1;
        out
    };
    reject(
        "event",
        "create event with room = null",
        &null_room,
        "non_canonical_encoding",
    );
    reject(
        "event",
        "truncated by one byte",
        &good_bytes[..good_bytes.len() - 1],
        "truncated",
    );
    reject("event", "empty input", &[], "truncated");
    reject(
        "event",
        "trailing byte",
        &[&good_bytes[..], &[0x00]].concat(),
        "trailing_bytes",
    );
    reject(
        "event",
        "not a map",
        &codec::encode(&Value::Array(vec![])).unwrap(),
        "malformed_cbor",
    );
    let huge_text = splice(
        &good_bytes,
        &text_key("kind"),
        &[vec![0x7b, 0x80, 0, 0, 0, 0, 0, 0, 0], b"kind".to_vec()].concat(),
    );
    reject(
        "event",
        "text length prefix 2^63",
        &huge_text,
        "length_out_of_range",
    );

    // Attestations.
    let att = || raw_attestation(alice_attestation);
    let good_att = att().seal(node);
    reject(
        "attestation",
        "signature bit flipped",
        &signature_bit_flipped(&good_att.bytes(), good_att.signature.as_ref().unwrap()),
        "bad_signature",
    );
    let mut wrong_node = att();
    wrong_node.home_node = buf(bob.public().as_bytes());
    reject(
        "attestation",
        "home_node is not the signer",
        &wrong_node.seal(node).bytes(),
        "bad_signature",
    );
    let mut event_domain = att();
    let msg = event_domain.bytes();
    event_domain.signature = Some(buf(node.sign(Domain::Event, &msg).as_bytes()));
    reject(
        "attestation",
        "signed in the event domain",
        &event_domain.bytes(),
        "bad_signature",
    );
    // One field of alice's attestation changed, then signed by the node: the field is the fault.
    let changed_attestations: &[FieldChange<RawAttestation>] = &[
        (
            "assurance level 4",
            |raw| raw.assurance = 4,
            "unknown_assurance_level",
        ),
        (
            "handle with upper case",
            |raw| raw.handle = "Alice".into(),
            "bad_handle",
        ),
        ("empty handle", |raw| raw.handle.clear(), "bad_handle"),
        (
            "handle of 33 bytes",
            |raw| raw.handle = "a".repeat(33),
            "bad_handle",
        ),
        (
            "handle starting with a dot",
            |raw| raw.handle = ".alice".into(),
            "bad_handle",
        ),
        (
            "empty validity window",
            |raw| raw.not_after = raw.not_before,
            "bad_validity_window",
        ),
        (
            "valid for 401 days",
            |raw| raw.not_after = raw.not_before + 401 * DAY_MS,
            "validity_too_long",
        ),
        ("version 2", |raw| raw.v = 2, "unsupported_version"),
        (
            "user is a small-order point",
            |raw| raw.user = buf(&hex32(SMALL_ORDER[4].1)),
            "weak_key",
        ),
        (
            "larger than 1024 bytes",
            |raw| raw.handle = "a".repeat(1_100),
            "too_large",
        ),
    ];
    for (name, change, reason) in changed_attestations {
        reject(
            "attestation",
            name,
            &resigned(att(), node, change).bytes(),
            reason,
        );
    }

    // Content values (codec level).
    let value_cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "unsorted map keys",
            vec![0xa2, 0x61, b'b', 0x01, 0x61, b'a', 0x02],
            "non_canonical_encoding",
        ),
        // RFC 8949 deterministic order sorts by encoded key ("b" before "aa"); ours is bytewise.
        (
            "keys in RFC 8949 length-first order",
            vec![0xa2, 0x61, b'b', 0x02, 0x62, b'a', b'a', 0x01],
            "non_canonical_encoding",
        ),
        (
            "duplicate map key",
            vec![0xa2, 0x61, b'a', 0x01, 0x61, b'a', 0x02],
            "duplicate_map_key",
        ),
        (
            "integer in a longer head",
            vec![0x18, 0x01],
            "non_canonical_encoding",
        ),
        (
            "length in a longer head",
            vec![0x58, 0x01, 0xaa],
            "non_canonical_encoding",
        ),
        (
            "indefinite-length array",
            vec![0x9f, 0x01, 0xff],
            "non_canonical_encoding",
        ),
        (
            "indefinite-length text",
            vec![0x7f, 0x61, b'a', 0xff],
            "non_canonical_encoding",
        ),
        ("tag 1", vec![0xc1, 0x00], "non_canonical_encoding"),
        ("undefined", vec![0xf7], "non_canonical_encoding"),
        ("half float", vec![0xf9, 0x3c, 0x00], "float_not_allowed"),
        (
            "double float",
            vec![0xfb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0],
            "float_not_allowed",
        ),
        (
            "2^64 - 1",
            vec![0x1b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            "integer_out_of_range",
        ),
        (
            "-2^64",
            vec![0x3b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            "integer_out_of_range",
        ),
        (
            "integer map key",
            vec![0xa1, 0x01, 0x02],
            "non_text_map_key",
        ),
        (
            "byte-string map key",
            vec![0xa1, 0x41, 0x00, 0x02],
            "non_text_map_key",
        ),
        ("invalid UTF-8", vec![0x62, 0xc3, 0x28], "malformed_cbor"),
        ("reserved head 0x1c", vec![0x1c], "malformed_cbor"),
        ("stray break", vec![0xff], "malformed_cbor"),
        (
            "byte string 2^63 long",
            [&[0x5b, 0x80][..], &[0; 7]].concat(),
            "length_out_of_range",
        ),
        (
            "text 2^63 long",
            [&[0x7b, 0x80][..], &[0; 7]].concat(),
            "length_out_of_range",
        ),
        (
            "array of 2^63 items",
            [&[0x9b, 0x80][..], &[0; 7]].concat(),
            "length_out_of_range",
        ),
        (
            "map of 2^63 pairs",
            [&[0xbb, 0x80][..], &[0; 7]].concat(),
            "length_out_of_range",
        ),
        (
            "byte string longer than the input",
            vec![0x45, 0x00],
            "truncated",
        ),
        ("array missing an item", vec![0x82, 0x00], "truncated"),
        ("head cut short", vec![0x19, 0x01], "truncated"),
        ("two items", vec![0x00, 0x00], "trailing_bytes"),
        (
            "arrays nested 65 deep",
            [vec![0x81; 65], vec![0x00]].concat(),
            "nesting_too_deep",
        ),
        (
            "arrays nested 10000 deep, truncated",
            vec![0x81; 10_000],
            "nesting_too_deep",
        ),
        (
            "maps nested 10000 deep",
            [0xa1, 0x60].repeat(10_000),
            "nesting_too_deep",
        ),
    ];
    for (name, bytes, reason) in &value_cases {
        reject("value", name, bytes, reason);
    }
    invalid
}
