//! attestations.json: two attestations by node `paris`, cross-checked against an independent encoding.

use crate::support::*;

/// attestations.json.
pub(crate) fn generate(dir: &Path, keys: &Keys) -> Attestations {
    let Keys {
        alice, bob, node, ..
    } = keys;
    // ---- attestations ----
    let attest = |user: &UserSecret, handle: &str, assurance: Assurance, days: u64| {
        AttestationDraft {
            user: user.public(),
            handle: handle.to_owned(),
            assurance,
            not_before: T0_MS,
            not_after: T0_MS + days * DAY_MS,
        }
        .sign(node)
        .unwrap()
    };
    let alice_attestation = attest(alice, "alice", Assurance::Contact, 365);
    let bob_attestation = attest(bob, "bob.martin", Assurance::Key, 30);
    let mut attestation_vectors = Vec::new();
    for (name, attestation) in [("alice", &alice_attestation), ("bob", &bob_attestation)] {
        let raw = raw_attestation(attestation).seal(node);
        cross_check(&raw, attestation.as_bytes(), attestation.id().0.0);
        attestation_vectors.push(json!({
            "name": name,
            "bytes": hex::encode(attestation.as_bytes()),
            "id": attestation.id().0.to_hex(),
            "user": attestation.user().to_string(),
            "handle": attestation.handle(),
            "assurance": attestation.assurance().name(),
            "home_node": attestation.home_node().to_string(),
            "not_before": attestation.not_before(),
            "not_after": attestation.not_after(),
        }));
    }
    write(
        dir,
        "attestations.json",
        &json!({
            "description": "Signed attestations by node `paris` (keys.json). id = SHA-256(\"causerie/v1/attestation\\0\" ‖ CBOR without signature ‖ signature).",
            "attestations": attestation_vectors,
        }),
    );
    Attestations {
        alice: alice_attestation,
        bob: bob_attestation,
    }
}
