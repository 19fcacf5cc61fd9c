//! Checks the library against the committed vectors in `specs/test-vectors/` (written by
//! `cargo run -p causerie-crypto --example gen_vectors`): every valid vector decodes to its
//! recorded id and re-encodes to identical bytes, every invalid one is refused with its labelled
//! `reason()`, and the RFC 8032 / small-order / non-canonical Ed25519 vectors give the recorded
//! `verify_strict` outcome both through ed25519-dalek directly and through our key types.

// Helpers outside #[test] functions may unwrap too: a failure here is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use causerie_crypto::codec::{self, Value};
use causerie_crypto::event::MAX_EVENT_BYTES;
use causerie_crypto::testing::{base58, hex_bytes as bytes, vector_file as load};
use causerie_crypto::{
    Attestation, Domain, Event, NodeKey, NodeSecret, PublicKey, Signature, UserKey, UserSecret,
};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde_json::Value as Json;

fn array<const N: usize>(value: &Json) -> [u8; N] {
    bytes(value).try_into().unwrap()
}

fn list<'a>(file: &'a Json, key: &str) -> &'a [Json] {
    file[key]
        .as_array()
        .unwrap_or_else(|| panic!("no list `{key}`"))
}

/// User secrets by public key hex, rebuilt from keys.json.
fn user_secrets() -> BTreeMap<String, UserSecret> {
    let keys = load("keys.json");
    list(&keys, "users")
        .iter()
        .map(|user| {
            let seed = array::<32>(&user["seed"]);
            (
                user["public"].as_str().unwrap().to_owned(),
                UserSecret::from_seed(&seed),
            )
        })
        .collect()
}

#[test]
fn keys_derive_from_their_seeds() {
    let keys = load("keys.json");
    for user in list(&keys, "users") {
        let label = user["seed_label"].as_str().unwrap();
        let seed = array::<32>(&user["seed"]);
        assert_eq!(
            seed,
            causerie_crypto::Hash32::digest(&[label.as_bytes()]).0,
            "{label}"
        );
        let public = UserSecret::from_seed(&seed).public();
        assert_eq!(public.to_string(), user["public"].as_str().unwrap());
        assert_eq!(
            UserKey::from_hex(user["public"].as_str().unwrap()).unwrap(),
            public
        );
    }
    for node in list(&keys, "nodes") {
        let seed = array::<32>(&node["seed"]);
        let public = NodeSecret::from_seed(&seed).public();
        assert_eq!(public.to_string(), node["public"].as_str().unwrap());
        // libp2p peer id: identity multihash (0x00, 36) of protobuf {1: Ed25519, 2: key}.
        let peer_id = bytes(&node["peer_id_hex"]);
        assert_eq!(peer_id[..6], [0x00, 0x24, 0x08, 0x01, 0x12, 0x20]);
        assert_eq!(&peer_id[6..], public.as_bytes());
        assert_eq!(base58(&peer_id), node["peer_id"].as_str().unwrap());
        assert!(node["peer_id"].as_str().unwrap().starts_with("12D3KooW"));
    }
}

#[test]
fn invalid_public_keys_are_refused_with_their_reason() {
    let keys = load("keys.json");
    let invalid = list(&keys, "invalid");
    assert!(invalid.len() >= 12);
    for case in invalid {
        let key = array::<32>(&case["public"]);
        let reason = case["reason"].as_str().unwrap();
        let name = case["name"].as_str().unwrap();
        assert_eq!(
            UserKey::from_bytes(&key).err().map(|e| e.reason()),
            Some(reason),
            "{name}"
        );
        assert_eq!(
            NodeKey::from_bytes(&key).err().map(|e| e.reason()),
            Some(reason),
            "{name}"
        );
        // The same key inside CBOR (as it arrives in an envelope) gives the same reason.
        let encoded = codec::encode(&Value::Bytes(key.to_vec())).unwrap();
        assert_eq!(
            codec::decode_canonical::<UserKey>(&encoded, 64)
                .err()
                .map(|e| e.reason()),
            Some(reason),
            "{name} (CBOR)"
        );
    }
}

