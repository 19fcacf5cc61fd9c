//! Writes `specs/test-vectors/audit.json` and `specs/test-vectors/disclosure.json`
//! (specs/accountability.md §4, §5): audit entries, a head, exports valid and tampered, head
//! extension checks, and a disclosure bundle, all from fixed seeds and times, so the output is
//! the same on every run. `crypto/tests/accountability_vectors.rs` re-derives both files and
//! checks every vector against the library.
//!
//! Run: `cargo run -p causerie-crypto --example gen_accountability_vectors`.

#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    missing_docs,
    unreachable_pub
)]

use std::collections::BTreeMap;

use causerie_crypto::audit::{
    AuditEntry, AuditEntryDraft, AuditHead, AuditKind, encode_export, verify_export, verify_extends,
};
use causerie_crypto::disclosure::{Disclosure, DisclosureDraft};
use causerie_crypto::testing::{attestation, room_with_message};
use causerie_crypto::{Hash32, NodeSecret, UserSecret};
use serde_json::{Value as Json, json};

/// The seed of the node that signs every vector.
pub const NODE_SEED: [u8; 32] = [0x42; 32];
/// The seed of the user the disclosure is about.
pub const USER_SEED: [u8; 32] = [0x17; 32];
/// When the first entry is written.
pub const T0_MS: u64 = 1_767_225_600_000;

fn entry_json(entry: &AuditEntry) -> Json {
    json!({
        "seq": entry.seq(),
        "prev": entry.prev().to_hex(),
        "at_ms": entry.at_ms(),
        "kind": entry.kind_name(),
        "subject": entry.subject(),
        "details": entry.details(),
        "signing_input": hex::encode(entry.signing_input().unwrap()),
        "bytes": hex::encode(entry.as_bytes()),
        "hash": entry.hash().to_hex(),
    })
}

fn head_json(head: &AuditHead) -> Json {
    json!({
        "seq": head.seq(),
        "hash": head.hash().to_hex(),
        "at_ms": head.at_ms(),
        "signing_input": hex::encode(head.signing_input().unwrap()),
        "bytes": hex::encode(head.as_bytes()),
    })
}

