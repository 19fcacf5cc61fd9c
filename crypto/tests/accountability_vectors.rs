//! The committed audit and disclosure vectors (specs/test-vectors/audit.json, disclosure.json):
//! re-derived by the generator and compared byte for byte, then each vector checked against
//! the library on its own (valid ones verify with the fields the file states; invalid ones are
//! refused with the stated reason).

#![allow(clippy::unwrap_used)]

#[path = "../examples/gen_accountability_vectors.rs"]
mod generator;

use causerie_crypto::audit::{AuditEntry, AuditError, AuditHead, verify_export, verify_extends};
use causerie_crypto::disclosure::{Disclosure, DisclosureError};
use causerie_crypto::testing::{assert_refusals, hex_bytes as bytes, vector_text};
use causerie_crypto::{Domain, NodeKey, NodeSecret};
use serde_json::Value as Json;

#[test]
fn the_files_are_what_the_generator_writes() {
    assert_eq!(
        vector_text("audit.json"),
        generator::render(&generator::audit_vectors()),
        "audit.json is stale: run the generator"
    );
    assert_eq!(
        vector_text("disclosure.json"),
        generator::render(&generator::disclosure_vectors()),
        "disclosure.json is stale: run the generator"
    );
}

#[test]
fn audit_vectors_verify_as_stated() {
    let file: Json = serde_json::from_str(&vector_text("audit.json")).unwrap();
    let node = NodeSecret::from_seed(&bytes(&file["node_seed"]).try_into().unwrap()).public();
    assert_eq!(file["node_key"], node.to_string());
    let node = NodeKey::from_hex(file["node_key"].as_str().unwrap()).unwrap();
    let mut prev = "00".repeat(32);
    for vector in file["entries"].as_array().unwrap() {
        let entry = AuditEntry::decode(&bytes(&vector["bytes"])).unwrap();
        assert_eq!(entry.seq(), vector["seq"].as_u64().unwrap());
        assert_eq!(entry.prev().to_hex(), prev);
        assert_eq!(entry.kind_name(), vector["kind"]);
        assert_eq!(entry.hash().to_hex(), vector["hash"]);
        let input = bytes(&vector["signing_input"]);
        assert!(input.starts_with(Domain::AuditEntry.prefix()));
        assert_eq!(entry.signing_input().unwrap(), input);
        prev = entry.hash().to_hex();
        assert_eq!(entry.node(), &node);
    }
    for vector in file["heads"].as_array().unwrap() {
        let head = AuditHead::decode(&bytes(&vector["bytes"])).unwrap();
        assert_eq!(head.seq(), vector["seq"].as_u64().unwrap());
        assert_eq!(head.hash().to_hex(), vector["hash"]);
        assert_eq!(
            head.signing_input().unwrap(),
            bytes(&vector["signing_input"])
        );
    }
    for name in ["export", "tail_export"] {
        let export = verify_export(&bytes(&file[name]["bytes"])).unwrap();
        assert_eq!(export.head.seq(), file[name]["head_seq"].as_u64().unwrap());
        assert_eq!(export.complete(), file[name]["complete"].as_bool().unwrap());
    }
    assert_refusals(
        &file["invalid_entries"],
        AuditEntry::decode,
        AuditError::reason,
    );
    assert_refusals(&file["invalid_exports"], verify_export, AuditError::reason);
    for vector in file["extends"].as_array().unwrap() {
        let older = AuditHead::decode(&bytes(&vector["older_head"])).unwrap();
        let export = verify_export(&bytes(&vector["export"])).unwrap();
        let got = verify_extends(&export, &older).err().map(|e| e.reason());
        assert_eq!(got, vector["reason"].as_str(), "{}", vector["description"]);
    }
}

#[test]
fn disclosure_vectors_verify_as_stated() {
    let file: Json = serde_json::from_str(&vector_text("disclosure.json")).unwrap();
    let vector = &file["bundle"];
    let bundle = Disclosure::decode(&bytes(&vector["bytes"])).unwrap();
    assert_eq!(bundle.node().to_string(), file["node_key"]);
    assert_eq!(bundle.user().to_string(), file["user"]);
    assert_eq!(bundle.request_ref(), vector["request_ref"]);
    assert_eq!(bundle.hash().to_hex(), vector["hash"]);
    assert_eq!(
        bundle.signing_input().unwrap(),
        bytes(&vector["signing_input"])
    );
    let events = vector["events"].as_array().unwrap();
    assert_eq!(bundle.events().len(), events.len());
    for (event, stated) in bundle.events().iter().zip(events) {
        assert_eq!(event.id().to_string(), stated["event_id"]);
        assert_eq!(event.as_bytes(), bytes(&stated["bytes"]));
    }
    assert_refusals(
        &file["invalid"],
        Disclosure::decode,
        DisclosureError::reason,
    );
}
