//! Ephemeral room signals (specs/signals.md): a home node's signed statement that one of its
//! users is typing in a room, stopped typing, or read the room up to an event. Signals are not
//! room events: they never enter the DAG, are never stored by receivers, and stop meaning
//! anything at their `expires_ms`.
//!
//! Wire form: canonical CBOR map `{attestation, event?, expires_ms, issued_ms, kind, node, room,
//! signature, user, v}`; signing input = `"causerie/v1/signal\0"` ‖ the map without `signature`;
//! id = SHA-256(signing input ‖ signature).
//!
//! The node signs, not the user: a browser would otherwise have to sign every keystroke's
//! signal with the user's key. The user's home node vouches for its own session user, and a
//! receiver checks that the signer is the home node of the attestation named (`attestation`),
//! that the attestation is the user's, and that the user is joined to the room
//! (specs/signals.md §3): those checks need the receiver's store, so they live in the node;
//! this module checks everything the bytes alone decide.

use crate::codec;
use crate::hash::{AttestationId, EventId, RoomId};
use crate::keys::{NodeKey, NodeSecret, UserKey};
use crate::names::wire_names;
use crate::signed::{self, Order, Statement};
use crate::signing::{Domain, Signature};
use serde::{Deserialize, Serialize};

/// Largest encoded signal, in bytes.
pub const MAX_SIGNAL_BYTES: usize = 512;
/// The version this crate writes and reads.
pub const SIGNAL_VERSION: u64 = 1;
/// Longest life of a signal (`expires_ms - issued_ms`), in ms.
pub const MAX_SIGNAL_TTL_MS: u64 = 60_000;

signed::signed_format_error! {
    /// Why a signal was refused. Each variant has a stable reason name.
    pub enum SignalError {
        /// A kind not in the list.
        #[error("unknown signal kind")]
        UnknownKind => "unknown_signal_kind",
        /// `event` absent on a read signal, or present on a typing one.
        #[error("a read signal names one event; a typing signal none")]
        BadEvent => "bad_signal_event",
        /// `expires_ms` not after `issued_ms`, or more than [`MAX_SIGNAL_TTL_MS`] after it.
        #[error("a signal lives more than 0 and at most {MAX_SIGNAL_TTL_MS} ms")]
        BadExpiry => "bad_signal_expiry",
    }
}

wire_names!(
    /// What a signal says.
    SignalKind, SignalError::UnknownKind, {
        /// The user is typing (until the signal expires, unless refreshed).
        Typing => "typing",
        /// The user stopped typing.
        TypingEnd => "typing_end",
        /// The user read the room up to the signal's `event`.
        Read => "read",
    }
);

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    attestation: AttestationId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    event: Option<EventId>,
    expires_ms: u64,
    issued_ms: u64,
    kind: String,
    node: NodeKey,
    room: RoomId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    signature: Option<Signature>,
    user: UserKey,
    v: u64,
}

crate::signed_wire!(Wire, Domain::Signal, node);

/// A signal before the home node signs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignalDraft {
    /// The room.
    pub room: RoomId,
    /// The user the signal is about.
    pub user: UserKey,
    /// The id of the user's attestation by the signing node.
    pub attestation: AttestationId,
    /// What it says.
    pub kind: SignalKind,
    /// For [`SignalKind::Read`]: the last event read.
    pub event: Option<EventId>,
    /// When the node issued it (ms since the Unix epoch).
    pub issued_ms: u64,
    /// When it stops meaning anything (ms since the Unix epoch).
    pub expires_ms: u64,
}

impl SignalDraft {
    /// The unsigned map's canonical bytes for `node` (what the signature covers after the
    /// domain prefix).
    pub fn unsigned_bytes(&self, node: NodeKey) -> Result<Vec<u8>, SignalError> {
        Ok(codec::encode(&self.wire(node))?)
    }

    fn wire(&self, node: NodeKey) -> Wire {
        Wire {
            attestation: self.attestation,
            event: self.event,
            expires_ms: self.expires_ms,
            issued_ms: self.issued_ms,
            kind: self.kind.name().to_owned(),
            node,
            room: self.room,
            signature: None,
            user: self.user,
            v: SIGNAL_VERSION,
        }
    }

    /// Signs as the user's home node. Refuses a draft that breaks the field rules.
    pub fn sign(&self, node: &NodeSecret) -> Result<Signal, SignalError> {
        Signal::decode(&signed::seal(self.wire(node.public()), node)?)
    }
}