#[test]
fn rfc8032_vectors_raw_and_through_our_key_types() {
    let file = load("ed25519.json");
    let vectors = list(&file, "rfc8032");
    let names: Vec<&str> = vectors
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["TEST 1", "TEST 2", "TEST 3", "TEST 1024", "TEST SHA(abc)"]
    );
    for vector in vectors {
        let name = vector["name"].as_str().unwrap();
        let seed = array::<32>(&vector["secret"]);
        let public = array::<32>(&vector["public"]);
        let message = bytes(&vector["message"]);
        let signature = array::<64>(&vector["signature"]);
        assert_eq!(vector["verify_strict"], Json::Bool(true));
        if name == "TEST 1024" {
            assert_eq!(message.len(), 1023);
        }

        // Raw: ed25519-dalek alone.
        let signing = SigningKey::from_bytes(&seed);
        assert_eq!(signing.verifying_key().to_bytes(), public, "{name}");
        assert_eq!(
            signing.sign(&message).to_bytes(),
            signature,
            "{name}: deterministic signature"
        );
        let verifying = VerifyingKey::from_bytes(&public).unwrap();
        let dalek_signature = ed25519_dalek::Signature::from_bytes(&signature);
        assert!(
            verifying.verify_strict(&message, &dalek_signature).is_ok(),
            "{name}"
        );

        // Through our key types: derivation, parsing, and the verifier the protocol uses.
        let user = UserSecret::from_seed(&seed);
        assert_eq!(user.public().as_bytes(), &public, "{name}");
        assert_eq!(
            NodeSecret::from_seed(&seed).public().as_bytes(),
            &public,
            "{name}"
        );
        let key = PublicKey::from_bytes(&public).unwrap();
        assert!(
            key.verify_without_domain(&message, &Signature(signature)),
            "{name}"
        );
        assert!(
            !key.verify_without_domain(b"other", &Signature(signature)),
            "{name}"
        );
        // Our domain-separated API never accepts the raw RFC signature.
        for domain in Domain::ALL {
            assert!(
                !key.verify(domain, &message, &Signature(signature)),
                "{name} {domain:?}"
            );
        }
        // And a domain signature by the same key is the RFC signature of prefix ‖ message.
        let ours = user.sign(Domain::Event, &message);
        assert_eq!(
            ours.0,
            signing
                .sign(&Domain::Event.signing_input(&message))
                .to_bytes()
        );
    }
}

#[test]
fn small_order_and_non_canonical_signatures() {
    let file = load("ed25519.json");
    let cases = list(&file, "edge_cases");
    assert!(cases.len() >= 15);
    let mut lenient_only = 0;
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let public = array::<32>(&case["public"]);
        let message = bytes(&case["message"]);
        let signature = array::<64>(&case["signature"]);
        let strict = case["verify_strict"].as_bool().unwrap();
        let lenient = case["verify_cofactorless_lenient"].as_bool().unwrap();
        let dalek_signature = ed25519_dalek::Signature::from_bytes(&signature);

        // Raw.
        let (raw_strict, raw_lenient) = match VerifyingKey::from_bytes(&public) {
            Ok(key) => (
                key.verify_strict(&message, &dalek_signature).is_ok(),
                ed25519_dalek::Verifier::verify(&key, &message, &dalek_signature).is_ok(),
            ),
            Err(_) => (false, false),
        };
        assert_eq!(raw_strict, strict, "{name}: verify_strict");
        assert_eq!(raw_lenient, lenient, "{name}: lenient verify");
        if lenient && !strict {
            lenient_only += 1;
        }

        // Through our key types: a weak or non-canonical key never even becomes a key.
        let key_reason = case["key_reason"].as_str();
        match PublicKey::from_bytes(&public) {
            Ok(key) => {
                assert_eq!(key_reason, None, "{name}");
                assert_eq!(
                    key.verify_without_domain(&message, &Signature(signature)),
                    strict
                );
            }
            Err(e) => assert_eq!(Some(e.reason()), key_reason, "{name}"),
        }
    }
    // The vectors must show where a lenient verifier would disagree with verify_strict.
    assert!(
        lenient_only >= 2,
        "expected vectors accepted only by the lenient verifier"
    );
}

#[test]
fn attestations_round_trip() {
    let file = load("attestations.json");
    let keys = load("keys.json");
    let node = NodeSecret::from_seed(&array::<32>(&list(&keys, "nodes")[0]["seed"]));
    for vector in list(&file, "attestations") {
        let name = vector["name"].as_str().unwrap();
        let encoded = bytes(&vector["bytes"]);
        let attestation = Attestation::decode(&encoded).unwrap();
        assert_eq!(
            attestation.id().0.to_hex(),
            vector["id"].as_str().unwrap(),
            "{name}"
        );
        assert_eq!(attestation.as_bytes(), &encoded[..]);
        for (field, decoded) in [
            ("user", attestation.user().to_string()),
            ("handle", attestation.handle().to_owned()),
            ("assurance", attestation.assurance().name().to_owned()),
            ("home_node", attestation.home_node().to_string()),
        ] {
            assert_eq!(decoded, vector[field].as_str().unwrap(), "{name}: {field}");
        }
        assert_eq!(
            attestation.not_before(),
            vector["not_before"].as_u64().unwrap()
        );
        assert_eq!(
            attestation.not_after(),
            vector["not_after"].as_u64().unwrap()
        );
        // Re-encoding: the home node signing the same statement gives the identical bytes.
        let again = causerie_crypto::AttestationDraft {
            user: *attestation.user(),
            handle: attestation.handle().to_owned(),
            assurance: attestation.assurance(),
            not_before: attestation.not_before(),
            not_after: attestation.not_after(),
        }
        .sign(&node)
        .unwrap();
        assert_eq!(again.as_bytes(), &encoded[..], "{name}: re-encoding");
        assert_eq!(again.id(), attestation.id());
    }
}

