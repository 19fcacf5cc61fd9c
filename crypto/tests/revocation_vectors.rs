//! Checks the library against `specs/test-vectors/revocations.json` (written by `cargo run -p
//! causerie-crypto --example gen_vectors`): every revocation decodes to its recorded fields and
//! id and re-encodes to identical bytes; every decision (is an event under this attestation at
//! this origin_ts revoked?) comes out as recorded; every refused statement is refused with its
//! recorded reason (specs/accountability.md §3).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use causerie_crypto::Attestation;
use causerie_crypto::revocation::{Revocation, RevocationError, revoked_at};
use causerie_crypto::testing::{
    assert_refusals, decode_statement_vector, hex_bytes as bytes, vector_file as load,
};

#[test]
fn revocation_vectors() {
    let file = load("revocations.json");
    let mut revocations = BTreeMap::new();
    for vector in file["revocations"].as_array().unwrap() {
        // The signing input is the domain prefix and the map without its signature.
        let revocation =
            decode_statement_vector(vector, Revocation::decode, b"causerie/v1/revocation\0");
        assert_eq!(revocation.issuer().to_string(), vector["issuer"]);
        assert_eq!(revocation.subject().to_string(), vector["subject"]);
        assert_eq!(revocation.revoked_ms(), vector["revoked_ms"]);
        assert_eq!(revocation.reason().name(), vector["reason"]);
        revocations.insert(vector["name"].as_str().unwrap().to_owned(), revocation);
    }
    assert_eq!(revocations.len(), 2);

    let mut attestations = BTreeMap::new();
    for vector in load("attestations.json")["attestations"]
        .as_array()
        .unwrap()
    {
        let attestation = Attestation::decode(&bytes(&vector["bytes"])).unwrap();
        attestations.insert(vector["name"].as_str().unwrap().to_owned(), attestation);
    }
    let later = Attestation::decode(&bytes(&file["attestations"]["alice_later"])).unwrap();
    attestations.insert("alice_later".to_owned(), later);
    let decisions = file["decisions"].as_array().unwrap();
    assert!(decisions.len() >= 8);
    for decision in decisions {
        let named: Vec<&Revocation> = decision["revocations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| &revocations[n.as_str().unwrap()])
            .collect();
        let attestation = &attestations[decision["attestation"].as_str().unwrap()];
        let origin_ts = decision["origin_ts"].as_u64().unwrap();
        let revoked = revoked_at(named, attestation).is_some_and(|at| origin_ts >= at);
        assert_eq!(revoked, decision["revoked"], "{decision}");
    }

    let refused = assert_refusals(
        &file["invalid"],
        Revocation::decode,
        RevocationError::reason,
    );
    assert!(refused >= 10);
}
