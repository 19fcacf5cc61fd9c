//! Property tests of the envelope, signing domains and attestations (specs/events.md,
//! specs/identity.md). proptest prints the minimal failing input of any failure, and keeps it in
//! `proptest-regressions/` so that it is replayed first on the next run.
//!
//! - sign → encode → decode → verify round-trips for arbitrary content (`Value` trees within the
//!   limits), kinds, state keys and reference lists;
//! - flipping any single byte of a signed event makes decoding fail (never the same event, never
//!   a different valid one);
//! - redacting keeps the id and the signature valid;
//! - a signature made in one domain verifies in no other;
//! - attestations round-trip;
//! - arbitrary bytes never panic the decoders.

// Helpers outside #[test] functions may unwrap too: a failure here is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use causerie_crypto::attestation::{MAX_HANDLE_BYTES, MAX_VALIDITY_MS};
use causerie_crypto::codec::{self, Value};
use causerie_crypto::event::{self, MAX_AUTH_EVENTS, MAX_EVENT_BYTES, MAX_PREV_EVENTS, kinds};
use causerie_crypto::{
    Assurance, Attestation, AttestationDraft, AttestationId, Content, Domain, Event, EventDraft,
    EventId, Hash32, NodeSecret, RoomId, UserSecret,
};
use proptest::collection::{btree_map, btree_set, vec};
use proptest::prelude::*;

/// Leaves of content: every scalar the data model has.
fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Integer),
        prop_oneof![
            Just(0i64),
            Just(23),
            Just(24),
            Just(255),
            Just(256),
            Just(-24),
            Just(-25)
        ]
        .prop_map(Value::Integer),
        "\\PC{0,24}".prop_map(Value::Text),
        vec(any::<u8>(), 0..40).prop_map(Value::Bytes),
    ]
}

/// Arbitrary values at most 6 levels deep (content adds one level, the limit is 16).
fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(6, 48, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            btree_map("\\PC{0,10}", inner, 0..6).prop_map(Value::Map),
        ]
    })
}

fn content() -> impl Strategy<Value = Content> {
    btree_map("\\PC{0,12}", value(), 0..6)
}

fn id() -> impl Strategy<Value = EventId> {
    any::<[u8; 32]>().prop_map(|b| EventId(Hash32(b)))
}

fn kind() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(kinds::CREATE.to_owned()),
        Just(kinds::MEMBER.to_owned()),
        Just(kinds::POWER_LEVELS.to_owned()),
        Just(kinds::JOIN_RULES.to_owned()),
        Just(kinds::REDACTION.to_owned()),
        Just(kinds::POLICY_SUBSCRIPTIONS.to_owned()),
        Just(kinds::MESSAGE.to_owned()),
        "[a-z0-9._]{1,64}",
    ]
}

/// Content for `kind` that also exercises the keys redaction preserves.
fn content_for(kind: String) -> impl Strategy<Value = (String, Content)> {
    let preserved: Vec<String> = event::kinds::preserved_keys(&kind)
        .unwrap_or(&["creator"])
        .iter()
        .map(|k| (*k).to_owned())
        .collect();
    (content(), vec(value(), preserved.len())).prop_map(move |(mut content, values)| {
        for (key, value) in preserved.iter().zip(values) {
            content.insert(key.clone(), value);
        }
        (kind.clone(), content)
    })
}

fn secret() -> impl Strategy<Value = UserSecret> {
    any::<[u8; 32]>().prop_map(|seed| UserSecret::from_seed(&seed))
}

