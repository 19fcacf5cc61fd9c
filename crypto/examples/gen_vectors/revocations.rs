//! revocations.json: revocations by node `paris` of its attestations (specs/accountability.md §3),
//! cross-checked against an independent encoding; which events they revoke; refused statements
//! with their reasons.

use causerie_crypto::revocation::{
    Revocation, RevocationDraft, RevocationError, RevocationReason, revoked_at,
};

use crate::support::*;

/// The revocation as plain data, to re-encode independently of the library.
#[derive(Clone, Serialize)]
struct RawRevocation {
    issuer: ByteBuf,
    reason: String,
    revoked_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    signature: Option<ByteBuf>,
    subject: ByteBuf,
    v: u64,
}

impl RawRevocation {
    fn of(revocation: &Revocation) -> RawRevocation {
        RawRevocation {
            issuer: buf(revocation.issuer().as_bytes()),
            reason: revocation.reason().name().to_owned(),
            revoked_ms: revocation.revoked_ms(),
            signature: None,
            subject: buf(revocation.subject().as_bytes()),
            v: 1,
        }
    }
}

raw_signed!(RawRevocation, Domain::Revocation);

/// revocations.json.
pub(crate) fn generate(dir: &Path, keys: &Keys, attestations: &Attestations) {
    let Keys {
        alice, bob, node, ..
    } = keys;
    let revoke = |user: &UserSecret, days: u64, reason| {
        RevocationDraft {
            subject: user.public(),
            revoked_ms: T0_MS + days * DAY_MS,
            reason,
        }
        .sign(node)
        .unwrap()
    };
    let alice_revoked = revoke(alice, 10, RevocationReason::Abuse);
    let bob_revoked = revoke(bob, 2, RevocationReason::KeyCompromised);
    let mut valid = Vec::new();
    for (name, revocation) in [("alice", &alice_revoked), ("bob", &bob_revoked)] {
        valid.push(statement_vector(
            name,
            revocation,
            RawRevocation::of(revocation),
            node,
            json!({
                "issuer": revocation.issuer().to_string(),
                "subject": revocation.subject().to_string(),
                "revoked_ms": revocation.revoked_ms(),
                "reason": revocation.reason().name(),
            }),
        ));
    }

    // Which events of alice's they revoke: her attestation of attestations.json (not_before
    // T0), and one issued after the revocation (not covered).
    let later = AttestationDraft {
        user: alice.public(),
        handle: "alice".into(),
        assurance: Assurance::Identity,
        not_before: alice_revoked.revoked_ms() + 1,
        not_after: alice_revoked.revoked_ms() + 30 * DAY_MS,
    }
    .sign(node)
    .unwrap();
    let revoked_ms = alice_revoked.revoked_ms();
    let mut decisions = Vec::new();
    for (attestation_name, attestation) in [("alice", &attestations.alice), ("alice_later", &later)]
    {
        for origin_ts in [revoked_ms - 1, revoked_ms, revoked_ms + DAY_MS] {
            let at = revoked_at([&alice_revoked, &bob_revoked], attestation);
            let revoked = at.is_some_and(|at| origin_ts >= at);
            assert_eq!(revoked, alice_revoked.revokes(attestation, origin_ts));
            decisions.push(json!({
                "revocations": ["alice", "bob"],
                "attestation": attestation_name,
                "origin_ts": origin_ts,
                "revoked": revoked,
            }));
        }
    }
    // Bob's attestation (not_before T0) by bob's revocation: revoked from T0 + 2 days.
    for origin_ts in [T0_MS + DAY_MS, T0_MS + 2 * DAY_MS] {
        decisions.push(json!({
            "revocations": ["alice", "bob"],
            "attestation": "bob",
            "origin_ts": origin_ts,
            "revoked": bob_revoked.revokes(&attestations.bob, origin_ts),
        }));
    }

    // Refused statements, each with the library's reason.
    let base = RawRevocation::of(&alice_revoked);
    let mut invalid = Refusals::new(&base, node, 512);
    invalid.changed(
        "reason not in the list",
        "unknown_revocation_reason",
        |raw| raw.reason = "spite".into(),
    );
    invalid.bad_signatures("issuer", "revoked_ms changed after signing", |raw| {
        raw.revoked_ms += 1;
    });
    invalid.changed("subject of small order", "weak_key", |raw| {
        raw.subject = small_order_key();
    });
    let invalid_json = invalid.checked_json(Revocation::decode, RevocationError::reason);
    write(
        dir,
        "revocations.json",
        &json!({
            "description": "Revocations by node `paris` (keys.json) of the attestations it issued (accountability.md §3). id = SHA-256(\"causerie/v1/revocation\\0\" ‖ CBOR without signature ‖ signature). `decisions`: whether an event under the named attestation at origin_ts is revoked by the named revocations (attestations: `alice`, `bob` of attestations.json, `alice_later` below). `invalid`: statements every implementation must refuse, with the reason (checks in the order of §3.2).",
            "revocations": valid,
            "attestations": { "alice_later": hex::encode(later.as_bytes()) },
            "decisions": decisions,
            "invalid": invalid_json,
        }),
    );
}
