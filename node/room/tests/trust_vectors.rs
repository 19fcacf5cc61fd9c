//! `specs/test-vectors/trust.json` (specs/accountability.md §8): join-rules content with attester
//! allowlists and denylists, its canonical CBOR and redacted form, and which joins it admits.
//! The test rebuilds the cases from fixed seeds and compares them with the file
//! (`CAUSERIE_WRITE_VECTORS=1` rewrites the file), then reads the file's bytes alone, as a second
//! implementation would, and checks every verdict.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::PathBuf;

use causerie_crypto::event::{kinds, redact_content};
use causerie_crypto::testing::{
    assert_bad_content, hex_bytes, vector_content, vector_file, vectors_dir,
};
use causerie_crypto::{Assurance, Content, NodeKey, NodeSecret, Value, codec};
use causerie_room::trust::admits;
use causerie_room::{Credential, JoinRule, JoinRules};
use serde_json::{Value as Json, json};

fn path() -> PathBuf {
    vectors_dir().join("trust.json")
}

fn node(seed: u8) -> NodeKey {
    NodeSecret::from_seed(&[seed; 32]).public()
}

fn keys(seeds: &[u8]) -> BTreeSet<NodeKey> {
    seeds.iter().map(|s| node(*s)).collect()
}

fn hex_keys(keys: &BTreeSet<NodeKey>) -> Json {
    keys.iter().map(|k| hex::encode(k.as_bytes())).collect()
}

/// (name, rules): every case is tried with the joins of [`joins`].
fn cases() -> Vec<(&'static str, JoinRules)> {
    let attested = |min: Assurance, allowed: &[u8], denied: &[u8]| JoinRules {
        rule: JoinRule::Attested,
        min_assurance: min,
        denied_attesters: keys(denied),
        allowed_attesters: keys(allowed),
    };
    vec![
        ("attested, no lists", attested(Assurance::Key, &[], &[])),
        (
            "attested, one denied node",
            attested(Assurance::Key, &[], &[3]),
        ),
        (
            "attested, allowlist of two",
            attested(Assurance::Key, &[1, 2], &[]),
        ),
        (
            "allowlist with a minimum assurance",
            attested(Assurance::Identity, &[1, 2], &[]),
        ),
        (
            "allowed and denied: denied wins",
            attested(Assurance::Key, &[1, 2], &[2]),
        ),
        (
            "public: the lists do not apply",
            JoinRules {
                rule: JoinRule::Public,
                ..attested(Assurance::Key, &[1], &[2])
            },
        ),
    ]
}

/// (attester seed, assurance, invited).
fn joins() -> Vec<(u8, Assurance, bool)> {
    vec![
        (1, Assurance::Contact, false),
        (2, Assurance::Identity, false),
        (3, Assurance::InPerson, false),
        (3, Assurance::InPerson, true),
    ]
}

/// The authorization rule for an uninvited or invited join (specs/rooms.md §2.1), reduced to the
/// join rule's part.
fn admitted(rules: &JoinRules, credential: &Credential, invited: bool) -> bool {
    match rules.rule {
        JoinRule::Public => true,
        JoinRule::Invite | JoinRule::Knock => invited,
        JoinRule::Attested => invited || admits(rules, Some(credential)),
    }
}

