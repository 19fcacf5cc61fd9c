//! Signing domains and the signature type.
//!
//! Every signature in Causerie is made over `domain prefix || message`, where the prefix names the
//! kind of thing signed. A signature made for one kind therefore never verifies as another
//! (an attestation cannot be replayed as an event, a login challenge cannot be replayed as a
//! report). Verification always uses `verify_strict` (rejects small-order keys and non-canonical
//! `R`/`S`), so every node agrees on validity.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::codec::fixed_bytes;

/// What a signature is for. The prefixes are part of the protocol and never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Domain {
    /// A room event, signed by its author.
    Event,
    /// An identity attestation, signed by the home node.
    Attestation,
    /// An abuse report, signed by the reporter.
    Report,
    /// A lawful-request disclosure, signed by the home node.
    Disclosure,
    /// A login or registration challenge, signed by the user.
    Challenge,
    /// A message delivered directly to a node, signed by the sending node.
    NodeMessage,
    /// An entry of a node's audit log, signed by the node.
    AuditEntry,
    /// The signed head of a node's audit log.
    AuditHead,
    /// A node's receipt or status change for an abuse report, signed by that node.
    ReportReceipt,
    /// A home node's revocation of the attestations it issued for a user key.
    Revocation,
    /// A node's directory announcement (its public rooms and aliases).
    Directory,
    /// An ephemeral room signal (typing, read marker) a home node vouches for.
    Signal,
}

impl Domain {
    /// Every domain, for tests that check separation.
    pub const ALL: [Domain; 12] = [
        Domain::Event,
        Domain::Attestation,
        Domain::Report,
        Domain::Disclosure,
        Domain::Challenge,
        Domain::NodeMessage,
        Domain::AuditEntry,
        Domain::AuditHead,
        Domain::ReportReceipt,
        Domain::Revocation,
        Domain::Directory,
        Domain::Signal,
    ];

    /// The byte prefix signed before the message. Each ends in NUL, and none is a prefix of another.
    pub const fn prefix(self) -> &'static [u8] {
        match self {
            Domain::Event => b"causerie/v1/event\0",
            Domain::Attestation => b"causerie/v1/attestation\0",
            Domain::Report => b"causerie/v1/report\0",
            Domain::Disclosure => b"causerie/v1/disclosure\0",
            Domain::Challenge => b"causerie/v1/challenge\0",
            Domain::NodeMessage => b"causerie/v1/node-message\0",
            Domain::AuditEntry => b"causerie/v1/audit-entry\0",
            Domain::AuditHead => b"causerie/v1/audit-head\0",
            Domain::ReportReceipt => b"causerie/v1/report-receipt\0",
            Domain::Revocation => b"causerie/v1/revocation\0",
            Domain::Directory => b"causerie/v1/directory\0",
            Domain::Signal => b"causerie/v1/signal\0",
        }
    }

    /// Stable name.
    pub const fn name(self) -> &'static str {
        match self {
            Domain::Event => "event",
            Domain::Attestation => "attestation",
            Domain::Report => "report",
            Domain::Disclosure => "disclosure",
            Domain::Challenge => "challenge",
            Domain::NodeMessage => "node_message",
            Domain::AuditEntry => "audit_entry",
            Domain::AuditHead => "audit_head",
            Domain::ReportReceipt => "report_receipt",
            Domain::Revocation => "revocation",
            Domain::Directory => "directory",
            Domain::Signal => "signal",
        }
    }

    /// `prefix || message`, the exact bytes that are signed.
    pub fn signing_input(self, message: &[u8]) -> Vec<u8> {
        let prefix = self.prefix();
        let mut input = Vec::with_capacity(prefix.len() + message.len());
        input.extend_from_slice(prefix);
        input.extend_from_slice(message);
        input
    }
}

/// An Ed25519 signature (64 bytes, CBOR byte string).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Signature(pub [u8; 64]);

impl Signature {
    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 64] {
        &self.0
    }

    pub(crate) fn to_dalek(self) -> ed25519_dalek::Signature {
        ed25519_dalek::Signature::from_bytes(&self.0)
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({}…)", hex::encode(&self.0[..8]))
    }
}

impl Serialize for Signature {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        fixed_bytes::serialize(&self.0, serializer)
    }
}

impl<'de> Deserialize<'de> for Signature {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        fixed_bytes::deserialize(deserializer).map(Signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_prefix_is_a_prefix_of_another() {
        for a in Domain::ALL {
            for b in Domain::ALL {
                if a != b {
                    assert!(!b.prefix().starts_with(a.prefix()), "{a:?} prefixes {b:?}");
                }
            }
        }
    }
}