fn details(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn sign(
    node: &NodeSecret,
    seq: u64,
    prev: Hash32,
    kind: AuditKind,
    subject: &str,
    d: &[(&str, &str)],
) -> AuditEntry {
    AuditEntryDraft {
        seq,
        prev,
        at_ms: T0_MS + seq * 1_000,
        kind,
        subject: subject.to_owned(),
        details: details(d),
    }
    .sign(node)
    .unwrap()
}

fn reason_of(bytes: &[u8]) -> Json {
    match verify_export(bytes) {
        Ok(_) => Json::Null,
        Err(e) => e.reason().into(),
    }
}

/// The audit vectors.
pub fn audit_vectors() -> Json {
    let node = NodeSecret::from_seed(&NODE_SEED);
    let user = UserSecret::from_seed(&USER_SEED).public().to_string();
    let zero = Hash32([0; 32]);
    let e1 = sign(
        &node,
        1,
        zero,
        AuditKind::RequestReceived,
        &user,
        &[
            ("authority", "Tribunal judiciaire de Paris"),
            ("request_ref", "PJ-2026-0042"),
        ],
    );
    let e2 = sign(
        &node,
        2,
        e1.hash(),
        AuditKind::Disclosure,
        &user,
        &[
            ("request_ref", "PJ-2026-0042"),
            ("bundle_sha256", &"ab".repeat(32)),
            ("events", "2"),
            ("attestations", "1"),
            ("complete", "true"),
        ],
    );
    let e3 = sign(
        &node,
        3,
        e2.hash(),
        AuditKind::ReportDismissed,
        "report-7",
        &[],
    );
    let e4 = sign(
        &node,
        4,
        e3.hash(),
        AuditKind::OperatorAction,
        "",
        &[("action", "key rotation drill")],
    );
    let entries = vec![e1.clone(), e2.clone(), e3.clone(), e4.clone()];
    let head3 = AuditHead::sign(&node, 3, e3.hash(), T0_MS + 3_500).unwrap();
    let head4 = AuditHead::sign(&node, 4, e4.hash(), T0_MS + 4_500).unwrap();
    let empty_head = AuditHead::sign(&node, 0, zero, T0_MS).unwrap();
    let export = encode_export(&entries, &head4).unwrap();
    let tail = encode_export(&entries[2..], &head4).unwrap();

    let mut invalid_entries = Vec::new();
    let mut bad = e2.as_bytes().to_vec();
    let last = bad.len() - 1;
    bad[last - 20] ^= 0x01;
    invalid_entries.push(json!({"description": "a byte of the signature changed", "bytes": hex::encode(&bad), "reason": "bad_signature"}));
    let mut bad = e2.as_bytes().to_vec();
    bad.push(0x00);
    invalid_entries.push(json!({"description": "a byte after the map", "bytes": hex::encode(&bad), "reason": "trailing_bytes"}));
    let bad = &e2.as_bytes()[..e2.as_bytes().len() - 1];
    invalid_entries.push(json!({"description": "the last byte cut", "bytes": hex::encode(bad), "reason": "truncated"}));
    for entry in &mut invalid_entries {
        let bytes = hex::decode(entry["bytes"].as_str().unwrap()).unwrap();
        assert_eq!(
            entry["reason"],
            AuditEntry::decode(&bytes).unwrap_err().reason()
        );
    }

    // A rewritten entry 2 (re-signed, chained to entry 1) before the original entry 3.
    let e2_rewritten = sign(
        &node,
        2,
        e1.hash(),
        AuditKind::Disclosure,
        &user,
        &[("request_ref", "PJ-2026-0042")],
    );
    let mut invalid_exports = Vec::new();
    let mut push = |description: &str, bytes: Vec<u8>| {
        let reason = reason_of(&bytes);
        assert!(!reason.is_null(), "{description}");
        invalid_exports.push(
            json!({"description": description, "bytes": hex::encode(&bytes), "reason": reason}),
        );
    };
    push(
        "entry 2 removed",
        encode_export(&[e1.clone(), e3.clone(), e4.clone()], &head4).unwrap(),
    );
    push(
        "entries 2 and 3 swapped",
        encode_export(&[e1.clone(), e3.clone(), e2.clone(), e4.clone()], &head4).unwrap(),
    );
    push(
        "entry 4 cut, the head kept",
        encode_export(&entries[..3], &head4).unwrap(),
    );
    push(
        "entry 2 rewritten and re-signed",
        encode_export(
            &[e1.clone(), e2_rewritten.clone(), e3.clone(), e4.clone()],
            &head4,
        )
        .unwrap(),
    );
    let mut flipped = export.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x01;
    push("one byte in the middle flipped", flipped);

    // Extension: the full log extends head 3; a log whose entries 2.. were rewritten does not;
    // a log of 2 entries is shorter than head 3.
    let r3 = sign(
        &node,
        3,
        e2_rewritten.hash(),
        AuditKind::ReportDismissed,
        "report-7",
        &[],
    );
    let rewritten_head = AuditHead::sign(&node, 3, r3.hash(), T0_MS + 9_000).unwrap();
    let rewritten = encode_export(&[e1.clone(), e2_rewritten, r3], &rewritten_head).unwrap();
    let head2 = AuditHead::sign(&node, 2, e2.hash(), T0_MS + 2_500).unwrap();
    let shorter = encode_export(&entries[..2], &head2).unwrap();
    let extends = |older: &AuditHead, newer: &[u8], description: &str| {
        let export = verify_export(newer).unwrap();
        let reason = match verify_extends(&export, older) {
            Ok(()) => Json::Null,
            Err(e) => e.reason().into(),
        };
        json!({"description": description, "older_head": hex::encode(older.as_bytes()), "export": hex::encode(newer), "reason": reason})
    };

    json!({
        "description": "Audit log vectors (specs/accountability.md §4). Written by `cargo run -p causerie-crypto --example gen_accountability_vectors`; checked by crypto/tests/accountability_vectors.rs.",
        "node_seed": hex::encode(NODE_SEED),
        "node_key": node.public().to_string(),
        "entries": entries.iter().map(entry_json).collect::<Vec<_>>(),
        "heads": [head_json(&empty_head), head_json(&head3), head_json(&head4)],
        "export": {"bytes": hex::encode(&export), "head_seq": 4, "complete": true},
        "tail_export": {"bytes": hex::encode(&tail), "head_seq": 4, "complete": false},
        "invalid_entries": invalid_entries,
        "invalid_exports": invalid_exports,
        "extends": [
            extends(&head3, &export, "the grown log extends the older head"),
            extends(&empty_head, &export, "every log extends the empty log's head"),
            extends(&head3, &rewritten, "a log with entries 2.. rewritten does not"),
            extends(&head3, &shorter, "a log shorter than the older head does not"),
            extends(&head3, &tail, "a tail export that holds entry 3 can be compared"),
        ],
    })
}

/// The disclosure vectors.
pub fn disclosure_vectors() -> Json {
    let node = NodeSecret::from_seed(&NODE_SEED);
    let alice = UserSecret::from_seed(&USER_SEED);
    let (create, message) = room_with_message(&alice, "the evidence");
    let attested = attestation(&node, &alice, "alice");
    let bundle = DisclosureDraft {
        user: alice.public(),
        request_ref: "PJ-2026-0042".into(),
        at_ms: T0_MS + 2_000,
        events: vec![message.clone(), create.clone()],
        attestations: vec![attested.clone()],
        record: None,
        complete: true,
    }
    .sign(&node)
    .unwrap();
    let mut bad_signature = bundle.as_bytes().to_vec();
    let last = bad_signature.len();
    // The signature's bytes sit before the map's last fields (`type`, `user`, `v`).
    let at = bad_signature.windows(4).position(|w| w == b"type").unwrap() - 10;
    bad_signature[at] ^= 0x01;
    assert!(at < last);
    let mut invalid = vec![json!({
        "description": "a byte of the node's signature changed",
        "bytes": hex::encode(&bad_signature),
        "reason": Disclosure::decode(&bad_signature).unwrap_err().reason(),
    })];
    let mut embedded = bundle.as_bytes().to_vec();
    let body = embedded
        .windows(12)
        .position(|w| w == b"the evidence")
        .unwrap();
    embedded[body] ^= 0x20;
    invalid.push(json!({
        "description": "a byte of an embedded event's text changed (the node's signature fails first)",
        "bytes": hex::encode(&embedded),
        "reason": Disclosure::decode(&embedded).unwrap_err().reason(),
    }));
    json!({
        "description": "Disclosure bundle vectors (specs/accountability.md §5). Written by `cargo run -p causerie-crypto --example gen_accountability_vectors`; checked by crypto/tests/accountability_vectors.rs.",
        "node_seed": hex::encode(NODE_SEED),
        "node_key": node.public().to_string(),
        "user_seed": hex::encode(USER_SEED),
        "user": alice.public().to_string(),
        "bundle": {
            "request_ref": bundle.request_ref(),
            "at_ms": bundle.at_ms(),
            "complete": bundle.complete(),
            "events": bundle.events().iter().map(|e| json!({"event_id": e.id().to_string(), "bytes": hex::encode(e.as_bytes())})).collect::<Vec<_>>(),
            "attestations": bundle.attestations().iter().map(|a| json!({"attestation_id": a.id().to_string(), "bytes": hex::encode(a.as_bytes())})).collect::<Vec<_>>(),
            "signing_input": hex::encode(bundle.signing_input().unwrap()),
            "bytes": hex::encode(bundle.as_bytes()),
            "hash": bundle.hash().to_hex(),
        },
        "invalid": invalid,
    })
}

/// The files' text, as committed (pretty JSON and a final newline).
pub fn render(value: &Json) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap();
    text.push('\n');
    text
}

#[allow(dead_code)]
fn main() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs/test-vectors");
    for (name, value) in [
        ("audit.json", audit_vectors()),
        ("disclosure.json", disclosure_vectors()),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, render(&value)).unwrap();
        println!("wrote {}", path.display());
    }
}
