//! Attestation revocation (specs/accountability.md §3): a home node's signed statement that it no
//! longer stands behind the attestations it issued for one user key, from a given time on.
//!
//! Wire form: canonical CBOR map `{issuer, reason, revoked_ms, signature, subject, v}`; signing
//! input = `"causerie/v1/revocation\0"` ‖ the map without `signature`; id = SHA-256(signing
//! input ‖ signature).
//!
//! Scope: every attestation by `issuer` of `subject` whose `not_before` ≤ `revoked_ms` (the
//! attestations issued up to the revocation; one issued later is not covered, so an operator
//! can attest the user again). An event is revoked when its attestation is covered and its own
//! `origin_ts` ≥ `revoked_ms` (room time, specs/moderation.md §0): events from before stay.
//! [`revoked_at`] is that decision over a set of revocations: pure, the time an argument.

use crate::attestation::Attestation;
use crate::codec;
use crate::keys::{NodeKey, NodeSecret, UserKey};
use crate::names::wire_names;
use crate::signed::{self, Order, Statement};
use crate::signing::{Domain, Signature};
use serde::{Deserialize, Serialize};

/// Largest encoded revocation, in bytes.
pub const MAX_REVOCATION_BYTES: usize = 512;
/// The version this crate writes and reads.
pub const REVOCATION_VERSION: u64 = 1;

signed::signed_format_error! {
    /// Why a revocation was refused. Each variant has a stable reason name.
    pub enum RevocationError {
        /// A reason code not in the list.
        #[error("unknown revocation reason")]
        UnknownReason => "unknown_revocation_reason",
    }
}

wire_names!(
    /// Why the home node revoked: a closed list of stable codes (public: the statement travels
    /// to every node). The operator's own words stay in its audit log.
    RevocationReason, RevocationError::UnknownReason, {
        /// The user's key is lost or in someone else's hands.
        KeyCompromised => "key_compromised",
        /// The user broke the home node's terms (abuse).
        Abuse => "abuse",
        /// What the user gave at registration or for a higher assurance proved false.
        FalseIdentity => "false_identity",
        /// The user asked for it (or closed their account).
        UserRequest => "user_request",
        /// Anything else.
        Other => "other",
    }
);

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    issuer: NodeKey,
    reason: String,
    revoked_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    signature: Option<Signature>,
    subject: UserKey,
    v: u64,
}

crate::signed_wire!(Wire, Domain::Revocation, issuer);

/// A revocation before the home node signs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationDraft {
    /// The user key whose attestations are revoked.
    pub subject: UserKey,
    /// From when (ms since the Unix epoch): events with `origin_ts` at or after it are revoked.
    pub revoked_ms: u64,
    /// Why.
    pub reason: RevocationReason,
}

impl RevocationDraft {
    /// The unsigned map's canonical bytes for `issuer` (what the signature covers after the
    /// domain prefix).
    pub fn unsigned_bytes(&self, issuer: NodeKey) -> Result<Vec<u8>, RevocationError> {
        Ok(codec::encode(&self.wire(issuer))?)
    }

    fn wire(&self, issuer: NodeKey) -> Wire {
        Wire {
            issuer,
            reason: self.reason.name().to_owned(),
            revoked_ms: self.revoked_ms,
            signature: None,
            subject: self.subject,
            v: REVOCATION_VERSION,
        }
    }

    /// Signs as the issuing home node.
    pub fn sign(&self, node: &NodeSecret) -> Result<Revocation, RevocationError> {
        Revocation::decode(&signed::seal(self.wire(node.public()), node)?)
    }
}

/// A verified revocation.
pub type Revocation = Statement<RevocationDraft>;

impl Revocation {
    /// Size cap, decode (key validity of `issuer` and `subject` included), version, signature
    /// present, canonical encoding, reason code, `verify_strict` of the issuer's signature: in
    /// this order (specs/accountability.md §3.2), the first failure is the reason.
    pub fn decode(bytes: &[u8]) -> Result<Revocation, RevocationError> {
        Statement::open(
            bytes,
            MAX_REVOCATION_BYTES,
            Order::VersionFirst(REVOCATION_VERSION),
            |wire: &Wire| RevocationReason::parse(&wire.reason),
            |wire, reason| {
                let draft = RevocationDraft {
                    subject: wire.subject,
                    revoked_ms: wire.revoked_ms,
                    reason,
                };
                (wire.issuer, draft)
            },
        )
    }

