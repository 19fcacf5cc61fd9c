//! [`NodeMessage`]: a message one node signs and delivers directly to another (specs/federation.md,
//! "Delivery"). Abuse reports to an author's home node travel this way.
//!
//! Wire form: canonical CBOR map `{body, from, kind, sent_ms, signature, to, v}`; the signature is
//! `Domain::NodeMessage` over the map without `signature`, made by `from`'s node key.

use causerie_crypto::{CodecError, Domain, NodeKey, NodeSecret, Signature, codec};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use thiserror::Error;

/// Largest encoded node message, in bytes.
pub const MAX_NODE_MESSAGE_BYTES: usize = 70_000;
/// Largest body, in bytes.
pub const MAX_NODE_MESSAGE_BODY_BYTES: usize = 65_536;
/// Longest kind, in bytes.
pub const MAX_NODE_MESSAGE_KIND_BYTES: usize = 64;

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

/// Why a node message was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MessageError {
    /// Decoding failed.
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// Body or kind over its limit, or an unknown version.
    #[error("message fields out of bounds")]
    OutOfBounds,
    /// The signature does not verify under `from`.
    #[error("bad signature")]
    BadSignature,
    /// The message is addressed to another node.
    #[error("addressed to another node")]
    WrongRecipient,
}

impl MessageError {
    /// Stable reason name.
    pub fn reason(&self) -> &'static str {
        match self {
            MessageError::Codec(e) => e.reason(),
            MessageError::OutOfBounds => "message_out_of_bounds",
            MessageError::BadSignature => "bad_signature",
            MessageError::WrongRecipient => "wrong_recipient",
        }
    }
}

/// A verified node-to-node message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeMessage {
    wire: Wire,
    bytes: Vec<u8>,
}

impl NodeMessage {
    /// Signs a message from `sender` to `to`.
    pub fn sign(
        sender: &NodeSecret,
        to: NodeKey,
        kind: &str,
        body: Vec<u8>,
        sent_ms: u64,
    ) -> Result<Self, MessageError> {
        let mut wire = Wire {
            body: ByteBuf::from(body),
            from: sender.public(),
            kind: kind.to_owned(),
            sent_ms,
            signature: None,
            to,
            v: 1,
        };
        check(&wire)?;
        wire.signature = Some(sender.sign(Domain::NodeMessage, &codec::encode(&wire)?));
        Self::decode(&codec::encode(&wire)?)
    }

    /// Size cap, canonical decode, bounds, signature.
    pub fn decode(bytes: &[u8]) -> Result<Self, MessageError> {
        let mut wire: Wire = codec::decode_canonical(bytes, MAX_NODE_MESSAGE_BYTES)?;
        check(&wire)?;
        let signature = wire.signature.take().ok_or(MessageError::BadSignature)?;
        if !wire
            .from
            .verify(Domain::NodeMessage, &codec::encode(&wire)?, &signature)
        {
            return Err(MessageError::BadSignature);
        }
        wire.signature = Some(signature);
        Ok(NodeMessage {
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

fn check(wire: &Wire) -> Result<(), MessageError> {
    if wire.v != 1
        || wire.body.len() > MAX_NODE_MESSAGE_BODY_BYTES
        || wire.kind.is_empty()
        || wire.kind.len() > MAX_NODE_MESSAGE_KIND_BYTES
    {
        return Err(MessageError::OutOfBounds);
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
        let message = NodeMessage::sign(&a, b.public(), "report", b"evidence".to_vec(), 5).unwrap();
        let again = NodeMessage::decode(message.as_bytes()).unwrap();
        assert_eq!(again, message);
        assert_eq!(again.from(), &a.public());
        let mut bytes = message.as_bytes().to_vec();
        let pos = bytes.windows(8).position(|w| w == b"evidence").unwrap();
        bytes[pos] ^= 1;
        assert_eq!(NodeMessage::decode(&bytes), Err(MessageError::BadSignature));
        let too_big = NodeMessage::sign(&a, b.public(), "report", vec![0; 70_000], 5);
        assert_eq!(too_big, Err(MessageError::OutOfBounds));
    }
}
