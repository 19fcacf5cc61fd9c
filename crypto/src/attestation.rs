//! Identity attestations (specs/identity.md): a home node's signed statement that a user key
//! belongs to one of its users, under a handle, at an assurance level, for a validity window.
//! This is the link that makes every event traceable to a node that answers for its author.
//!
//! Wire form: canonical CBOR map `{assurance, handle, home_node, not_after, not_before,
//! signature, user, v}`; signing input = `"causerie/v1/attestation\0"` ‖ the map without
//! `signature`; id = SHA-256(signing input ‖ signature).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::{CodecError, EventError};
use crate::hash::AttestationId;
use crate::keys::{NodeKey, NodeSecret, UserKey};
use crate::signed::{self, Order};
use crate::signing::{Domain, Signature};

/// Largest encoded attestation, in bytes.
pub const MAX_ATTESTATION_BYTES: usize = 1_024;
/// Longest handle, in bytes.
pub const MAX_HANDLE_BYTES: usize = 32;
/// Longest validity window: 400 days, so that keys are re-attested at least yearly.
pub const MAX_VALIDITY_MS: u64 = 400 * 24 * 60 * 60 * 1_000;

/// How much the home node checked about the person behind a key. Rooms set a minimum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Assurance {
    /// The node checked only that the user holds the key.
    Key = 0,
    /// The node can reach the user (verified email address or phone number).
    Contact = 1,
    /// The node verified an identity document.
    Identity = 2,
    /// The node's operator met the user in person.
    InPerson = 3,
}

impl Assurance {
    /// From the wire number.
    pub fn from_level(level: u64) -> Option<Self> {
        match level {
            0 => Some(Assurance::Key),
            1 => Some(Assurance::Contact),
            2 => Some(Assurance::Identity),
            3 => Some(Assurance::InPerson),
            _ => None,
        }
    }
    /// The wire number.
    pub fn level(self) -> u64 {
        self as u64
    }
    /// Stable name.
    pub fn name(self) -> &'static str {
        match self {
            Assurance::Key => "key",
            Assurance::Contact => "contact",
            Assurance::Identity => "identity",
            Assurance::InPerson => "in_person",
        }
    }
    /// From its name (`key`, `contact`, `identity`, `in_person`) or its wire number (`0` to
    /// `3`), as operators type it.
    pub fn parse(text: &str) -> Option<Self> {
        [
            Assurance::Key,
            Assurance::Contact,
            Assurance::Identity,
            Assurance::InPerson,
        ]
        .into_iter()
        .find(|a| a.name() == text || a.level().to_string() == text)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    assurance: u64,
    handle: String,
    home_node: NodeKey,
    not_after: u64,
    not_before: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    signature: Option<Signature>,
    user: UserKey,
    v: u64,
}

crate::signed_wire!(Wire, Domain::Attestation, home_node);

crate::signed_error!(EventError);

/// An attestation before the home node signs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestationDraft {
    /// The attested user key.
    pub user: UserKey,
    /// The user's handle on the home node (`[a-z0-9][a-z0-9._-]*`, at most 32 bytes).
    pub handle: String,
    /// What the home node checked.
    pub assurance: Assurance,
    /// Start of validity, ms since the Unix epoch.
    pub not_before: u64,
    /// End of validity (exclusive), ms since the Unix epoch.
    pub not_after: u64,
}

impl AttestationDraft {
    /// Signs as the home node.
    pub fn sign(self, node: &NodeSecret) -> Result<Attestation, EventError> {
        let wire = Wire {
            assurance: self.assurance.level(),
            handle: self.handle,
            home_node: node.public(),
            not_after: self.not_after,
            not_before: self.not_before,
            signature: None,
            user: self.user,
            v: 1,
        };
        check(&wire)?;
        Attestation::decode(&signed::seal(wire, node)?)
    }
}

fn check(wire: &Wire) -> Result<(), EventError> {
    if wire.v != 1 {
        return Err(EventError::UnsupportedVersion(wire.v));
    }
    if Assurance::from_level(wire.assurance).is_none() {
        return Err(EventError::BadAttestation("unknown_assurance_level"));
    }
    if !valid_handle(&wire.handle) {
        return Err(EventError::BadAttestation("bad_handle"));
    }
    if wire.not_before >= wire.not_after {
        return Err(EventError::BadAttestation("bad_validity_window"));
    }
    if wire.not_after - wire.not_before > MAX_VALIDITY_MS {
        return Err(EventError::BadAttestation("validity_too_long"));
    }
    Ok(())
}

/// Whether `handle` is a valid handle.
pub fn valid_handle(handle: &str) -> bool {
    let bytes = handle.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_HANDLE_BYTES
        && (bytes[0].is_ascii_lowercase() || bytes[0].is_ascii_digit())
        && bytes.iter().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        })
}

/// A verified attestation. Cheap to clone.
#[derive(Clone)]
pub struct Attestation(Arc<Inner>);

struct Inner {
    id: AttestationId,
    wire: Wire,
    assurance: Assurance,
    bytes: Vec<u8>,
}

impl Attestation {
    /// Size cap, decode, version, signature present, canonical check, field rules,
    /// `verify_strict` of the node's signature: in this order (specs/identity.md §2.2), the
    /// first failure is the reason.
    pub fn decode(bytes: &[u8]) -> Result<Attestation, EventError> {
        let opened = signed::open(bytes, MAX_ATTESTATION_BYTES, Order::VersionFirst(1), check)?;
        let id = AttestationId(opened.id());
        let wire = opened.into_signed_wire();
        let assurance = Assurance::from_level(wire.assurance)
            .ok_or(EventError::Codec(CodecError::Malformed("assurance".into())))?;
        Ok(Attestation(Arc::new(Inner {
            id,
            wire,
            assurance,
            bytes: bytes.to_vec(),
        })))
    }

    /// The attestation id (what events reference).
    pub fn id(&self) -> AttestationId {
        self.0.id
    }
    /// The attested user key.
    pub fn user(&self) -> &UserKey {
        &self.0.wire.user
    }
    /// The handle on the home node.
    pub fn handle(&self) -> &str {
        &self.0.wire.handle
    }
    /// The assurance level.
    pub fn assurance(&self) -> Assurance {
        self.0.assurance
    }
    /// The home node's key (its libp2p peer id derives from it).
    pub fn home_node(&self) -> &NodeKey {
        &self.0.wire.home_node
    }
    /// Start of validity.
    pub fn not_before(&self) -> u64 {
        self.0.wire.not_before
    }
    /// End of validity (exclusive).
    pub fn not_after(&self) -> u64 {
        self.0.wire.not_after
    }
    /// Whether the attestation is valid at `now_ms`.
    pub fn is_valid_at(&self, now_ms: u64) -> bool {
        self.not_before() <= now_ms && now_ms < self.not_after()
    }
    /// The canonical encoding.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0.bytes
    }
}

impl std::fmt::Debug for Attestation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attestation")
            .field("id", &self.0.id)
            .field("user", &self.0.wire.user)
            .field("handle", &self.0.wire.handle)
            .field("assurance", &self.0.assurance)
            .field("home_node", &self.0.wire.home_node)
            .finish()
    }
}