fn build() -> Json {
    let cases: Vec<Json> = cases()
        .into_iter()
        .map(|(name, rules)| {
            let content = rules.to_content();
            let cbor = codec::encode(&content).unwrap();
            let redacted = codec::encode(&redact_content(kinds::JOIN_RULES, &content)).unwrap();
            let joins: Vec<Json> = joins()
                .into_iter()
                .map(|(seed, assurance, invited)| {
                    let issuer = *node(seed).as_bytes();
                    let credential = Credential { assurance, issuer };
                    json!({
                        "attester": hex::encode(issuer),
                        "assurance": assurance.level(),
                        "invited": invited,
                        "admitted": admitted(&rules, &credential, invited),
                    })
                })
                .collect();
            let rule = match rules.rule {
                JoinRule::Public => "public",
                JoinRule::Invite => "invite",
                JoinRule::Knock => "knock",
                JoinRule::Attested => "attested",
            };
            json!({
                "name": name,
                "content": {
                    "join_rule": rule,
                    "min_assurance": rules.min_assurance.level(),
                    "denied_attesters": hex_keys(&rules.denied_attesters),
                    "allowed_attesters": hex_keys(&rules.allowed_attesters),
                },
                "content_cbor": hex::encode(&cbor),
                "redacted_cbor": hex::encode(&redacted),
                "joins": joins,
            })
        })
        .collect();
    let invalid: Vec<Json> = invalid_contents()
        .into_iter()
        .map(|(name, detail, content)| {
            json!({
                "name": name,
                "content_cbor": hex::encode(codec::encode(&content).unwrap()),
                "detail": detail,
            })
        })
        .collect();
    json!({
        "description": "Attester allowlists and denylists in room.join_rules (specs/accountability.md \u{00a7}8, specs/rooms.md \u{00a7}2.1). cases: join-rules content (node keys in hex; an empty allowed_attesters is written as no key at all), its canonical CBOR and its redacted form (the same bytes: every key is preserved), and for each join (the joining event's attestation: home node key and assurance level; whether the target's membership is invite) whether the join rule admits it. invalid: join-rules content (CBOR) rejected as bad_content, with the detail.",
        "nodes": (1u8..=3).map(|s| json!({"seed": format!("{s:02x}").repeat(32), "key": hex::encode(node(s).as_bytes())})).collect::<Vec<_>>(),
        "cases": cases,
        "invalid": invalid,
    })
}

fn invalid_contents() -> Vec<(&'static str, &'static str, Content)> {
    let base = || {
        let mut content = Content::new();
        content.insert("join_rule".into(), "attested".into());
        content
    };
    let with = |key: &str, value: Value| {
        let mut content = base();
        content.insert(key.into(), value);
        content
    };
    let many = Value::Array(
        (0..=causerie_room::trust::MAX_ALLOWED_ATTESTERS)
            .map(|i| {
                let mut seed = [9u8; 32];
                seed[..8].copy_from_slice(&(i as u64).to_le_bytes());
                Value::Bytes(NodeSecret::from_seed(&seed).public().as_bytes().to_vec())
            })
            .collect(),
    );
    vec![
        (
            "allowed_attesters is not an array",
            "bad_allowed_attesters",
            with(
                "allowed_attesters",
                Value::Bytes(node(1).as_bytes().to_vec()),
            ),
        ),
        (
            "an allowed attester of 31 bytes",
            "bad_allowed_attester",
            with(
                "allowed_attesters",
                Value::Array(vec![Value::Bytes(vec![1; 31])]),
            ),
        ),
        (
            "257 allowed attesters",
            "too_many_allowed_attesters",
            with("allowed_attesters", many),
        ),
        (
            "a denied attester of text",
            "bad_denied_attester",
            with(
                "denied_attesters",
                Value::Array(vec![Value::Text("x".into())]),
            ),
        ),
    ]
}

#[test]
fn the_file_matches_the_rules() {
    let built = build();
    if std::env::var_os("CAUSERIE_WRITE_VECTORS").is_some() {
        let text = serde_json::to_string_pretty(&built).unwrap() + "\n";
        std::fs::write(path(), text).unwrap();
    }
    assert_eq!(
        vector_file("trust.json"),
        built,
        "rerun with CAUSERIE_WRITE_VECTORS=1 after a deliberate change"
    );
}

#[test]
fn the_files_bytes_alone_give_every_verdict() {
    let v = vector_file("trust.json");
    for case in v["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let bytes = hex_bytes(&case["content_cbor"]);
        let content = vector_content(case);
        let redacted = hex_bytes(&case["redacted_cbor"]);
        assert_eq!(
            redacted, bytes,
            "{name}: every join-rules key survives redaction"
        );
        let rules = JoinRules::parse(&content).unwrap();
        for join in case["joins"].as_array().unwrap() {
            let issuer: [u8; 32] = hex::decode(join["attester"].as_str().unwrap())
                .unwrap()
                .try_into()
                .unwrap();
            let assurance = Assurance::from_level(join["assurance"].as_u64().unwrap()).unwrap();
            let credential = Credential { assurance, issuer };
            let invited = join["invited"].as_bool().unwrap();
            assert_eq!(
                admitted(&rules, &credential, invited),
                join["admitted"].as_bool().unwrap(),
                "{name}: {join}"
            );
        }
    }
    for case in v["invalid"].as_array().unwrap() {
        let err = JoinRules::parse(&vector_content(case)).unwrap_err();
        assert_bad_content(case, err.reason(), &err);
    }
}