prop_compose! {
    fn draft_and_secret()(
        secret in secret(),
        (kind, content) in kind().prop_flat_map(content_for),
        state_key in proptest::option::of("\\PC{0,40}"),
        room in any::<[u8; 32]>(),
        prev in btree_set(id(), 1..=MAX_PREV_EVENTS),
        auth in btree_set(id(), 0..=MAX_AUTH_EVENTS),
        shuffle in any::<bool>(),
        depth in 1u64..=event::MAX_DEPTH,
        origin_ts in any::<u64>(),
        attestation in any::<[u8; 32]>(),
    ) -> (EventDraft, UserSecret) {
        let is_create = kind == kinds::CREATE;
        let mut prev_events: Vec<EventId> = prev.into_iter().collect();
        if shuffle {
            // Reference lists keep the author's order; it is signed as given.
            prev_events.reverse();
        }
        let draft = EventDraft {
            room: (!is_create).then_some(RoomId(Hash32(room))),
            author: secret.public(),
            kind,
            state_key,
            content,
            prev_events: if is_create { vec![] } else { prev_events },
            auth_events: if is_create { vec![] } else { auth.into_iter().collect() },
            depth: if is_create { 0 } else { depth },
            origin_ts,
            attestation: AttestationId(Hash32(attestation)),
        };
        (draft, secret)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn sign_encode_decode_verify_round_trips((draft, secret) in draft_and_secret()) {
        let event = draft.clone().sign(&secret).unwrap();
        prop_assert!(event.as_bytes().len() <= MAX_EVENT_BYTES);
        let decoded = Event::decode(event.as_bytes()).unwrap();
        prop_assert_eq!(decoded.id(), event.id());
        prop_assert_eq!(decoded.as_bytes(), event.as_bytes());
        prop_assert_eq!(decoded.content(), &draft.content);
        prop_assert_eq!(decoded.kind(), draft.kind.as_str());
        prop_assert_eq!(decoded.state_key(), draft.state_key.as_deref());
        prop_assert_eq!(decoded.prev_events(), &draft.prev_events[..]);
        prop_assert_eq!(decoded.auth_events(), &draft.auth_events[..]);
        prop_assert_eq!(decoded.depth(), draft.depth);
        prop_assert_eq!(decoded.origin_ts(), draft.origin_ts);
        prop_assert_eq!(decoded.author(), &draft.author);
        prop_assert!(!decoded.is_redacted());
        // The signature is an ordinary domain-separated signature over the signing input.
        let input = draft.signing_input().unwrap();
        let message = &input[Domain::Event.prefix().len()..];
        prop_assert!(draft.author.verify(Domain::Event, message, decoded.signature()));
        // The id is SHA-256 of the signing input and the signature.
        let id = Hash32::digest(&[&input, decoded.signature().as_bytes()]);
        prop_assert_eq!(decoded.id().0, id);
        if draft.kind == kinds::CREATE {
            prop_assert_eq!(decoded.room_id().0, decoded.id().0);
        }
        // Content survives the codec on its own too.
        let content_bytes = codec::encode(&draft.content).unwrap();
        let again: Content = codec::decode_canonical(&content_bytes, MAX_EVENT_BYTES).unwrap();
        prop_assert_eq!(again, draft.content);
    }

    #[test]
    fn redaction_keeps_id_and_signature((draft, secret) in draft_and_secret()) {
        let event = draft.sign(&secret).unwrap();
        let redacted = event.redacted();
        prop_assert_eq!(redacted.id(), event.id());
        prop_assert_eq!(redacted.signature(), event.signature());
        prop_assert_eq!(redacted.content_hash(), event.content_hash());
        let decoded = Event::decode(redacted.as_bytes()).unwrap();
        prop_assert_eq!(decoded.id(), event.id());
        prop_assert_eq!(decoded.content(), redacted.content());
        // What is left is exactly the preserved keys the kind defines.
        let expected = event::redact_content(event.kind(), event.content());
        prop_assert_eq!(decoded.content(), &expected);
        prop_assert_eq!(decoded.is_redacted(), expected != *event.content());
        // Redacting twice changes nothing.
        let twice = decoded.redacted();
        prop_assert_eq!(twice.as_bytes(), redacted.as_bytes());
    }

    #[test]
    fn a_signature_verifies_in_its_domain_only(
        secret in secret(),
        message in vec(any::<u8>(), 0..200),
        signed_in in 0usize..Domain::ALL.len(),
    ) {
        let domain = Domain::ALL[signed_in];
        let signature = secret.sign(domain, &message);
        for other in Domain::ALL {
            prop_assert_eq!(secret.public().verify(other, &message, &signature), other == domain);
        }
        // Nor as a raw RFC 8032 signature of the message.
        prop_assert!(!secret.public().0.verify_without_domain(&message, &signature));
    }

    #[test]
    fn attestations_round_trip(
        user in secret(),
        node_seed in any::<[u8; 32]>(),
        handle in "[a-z0-9][a-z0-9._-]{0,31}",
        level in 0u64..=3,
        not_before in 0u64..(1 << 50),
        validity in 1u64..=MAX_VALIDITY_MS,
    ) {
        prop_assume!(handle.len() <= MAX_HANDLE_BYTES);
        let node = NodeSecret::from_seed(&node_seed);
        let assurance = Assurance::from_level(level).unwrap();
        let attestation = AttestationDraft {
            user: user.public(),
            handle: handle.clone(),
            assurance,
            not_before,
            not_after: not_before + validity,
        }
        .sign(&node)
        .unwrap();
        let decoded = Attestation::decode(attestation.as_bytes()).unwrap();
        prop_assert_eq!(decoded.id(), attestation.id());
        prop_assert_eq!(decoded.as_bytes(), attestation.as_bytes());
        prop_assert_eq!(decoded.user(), &user.public());
        prop_assert_eq!(decoded.home_node(), &node.public());
        prop_assert_eq!(decoded.handle(), handle.as_str());
        prop_assert_eq!(decoded.assurance(), assurance);
        prop_assert!(decoded.is_valid_at(not_before));
        prop_assert!(decoded.is_valid_at(not_before + validity - 1));
        prop_assert!(!decoded.is_valid_at(not_before + validity));
        prop_assert!(not_before == 0 || !decoded.is_valid_at(not_before - 1));
        // Any single flipped byte is refused.
        let bytes = attestation.as_bytes();
        for position in 0..bytes.len() {
            let mut flipped = bytes.to_vec();
            flipped[position] ^= 0x01;
            prop_assert!(Attestation::decode(&flipped).is_err(), "flip at {}", position);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..600)) {
        let _ = Event::decode(&bytes);
        let _ = Event::decode_trusted(&bytes);
        let _ = Attestation::decode(&bytes);
        let _ = codec::decode_canonical::<Value>(&bytes, MAX_EVENT_BYTES);
    }

    #[test]
    fn decoded_values_are_canonical(bytes in vec(any::<u8>(), 0..64)) {
        // Whatever the codec accepts re-encodes to exactly the input.
        if let Ok(value) = codec::decode_canonical::<Value>(&bytes, MAX_EVENT_BYTES) {
            prop_assert_eq!(codec::encode(&value).unwrap(), bytes);
        }
    }

    #[test]
    fn values_round_trip(value in value()) {
        let bytes = codec::encode(&value).unwrap();
        let decoded: Value = codec::decode_canonical(&bytes, MAX_EVENT_BYTES).unwrap();
        prop_assert_eq!(decoded, value);
    }
}

#[test]
fn distinct_drafts_give_distinct_ids() {
    // Same content, different single field: every variation changes the id.
    let secret = UserSecret::from_seed(&[9; 32]);
    let base = EventDraft {
        room: Some(RoomId(Hash32([1; 32]))),
        author: secret.public(),
        kind: kinds::MESSAGE.into(),
        state_key: None,
        content: Content::new(),
        prev_events: vec![EventId(Hash32([2; 32]))],
        auth_events: vec![],
        depth: 1,
        origin_ts: 0,
        attestation: AttestationId(Hash32([3; 32])),
    };
    let mut variants = vec![base.clone()];
    let mut v = base.clone();
    v.room = Some(RoomId(Hash32([4; 32])));
    variants.push(v);
    let mut v = base.clone();
    v.kind = "room.other".into();
    variants.push(v);
    let mut v = base.clone();
    v.state_key = Some(String::new());
    variants.push(v);
    let mut v = base.clone();
    v.content.insert("body".into(), Value::Null);
    variants.push(v);
    let mut v = base.clone();
    v.prev_events.push(EventId(Hash32([5; 32])));
    variants.push(v);
    let mut v = base.clone();
    v.auth_events.push(EventId(Hash32([5; 32])));
    variants.push(v);
    let mut v = base.clone();
    v.depth = 2;
    variants.push(v);
    let mut v = base.clone();
    v.origin_ts = 1;
    variants.push(v);
    let mut v = base;
    v.attestation = AttestationId(Hash32([6; 32]));
    variants.push(v);
    let ids: BTreeSet<EventId> = variants
        .into_iter()
        .map(|d| d.sign(&secret).unwrap().id())
        .collect();
    assert_eq!(ids.len(), 10);
}

proptest! {
    // Each case decodes every flipped position of one event: fewer cases, same coverage per case.
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn flipping_any_byte_is_detected(
        (draft, secret) in draft_and_secret(),
        redact in any::<bool>(),
        mask in 1u8..=255,
        stride in 1usize..=7,
    ) {
        let signed = draft.sign(&secret).unwrap();
        let event = if redact { signed.redacted() } else { signed };
        let bytes = event.as_bytes();
        // Every byte position (every `stride`th, to bound the run time of large events).
        let stride = if bytes.len() > 2_000 { stride.max(bytes.len() / 500) } else { 1 };
        for position in (0..bytes.len()).step_by(stride) {
            let mut flipped = bytes.to_vec();
            flipped[position] ^= mask;
            let result = Event::decode(&flipped);
            prop_assert!(
                result.is_err(),
                "flip 0x{:02x} at {} of {} accepted as {:?}",
                mask, position, bytes.len(), result
            );
        }
    }
}
