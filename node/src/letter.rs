//! [`NodeLetter`]: a letter one node signs and delivers directly to another node, outside any
//! room (specs/federation.md, request `deliver`). Abuse reports to an author's home node travel
//! this way; the receiving node keeps them in its durable inbox ([`crate::node::Inbox`]).
//!
//! Wire form: canonical CBOR map `{body, from, kind, sent_ms, signature, to, v}`; the signature is
//! `Domain::NodeMessage` (the signing domain keeps its wire name) over the map without
//! `signature`, made by `from`'s node key.

use causerie_crypto::signed::{self, SignedError};
use causerie_crypto::{CodecError, Domain, NodeKey, NodeSecret, Signature, codec};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use thiserror::Error;

/// Largest encoded letter, in bytes.
pub const MAX_LETTER_BYTES: usize = 70_000;
/// Largest body, in bytes.
pub const MAX_LETTER_BODY_BYTES: usize = 65_536;
/// Longest kind, in bytes.
pub const MAX_LETTER_KIND_BYTES: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire {
    body: ByteBuf,
    from: NodeKey,
    kind: String,
    sent_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    signature: Option<Signature>,
    to: NodeKey,
    v: u64,
}

causerie_crypto::signed_wire!(Wire, Domain::NodeMessage, from);

/// Why a letter was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LetterError {
    /// Decoding failed.
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// Body or kind over its limit, or an unknown version.
    #[error("letter fields out of bounds")]
    OutOfBounds,
    /// The signature does not verify under `from`.
    #[error("bad signature")]
    BadSignature,
    /// The letter is addressed to another node.
    #[error("addressed to another node")]
    WrongRecipient,
}

impl SignedError for LetterError {
    fn bad_signature() -> Self {
        LetterError::BadSignature
    }
    /// An unknown version is out of the letter's bounds.
    fn unsupported_version(_: u64) -> Self {
        LetterError::OutOfBounds
    }
}

impl LetterError {
    /// Stable reason name.
    pub fn reason(&self) -> &'static str {
        match self {
            LetterError::Codec(e) => e.reason(),
            LetterError::OutOfBounds => "letter_out_of_bounds",
            LetterError::BadSignature => "bad_signature",
            LetterError::WrongRecipient => "wrong_recipient",
        }
    }
}

/// A verified node-to-node letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeLetter {
    wire: Wire,
    bytes: Vec<u8>,
}

impl NodeLetter {
    /// Signs a letter from `sender` to `to`.
    pub fn sign(
        sender: &NodeSecret,
        to: NodeKey,
        kind: &str,
        body: Vec<u8>,
        sent_ms: u64,
    ) -> Result<Self, LetterError> {
        let wire = Wire {
            body: ByteBuf::from(body),
            from: sender.public(),
            kind: kind.to_owned(),
            sent_ms,
            signature: None,
            to,
            v: 1,
        };
        check(&wire)?;
        Self::decode(&signed::seal(wire, sender)?)
    }

    /// Size cap, canonical decode, bounds, signature.
    pub fn decode(bytes: &[u8]) -> Result<Self, LetterError> {
        let mut wire: Wire = codec::decode_canonical(bytes, MAX_LETTER_BYTES)?;
        check(&wire)?;
        let (signature, _) = signed::verify::<_, LetterError>(&mut wire)?;
        wire.signature = Some(signature);
        Ok(NodeLetter {
            wire,
            bytes: bytes.to_vec(),
        })
    }

    /// The sending node.
    pub fn from(&self) -> &NodeKey {
        &self.wire.from
    }
    /// The addressed node.
    pub fn to(&self) -> &NodeKey {
        &self.wire.to
    }
    /// What the body is (e.g. `report`).
    pub fn kind(&self) -> &str {
        &self.wire.kind
    }
    /// The body.
    pub fn body(&self) -> &[u8] {
        &self.wire.body
    }
    /// The sender's clock when signing, ms since the Unix epoch.
    pub fn sent_ms(&self) -> u64 {
        self.wire.sent_ms
    }
    /// The canonical encoding.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

fn check(wire: &Wire) -> Result<(), LetterError> {
    if wire.v != 1
        || wire.body.len() > MAX_LETTER_BODY_BYTES
        || wire.kind.is_empty()
        || wire.kind.len() > MAX_LETTER_KIND_BYTES
    {
        return Err(LetterError::OutOfBounds);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_decode_and_tamper() {
        let a = NodeSecret::from_seed(&[1; 32]);
        let b = NodeSecret::from_seed(&[2; 32]);
        let letter = NodeLetter::sign(&a, b.public(), "report", b"evidence".to_vec(), 5).unwrap();
        let again = NodeLetter::decode(letter.as_bytes()).unwrap();
        assert_eq!(again, letter);
        assert_eq!(again.from(), &a.public());
        let mut bytes = letter.as_bytes().to_vec();
        let pos = bytes.windows(8).position(|w| w == b"evidence").unwrap();
        bytes[pos] ^= 1;
        assert_eq!(NodeLetter::decode(&bytes), Err(LetterError::BadSignature));
        let too_big = NodeLetter::sign(&a, b.public(), "report", vec![0; 70_000], 5);
        assert_eq!(too_big, Err(LetterError::OutOfBounds));
    }
}