/// The field rules (specs/signals.md §2, step 6 to 8).
fn check(wire: &Wire) -> Result<SignalKind, SignalError> {
    let kind = SignalKind::parse(&wire.kind)?;
    if (kind == SignalKind::Read) != wire.event.is_some() {
        return Err(SignalError::BadEvent);
    }
    if wire.expires_ms <= wire.issued_ms || wire.expires_ms - wire.issued_ms > MAX_SIGNAL_TTL_MS {
        return Err(SignalError::BadExpiry);
    }
    Ok(kind)
}

/// A signal whose fields and signature verified. Its [`node`](Statement::node) signed it;
/// whether that node may speak for its user (is the user's home node) is the receiving node's
/// question (specs/signals.md §3).
pub type Signal = Statement<SignalDraft>;

impl Signal {
    /// Size cap, decode (key validity of `node` and `user` included), version, signature
    /// present, canonical encoding, kind, event, expiry, `verify_strict` of the node's
    /// signature: in this order (specs/signals.md §2), the first failure is the reason.
    pub fn decode(bytes: &[u8]) -> Result<Signal, SignalError> {
        Statement::open(
            bytes,
            MAX_SIGNAL_BYTES,
            Order::VersionFirst(SIGNAL_VERSION),
            check,
            |wire: Wire, kind| {
                let draft = SignalDraft {
                    room: wire.room,
                    user: wire.user,
                    attestation: wire.attestation,
                    kind,
                    event: wire.event,
                    issued_ms: wire.issued_ms,
                    expires_ms: wire.expires_ms,
                };
                (wire.node, draft)
            },
        )
    }

    /// The room.
    pub fn room(&self) -> RoomId {
        self.draft().room
    }
    /// The user.
    pub fn user(&self) -> &UserKey {
        &self.draft().user
    }
    /// The attestation named.
    pub fn attestation(&self) -> AttestationId {
        self.draft().attestation
    }
    /// What it says.
    pub fn kind(&self) -> SignalKind {
        self.draft().kind
    }
    /// For a read signal: the last event read.
    pub fn event(&self) -> Option<EventId> {
        self.draft().event
    }
    /// When the node issued it.
    pub fn issued_ms(&self) -> u64 {
        self.draft().issued_ms
    }
    /// When it stops meaning anything.
    pub fn expires_ms(&self) -> u64 {
        self.draft().expires_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::Hash32;

    fn draft(kind: SignalKind, event: Option<EventId>) -> SignalDraft {
        SignalDraft {
            room: RoomId(Hash32([1; 32])),
            user: crate::keys::UserSecret::from_seed(&[2; 32]).public(),
            attestation: AttestationId(Hash32([3; 32])),
            kind,
            event,
            issued_ms: 10_000,
            expires_ms: 16_000,
        }
    }

    #[test]
    fn round_trip_and_field_rules() {
        let node = NodeSecret::from_seed(&[9; 32]);
        let typing = draft(SignalKind::Typing, None).sign(&node).unwrap();
        assert_eq!(Signal::decode(typing.as_bytes()).unwrap(), typing);
        assert_eq!(typing.node(), &node.public());
        let read = draft(SignalKind::Read, Some(EventId(Hash32([4; 32]))))
            .sign(&node)
            .unwrap();
        assert_eq!(read.event(), Some(EventId(Hash32([4; 32]))));
        assert_ne!(read.id(), typing.id());
        let reason = |d: SignalDraft| d.sign(&node).unwrap_err().reason();
        assert_eq!(reason(draft(SignalKind::Read, None)), "bad_signal_event");
        assert_eq!(
            reason(draft(SignalKind::TypingEnd, Some(EventId(Hash32([4; 32]))))),
            "bad_signal_event"
        );
        let mut never = draft(SignalKind::Typing, None);
        never.expires_ms = never.issued_ms;
        assert_eq!(reason(never), "bad_signal_expiry");
        let mut long = draft(SignalKind::Typing, None);
        long.expires_ms = long.issued_ms + MAX_SIGNAL_TTL_MS + 1;
        assert_eq!(reason(long), "bad_signal_expiry");
    }

    #[test]
    fn kinds_round_trip() {
        for kind in SignalKind::ALL {
            assert_eq!(SignalKind::parse(kind.name()), Ok(kind));
        }
        assert_eq!(SignalKind::parse("shouting"), Err(SignalError::UnknownKind));
    }
}