#[test]
fn events_round_trip() {
    let file = load("events.json");
    let secrets = user_secrets();
    let events = list(&file, "events");
    let mut full: BTreeMap<String, Event> = BTreeMap::new();
    let mut redacted_count = 0;
    let mut room = None;
    for vector in events {
        let name = vector["name"].as_str().unwrap();
        let encoded = bytes(&vector["bytes"]);
        let event = Event::decode(&encoded).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            event.id().0.to_hex(),
            vector["id"].as_str().unwrap(),
            "{name}: id"
        );
        assert_eq!(
            event.room_id().0.to_hex(),
            vector["room_id"].as_str().unwrap(),
            "{name}"
        );
        for (field, decoded) in [
            ("kind", event.kind().to_owned()),
            ("author", event.author().to_string()),
            ("content_hash", event.content_hash().to_hex()),
        ] {
            assert_eq!(decoded, vector[field].as_str().unwrap(), "{name}: {field}");
        }
        assert_eq!(event.as_bytes(), &encoded[..]);
        assert_eq!(
            event.is_redacted(),
            vector["redacted"].as_bool().unwrap(),
            "{name}"
        );
        // Everything in one room, whose id is the create event's id.
        match room {
            None => {
                assert_eq!(event.kind(), "room.create");
                assert_eq!(event.room_id().0, event.id().0);
                room = Some(event.room_id());
            }
            Some(room) => assert_eq!(event.room_id(), room),
        }
        if let Some(origin) = vector["redacted_from"].as_str() {
            // The redacted form is exactly what redacting the full event produces.
            let original = &full[origin];
            assert_eq!(original.redacted().as_bytes(), &encoded[..], "{name}");
            assert_eq!(event.id(), original.id());
            assert_eq!(event.signature(), original.signature());
            assert!(event.is_redacted());
            redacted_count += 1;
            continue;
        }
        // Re-encoding: the author signing the same draft gives the identical bytes.
        let draft = causerie_crypto::testing::draft_of(&event);
        assert_eq!(
            hex::encode(draft.signing_input().unwrap()),
            vector["signing_input"].as_str().unwrap()
        );
        let secret = &secrets[&event.author().to_string()];
        let again = draft.sign(secret).unwrap();
        assert_eq!(again.as_bytes(), &encoded[..], "{name}: re-encoding");
        full.insert(name.to_owned(), event);
    }
    for kind in [
        "room.create",
        "room.member",
        "room.power_levels",
        "room.message",
        "room.redaction",
    ] {
        assert!(full.values().any(|e| e.kind() == kind), "no {kind} vector");
    }
    assert!(redacted_count >= 4);
}

#[test]
fn invalid_vectors_are_rejected_with_their_reason() {
    let file = load("invalid.json");
    let cases = list(&file, "invalid");
    let mut reasons = BTreeMap::new();
    let mut multiple = 0;
    for case in cases {
        let target = case["target"].as_str().unwrap();
        let name = case["name"].as_str().unwrap();
        let reason = case["reason"].as_str().unwrap();
        let input = bytes(&case["bytes"]);
        let got = match target {
            "event" => Event::decode(&input).err().map(|e| e.reason()),
            "attestation" => Attestation::decode(&input).err().map(|e| e.reason()),
            "value" => codec::decode_canonical::<Value>(&input, MAX_EVENT_BYTES)
                .err()
                .map(|e| e.reason()),
            other => panic!("unknown target {other}"),
        };
        assert_eq!(got, Some(reason), "{target}: {name}");
        if let Some(faults) = case["faults"].as_array() {
            // Several faults: the reason is the first in the spec's order, and it is listed.
            assert!(faults.len() >= 2, "{name}");
            assert_eq!(faults[0], reason, "{name}");
            multiple += 1;
        }
        if target == "event" {
            // A node that stored it by mistake must not accept it on reload either, unless the
            // only fault is the signature (which decode_trusted deliberately skips).
            let trusted = Event::decode_trusted(&input).err().map(|e| e.reason());
            if reason == "bad_signature" {
                assert!(
                    trusted.is_none() || trusted == Some("bad_signature"),
                    "{name}"
                );
            } else {
                assert_eq!(trusted, Some(reason), "{name} (trusted)");
            }
        }
        *reasons.entry(reason).or_insert(0) += 1;
    }
    assert!(
        multiple >= 20,
        "only {multiple} vectors with several faults"
    );
    // Every reason the envelope, attestation and codec can give is exercised.
    for reason in [
        "bad_signature",
        "content_hash_mismatch",
        "too_many_prev_events",
        "too_many_auth_events",
        "duplicate_reference",
        "unsupported_version",
        "bad_kind",
        "state_key_too_long",
        "bad_content",
        "bad_room_id",
        "bad_depth",
        "unknown_assurance_level",
        "bad_handle",
        "bad_validity_window",
        "validity_too_long",
        "too_large",
        "truncated",
        "trailing_bytes",
        "nesting_too_deep",
        "length_out_of_range",
        "duplicate_map_key",
        "float_not_allowed",
        "integer_out_of_range",
        "non_text_map_key",
        "invalid_key",
        "weak_key",
        "non_canonical_encoding",
        "malformed_cbor",
    ] {
        assert!(
            reasons.contains_key(reason),
            "no invalid vector for {reason}"
        );
    }
}
