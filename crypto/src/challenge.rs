//! Login and registration challenges (specs/client-api.md, "Identity and sessions"): the
//! canonical CBOR map a node hands a client, which the user signs in the `Challenge` domain to
//! prove they hold their key. One type for both sides, so the node that makes challenges and
//! the clients that check them before signing cannot drift apart.

use serde::{Deserialize, Serialize};

use crate::codec;
use crate::error::CodecError;
use crate::keys::{NodeKey, UserKey};
use crate::signing::Domain;

/// The `purpose` of every challenge.
pub const CHALLENGE_PURPOSE: &str = "causerie.auth";
/// The challenge format version.
pub const CHALLENGE_VERSION: u64 = 1;
/// Largest encoded challenge, in bytes (checked before decoding).
pub const MAX_CHALLENGE_BYTES: usize = 256;

/// What a challenge says. Fields in canonical (bytewise) key order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Challenge {
    /// When the node stops accepting an answer (ms since the Unix epoch).
    pub expires_ms: u64,
    /// The node that asks.
    pub node: NodeKey,
    /// Random, one use.
    #[serde(with = "serde_bytes")]
    pub nonce: [u8; 32],
    /// Always [`CHALLENGE_PURPOSE`].
    pub purpose: String,
    /// The user who must sign.
    pub user: UserKey,
    /// Always [`CHALLENGE_VERSION`].
    pub v: u64,
}

impl Challenge {
    /// A challenge from `node` to `user`.
    pub fn new(node: NodeKey, user: UserKey, nonce: [u8; 32], expires_ms: u64) -> Self {
        Challenge {
            expires_ms,
            node,
            nonce,
            purpose: CHALLENGE_PURPOSE.to_owned(),
            user,
            v: CHALLENGE_VERSION,
        }
    }

    /// The canonical bytes.
    pub fn encode(&self) -> Result<Vec<u8>, CodecError> {
        codec::encode(self)
    }

    /// Reads canonical bytes (at most [`MAX_CHALLENGE_BYTES`]); `None` unless they are a
    /// challenge of this version and purpose.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let challenge: Challenge = codec::decode(bytes, MAX_CHALLENGE_BYTES).ok()?;
        (challenge.v == CHALLENGE_VERSION && challenge.purpose == CHALLENGE_PURPOSE)
            .then_some(challenge)
    }

    /// What the user signs for `bytes`: the `Challenge` domain prefix ‖ bytes.
    pub fn signing_input(bytes: &[u8]) -> Vec<u8> {
        Domain::Challenge.signing_input(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{NodeSecret, UserSecret};

    #[test]
    fn round_trip_and_refusals() {
        let node = NodeSecret::from_seed(&[1; 32]).public();
        let user = UserSecret::from_seed(&[2; 32]).public();
        let challenge = Challenge::new(node, user, [7; 32], 1_700_000_000_000);
        let bytes = challenge.encode().unwrap_or_default();
        assert_eq!(Challenge::decode(&bytes), Some(challenge.clone()));
        let input = Challenge::signing_input(&bytes);
        assert!(input.starts_with(Domain::Challenge.prefix()));
        let mut other = challenge.clone();
        other.purpose = "something.else".into();
        assert_eq!(Challenge::decode(&other.encode().unwrap_or_default()), None);
        assert_eq!(Challenge::decode(&bytes[..bytes.len() - 1]), None);
        assert_eq!(
            Challenge::decode(&vec![0xa0; MAX_CHALLENGE_BYTES + 1]),
            None
        );
    }
}
