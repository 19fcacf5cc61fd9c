//! Disclosure bundles (specs/accountability.md §5): what a home node hands over for a lawful
//! request about one user key, signed by the node so anyone can check offline what it said.
//!
//! Wire form: canonical CBOR map `{at_ms, attestations, complete, events, node, record?,
//! request_ref, signature, type: "disclosure", user, v}`; signing input =
//! `"causerie/v1/disclosure\0"` ‖ the map without `signature`. `events` and `attestations` are
//! the full signed bytes of each (byte strings), in strictly increasing id order; `record` is
//! the registration record within retention (§2), absent when the node holds none.

use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use thiserror::Error;

use crate::attestation::Attestation;
use crate::error::{CodecError, EventError};
use crate::event::Event;
use crate::hash::Hash32;
use crate::keys::{NodeKey, NodeSecret, UserKey};
use crate::signed::{self, Order};
use crate::signing::{Domain, Signature};

/// Largest encoded bundle, in bytes.
pub const MAX_BUNDLE_BYTES: usize = 14 * 1024 * 1024;
/// Most events one bundle carries (a node with more says `complete: false`).
pub const MAX_BUNDLE_EVENTS: usize = 4_096;
/// Most bytes of events one bundle carries (with the rest of the bundle under
/// [`MAX_BUNDLE_BYTES`]).
pub const MAX_BUNDLE_EVENT_BYTES: usize = 12 * 1024 * 1024;
/// Most attestations one bundle carries.
pub const MAX_BUNDLE_ATTESTATIONS: usize = 64;
/// Largest registration record, in bytes.
pub const MAX_BUNDLE_RECORD_BYTES: usize = 128 * 1024;
/// Longest request reference, in bytes.
pub const MAX_REQUEST_REF_BYTES: usize = 128;
/// The `type` of a bundle.
pub const BUNDLE_TYPE: &str = "disclosure";

/// Why a bundle was refused. Each variant has a stable reason name.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DisclosureError {
    /// The bytes do not decode (their codec reason).
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// A version other than 1.
    #[error("unsupported version {0}")]
    UnsupportedVersion(u64),
    /// The `type` is not `disclosure`.
    #[error("not a disclosure bundle")]
    WrongType,
    /// The node's signature is absent or does not verify.
    #[error("bad signature")]
    BadSignature,
    /// A request reference empty, over [`MAX_REQUEST_REF_BYTES`] or with control characters.
    #[error("bad request reference")]
    BadRequestRef,
    /// More events, attestations or record bytes than the limits allow.
    #[error("bundle over its limits")]
    TooLarge,
    /// An embedded event or attestation does not verify (its reason).
    #[error("embedded item {index}: {error}")]
    BadItem {
        /// Its place in its list.
        index: usize,
        /// Why.
        error: EventError,
    },
    /// An embedded event by another author, or an attestation of another key.
    #[error("embedded item {index} is not about the bundle's user")]
    ForeignItem {
        /// Its place in its list.
        index: usize,
    },
    /// Events or attestations not in strictly increasing id order.
    #[error("items out of order or repeated")]
    Unsorted,
}

crate::signed_error!(DisclosureError);