    /// The home node that revoked.
    pub fn issuer(&self) -> &NodeKey {
        self.node()
    }
    /// The user key whose attestations are revoked.
    pub fn subject(&self) -> &UserKey {
        &self.draft().subject
    }
    /// From when.
    pub fn revoked_ms(&self) -> u64 {
        self.draft().revoked_ms
    }
    /// Why.
    pub fn reason(&self) -> RevocationReason {
        self.draft().reason
    }
    /// Whether this revocation covers `attestation`: the same issuer and user, and issued up
    /// to the revocation (`not_before` ≤ `revoked_ms`).
    pub fn covers(&self, attestation: &Attestation) -> bool {
        attestation.home_node() == self.issuer()
            && attestation.user() == &self.draft().subject
            && attestation.not_before() <= self.draft().revoked_ms
    }

    /// Whether an event signed under `attestation` at room time `origin_ts` is revoked by this
    /// statement: covered, and `origin_ts` ≥ `revoked_ms`.
    pub fn revokes(&self, attestation: &Attestation, origin_ts: u64) -> bool {
        self.covers(attestation) && origin_ts >= self.draft().revoked_ms
    }
}

/// The earliest time from which `revocations` revoke `attestation` (the least `revoked_ms` of
/// those that cover it), if any: an event under it with `origin_ts` at or after that time is
/// revoked. Pure; the order of `revocations` does not matter.
pub fn revoked_at<'a>(
    revocations: impl IntoIterator<Item = &'a Revocation>,
    attestation: &Attestation,
) -> Option<u64> {
    revocations
        .into_iter()
        .filter(|r| r.covers(attestation))
        .map(Revocation::revoked_ms)
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attestation::{Assurance, AttestationDraft};
    use crate::keys::UserSecret;

    fn node(seed: u8) -> NodeSecret {
        NodeSecret::from_seed(&[seed; 32])
    }

    fn attestation(node: &NodeSecret, user: UserKey, not_before: u64) -> Attestation {
        AttestationDraft {
            user,
            handle: "u".into(),
            assurance: Assurance::Key,
            not_before,
            not_after: not_before + 1_000_000,
        }
        .sign(node)
        .unwrap()
    }

    #[test]
    fn scope_and_time_decide() {
        let home = node(1);
        let user = UserSecret::from_seed(&[2; 32]).public();
        let other = UserSecret::from_seed(&[3; 32]).public();
        let revocation = RevocationDraft {
            subject: user,
            revoked_ms: 5_000,
            reason: RevocationReason::Abuse,
        }
        .sign(&home)
        .unwrap();
        assert_eq!(
            Revocation::decode(revocation.as_bytes()).unwrap(),
            revocation
        );
        let old = attestation(&home, user, 1_000);
        assert!(!revocation.revokes(&old, 4_999));
        assert!(revocation.revokes(&old, 5_000));
        // Issued after the revocation, by another node, or of another user: not covered.
        assert!(!revocation.covers(&attestation(&home, user, 5_001)));
        assert!(!revocation.covers(&attestation(&node(9), user, 1_000)));
        assert!(!revocation.covers(&attestation(&home, other, 1_000)));
        let earlier = RevocationDraft {
            subject: user,
            revoked_ms: 3_000,
            reason: RevocationReason::Other,
        }
        .sign(&home)
        .unwrap();
        assert_eq!(revoked_at([&revocation, &earlier], &old), Some(3_000));
        assert_eq!(revoked_at([&earlier, &revocation], &old), Some(3_000));
        let later = attestation(&home, user, 4_000);
        assert_eq!(revoked_at([&revocation, &earlier], &later), Some(5_000));
    }

    #[test]
    fn reasons_round_trip() {
        for reason in RevocationReason::ALL {
            assert_eq!(RevocationReason::parse(reason.name()), Ok(reason));
        }
        assert_eq!(
            RevocationReason::parse("spite"),
            Err(RevocationError::UnknownReason)
        );
    }
}
