//! invalid.json, first part: events, attestations and values with one fault each.

use crate::support::*;

/// The invalid events, attestations and values of invalid.json (one fault each).
pub(crate) fn generate(keys: &Keys, attestations: &Attestations, events: &Events) -> Vec<Json> {
    let Keys {
        alice,
        bob,
        node,
        p_le,
    } = keys;
    let alice_attestation = &attestations.alice;
    // ---- invalid ----
    let mut invalid: Vec<Json> = Vec::new();
    let mut reject = |target: &str, name: &str, bytes: &[u8], reason: &str| {
        let got = refusal(target, bytes);
        assert_eq!(got, Some(reason), "invalid vector {target}/{name}");
        invalid.push(json!({ "target": target, "name": name, "bytes": hex::encode(bytes), "reason": reason }));
    };

    let message_draft = named(events, "message").0.clone();
    let base = || RawEvent::from_draft(&message_draft);
    let good = base().seal(bob);
    let good_bytes = good.bytes();
    let message = named(events, "message").1;
    assert_eq!(good_bytes, message.as_bytes());

    let mut tampered = good_bytes.clone();
    let signature_bytes = good.signature.clone().unwrap();
    let sig_at = good_bytes
        .windows(64)
        .position(|w| w == &signature_bytes[..])
        .unwrap();
    tampered[sig_at + 10] ^= 0x01;
    reject("event", "signature bit flipped", &tampered, "bad_signature");

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

    let mut forged_author = base();
    forged_author.author = buf(alice.public().as_bytes());
    let forged_author = forged_author.seal(bob);
    reject(
        "event",
        "author is not the signer",
        &forged_author.bytes(),
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

    let id = |n: u8| buf(&[n; 32]);
    let mut many_prev = base();
    many_prev.prev_events = (1..=21).map(id).collect();
    reject(
        "event",
        "21 prev_events",
        &many_prev.seal(bob).bytes(),
        "too_many_prev_events",
    );
    let mut many_auth = base();
    many_auth.auth_events = (1..=11).map(id).collect();
    reject(
        "event",
        "11 auth_events",
        &many_auth.seal(bob).bytes(),
        "too_many_auth_events",
    );
    let mut dup_prev = base();
    dup_prev.prev_events = vec![id(1), id(2), id(1)];
    reject(
        "event",
        "prev_events lists an id twice",
        &dup_prev.seal(bob).bytes(),
        "duplicate_reference",
    );
    let mut short_id = base();
    short_id.prev_events = vec![buf(&[1; 31])];
    reject(
        "event",
        "prev_events entry of 31 bytes",
        &short_id.seal(bob).bytes(),
        "malformed_cbor",
    );

    let mut v2 = base();
    v2.v = 2;
    reject(
        "event",
        "envelope version 2",
        &v2.seal(bob).bytes(),
        "unsupported_version",
    );
    for (name, kind) in [
        ("kind with upper case", "Room.Message"),
        ("empty kind", ""),
        ("kind of 65 bytes", &"k".repeat(65)),
    ] {
        let mut raw = base();
        raw.kind = kind.to_owned();
        reject("event", name, &raw.seal(bob).bytes(), "bad_kind");
    }
    let mut long_state_key = base();
    long_state_key.state_key = Some("s".repeat(256));
    reject(
        "event",
        "state key of 256 bytes",
        &long_state_key.seal(bob).bytes(),
        "state_key_too_long",
    );
    let mut no_room = base();
    no_room.room = None;
    reject(
        "event",
        "message without room",
        &no_room.seal(bob).bytes(),
        "bad_room_id",
    );
    let create_draft = named(events, "create").0.clone();
    let mut create_in_room = RawEvent::from_draft(&create_draft);
    create_in_room.room = Some(id(7));
    reject(
        "event",
        "create event with a room id",
        &create_in_room.seal(alice).bytes(),
        "bad_room_id",
    );
    let mut create_depth = RawEvent::from_draft(&create_draft);
    create_depth.depth = 1;
    reject(
        "event",
        "create event at depth 1",
        &create_depth.seal(alice).bytes(),
        "bad_depth",
    );
    let mut create_parent = RawEvent::from_draft(&create_draft);
    create_parent.prev_events = vec![id(3)];
    reject(
        "event",
        "create event with a parent",
        &create_parent.seal(alice).bytes(),
        "bad_depth",
    );
    let mut depth0 = base();
    depth0.depth = 0;
    reject(
        "event",
        "message at depth 0",
        &depth0.seal(bob).bytes(),
        "bad_depth",
    );
    let mut orphan = base();
    orphan.prev_events = vec![];
    reject(
        "event",
        "message without parents",
        &orphan.seal(bob).bytes(),
        "bad_depth",
    );
    let mut too_deep_dag = base();
    too_deep_dag.depth = 1 << 53;
    reject(
        "event",
        "depth 2^53",
        &too_deep_dag.seal(bob).bytes(),
        "bad_depth",
    );

    let mut array_content = base();
    array_content.content = Value::Array(vec!["body".into()]);
    reject(
        "event",
        "content is an array",
        &array_content.resign(bob).bytes(),
        "bad_content",
    );
    let mut deep = Value::Integer(0);
    for _ in 0..16 {
        deep = Value::Array(vec![deep]);
    }
    let mut deep_content = base();
    deep_content.content = Value::Map(map(&[("body", deep)]));
    reject(
        "event",
        "content nested 17 deep",
        &deep_content.seal(bob).bytes(),
        "nesting_too_deep",
    );

    let weak = hex32(SMALL_ORDER[4].1);
    let mut weak_author = base().seal(bob);
    weak_author.author = buf(&weak);
    reject(
        "event",
        "author is a small-order point",
        &weak_author.bytes(),
        "weak_key",
    );
    let mut off_curve = base().seal(bob);
    off_curve.author = buf(&{
        let mut y = [0u8; 32];
        y[0] = 2;
        y
    });
    reject(
        "event",
        "author is not a curve point",
        &off_curve.bytes(),
        "invalid_key",
    );
    let mut nc_author = base().seal(bob);
    nc_author.author = buf(&add_le(p_le, &hex32(SMALL_ORDER[0].1)));
    reject(
        "event",
        "author is a non-canonical encoding",
        &nc_author.bytes(),
        "invalid_key",
    );

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
    let float_body = splice(
        &good_bytes,
        &[text_key("format"), text_key("text")].concat(),
        &[text_key("format"), vec![0xf9, 0x3c, 0x00]].concat(),
    );
    reject(
        "event",
        "float in content",
        &float_body,
        "float_not_allowed",
    );
    let big_int = splice(
        &good_bytes,
        &[text_key("format"), text_key("text")].concat(),
        &[text_key("format"), vec![0x1b, 0x80, 0, 0, 0, 0, 0, 0, 0]].concat(),
    );
    reject(
        "event",
        "content integer 2^63",
        &big_int,
        "integer_out_of_range",
    );
    let int_key = splice(
        &good_bytes,
        &[text_key("format"), text_key("text")].concat(),
        &[vec![0x07], text_key("text")].concat(),
    );
    reject(
        "event",
        "content map key is an integer",
        &int_key,
        "non_text_map_key",
    );
    let tagged = splice(
        &good_bytes,
        &[text_key("format"), text_key("text")].concat(),
        &[text_key("format"), vec![0xc0], text_key("text")].concat(),
    );
    reject("event", "tag in content", &tagged, "non_canonical_encoding");
    let null_room = {
        let mut raw = RawEvent::from_draft(&create_draft).seal(alice);
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
    let mut bad_sig = codec::encode(&good_att).unwrap();
    let att_signature = good_att.signature.clone().unwrap();
    let at = bad_sig
        .windows(64)
        .position(|w| w == &att_signature[..])
        .unwrap();
    bad_sig[at + 10] ^= 0x01;
    reject(
        "attestation",
        "signature bit flipped",
        &bad_sig,
        "bad_signature",
    );
    let mut wrong_node = att();
    wrong_node.home_node = buf(bob.public().as_bytes());
    reject(
        "attestation",
        "home_node is not the signer",
        &codec::encode(&wrong_node.seal(node)).unwrap(),
        "bad_signature",
    );
    let mut event_domain = att();
    event_domain.signature = None;
    let msg = codec::encode(&event_domain).unwrap();
    event_domain.signature = Some(buf(node.sign(Domain::Event, &msg).as_bytes()));
    reject(
        "attestation",
        "signed in the event domain",
        &codec::encode(&event_domain).unwrap(),
        "bad_signature",
    );
    let mut level = att();
    level.assurance = 4;
    reject(
        "attestation",
        "assurance level 4",
        &codec::encode(&level.seal(node)).unwrap(),
        "unknown_assurance_level",
    );
    for (name, handle) in [
        ("handle with upper case", "Alice"),
        ("empty handle", ""),
        ("handle of 33 bytes", &"a".repeat(33)),
        ("handle starting with a dot", ".alice"),
    ] {
        let mut raw = att();
        raw.handle = handle.to_owned();
        reject(
            "attestation",
            name,
            &codec::encode(&raw.seal(node)).unwrap(),
            "bad_handle",
        );
    }
    let mut window = att();
    window.not_after = window.not_before;
    reject(
        "attestation",
        "empty validity window",
        &codec::encode(&window.seal(node)).unwrap(),
        "bad_validity_window",
    );
    let mut long = att();
    long.not_after = long.not_before + 401 * DAY_MS;
    reject(
        "attestation",
        "valid for 401 days",
        &codec::encode(&long.seal(node)).unwrap(),
        "validity_too_long",
    );
    let mut av2 = att();
    av2.v = 2;
    reject(
        "attestation",
        "version 2",
        &codec::encode(&av2.seal(node)).unwrap(),
        "unsupported_version",
    );
    let mut weak_user = att();
    weak_user.user = buf(&weak);
    reject(
        "attestation",
        "user is a small-order point",
        &codec::encode(&weak_user.seal(node)).unwrap(),
        "weak_key",
    );
    let mut big = att();
    big.handle = "a".repeat(1_100);
    reject(
        "attestation",
        "larger than 1024 bytes",
        &codec::encode(&big.seal(node)).unwrap(),
        "too_large",
    );

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