impl DisclosureError {
    /// Stable reason name.
    pub fn reason(&self) -> &'static str {
        match self {
            DisclosureError::Codec(e) => e.reason(),
            DisclosureError::UnsupportedVersion(_) => "unsupported_version",
            DisclosureError::WrongType => "not_disclosure",
            DisclosureError::BadSignature => "bad_signature",
            DisclosureError::BadRequestRef => "bad_request_ref",
            DisclosureError::TooLarge => "disclosure_too_large",
            DisclosureError::BadItem { error, .. } => error.reason(),
            DisclosureError::ForeignItem { .. } => "foreign_item",
            DisclosureError::Unsorted => "items_unsorted",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    at_ms: u64,
    attestations: Vec<ByteBuf>,
    complete: bool,
    events: Vec<ByteBuf>,
    node: NodeKey,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    record: Option<ByteBuf>,
    request_ref: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    signature: Option<Signature>,
    #[serde(rename = "type")]
    kind: String,
    user: UserKey,
    v: u64,
}

crate::signed_wire!(Wire, Domain::Disclosure, node);

/// A bundle before the node signs it.
#[derive(Debug, Clone)]
pub struct DisclosureDraft {
    /// The user key the request is about.
    pub user: UserKey,
    /// The request's reference (the authority's file number).
    pub request_ref: String,
    /// When, ms since the Unix epoch.
    pub at_ms: u64,
    /// The user's events this node holds (any order; sorted and de-duplicated when signing).
    pub events: Vec<Event>,
    /// The user's attestations (any order; sorted and de-duplicated when signing).
    pub attestations: Vec<Attestation>,
    /// The registration record within retention, if any (its encoding from §2).
    pub record: Option<Vec<u8>>,
    /// False when the node holds more events than one bundle carries.
    pub complete: bool,
}

fn request_ref_ok(text: &str) -> bool {
    !text.is_empty() && text.len() <= MAX_REQUEST_REF_BYTES && !text.chars().any(char::is_control)
}

fn check(wire: &Wire) -> Result<(), DisclosureError> {
    if wire.v != 1 {
        return Err(DisclosureError::UnsupportedVersion(wire.v));
    }
    if wire.kind != BUNDLE_TYPE {
        return Err(DisclosureError::WrongType);
    }
    if !request_ref_ok(&wire.request_ref) {
        return Err(DisclosureError::BadRequestRef);
    }
    let event_bytes: usize = wire.events.iter().map(|e| e.len()).sum();
    if wire.events.len() > MAX_BUNDLE_EVENTS
        || event_bytes > MAX_BUNDLE_EVENT_BYTES
        || wire.attestations.len() > MAX_BUNDLE_ATTESTATIONS
        || wire
            .record
            .as_ref()
            .is_some_and(|r| r.len() > MAX_BUNDLE_RECORD_BYTES)
    {
        return Err(DisclosureError::TooLarge);
    }
    Ok(())
}

impl DisclosureDraft {
    /// Sorts the items, checks the limits and signs as the node.
    pub fn sign(mut self, node: &NodeSecret) -> Result<Disclosure, DisclosureError> {
        self.events.sort_by_key(Event::id);
        self.events.dedup_by_key(|e| e.id());
        self.attestations.sort_by_key(Attestation::id);
        self.attestations.dedup_by_key(|a| a.id());
        let wire = Wire {
            at_ms: self.at_ms,
            attestations: self
                .attestations
                .iter()
                .map(|a| ByteBuf::from(a.as_bytes().to_vec()))
                .collect(),
            complete: self.complete,
            events: self
                .events
                .iter()
                .map(|e| ByteBuf::from(e.as_bytes().to_vec()))
                .collect(),
            node: node.public(),
            record: self.record.map(ByteBuf::from),
            request_ref: self.request_ref,
            signature: None,
            kind: BUNDLE_TYPE.to_owned(),
            user: self.user,
            v: 1,
        };
        check(&wire)?;
        Disclosure::decode(&signed::seal(wire, node)?)
    }
}

/// A verified bundle: the node's signature, and every embedded event and attestation verified
/// and about the bundle's user.
#[derive(Debug, Clone)]
pub struct Disclosure {
    wire: Wire,
    events: Vec<Event>,
    attestations: Vec<Attestation>,
    bytes: Vec<u8>,
}

impl Disclosure {
    /// Verifies a bundle offline, in this order: size cap, decode, version, signature
    /// present, canonical check, type, request reference, limits, the node's signature
    /// (`verify_strict`, domain `disclosure`), then each attestation and each event (format,
    /// signature, about the user, strictly increasing ids). The first failure is the reason.
    pub fn decode(bytes: &[u8]) -> Result<Disclosure, DisclosureError> {
        let wire = signed::open(bytes, MAX_BUNDLE_BYTES, Order::VersionFirst(1), check)?
            .into_signed_wire();
        let attestations = embedded(&wire.attestations, Attestation::decode, |a| {
            (a.user() == &wire.user, a.id())
        })?;
        let events = embedded(&wire.events, Event::decode, |e| {
            (e.author() == &wire.user, e.id())
        })?;
        Ok(Disclosure {
            wire,
            events,
            attestations,
            bytes: bytes.to_vec(),
        })
    }

    /// The user key it is about.
    pub fn user(&self) -> &UserKey {
        &self.wire.user
    }
    /// The node that signed it.
    pub fn node(&self) -> &NodeKey {
        &self.wire.node
    }
    /// The request's reference.
    pub fn request_ref(&self) -> &str {
        &self.wire.request_ref
    }
    /// When it was made.
    pub fn at_ms(&self) -> u64 {
        self.wire.at_ms
    }
    /// Whether it carries every event the node held.
    pub fn complete(&self) -> bool {
        self.wire.complete
    }
    /// The user's events, verified, in id order.
    pub fn events(&self) -> &[Event] {
        &self.events
    }
    /// The user's attestations, verified, in id order.
    pub fn attestations(&self) -> &[Attestation] {
        &self.attestations
    }
    /// The registration record's bytes, if any.
    pub fn record(&self) -> Option<&[u8]> {
        self.wire.record.as_deref().map(|r| &r[..])
    }
    /// SHA-256 of the encoding (what the audit entry of the disclosure names).
    pub fn hash(&self) -> Hash32 {
        Hash32::digest(&[&self.bytes])
    }
    /// The canonical encoding.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
    /// The exact bytes the node signed: the domain prefix and the map without `signature`.
    pub fn signing_input(&self) -> Result<Vec<u8>, DisclosureError> {
        Ok(signed::signing_input(&self.wire)?)
    }
}

/// Decodes the embedded items of one list: each must verify (`decode`), be about the bundle's
/// user and have an id above the one before it. `about` tells both of an item.
fn embedded<T, K: Ord>(
    list: &[ByteBuf],
    decode: impl Fn(&[u8]) -> Result<T, EventError>,
    about: impl Fn(&T) -> (bool, K),
) -> Result<Vec<T>, DisclosureError> {
    let mut items = Vec::with_capacity(list.len());
    let mut last: Option<K> = None;
    for (index, bytes) in list.iter().enumerate() {
        let item = decode(bytes).map_err(|error| DisclosureError::BadItem { index, error })?;
        let (about_user, id) = about(&item);
        if !about_user {
            return Err(DisclosureError::ForeignItem { index });
        }
        if last.as_ref().is_some_and(|before| *before >= id) {
            return Err(DisclosureError::Unsorted);
        }
        last = Some(id);
        items.push(item);
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::UserSecret;
    use crate::testing::{FIXTURE_ATTESTATION, attestation, create_draft, room_with_message};

    fn bundle() -> (NodeSecret, Vec<u8>) {
        let node = NodeSecret::from_seed(&[4; 32]);
        let alice = UserSecret::from_seed(&[5; 32]);
        let (create, message) = room_with_message(&alice, "hello");
        let bundle = DisclosureDraft {
            user: alice.public(),
            request_ref: "REF-7".into(),
            at_ms: 1_700_000_000_000,
            events: vec![message, create.clone(), create],
            attestations: vec![attestation(&node, &alice, "alice")],
            record: None,
            complete: true,
        }
        .sign(&node)
        .unwrap();
        assert_eq!(bundle.events().len(), 2);
        (node, bundle.as_bytes().to_vec())
    }

    #[test]
    fn a_bundle_verifies_and_every_flipped_byte_is_refused() {
        let (_, bytes) = bundle();
        Disclosure::decode(&bytes).unwrap();
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x01;
            assert!(Disclosure::decode(&bad).is_err(), "byte {i}");
        }
    }

    #[test]
    fn foreign_events_are_refused_when_signing() {
        let node = NodeSecret::from_seed(&[4; 32]);
        let alice = UserSecret::from_seed(&[5; 32]);
        let bob = UserSecret::from_seed(&[6; 32]);
        let event = create_draft(bob.public(), None, FIXTURE_ATTESTATION)
            .sign(&bob)
            .unwrap();
        let err = DisclosureDraft {
            user: alice.public(),
            request_ref: "R".into(),
            at_ms: 1,
            events: vec![event],
            attestations: vec![],
            record: None,
            complete: true,
        }
        .sign(&node)
        .unwrap_err();
        assert_eq!(err.reason(), "foreign_item");
    }
}
